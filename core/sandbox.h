/* sandbox.h: runs one command confined (engine half, no lua.h). The child
 * gets a scrubbed environment, stdin from /dev/null, rlimits, no_new_privs,
 * an empty capability bounding set, a Landlock domain (read everywhere,
 * write only beneath the granted roots), its own network namespace when the
 * network is off and its own PID namespace (plus a pids cgroup where one is
 * writable) so a timeout tears down everything it started. Whatever the
 * kernel lacks is reported by bt_sandbox_probe and skipped, never fatal. */
#ifndef BATON_SANDBOX_H
#define BATON_SANDBOX_H
#include <stddef.h>

#include "harness.h"

typedef struct bt_probe {
    int landlock_abi; /* 0: none */
    int netns, pidns; /* unshare works */
    int cgroup_pids;  /* a pids cgroup can be created under cgroup_base */
    int clone3;       /* clone3 with CLONE_PIDFD works */
    char cgroup_base[256];
} bt_probe;

/* Probes once per process; later calls return the cached facts. */
const bt_probe *bt_sandbox_probe(void);

typedef struct bt_run_opts {
    const char *exe;          /* absolute path */
    char *const *argv, *const *envp;
    const char *cwd;          /* the workspace root */
    char **write_roots;       /* absolute paths writable beneath (plus tmpdir) */
    int nwrite_roots;
    const char *tmpdir;       /* private HOME/TMPDIR, writable */
    int network;
    double timeout;
    size_t output_cap;
    long memory_mb, cpu_seconds, max_procs, file_mb;
} bt_run_opts;

typedef struct bt_run_result {
    int code;       /* exit code, or -1 when killed by a signal */
    int signal;     /* 0 unless killed by a signal */
    int timed_out;
    double duration;
    char *out, *err; /* owned by the result (bt_run_result_free) */
    size_t nout, nerr;
    int out_truncated, err_truncated;
} bt_run_result;

void bt_run_result_free(bt_run_result *r);

/* A started child. The waiting side is event-driven so it can sit on an
 * event loop: watch the fds from bt_proc_fds for POLLIN, call bt_proc_on_fd
 * when one is ready and bt_proc_on_time at bt_proc_deadline; when
 * bt_proc_done, bt_proc_finish fills the result and frees the proc. */
typedef struct bt_proc bt_proc;

bt_proc *bt_proc_start(const bt_run_opts *o, bt_herr *e);
/* The fds still worth watching (pipes not at EOF, the pidfd until reaped);
 * returns how many. All stay open until finish/abort. */
int bt_proc_fds(const bt_proc *p, int fds[3]);
void bt_proc_on_fd(bt_proc *p, int fd);
double bt_proc_deadline(const bt_proc *p); /* monotonic seconds; < 0 when none */
void bt_proc_on_time(bt_proc *p);
int bt_proc_done(const bt_proc *p);
void bt_proc_finish(bt_proc *p, bt_run_result *r);
/* Kills everything the child started, reaps it and frees p (cancellation). */
void bt_proc_abort(bt_proc *p);
/* Blocks (its own poll loop) until done, then finishes. */
void bt_proc_wait(bt_proc *p, bt_run_result *r);

/* The environment a command sees: PATH, HOME and TMPDIR (tmpdir), LANG, and
 * the variables named in pass that are set and whose name holds no KEY,
 * TOKEN, SECRET or PASSWORD. NULL-terminated, malloc'd; free with
 * bt_sandbox_env_free. */
char **bt_sandbox_env(char **pass, int npass, const char *tmpdir);
void bt_sandbox_env_free(char **env);

/* The workspace roots a policy may write for Landlock: each top-level entry
 * (not a link, not .baton or .git) that one of its write patterns reaches. */
int bt_sandbox_write_roots(const bt_ws *w, const bt_policy *p, char ***roots);
void bt_sandbox_roots_free(char **roots, int n);

double bt_mono(void);

#endif

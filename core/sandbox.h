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
#include <time.h>

#include "harness.h"

typedef struct bt_probe {
    int landlock_abi; /* 0: none */
    int netns, pidns; /* unshare works */
    int mntns;        /* a mount namespace can be made (to bind .git/.baton read-only) */
    int cgroup_pids;  /* a pids cgroup can be created under cgroup_base */
    int openat2;      /* file operations resolve with openat2 (else a per-component walk) */
    char cgroup_base[256];
} bt_probe;

/* Probes once per process; later calls return the cached facts. */
const bt_probe *bt_sandbox_probe(void);
/* Removes what dead baton processes left in dir: entries named
 * <prefix><pid>-... owned by this user whose pid is gone (their cgroups
 * with rmdir, their temp folders recursively). A SIGKILLed baton cannot
 * clean up after itself; the next one does. */
void bt_sweep_stale(const char *dir, const char *prefix, int cgroup);
int bt_pid_alive(pid_t pid);

/* One sentence per missing mechanism ("<mechanism>: <consequence>") for
 * doctor and the run header; returns how many (at most 8). */
int bt_sandbox_missing(const bt_probe *p, const char *out[8]);

typedef struct bt_run_opts {
    const char *exe; /* absolute path */
    char *const *argv, *const *envp;
    const char *cwd;    /* the workspace root */
    char **write_roots; /* absolute paths writable beneath (plus tmpdir) */
    int nwrite_roots;
    const char *tmpdir; /* private HOME/TMPDIR, writable */
    int network;
    double timeout;
    size_t output_cap;
    long memory_mb, cpu_seconds, max_procs, file_mb;
    int ruleset; /* from bt_sandbox_ruleset (the caller keeps and closes it), -1 without Landlock */
    char *const *ro_paths; /* root mode: bound read-only in a private mount namespace */
    int nro;
    int netns_fd; /* network off: join this empty namespace (from bt_proc_netns), -1: make one */
} bt_run_opts;

/* Builds the Landlock ruleset for o (write_roots, tmpdir, network): read and
 * execute everywhere, write beneath the roots, tmpdir and /dev/null, never
 * mknod; with ABI >= 6 signals and abstract sockets stay inside. Reusable
 * for many children. Returns its fd, -1 without Landlock, -2 on failure. */
int bt_sandbox_ruleset(const bt_run_opts *o);

typedef struct bt_run_result {
    int code;   /* exit code, or -1 when killed by a signal */
    int signal; /* 0 unless killed by a signal */
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
/* An fd of the fresh network namespace p's child was started in, to share
 * with the next commands (making one costs about a millisecond); -1 when
 * there is none or the child is gone. The caller owns the fd. */
int bt_proc_netns(const bt_proc *p);
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

/* Root mode: when the policy's write globs start at the root ("**", "*.c"),
 * no deny rule closes a whole top-level entry, .git exists (folder or file,
 * not a link) and a mount namespace can be made, commands may write the
 * whole workspace root (create top-level files) while .git and .baton are
 * bound read-only in their own mount namespace. Fills ro with those two
 * absolute paths (making .baton if missing) and returns 1; else 0. */
int bt_sandbox_root_mode(const bt_ws *w, const bt_policy *p, char ro[2][4096]);

double bt_mono(void);

/* One agent's runner state (core/harness_cmd.c). Zero it, set ws.fd,
 * ruleset and netns_fd to -1, then fill ws and pol; bt_harness_release
 * frees all. Its commands share one empty network namespace: they may reach
 * each other's abstract sockets, nothing else (loopback stays down). */
typedef struct bt_harness {
    bt_ws ws;
    bt_policy pol;
    char tmpdir[64];            /* private HOME/TMPDIR, made on the first command */
    int ruleset;                /* cached Landlock ruleset, -1 when none */
    struct timespec ruleset_at; /* the root's ctime it was built for */
    char ro[2][4096];           /* root mode: .git and .baton, bound read-only */
    int nro;
    int netns_fd; /* the empty network namespace its commands share, or -1 */
} bt_harness;

void bt_harness_release(bt_harness *h);
/* Starts an argv the policy already allowed (exe from bt_policy_argv). */
bt_proc *bt_harness_start(bt_harness *h, const char *exe, const char *const *argv, double timeout,
                          bt_herr *e);
void bt_run_summary(const bt_run_result *r, char *sum, size_t cap);
void bt_argv_join(const char *const *argv, char *buf, size_t cap);

#endif

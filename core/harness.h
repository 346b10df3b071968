/* harness.h: the agent harness's engine (no lua.h): policies, paths resolved
 * beneath the workspace, guarded file operations and the command policy.
 * core/harness_lua.c binds it as baton.harness; core/sandbox.c runs the
 * commands it allows; core/snapshot.c records and restores workspaces.
 * Errors fill a bt_herr: a stable code word and a sentence for the agent. */
#ifndef BATON_HARNESS_H
#define BATON_HARNESS_H
#include <stddef.h>
#include <sys/stat.h>

typedef struct bt_herr {
    char code[16]; /* "denied", "too_large", "ENOENT", ... */
    char msg[600];
    int err; /* the errno behind it, when there is one */
} bt_herr;

/* Sets e (if not NULL) and returns -1. */
int bt_herr_set(bt_herr *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct bt_cmd_rule {
    char *name;  /* bare program name */
    char **args; /* NULL: any arguments; else patterns for the joined arguments */
    int nargs;
    int escapes; /* 1: known escape hatches allowed for this program */
} bt_cmd_rule;

/* Everything is owned by the policy and freed by bt_policy_free. */
typedef struct bt_policy {
    char **read, **write, **deny, **env_pass;
    int nread, nwrite, ndeny, nenv_pass;
    bt_cmd_rule *cmds;
    int ncmds;
    int shell, network;
    double timeout;    /* seconds */
    size_t output_cap; /* bytes per stream */
    size_t max_read, max_write;
    long memory_mb, cpu_seconds, max_procs, file_mb;
} bt_policy;

void bt_policy_defaults(bt_policy *p);
void bt_policy_free(bt_policy *p);

/* Glob over '/'-separated paths: '*' and '?' stay within a segment; a
 * segment that is exactly a double star spans zero or more segments (so
 * "src/" + double star also matches "src"); elsewhere a double star acts as
 * '*'. Linear-ish at worst; paths deeper than 256 segments never match. */
int bt_glob_match(const char *pat, const char *path);

/* Normalizes a workspace-relative path lexically into out ("." for the
 * root). Returns 0, or -1 with e set ("denied": absolute, or ".." above the
 * root; "EINVAL": empty, NUL-free but too long). */
int bt_path_normalize(const char *in, char *out, size_t cap, bt_herr *e);

/* Policy decision for a normalized path; 0 allowed, -1 with e set. */
int bt_policy_path(const bt_policy *p, const char *rel, int write, bt_herr *e);

/* The program policy: checks argv (NULL-terminated, argc >= 1) and writes the
 * executable's absolute path (found on BT_SAFE_PATH) into exe. */
#define BT_SAFE_PATH "/usr/local/bin:/usr/bin:/bin"
int bt_policy_argv(const bt_policy *p, const char *const argv[], char *exe, size_t cap, bt_herr *e);

/* True when the comma-separated BATON_SANDBOX_DISABLE names mechanism
 * ("landlock", "netns", "pidns", "mntns", "cgroup", "openat2"): a switch for tests of
 * the fallbacks and for hosts where a mechanism misbehaves. doctor says so. */
int bt_disabled(const char *mechanism);

/* A workspace: its real path and an O_PATH descriptor of it. */
typedef struct bt_ws {
    char *root;
    int fd;
} bt_ws;

int bt_ws_open(bt_ws *w, const char *path, bt_herr *e);
void bt_ws_close(bt_ws *w);

/* Opens rel (normalized) beneath the workspace with flags/mode. follow=0
 * refuses every symbolic link on the way (used for writes); follow=1 allows
 * links that stay inside. Returns the fd or -1 with e set. */
int bt_ws_openat(const bt_ws *w, const char *rel, int flags, int mode, int follow, bt_herr *e);
/* The workspace-relative real path of an open fd (for re-checking reads
 * that went through a link). Returns 0, or -1 when it is not beneath. */
int bt_ws_relpath(const bt_ws *w, int fd, char *out, size_t cap);

/* Guarded operations. rel is normalized and already allowed by the policy. */
int bt_ws_read(const bt_ws *w, const char *rel, size_t cap, char **data, size_t *len, char *real,
               size_t realcap, bt_herr *e);
int bt_ws_write(const bt_ws *w, const char *rel, const char *data, size_t len, bt_herr *e);
int bt_ws_mkdir(const bt_ws *w, const char *rel, bt_herr *e);
int bt_ws_delete(const bt_ws *w, const char *rel, bt_herr *e);
int bt_ws_stat(const bt_ws *w, const char *rel, struct stat *st, bt_herr *e);

/* Calls fn for every entry beneath the workspace (no links followed;
 * .git/ and .baton/ skipped) in sorted order, up to max entries; fn returns
 * 1 to skip a directory's contents. Returns the number of entries seen, or
 * -1 with e set. */
typedef int (*bt_ws_visit)(void *ud, const char *rel, const struct stat *st);
int bt_ws_walk(const bt_ws *w, int max, bt_ws_visit fn, void *ud, bt_herr *e);

#endif

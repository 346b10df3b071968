/* sandbox_setup.c: what the sandbox prepares in the parent before a child
 * starts: the one-time probe of the kernel's mechanisms, the scrubbed
 * environment, the Landlock write roots a policy implies. Preparing here
 * keeps the child, which may be forked from a threaded process, down to
 * plain system calls. */
#include "curl_lazy.h"
#include "sandbox.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

extern char **environ;

double bt_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bt_pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    remove(path);
    return 0;
}

void bt_sweep_stale(const char *dir, const char *prefix, int cgroup) {
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = strlen(prefix);
    while (d && (de = readdir(d)) != NULL) {
        char path[600];
        struct stat st;
        if (strncmp(de->d_name, prefix, n) != 0) continue;
        pid_t pid = (pid_t)atoi(de->d_name + n);
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (pid <= 0 || bt_pid_alive(pid) || lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != getuid())
            continue;
        if (cgroup) rmdir(path); /* fails while a process is still inside: fine */
        else nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (d) closedir(d);
}

/* This process's cgroup path in the hierarchy holding controller ("pids"
 * for v1, "" for the v2 line "0::/path"). */
static int own_cgroup(const char *controller, char *out, size_t cap) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = '\0';
        int match = *controller ? strstr(c1 + 1, controller) != NULL : c1[1] == '\0';
        if (match) {
            c2[strcspn(c2 + 1, "\n") + 1] = '\0';
            found = snprintf(out, cap, "%s", strcmp(c2 + 1, "/") ? c2 + 1 : "") < (int)cap;
        }
    }
    if (f) fclose(f);
    return found;
}

/* Whether a child can move itself into dir (the real test of delegation). */
static int can_join(const char *dir) {
    char file[400];
    snprintf(file, sizeof file, "%s/cgroup.procs", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(file, O_WRONLY);
        _exit(fd >= 0 && write(fd, "0", 1) == 1 ? 0 : 1);
    }
    int st = 1;
    if (pid > 0) waitpid(pid, &st, 0);
    return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A pids cgroup we can create children in, beneath our own: cgroup v1's
 * pids hierarchy, or cgroup v2 with the pids controller delegated. */
static void probe_cgroup(bt_probe *p) {
    static const char *const mounts[][2] = {
        {"/sys/fs/cgroup/pids", "pids"}, {"/sys/fs/cgroup/unified", ""}, {"/sys/fs/cgroup", ""}};
    for (size_t i = 0; i < sizeof mounts / sizeof *mounts; i++) {
        char own[256], base[256], dir[320], file[400];
        if (!own_cgroup(mounts[i][1], own, sizeof own)) continue;
        snprintf(base, sizeof base, "%s%s", mounts[i][0], own);
        snprintf(dir, sizeof dir, "%s/baton-probe-%d", base, (int)getpid());
        if (mkdir(dir, 0755) != 0) continue;
        snprintf(file, sizeof file, "%s/pids.max", dir);
        int ok = access(file, W_OK) == 0 && can_join(dir);
        rmdir(dir);
        if (ok) {
            p->cgroup_pids = 1;
            snprintf(p->cgroup_base, sizeof p->cgroup_base, "%s", base);
            bt_sweep_stale(base, "baton-", 1);
            return;
        }
    }
}

const bt_probe *bt_sandbox_probe(void) {
    static bt_probe p;
    static int done;
    /* every sandboxed command comes here first: no fork (the probe's or the
     * command's) while libcurl still loads on its thread */
    bt_curl_settle();
    if (done) return &p;
    done = 1;
    p.landlock_abi = bt_disabled("landlock") ? 0 : bt_sys_landlock_abi();
    p.netns = !bt_disabled("netns") && bt_sys_can_unshare(CLONE_NEWNET) == 1;
    p.pidns = !bt_disabled("pidns") && bt_sys_can_unshare(CLONE_NEWPID) == 1;
    p.mntns = !bt_disabled("mntns") && bt_sys_can_unshare(CLONE_NEWNS) == 1;
    p.openat2 =
        !bt_disabled("openat2") && !(syscall(SYS_openat2, -1, "", NULL, 0) < 0 && errno == ENOSYS);
    if (!bt_disabled("cgroup")) probe_cgroup(&p);
    return &p;
}

static int secret_name(const char *name, size_t n) {
    static const char *const words[] = {"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", NULL};
    char up[256];
    if (n >= sizeof up) return 1;
    for (size_t i = 0; i < n; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    up[n] = '\0';
    for (int i = 0; words[i]; i++)
        if (strstr(up, words[i])) return 1;
    return 0;
}

char **bt_sandbox_env(char **pass, int npass, const char *tmpdir) {
    char **env = calloc((size_t)npass + 6, sizeof *env);
    if (!env) return NULL;
    int n = 0;
    const char *fixed[] = {"PATH=" BT_SAFE_PATH, "LANG=C.UTF-8", NULL};
    for (int i = 0; fixed[i]; i++)
        env[n++] = strdup(fixed[i]);
    if (asprintf(&env[n++], "HOME=%s", tmpdir) < 0) env[n - 1] = NULL;
    if (asprintf(&env[n++], "TMPDIR=%s", tmpdir) < 0) env[n - 1] = NULL;
    for (int i = 0; i < npass; i++) {
        const char *name = pass[i];
        size_t len = strlen(name);
        if (secret_name(name, len) || !strcmp(name, "PATH") || !strcmp(name, "HOME") ||
            !strcmp(name, "TMPDIR") || strchr(name, '='))
            continue;
        const char *v = getenv(name);
        if (v && asprintf(&env[n], "%s=%s", name, v) >= 0) n++;
    }
    for (int i = 0; i < n; i++)
        if (!env[i]) {
            bt_sandbox_env_free(env);
            return NULL;
        }
    return env;
}

void bt_sandbox_env_free(char **env) {
    if (!env) return;
    for (int i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/* True when pattern may match name or something beneath it: its first
 * segment matches name, or the pattern starts with a double star. */
static int reaches(const char *pat, const char *name) {
    if (pat[0] == '*' && pat[1] == '*') return 1;
    char seg[256];
    size_t n = strcspn(pat, "/");
    if (n >= sizeof seg) return 0;
    memcpy(seg, pat, n);
    seg[n] = '\0';
    return fnmatch(seg, name, 0) == 0;
}

int bt_sandbox_write_roots(const bt_ws *w, const bt_policy *p, char ***roots) {
    *roots = NULL;
    int fd = openat(w->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return 0;
    }
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        struct stat st;
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, ".git") || !strcmp(nm, ".baton"))
            continue;
        if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode)) continue;
        int hit = 0;
        for (int i = 0; i < p->nwrite && !hit; i++)
            hit = reaches(p->write[i], nm);
        for (int i = 0; i < p->ndeny && hit; i++) /* a whole entry denied stays closed */
            if (bt_glob_match(p->deny[i], nm) && (strstr(p->deny[i], "**") || !S_ISDIR(st.st_mode)))
                hit = 0;
        if (!hit) continue;
        if (n == cap) {
            char **g = realloc(*roots, (size_t)(cap = cap ? 2 * cap : 16) * sizeof **roots);
            if (!g) break;
            *roots = g;
        }
        if (asprintf(&(*roots)[n], "%s/%s", w->root, nm) >= 0) n++;
    }
    closedir(d);
    return n;
}

void bt_sandbox_roots_free(char **roots, int n) {
    for (int i = 0; i < n; i++)
        free(roots[i]);
    free(roots);
}

/* Top-level entries a command could write in per-entry mode (not links,
 * not .git/.baton), counted so root mode can tell none is closed. */
static int eligible_entries(const bt_ws *w) {
    int fd = openat(w->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return -1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        struct stat st;
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, ".git") || !strcmp(nm, ".baton"))
            continue;
        if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode)) n++;
    }
    closedir(d);
    return n;
}

int bt_sandbox_root_mode(const bt_ws *w, const bt_policy *p, char ro[2][4096]) {
    int starts = 0;
    for (int i = 0; i < p->nwrite; i++)
        starts |= p->write[i][0] == '*';
    struct stat st;
    if (!starts || !bt_sandbox_probe()->mntns ||
        fstatat(w->fd, ".git", &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode))
        return 0;
    char **roots;
    int n = bt_sandbox_write_roots(w, p, &roots);
    bt_sandbox_roots_free(roots, n);
    if (n != eligible_entries(w)) return 0;
    if (mkdirat(w->fd, ".baton", 0755) != 0 && errno != EEXIST) return 0;
    if (fstatat(w->fd, ".baton", &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode)) return 0;
    snprintf(ro[0], 4096, "%s/.git", w->root);
    snprintf(ro[1], 4096, "%s/.baton", w->root);
    return 1;
}

int bt_sandbox_missing(const bt_probe *p, const char *out[8]) {
    int n = 0;
    if (!p->landlock_abi)
        out[n++] = "landlock: commands may write outside the workspace (policy checks only)";
    if (!p->netns)
        out[n++] = "network namespace: commands keep the network (Landlock blocks TCP only where "
                   "ABI >= 4)";
    if (!p->pidns) out[n++] = "pid namespace: a timeout kills the process group only";
    if (!p->mntns)
        out[n++] = "mount namespace: commands cannot create entries in the workspace root";
    if (!p->cgroup_pids)
        out[n++] = "pids cgroup: process counts rely on RLIMIT_NPROC (does not bind root)";
    if (!p->openat2)
        out[n++] = "openat2: file paths are walked per component; every link is refused";
    return n;
}

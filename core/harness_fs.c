/* harness_fs.c: file operations confined beneath a workspace. Every path is
 * opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to an
 * O_PATH descriptor of the root, so absolute paths, ".." and symbolic links
 * leading outside fail in the kernel, not in string checks; writes also
 * refuse links inside (RESOLVE_NO_SYMLINKS). Writes are atomic (temp + rename). */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int bt_ws_open(bt_ws *w, const char *path, bt_herr *e) {
    w->fd = -1;
    w->root = realpath(path, NULL);
    if (!w->root) return bt_herr_set(e, "ENOENT", "workspace %s: %s", path, strerror(errno));
    w->fd = open(w->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (w->fd < 0) {
        bt_herr_set(e, "ENOENT", "workspace %s: %s", path, strerror(errno));
        free(w->root);
        w->root = NULL;
        return -1;
    }
    return 0;
}

void bt_ws_close(bt_ws *w) {
    if (w->fd >= 0) close(w->fd);
    free(w->root);
    w->fd = -1;
    w->root = NULL;
}

static int errno_fail(bt_herr *e, const char *rel, int err) {
    if (e) e->err = err;
    if (err == EXDEV)
        return bt_herr_set(e, "denied", "denied: %s leads outside the workspace", rel);
    if (err == ELOOP)
        return bt_herr_set(e, "denied", "denied: %s passes through a symbolic link", rel);
    if (err == ENOENT) return bt_herr_set(e, "ENOENT", "ENOENT: no such file: %s", rel);
    if (err == EISDIR) return bt_herr_set(e, "EISDIR", "EISDIR: %s is a directory", rel);
    if (err == ENOTDIR) return bt_herr_set(e, "ENOTDIR", "ENOTDIR: %s: not a directory", rel);
    if (err == EEXIST) return bt_herr_set(e, "EEXIST", "EEXIST: %s already exists", rel);
    if (err == ENOTEMPTY)
        return bt_herr_set(e, "ENOTEMPTY", "ENOTEMPTY: directory %s is not empty", rel);
    return bt_herr_set(e, "EIO", "EIO: %s: %s", rel, strerror(err));
}

/* Without openat2 (Linux < 5.6): walk rel one component at a time with
 * O_NOFOLLOW, refusing every link (stricter than RESOLVE_BENEATH, which
 * allows links that stay inside). rel is normalized: no "..", not absolute. */
static int walk_open(const bt_ws *w, const char *rel, int flags, int mode) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", rel) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
    int dfd = dup(w->fd);
    char *p = buf, *slash;
    while (dfd >= 0 && (slash = strchr(p, '/')) != NULL) {
        *slash = '\0';
        int next = openat(dfd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = errno;
        close(dfd);
        if (next < 0) return errno = err == ENOTDIR ? ELOOP : err, -1;
        dfd = next;
        p = slash + 1;
    }
    if (dfd < 0) return -1;
    int fd = openat(dfd, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int err = errno;
    close(dfd);
    return fd < 0 ? (errno = err, -1) : fd;
}

int bt_ws_openat(const bt_ws *w, const char *rel, int flags, int mode, int follow, bt_herr *e) {
    static int no_openat2 = -1;
    if (no_openat2 < 0) no_openat2 = bt_disabled("openat2");
    if (no_openat2) {
        int fd = walk_open(w, rel, flags, mode);
        return fd < 0 ? errno_fail(e, rel, errno) : fd;
    }
    struct open_how how = {.flags = (unsigned)(flags | O_CLOEXEC),
                           .mode = (flags & O_CREAT) ? (unsigned)mode : 0,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
                                      (follow ? 0 : RESOLVE_NO_SYMLINKS)};
    int fd;
    do
        fd = (int)syscall(SYS_openat2, w->fd, rel, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);
    if (fd < 0 && errno == ENOSYS) {
        no_openat2 = 1;
        return bt_ws_openat(w, rel, flags, mode, follow, e);
    }
    if (fd < 0) return errno_fail(e, rel, errno);
    return fd;
}

int bt_ws_relpath(const bt_ws *w, int fd, char *out, size_t cap) {
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    if (n < 0) return -1;
    real[n] = '\0';
    size_t rl = strlen(w->root);
    if (strcmp(real, w->root) == 0) return snprintf(out, cap, ".") < (int)cap ? 0 : -1;
    if (strncmp(real, w->root, rl) != 0 || real[rl] != '/') return -1;
    return snprintf(out, cap, "%s", real + rl + 1) < (int)cap ? 0 : -1;
}

int bt_ws_read(const bt_ws *w, const char *rel, size_t cap, char **data, size_t *len, char *real,
               size_t realcap, bt_herr *e) {
    int fd = bt_ws_openat(w, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, 1, e);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode)) return errno_fail(e, rel, EISDIR);
        return bt_herr_set(e, "EINVAL", "EINVAL: %s is not a regular file", rel);
    }
    if (bt_ws_relpath(w, fd, real, realcap) != 0) {
        close(fd);
        return errno_fail(e, rel, EXDEV);
    }
    if ((size_t)st.st_size > cap) {
        close(fd);
        return bt_herr_set(e, "too_large",
                           "too_large: %s is %lld bytes, over the read cap "
                           "of %zu bytes",
                           rel, (long long)st.st_size, cap);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    ssize_t r = 0;
    while (buf && got < (size_t)st.st_size &&
           (r = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)r;
    close(fd);
    if (!buf || r < 0) {
        free(buf);
        return bt_herr_set(e, "EIO", "EIO: cannot read %s", rel);
    }
    *data = buf;
    *len = got;
    return 0;
}

/* Splits rel into its parent (opened without following links, creating
 * missing directories when mkparents) and its last component. */
static int open_parent_dir(const bt_ws *w, const char *rel, int mkparents, const char **base,
                           bt_herr *e) {
    char dir[PATH_MAX];
    const char *slash = strrchr(rel, '/');
    *base = slash ? slash + 1 : rel;
    if (!slash) return bt_ws_openat(w, ".", O_PATH | O_DIRECTORY, 0, 0, e);
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - rel), rel);
    int fd = bt_ws_openat(w, dir, O_PATH | O_DIRECTORY, 0, 0, e);
    if (fd >= 0 || !mkparents || e->err != ENOENT) return fd;
    for (char *p = dir;; p++) { /* mkdir -p, one component at a time */
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        const char *b;
        int pfd = open_parent_dir(w, dir, 0, &b, e);
        if (pfd < 0) return -1;
        int rc = mkdirat(pfd, b, 0755) != 0 && errno != EEXIST ? errno : 0;
        close(pfd);
        if (rc) return errno_fail(e, dir, rc);
        *p = c;
        if (c == '\0') break;
    }
    return bt_ws_openat(w, dir, O_PATH | O_DIRECTORY, 0, 0, e);
}

/* Splits rel into its parent (opened without following links, creating
 * missing directories when mkparents) and its last component; errors name
 * the whole of rel. */
static int open_parent(const bt_ws *w, const char *rel, int mkparents, const char **base,
                       bt_herr *e) {
    bt_herr inner = {0};
    int fd = open_parent_dir(w, rel, mkparents, base, &inner);
    if (fd < 0) return inner.err ? errno_fail(e, rel, inner.err) : (*e = inner, -1);
    return fd;
}

/* Creates the temporary file next to base with O_EXCL: a unique name from
 * the pid (read once: a syscall per write otherwise), a counter and the
 * clock, and another name should one be taken (a forked writer, say). */
static int create_tmp(int dfd, mode_t mode, char *tmp, size_t cap) {
    static pid_t pid;
    static unsigned long seq;
    if (!pid) pid = getpid();
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 8; tries++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(tmp, cap, ".baton-tmp-%d-%lu-%ld", (int)pid, ++seq, (long)ts.tv_nsec);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && errno != EEXIST) break;
    }
    return fd;
}

int bt_ws_write(const bt_ws *w, const char *rel, const char *data, size_t len, bt_herr *e) {
    const char *base;
    int dfd = open_parent(w, rel, 1, &base, e);
    if (dfd < 0) return -1;
    struct stat st;
    mode_t mode = 0644;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
            close(dfd);
            return errno_fail(e, rel, ELOOP);
        }
        if (S_ISDIR(st.st_mode)) {
            close(dfd);
            return errno_fail(e, rel, EISDIR);
        }
        mode = st.st_mode & 07777;
    }
    char tmp[96];
    int fd = create_tmp(dfd, mode, tmp, sizeof tmp);
    int err = fd < 0 ? errno : 0;
    for (size_t off = 0; !err && off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno != EINTR) err = errno;
        if (n > 0) off += (size_t)n;
    }
    /* the create's mode went through the umask (or a default ACL): set it */
    if (fd >= 0 && !err && fchmod(fd, mode) != 0) err = errno;
    if (fd >= 0) close(fd);
    if (!err && renameat(dfd, tmp, dfd, base) != 0) err = errno;
    if (err && fd >= 0) unlinkat(dfd, tmp, 0);
    close(dfd);
    return err ? errno_fail(e, rel, err) : 0;
}

int bt_ws_mkdir(const bt_ws *w, const char *rel, bt_herr *e) {
    const char *base;
    int dfd = open_parent(w, rel, 1, &base, e);
    if (dfd < 0) return -1;
    int rc = mkdirat(dfd, base, 0755) == 0 ? 0 : errno;
    close(dfd);
    return rc ? errno_fail(e, rel, rc) : 0;
}

int bt_ws_delete(const bt_ws *w, const char *rel, bt_herr *e) {
    const char *base;
    int dfd = open_parent(w, rel, 0, &base, e);
    if (dfd < 0) return -1;
    struct stat st;
    int rc = 0;
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
        rc = errno;
    else if (unlinkat(dfd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0)
        rc = errno;
    close(dfd);
    return rc ? errno_fail(e, rel, rc) : 0;
}

int bt_ws_stat(const bt_ws *w, const char *rel, struct stat *st, bt_herr *e) {
    int fd = bt_ws_openat(w, rel, O_PATH, 0, 1, e);
    if (fd < 0) return -1;
    int rc = fstat(fd, st) == 0 ? 0 : errno;
    close(fd);
    return rc ? errno_fail(e, rel, rc) : 0;
}

/* ---- walking ---- */

typedef struct walk {
    bt_ws_visit fn;
    void *ud;
    int max, count;
} walk;

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(walk *k, int dfd, const char *prefix) {
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, ".git") ||
            (!*prefix && !strcmp(nm, ".baton")))
            continue;
        if (n == cap) {
            char **g = realloc(names, (cap = cap ? 2 * cap : 32) * sizeof *names);
            if (!g) break;
            names = g;
        }
        if ((names[n] = strdup(nm)) != NULL) n++;
    }
    if (n) qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char rel[PATH_MAX];
        struct stat st;
        snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", names[i]);
        if (k->count < k->max && fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
            k->count++;
            int skip = k->fn(k->ud, rel, &st);
            int sub =
                S_ISDIR(st.st_mode) && !skip
                    ? openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
            if (sub >= 0) walk_dir(k, sub, rel);
        }
        free(names[i]);
    }
    free(names);
    closedir(d);
}

int bt_ws_walk(const bt_ws *w, int max, bt_ws_visit fn, void *ud, bt_herr *e) {
    int fd = openat(w->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return bt_herr_set(e, "EIO", "EIO: cannot list the workspace: %s", strerror(errno));
    walk k = {fn, ud, max, 0};
    walk_dir(&k, fd, "");
    return k.count;
}

/* snapshot.c: records a workspace into a content-addressed store (see
 * snapshot.h). Blobs live at <store>/<2 hex>/<62 hex>; the manifest is a
 * blob too and its hash is the ref; <store>/last names the latest manifest
 * so the next snapshot can trust unchanged files by stat (size, mtime,
 * ctime, inode; ctime cannot be forged by a command) instead of reading them. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

#define RACY_NS 100000000LL /* 0.1 s: covers coarse file timestamps */

static long long ns_of(struct timespec t) {
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int bt_store_open(bt_store *s, const bt_ws *w, const char *store, bt_herr *e) {
    if (store)
        snprintf(s->dir, sizeof s->dir, "%s", store);
    else
        snprintf(s->dir, sizeof s->dir, "%s/.baton/objects", w->root);
    /* made (each folder on the way) only when it is not there yet */
    s->fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->fd < 0 &&
        (mkdirs(s->dir) != 0 || (s->fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0))
        return bt_herr_set(e, "EIO", "snapshot store %s: %s", s->dir, strerror(errno));
    return 0;
}

void bt_store_close(bt_store *s) {
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

static void blob_name(const char *hash, char *out) {
    sprintf(out, "%.2s/%s", hash, hash + 2);
}

int bt_hash_fd(int fd, long long size, char hex[65]) {
    bt_sha256 c;
    uint8_t d[32];
    char buf[65536];
    ssize_t n;
    bt_sha256_init(&c);
    off_t off = 0;
    /* A short read that reaches the size the caller saw is the end: a small
     * file costs one read, not two. Short of it (a file that grew, or a
     * filesystem that returns short reads, as FUSE's direct_io may) the
     * reading goes on to the real end, so the hash is always the contents'. */
    while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
        bt_sha256_update(&c, buf, (size_t)n), off += n;
        if ((size_t)n < sizeof buf && size >= 0 && off >= size) break;
    }
    if (n < 0) return -1;
    bt_sha256_final(&c, d);
    bt_sha256_tohex(d, hex);
    return 0;
}

/* Stores len bytes (or, with data NULL, the contents of fd) as blob hash
 * unless present. Returns 1 when written, 0 when present, -1 on failure. */
static int store_put(const bt_store *s, const char *hash, const char *data, size_t len, int fd) {
    char name[80], tmp[96];
    blob_name(hash, name);
    if (faccessat(s->fd, name, F_OK, 0) == 0) return 0;
    char sub[3] = {hash[0], hash[1], 0};
    mkdirat(s->fd, sub, 0755);
    snprintf(tmp, sizeof tmp, "%s.tmp%d", name, (int)getpid());
    int out = openat(s->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
    if (out < 0) return -1;
    char buf[65536];
    off_t off = 0;
    int bad = 0;
    for (;;) {
        ssize_t n = data ? (ssize_t)(len - (size_t)off) : pread(fd, buf, sizeof buf, off);
        if (n <= 0) {
            bad = n < 0;
            break;
        }
        if (write(out, data ? data + off : buf, (size_t)n) != n) {
            bad = 1;
            break;
        }
        off += n;
    }
    close(out);
    if (bad || renameat(s->fd, tmp, s->fd, name) != 0) {
        unlinkat(s->fd, tmp, 0);
        return -1;
    }
    return 1;
}

int bt_store_get(const bt_store *s, const char *hash, char **data, size_t *len, bt_herr *e) {
    char name[80];
    blob_name(hash, name);
    int fd = openat(s->fd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return bt_herr_set(e, "ENOENT", "ENOENT: snapshot object %.12s is missing from %s", hash,
                           s->dir);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t got = buf ? pread(fd, buf, (size_t)st.st_size, 0) : -1;
    close(fd);
    if (got != st.st_size) {
        free(buf);
        return bt_herr_set(e, "EIO", "EIO: cannot read snapshot object %.12s", hash);
    }
    buf[got] = '\0';
    *data = buf;
    *len = (size_t)got;
    return 0;
}

int bt_store_copy_out(const bt_store *s, const char *hash, int dfd, const char *name, unsigned mode,
                      bt_herr *e) {
    char blob[80], tmp[300];
    blob_name(hash, blob);
    int in = openat(s->fd, blob, O_RDONLY | O_CLOEXEC);
    if (in < 0) return bt_herr_set(e, "ENOENT", "ENOENT: snapshot object %.12s is missing", hash);
    snprintf(tmp, sizeof tmp, ".baton-restore-%d", (int)getpid());
    int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    char buf[65536];
    ssize_t n = 0;
    int bad = out < 0;
    while (!bad && (n = read(in, buf, sizeof buf)) > 0)
        bad = write(out, buf, (size_t)n) != n;
    bad = bad || n < 0 || fchmod(out, mode) != 0;
    close(in);
    if (out >= 0) close(out);
    if (bad || renameat(dfd, tmp, dfd, name) != 0) {
        unlinkat(dfd, tmp, 0);
        return bt_herr_set(e, "EIO", "EIO: cannot restore %s: %s", name, strerror(errno));
    }
    return 0;
}

/* ---- manifests ---- */

static size_t path_hash(const char *s) {
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void bt_manifest_index(bt_manifest *m) {
    free(m->slots);
    m->nslots = 16;
    while (m->nslots < 2 * m->n)
        m->nslots *= 2;
    m->slots = calloc(m->nslots, sizeof *m->slots);
    for (size_t i = 0; m->slots && i < m->n; i++) {
        size_t k = path_hash(m->ents[i].path) & (m->nslots - 1);
        while (m->slots[k])
            k = (k + 1) & (m->nslots - 1);
        m->slots[k] = i + 1;
    }
}

const bt_snap_ent *bt_manifest_find(const bt_manifest *m, const char *path) {
    if (!m->slots) return NULL;
    for (size_t k = path_hash(path) & (m->nslots - 1); m->slots[k]; k = (k + 1) & (m->nslots - 1))
        if (!strcmp(m->ents[m->slots[k] - 1].path, path)) return &m->ents[m->slots[k] - 1];
    return NULL;
}

void bt_manifest_free(bt_manifest *m, int own_paths) {
    for (size_t i = 0; own_paths && i < m->n; i++)
        free(m->ents[i].path);
    free(m->ents);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static bt_snap_ent *add_ent(bt_manifest *m) {
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        bt_snap_ent *g = realloc(m->ents, cap * sizeof *g);
        if (!g) return NULL;
        m->ents = g, m->cap = cap;
    }
    bt_snap_ent *e = &m->ents[m->n++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Paths are stored with '%' and newlines escaped, so one line is one entry. */
static void unescape(char *s) {
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '%' && s[1] && s[2]) {
            char hx[3] = {s[1], s[2], 0};
            *o++ = (char)strtol(hx, NULL, 16);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* One line: "<type> <mode octal> <size> <mtime> <ctime> <ino> <hash> <path>"
 * (sscanf was a tenth of an incremental snapshot). */
static int parse_line(char *line, bt_snap_ent *e) {
    char *p = line, *end;
    e->type = *p++;
    if (*p++ != ' ') return -1;
    e->mode = (unsigned)strtoul(p, &end, 8);
    long long *nums[] = {&e->size, &e->mtime, &e->ctime};
    for (int i = 0; i < 3; i++) {
        if (end == p || *end != ' ') return -1;
        p = end + 1;
        *nums[i] = strtoll(p, &end, 10);
    }
    if (end == p || *end != ' ') return -1;
    p = end + 1;
    e->ino = strtoull(p, &end, 10);
    if (end == p || *end != ' ') return -1;
    p = end + 1;
    size_t n = strcspn(p, " ");
    if (n == 0 || n > 64 || p[n] != ' ') return -1;
    memcpy(e->hash, p, n);
    e->hash[n] = '\0';
    e->path = p + n + 1;
    return *e->path ? 0 : -1;
}

/* Parses text in place (paths point into it). Returns 0 or -1. */
int bt_manifest_parse(char *text, bt_manifest *m) {
    memset(m, 0, sizeof *m);
    char *line = text, *nl;
    if (sscanf(line, "baton-snapshot 1 %lld", &m->start) != 1) return -1;
    for (line = strchr(line, '\n'); line && *++line; line = nl) {
        nl = strchr(line, '\n');
        if (!nl) return -1;
        *nl = '\0';
        bt_snap_ent *e = add_ent(m);
        if (!e || parse_line(line, e) != 0) return -1;
        unescape(e->path);
    }
    bt_manifest_index(m);
    return 0;
}

/* Writes v in base (8 or 10) at b, a '-' first when negative; returns the
 * length. The manifest's numbers went through sprintf, which was a fifth of
 * an incremental snapshot's instructions. */
static size_t put_num(char *b, unsigned long long v, int negative, unsigned base) {
    char tmp[24];
    size_t n = 0, k = 0;
    do
        tmp[k++] = (char)('0' + v % base);
    while ((v /= base) != 0);
    if (negative) b[n++] = '-';
    while (k) b[n++] = tmp[--k];
    return n;
}

static size_t put_signed(char *b, long long v) {
    return v < 0 ? put_num(b, 0ULL - (unsigned long long)v, 1, 10)
                 : put_num(b, (unsigned long long)v, 0, 10);
}

/* One entry: "<type> <mode octal> <size> <mtime> <ctime> <ino> <hash> <path>\n"
 * with '%' and newlines in the path escaped as %XX. b has room for it. */
static size_t put_entry(char *b, const bt_snap_ent *e) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    b[n++] = e->type, b[n++] = ' ';
    n += put_num(b + n, e->mode, 0, 8), b[n++] = ' ';
    n += put_signed(b + n, e->size), b[n++] = ' ';
    n += put_signed(b + n, e->mtime), b[n++] = ' ';
    n += put_signed(b + n, e->ctime), b[n++] = ' ';
    n += put_num(b + n, e->ino, 0, 10), b[n++] = ' ';
    size_t h = strlen(e->hash);
    memcpy(b + n, e->hash, h), n += h, b[n++] = ' ';
    for (const unsigned char *p = (const unsigned char *)e->path; *p; p++) {
        if (*p == '%' || *p == '\n')
            b[n++] = '%', b[n++] = hex[*p >> 4], b[n++] = hex[*p & 15];
        else
            b[n++] = (char)*p;
    }
    b[n++] = '\n';
    return n;
}

static int format_manifest(const bt_manifest *m, char **out, size_t *len) {
    size_t cap = 64 + m->n * 160, n = 0;
    char *b = malloc(cap);
    if (!b) return -1;
    memcpy(b, "baton-snapshot 1 ", 17), n = 17;
    n += put_signed(b + n, m->start), b[n++] = '\n';
    for (size_t i = 0; i < m->n; i++) {
        const bt_snap_ent *e = &m->ents[i];
        size_t need = 200 + 3 * strlen(e->path);
        if (n + need > cap) {
            char *g = realloc(b, cap = 2 * cap + need);
            if (!g) return free(b), -1;
            b = g;
        }
        n += put_entry(b + n, e);
    }
    *out = b;
    *len = n;
    return 0;
}

int bt_snap_trusted(const bt_snap_ent *old, long long old_start, const bt_snap_ent *cur) {
    return old && old->type == 'f' && cur->type == 'f' && old->size == cur->size &&
           old->mtime == cur->mtime && old->ctime == cur->ctime && old->ino == cur->ino &&
           old->ctime < old_start - RACY_NS;
}

/* ---- scanning ---- */

typedef struct scan {
    bt_manifest *m;
    const bt_snap_opts *o;
    const char *store_rel;
    int oom;
} scan;

static int scan_one(void *ud, const char *rel, const struct stat *st) {
    scan *k = ud;
    if (k->store_rel && !strcmp(rel, k->store_rel)) return 1;
    for (int i = 0; i < k->o->nignore; i++)
        if (bt_glob_match(k->o->ignore[i], rel)) return 1;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode)) return 1;
    bt_snap_ent *e = add_ent(k->m);
    if (!e || !(e->path = strdup(rel))) {
        if (e) k->m->n--;
        k->oom = 1;
        return 1;
    }
    e->type = S_ISREG(st->st_mode) ? 'f' : S_ISDIR(st->st_mode) ? 'd' : 'l';
    e->mode = st->st_mode & 07777;
    if (e->type != 'd') {
        e->size = st->st_size, e->mtime = ns_of(st->st_mtim), e->ctime = ns_of(st->st_ctim);
        e->ino = (unsigned long long)st->st_ino;
    }
    strcpy(e->hash, "-");
    return 0;
}

int bt_snap_scan(const bt_ws *w, const bt_snap_opts *o, const char *store_rel, bt_manifest *m,
                 bt_herr *e) {
    scan k = {m, o, store_rel, 0};
    if (bt_ws_walk(w, 1 << 30, scan_one, &k, e) < 0) return -1;
    if (k.oom) return bt_herr_set(e, "ENOMEM", "out of memory while scanning the workspace");
    return 0;
}

/* The store's path relative to the workspace when it lies beneath it. */
static const char *store_rel_of(const bt_ws *w, const bt_store *s) {
    size_t n = strlen(w->root);
    return !strncmp(s->dir, w->root, n) && s->dir[n] == '/' ? s->dir + n + 1 : NULL;
}

static int load_last(const bt_store *s, bt_manifest *prev, char **text) {
    char ref[80] = {0};
    size_t len;
    *text = NULL;
    int fd = openat(s->fd, "last", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, ref, 64);
    close(fd);
    if (n != 64 || bt_store_get(s, ref, text, &len, NULL) != 0) return -1;
    if (bt_manifest_parse(*text, prev) != 0) {
        bt_manifest_free(prev, 0);
        free(*text);
        *text = NULL;
        return -1;
    }
    return 0;
}

/* The blobs one snapshot already found or wrote, by hash: files with the
 * same contents (generated ones often are) cost one existence check, not
 * one each. A set of pointers to the entries' hash strings. */
typedef struct {
    const char **slot;
    size_t mask;
} blob_set;

static int blob_seen(blob_set *b, const char *hash, int add) {
    if (!b->slot) return 0;
    size_t k = path_hash(hash) & b->mask;
    for (; b->slot[k]; k = (k + 1) & b->mask)
        if (!strcmp(b->slot[k], hash)) return 1;
    if (add) b->slot[k] = hash;
    return 0;
}

/* Stores the file or link x's contents unless this snapshot already did. */
static int put_once(const bt_store *s, blob_set *b, const bt_snap_ent *x, const char *data,
                    size_t len, int fd) {
    if (blob_seen(b, x->hash, 0)) return 0;
    int put = store_put(s, x->hash, data, len, fd);
    if (put >= 0) blob_seen(b, x->hash, 1);
    return put;
}

/* hash_entries' loop: seen holds the blobs this snapshot checked. */
static int hash_each(const bt_ws *w, const bt_store *s, bt_manifest *m, const bt_manifest *prev,
                     blob_set *seen, bt_snap_stats *st, bt_herr *e) {
    for (size_t i = 0; i < m->n; i++) {
        bt_snap_ent *x = &m->ents[i];
        if (x->type == 'd') continue;
        const bt_snap_ent *old = bt_manifest_find(prev, x->path);
        if (bt_snap_trusted(old, prev->start, x)) {
            memcpy(x->hash, old->hash, sizeof x->hash);
            continue;
        }
        int put;
        if (x->type == 'l') {
            char target[4096];
            ssize_t n = readlinkat(w->fd, x->path, target, sizeof target);
            if (n < 0) return bt_herr_set(e, "EIO", "EIO: cannot read link %s", x->path);
            bt_sha256_hex(target, (size_t)n, x->hash);
            put = put_once(s, seen, x, target, (size_t)n, -1);
        } else {
            /* beneath the root, no link on the way: a command racing the scan
             * cannot swap a folder for a link to somewhere else */
            int fd = bt_ws_openat(w, x->path, O_RDONLY | O_NONBLOCK, 0, 0, NULL);
            if (fd < 0 || bt_hash_fd(fd, x->size, x->hash) != 0) {
                if (fd >= 0) close(fd);
                return bt_herr_set(e, "EIO", "EIO: cannot read %s: %s", x->path, strerror(errno));
            }
            put = put_once(s, seen, x, NULL, 0, fd);
            close(fd);
            st->hashed++;
        }
        if (put < 0)
            return bt_herr_set(e, "EIO", "EIO: cannot store %s: %s", x->path, strerror(errno));
        st->stored += put;
    }
    return 0;
}

/* Fills in the hash of every file and link, reading only changed ones. */
static int hash_entries(const bt_ws *w, const bt_store *s, bt_manifest *m, const bt_manifest *prev,
                        bt_snap_stats *st, bt_herr *e) {
    size_t cap = 16;
    while (cap < 2 * m->n)
        cap *= 2;
    blob_set seen = {calloc(cap, sizeof *seen.slot), cap - 1}; /* NULL: check every blob */
    int rc = hash_each(w, s, m, prev, &seen, st, e);
    free(seen.slot);
    return rc;
}

static int write_last(const bt_store *s, const char *ref) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "last.tmp%d", (int)getpid());
    int fd = openat(s->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    int bad = write(fd, ref, 64) != 64;
    close(fd);
    return bad || renameat(s->fd, tmp, s->fd, "last") != 0 ? -1 : 0;
}

int bt_snapshot(const char *workspace, const bt_snap_opts *o, char ref[65], bt_snap_stats *st,
                bt_herr *e) {
    bt_ws w;
    bt_store s;
    bt_manifest m = {0}, prev = {0};
    char *prev_text = NULL, *text = NULL;
    size_t len;
    struct timespec now;
    memset(st, 0, sizeof *st);
    if (bt_ws_open(&w, workspace, e) != 0) return -1;
    int rc = -1;
    if (bt_store_open(&s, &w, o->store, e) != 0) goto out;
    load_last(&s, &prev, &prev_text);
    clock_gettime(CLOCK_REALTIME, &now);
    m.start = ns_of(now);
    if (bt_snap_scan(&w, o, store_rel_of(&w, &s), &m, e) != 0 ||
        hash_entries(&w, &s, &m, &prev, st, e) != 0)
        goto out;
    if (format_manifest(&m, &text, &len) != 0) {
        bt_herr_set(e, "ENOMEM", "out of memory");
        goto out;
    }
    bt_sha256_hex(text, len, ref);
    if (store_put(&s, ref, text, len, -1) < 0 || write_last(&s, ref) != 0) {
        bt_herr_set(e, "EIO", "EIO: cannot write the manifest to %s: %s", s.dir, strerror(errno));
        goto out;
    }
    st->entries = (long)m.n;
    rc = 0;
out:
    free(text);
    bt_manifest_free(&m, 1);
    bt_manifest_free(&prev, 0);
    free(prev_text);
    bt_store_close(&s);
    bt_ws_close(&w);
    return rc;
}

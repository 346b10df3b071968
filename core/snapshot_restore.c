/* snapshot_restore.c: rollback of a workspace to a manifest (see
 * snapshot.h). It removes what the manifest lacks (deepest first), then
 * recreates or rewrites what differs, in manifest order so parents come
 * first. A file is rewritten only when its stat no longer matches the
 * manifest and its hash differs. Every change goes through a parent opened
 * beneath the workspace without following links, so a link planted by a
 * command cannot redirect a restore outside. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "snapshot.h"

static int open_parent(const bt_ws *w, const char *path, const char **base, bt_herr *e) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    return bt_ws_openat(w, dir, O_PATH | O_DIRECTORY, 0, 0, e);
}

static int valid_ref(const char *ref) {
    if (strlen(ref) != 64) return 0;
    for (const char *p = ref; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

static int load(const bt_store *s, const char *ref, char **text, bt_manifest *m, bt_herr *e) {
    size_t len;
    char got[65];
    if (bt_store_get(s, ref, text, &len, NULL) != 0)
        return bt_herr_set(e, "ENOENT", "ENOENT: no such snapshot %s in %s", ref, s->dir);
    bt_sha256_hex(*text, len, got);
    if (strcmp(got, ref) != 0 || bt_manifest_parse(*text, m) != 0)
        return bt_herr_set(e, "EIO", "EIO: snapshot %.12s is corrupt", ref);
    return 0;
}

/* Removes current entries the target lacks or holds with another type. */
static void remove_extra(const bt_ws *w, bt_manifest *cur, const bt_manifest *t,
                         bt_snap_stats *st) {
    for (size_t i = cur->n; i-- > 0;) {
        bt_snap_ent *c = &cur->ents[i];
        const bt_snap_ent *x = bt_manifest_find(t, c->path);
        if (x && x->type == c->type) continue;
        const char *base;
        int pfd = open_parent(w, c->path, &base, NULL);
        if (pfd < 0) continue;
        if (unlinkat(pfd, base, c->type == 'd' ? AT_REMOVEDIR : 0) == 0) st->removed++;
        close(pfd);
        c->type = '-'; /* gone */
    }
}

/* True when the file at pfd/base already holds hash. */
static int same_content(int pfd, const char *base, const char *hash) {
    int fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    char got[65];
    int same = fd >= 0 && bt_hash_fd(fd, -1, got) == 0 && !strcmp(got, hash);
    if (fd >= 0) close(fd);
    return same;
}

static int restore_link(const bt_store *s, int pfd, const char *base, const bt_snap_ent *x,
                        const bt_snap_ent *c, bt_herr *e) {
    char *target, now[4096];
    size_t len;
    if (bt_store_get(s, x->hash, &target, &len, e) != 0) return -1;
    ssize_t n = c ? readlinkat(pfd, base, now, sizeof now) : -1;
    int rc = 0;
    if (n < 0 || (size_t)n != len || memcmp(now, target, len) != 0) {
        if (c) unlinkat(pfd, base, 0);
        rc = symlinkat(target, pfd, base) == 0
                 ? 1
                 : bt_herr_set(e, "EIO", "EIO: cannot restore link %s", x->path);
    }
    free(target);
    return rc;
}

/* Brings one target entry into place; returns 1 when something changed. */
static int restore_one(const bt_ws *w, const bt_store *s, const bt_manifest *t,
                       const bt_snap_ent *x, const bt_snap_ent *c, bt_herr *e) {
    if (c && c->type == '-') c = NULL;
    if (c && x->type == 'f' && bt_snap_trusted(x, t->start, c) && c->mode == x->mode) return 0;
    if (c && x->type == 'd' && c->mode == x->mode) return 0;
    const char *base;
    int pfd = open_parent(w, x->path, &base, e);
    if (pfd < 0) return -1;
    int rc = 0;
    if (x->type == 'd') {
        if (!c && mkdirat(pfd, base, 0700) != 0 && errno != EEXIST)
            rc = bt_herr_set(e, "EIO", "EIO: cannot recreate %s: %s", x->path, strerror(errno));
        else
            rc = 1; /* its mode is set in a last pass, once its contents are back */
    } else if (x->type == 'l') {
        rc = restore_link(s, pfd, base, x, c, e);
    } else if (c && c->size == x->size && same_content(pfd, base, x->hash)) {
        rc = c->mode != x->mode ? (fchmodat(pfd, base, x->mode, 0), 1) : 0;
    } else if (bt_store_copy_out(s, x->hash, pfd, base, x->mode, e) != 0) {
        rc = -1;
    } else {
        struct timespec ts[2] = {{0, UTIME_OMIT},
                                 {x->mtime / 1000000000LL, x->mtime % 1000000000LL}};
        utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
        rc = 1;
    }
    close(pfd);
    return rc;
}

static void dir_modes(const bt_ws *w, const bt_manifest *t) {
    for (size_t i = t->n; i-- > 0;) {
        const bt_snap_ent *x = &t->ents[i];
        const char *base;
        if (x->type != 'd') continue;
        int pfd = open_parent(w, x->path, &base, NULL);
        if (pfd < 0) continue;
        struct stat st;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 07777) != x->mode)
            fchmodat(pfd, base, x->mode, 0);
        close(pfd);
    }
}

int bt_rollback(const char *workspace, const char *ref, const bt_snap_opts *o, bt_snap_stats *st,
                bt_herr *e) {
    memset(st, 0, sizeof *st);
    if (!valid_ref(ref)) return bt_herr_set(e, "EINVAL", "invalid snapshot ref '%s'", ref);
    bt_ws w;
    bt_store s = {.fd = -1};
    bt_manifest t = {0}, cur = {0};
    char *text = NULL;
    if (bt_ws_open(&w, workspace, e) != 0) return -1;
    int rc = -1;
    if (bt_store_open(&s, &w, o->store, e) != 0 || load(&s, ref, &text, &t, e) != 0) goto out;
    size_t rl = strlen(w.root);
    const char *store_rel = !strncmp(s.dir, w.root, rl) && s.dir[rl] == '/' ? s.dir + rl + 1 : NULL;
    if (bt_snap_scan(&w, o, store_rel, &cur, e) != 0) goto out;
    bt_manifest_index(&cur);
    remove_extra(&w, &cur, &t, st);
    for (size_t i = 0; i < t.n; i++) {
        int r = restore_one(&w, &s, &t, &t.ents[i], bt_manifest_find(&cur, t.ents[i].path), e);
        if (r < 0) goto out;
        st->restored += r;
    }
    dir_modes(&w, &t);
    st->entries = (long)t.n;
    rc = 0;
out:
    bt_manifest_free(&t, 0);
    bt_manifest_free(&cur, 1);
    free(text);
    bt_store_close(&s);
    bt_ws_close(&w);
    return rc;
}

/* snapshot.h: content-addressed workspace snapshots (engine, no lua.h).
 * A snapshot is a manifest (one line per file, directory or link: type,
 * mode, size, mtime, inode, content hash, path) stored, like every file's
 * contents, once by its SHA-256 in a store folder; its hash is the ref.
 * Unchanged files (same size, mtime and inode as in the store's previous
 * manifest) are not read again. Rollback makes the tree equal the manifest. */
#ifndef BATON_SNAPSHOT_H
#define BATON_SNAPSHOT_H
#include "harness.h"

typedef struct bt_snap_opts {
    const char *store; /* NULL: <workspace>/.baton/objects */
    char **ignore;     /* extra glob patterns (workspace-relative) */
    int nignore;
} bt_snap_opts;

typedef struct bt_snap_stats {
    long entries;  /* files, dirs and links in the manifest */
    long hashed;   /* files read and hashed */
    long stored;   /* new blobs written */
    long restored; /* rollback: files/links/dirs (re)written */
    long removed;  /* rollback: entries removed */
} bt_snap_stats;

/* Records the workspace; ref receives 64 hex characters. */
int bt_snapshot(const char *workspace, const bt_snap_opts *o, char ref[65], bt_snap_stats *st,
                bt_herr *e);
/* Restores the workspace to ref exactly (ignored paths untouched). */
int bt_rollback(const char *workspace, const char *ref, const bt_snap_opts *o, bt_snap_stats *st,
                bt_herr *e);

#endif

/* ---- shared by snapshot.c and snapshot_restore.c ---- */
typedef struct bt_snap_ent {
    char type; /* 'f' file, 'd' directory, 'l' symbolic link */
    unsigned mode;
    long long size, mtime, ctime; /* nanoseconds */
    unsigned long long ino;
    char hash[65]; /* "-" for directories */
    char *path;    /* owned by the manifest */
} bt_snap_ent;

typedef struct bt_manifest {
    bt_snap_ent *ents;
    size_t n, cap;
    long long start; /* when the snapshot began (realtime ns): entries changed
                      * after start - margin are "racy" and never trusted by stat */
    size_t *slots;   /* hash index: 1 + entry index, 0 = empty */
    size_t nslots;
} bt_manifest;

typedef struct bt_store {
    char dir[4096];
    int fd;
} bt_store;

int bt_store_open(bt_store *s, const bt_ws *w, const char *store, bt_herr *e);
void bt_store_close(bt_store *s);
/* Reads blob hash fully (malloc'd into *data). */
int bt_store_get(const bt_store *s, const char *hash, char **data, size_t *len, bt_herr *e);
/* Copies blob hash into dfd/name (created with mode); 0 or -1. */
int bt_store_copy_out(const bt_store *s, const char *hash, int dfd, const char *name, unsigned mode,
                      bt_herr *e);
/* Hashes the file at fd (from offset 0) into hex. size: its size when the
 * caller knows it (lets a short read at that size end without one more
 * read), or -1. */
int bt_hash_fd(int fd, long long size, char hex[65]);
/* Walks the workspace into m (ignoring .git, .baton, the store and patterns). */
int bt_snap_scan(const bt_ws *w, const bt_snap_opts *o, const char *store_rel, bt_manifest *m,
                 bt_herr *e);
int bt_manifest_parse(char *text, bt_manifest *m);
const bt_snap_ent *bt_manifest_find(const bt_manifest *m, const char *path);
void bt_manifest_index(bt_manifest *m);
void bt_manifest_free(bt_manifest *m, int own_paths);
/* True when cur (as scanned now) may be taken to hold old's contents unread. */
int bt_snap_trusted(const bt_snap_ent *old, long long old_start, const bt_snap_ent *cur);

/* ssot_req.c: requirements of baton.ssot: add, get, list (by status,
 * parent, ready set), descriptions and transcripts, dependencies (unknown
 * ids and cycles refused, the cycle named), and the one status machine
 * every status change goes through (set_status here; claims in
 * ssot_claim.c; rollback in ssot_snap.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssot_int.h"

/* One requirement carries its transcript; lists leave it out (NULL): a
 * transcript is a whole conversation, and the engine lists every task each
 * iteration, so reading them all would make each iteration cost O(N * turns). */
#define REQ_COLS_WITH(transcript)                                                                  \
    "SELECT r.id, r.run, r.parent, r.description, r.acceptance, (SELECT json_group_array(dep)"     \
    " FROM (SELECT dep FROM deps WHERE req = r.id ORDER BY dep)) AS deps, r.role, r.status,"       \
    " r.assignee, r.lease_epoch, r.lease_holder, r.lease_time, r.lease_pid, " transcript           \
    " AS transcript, r.status_by, r.status_at, r.created_at FROM reqs r "
#define REQ_COLS REQ_COLS_WITH("(SELECT text FROM transcripts WHERE req = r.id)")
#define REQ_LIST_COLS REQ_COLS_WITH("NULL")

int ssot_valid_status(const char *s) {
    return s && (!strcmp(s, "PENDING") || !strcmp(s, "IN_PROGRESS") || !strcmp(s, "DONE") ||
                 !strcmp(s, "BLOCKED"));
}

static int bad_status(bt_ssot *db, const char *s) {
    return ssot_err(db, BT_SSOT_MISUSE, "status",
                    "invalid status '%s' (PENDING, IN_PROGRESS, DONE or BLOCKED)", s ? s : "nil");
}

/* The run a resolved requirement belongs to. */
static int run_of(bt_ssot *db, const char *id, char run[BT_SSOT_IDLEN]) {
    sqlite3_stmt *st = ssot_stmt(db, "SELECT run FROM reqs WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, id);
    int got = ssot_row(db, st);
    if (got < 0) return BT_SSOT_FAIL;
    if (got == 0) return ssot_err(db, BT_SSOT_MISUSE, "unknown", "unknown requirement '%s'", id);
    snprintf(run, BT_SSOT_IDLEN, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return BT_SSOT_OK;
}

int ssot_resolve_in(bt_ssot *db, const char *run, const char *what, const char *prefix,
                    char out[BT_SSOT_IDLEN]) {
    char other[BT_SSOT_IDLEN] = "";
    /* a whole id: its run in one lookup (else the prefix search, then the run) */
    int rc = BT_SSOT_MISUSE;
    if (prefix && *prefix && strlen(prefix) < BT_SSOT_IDLEN) rc = run_of(db, prefix, other);
    if (rc == BT_SSOT_OK) {
        memcpy(out, prefix, strlen(prefix) + 1);
    } else if (rc == BT_SSOT_MISUSE) { /* not a whole id: the prefix search names the failure */
        rc = bt_ssot_resolve(db, "reqs", prefix, out);
        if (rc == BT_SSOT_OK) rc = run_of(db, out, other);
    }
    if (rc == BT_SSOT_OK && strcmp(other, run) != 0)
        rc = ssot_err(db, BT_SSOT_MISUSE, "run", "%s %s belongs to another run (%s)", what, out,
                      other);
    return rc;
}

/* Inserts the row under a new random id (retrying the rare collision: OR
 * IGNORE can only skip the primary key here, every NOT NULL column being
 * given, and it saves a lookup per requirement), then its dependencies. */
static int insert_req(bt_ssot *db, const char *run, const char *parent,
                      const bt_ssot_req_spec *spec, char id[BT_SSOT_IDLEN]) {
    int rc = BT_SSOT_OK, inserted = 0;
    for (int tries = 0; rc == BT_SSOT_OK && !inserted && tries < 50; tries++) {
        sqlite3_stmt *st = ssot_stmt(
            db, "INSERT OR IGNORE INTO reqs(id, run, parent, description, acceptance, role,"
                " created_at) VALUES(?1, ?2, ?3, ?4, COALESCE(?5, '[]'), ?6, ?7)");
        if (!st) return BT_SSOT_FAIL;
        ssot_newid(db, "r", 5, id);
        ssot_bind_text(st, 1, id);
        ssot_bind_text(st, 2, run);
        ssot_bind_text(st, 3, parent);
        ssot_bind_text(st, 4, spec->description);
        ssot_bind_text(st, 5, spec->acceptance);
        ssot_bind_text(st, 6, spec->role);
        sqlite3_bind_double(st, 7, ssot_now());
        rc = ssot_done(db, st);
        inserted = rc == BT_SSOT_OK && sqlite3_changes(db->db) == 1;
    }
    if (rc == BT_SSOT_OK && !inserted)
        return ssot_err(db, BT_SSOT_FAIL, "sqlite", "ssot: no free requirement id after 50 tries");
    for (int i = 0; rc == BT_SSOT_OK && i < spec->ndeps; i++) {
        char dep[BT_SSOT_IDLEN];
        rc = ssot_resolve_in(db, run, "dependency", spec->deps[i], dep);
        if (rc) break;
        sqlite3_stmt *st = ssot_stmt(db, "INSERT OR IGNORE INTO deps(req, dep) VALUES(?1, ?2)");
        if (!st) return BT_SSOT_FAIL;
        ssot_bind_text(st, 1, id);
        ssot_bind_text(st, 2, dep);
        rc = ssot_done(db, st);
    }
    return rc;
}

static int add_req(bt_ssot *db, const char *run_prefix, const bt_ssot_req_spec *spec,
                   char id[BT_SSOT_IDLEN]) {
    char run[BT_SSOT_IDLEN], parent[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run_prefix, run);
    if (rc) return rc;
    int remembered = spec->parent && !strcmp(spec->parent, db->parent_of) &&
                     !strcmp(run, db->parent_run);
    if (remembered) {
        memcpy(parent, db->parent_of, BT_SSOT_IDLEN);
    } else if (spec->parent) {
        rc = ssot_resolve_in(db, run, "parent", spec->parent, parent);
        if (rc == BT_SSOT_OK && !strcmp(parent, spec->parent)) { /* an exact id: remember it */
            memcpy(db->parent_of, parent, BT_SSOT_IDLEN);
            memcpy(db->parent_run, run, BT_SSOT_IDLEN);
        }
    } else { /* default parent: the run's root (NULL while the root itself is made) */
        sqlite3_stmt *st = ssot_stmt(db, "SELECT COALESCE(root, '') FROM runs WHERE id = ?1");
        if (!st) return BT_SSOT_FAIL;
        ssot_bind_text(st, 1, run);
        if (ssot_row(db, st) != 1) return BT_SSOT_FAIL;
        snprintf(parent, sizeof parent, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    if (rc) return rc;
    rc = insert_req(db, run, *parent ? parent : NULL, spec, id);
    if (rc && remembered) { /* another connection may have removed it (a restore): */
        db->parent_run[0] = 0; /* the lookup names the failure as it does uncached */
        int again = ssot_resolve_in(db, run, "parent", spec->parent, parent);
        if (again) return again;
    }
    if (rc) return rc;
    char payload[96]; /* ids are [0-9a-z]: no escaping needed */
    if (*parent)
        snprintf(payload, sizeof payload, "{\"id\":\"%s\",\"parent\":\"%s\"}", id, parent);
    else
        snprintf(payload, sizeof payload, "{\"id\":\"%s\"}", id);
    return bt_ssot_event(db, run, "ssot", "req", payload, NULL);
}

int bt_ssot_add_req(bt_ssot *db, const char *run, const bt_ssot_req_spec *spec,
                    char id[BT_SSOT_IDLEN]) {
    if (!spec->description || !*spec->description)
        return ssot_err(db, BT_SSOT_MISUSE, "field",
                        "a requirement needs a description (a non-empty string)");
    int rc = bt_ssot_begin(db);
    if (rc) return rc;
    return ssot_finish(db, add_req(db, run, spec, id));
}

int bt_ssot_req(bt_ssot *db, const char *id, bt_ssot_row_fn fn, void *ctx) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "reqs", id, rid);
    if (rc) return rc;
    sqlite3_stmt *st = ssot_stmt(db, REQ_COLS "WHERE r.id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    return ssot_each(db, st, fn, ctx);
}

int bt_ssot_reqs(bt_ssot *db, const char *run, const char *status, const char *parent, int ready,
                 bt_ssot_row_fn fn, void *ctx) {
    char rid[BT_SSOT_IDLEN], pid[BT_SSOT_IDLEN];
    if (status && !ssot_valid_status(status)) return bad_status(db, status);
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc == BT_SSOT_OK && parent) rc = ssot_resolve_in(db, rid, "parent", parent, pid);
    if (rc) return rc;
    sqlite3_stmt *st =
        ready ? ssot_stmt(db, REQ_LIST_COLS "WHERE r.run = ?1 AND r.status = 'PENDING' AND NOT EXISTS"
                                       " (SELECT 1 FROM deps d JOIN reqs q ON q.id = d.dep"
                                       " WHERE d.req = r.id AND q.status <> 'DONE')"
                                       " ORDER BY r.rowid")
              : ssot_stmt(db, REQ_LIST_COLS "WHERE r.run = ?1 AND (?2 IS NULL OR r.status = ?2)"
                                       " AND (?3 IS NULL OR r.parent = ?3) ORDER BY r.rowid");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    if (!ready) {
        ssot_bind_text(st, 2, status);
        ssot_bind_text(st, 3, parent ? pid : NULL);
    }
    return ssot_each(db, st, fn, ctx);
}

static int set_text(bt_ssot *db, const char *id, const char *text, int transcript) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "reqs", id, rid);
    if (rc) return rc;
    sqlite3_stmt *st;
    if (transcript && !text)
        st = ssot_stmt(db, "DELETE FROM transcripts WHERE req = ?1");
    else if (transcript)
        st = ssot_stmt(db, "INSERT INTO transcripts(req, text) VALUES(?1, ?2) ON CONFLICT(req)"
                           " DO UPDATE SET text = excluded.text");
    else
        st = ssot_stmt(db, "UPDATE reqs SET description = ?2 WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    ssot_bind_text(st, 2, text);
    return ssot_done(db, st);
}

int bt_ssot_set_description(bt_ssot *db, const char *id, const char *text) {
    if (!text || !*text)
        return ssot_err(db, BT_SSOT_MISUSE, "field", "a description must be a non-empty string");
    if (ssot_single_ok(db)) return set_text(db, id, text, 0); /* one write statement */
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, set_text(db, id, text, 0));
}

int bt_ssot_set_transcript(bt_ssot *db, const char *id, const char *text) {
    if (ssot_single_ok(db)) return set_text(db, id, text, 1); /* one write statement */
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, set_text(db, id, text, 1));
}

/* The node just before `node` on a dependency path starting at `from`:
 * 1 found (pred set, empty when node == from), 0 unreachable, -1 failure. */
static int predecessor(bt_ssot *db, const char *from, const char *node, char pred[BT_SSOT_IDLEN]) {
    sqlite3_stmt *st = ssot_stmt(
        db, "WITH RECURSIVE walk(node, via) AS (SELECT ?1, NULL UNION SELECT d.dep, w.node"
            " FROM walk w JOIN deps d ON d.req = w.node) SELECT COALESCE(via, '') FROM walk"
            " WHERE node = ?2 LIMIT 1");
    if (!st) return -1;
    ssot_bind_text(st, 1, from);
    ssot_bind_text(st, 2, node);
    int got = ssot_row(db, st);
    if (got == 1) {
        snprintf(pred, BT_SSOT_IDLEN, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    return got;
}

/* id -> dep would close a cycle when dep already reaches id: name it. */
static int check_cycle(bt_ssot *db, const char *id, const char *dep) {
    char pred[BT_SSOT_IDLEN], cur[BT_SSOT_IDLEN];
    int got = predecessor(db, dep, id, pred);
    if (got < 0) return BT_SSOT_FAIL;
    if (got == 0) return BT_SSOT_OK;
    char path[400];
    snprintf(path, sizeof path, "%s", id); /* built backwards: ... -> pred -> id */
    snprintf(cur, sizeof cur, "%s", id);
    for (int steps = 0; *pred && steps < 10000; steps++) {
        char tmp[440];
        snprintf(tmp, sizeof tmp, "%s -> %.380s", pred, path);
        snprintf(path, sizeof path, "%.399s", tmp);
        snprintf(cur, sizeof cur, "%s", pred);
        if (predecessor(db, dep, cur, pred) != 1) break;
    }
    return ssot_err(db, BT_SSOT_MISUSE, "cycle", "dependency cycle: %s -> %s", id, path);
}

static int add_dep(bt_ssot *db, const char *id_prefix, const char *dep_prefix) {
    char id[BT_SSOT_IDLEN], run[BT_SSOT_IDLEN], dep[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "reqs", id_prefix, id);
    if (rc == BT_SSOT_OK) rc = run_of(db, id, run);
    if (rc == BT_SSOT_OK) rc = ssot_resolve_in(db, run, "dependency", dep_prefix, dep);
    if (rc == BT_SSOT_OK) rc = check_cycle(db, id, dep);
    if (rc) return rc;
    sqlite3_stmt *st = ssot_stmt(db, "INSERT OR IGNORE INTO deps(req, dep) VALUES(?1, ?2)");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, id);
    ssot_bind_text(st, 2, dep);
    return ssot_done(db, st);
}

int bt_ssot_add_dep(bt_ssot *db, const char *id, const char *dep) {
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, add_dep(db, id, dep));
}

/* ssot_snap.c: contracts (register, list, validate) and snapshots of the
 * SSOT half of a run (create, list, restore in one transaction) for
 * baton.ssot. A snapshot's state is one JSON document built by SQLite's
 * JSON functions; the workspace half is baton.harness's workspace_ref. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssot_int.h"

static int add_contract(bt_ssot *db, const char *run_prefix, const char *name, const char *kind,
                        const char *owner_prefix, const char *spec, long long *cid) {
    char run[BT_SSOT_IDLEN], owner[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run_prefix, run);
    if (rc == BT_SSOT_OK && owner_prefix)
        rc = ssot_resolve_in(db, run, "owner", owner_prefix, owner);
    if (rc) return rc;
    sqlite3_stmt *st =
        ssot_stmt(db, "INSERT INTO contracts(run, name, kind, owner, spec, created_at)"
                      " VALUES(?1, ?2, ?3, ?4, json(?5), ?6) RETURNING id");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, run);
    ssot_bind_text(st, 2, name);
    ssot_bind_text(st, 3, kind);
    ssot_bind_text(st, 4, owner_prefix ? owner : NULL);
    ssot_bind_text(st, 5, spec ? spec : "{}");
    sqlite3_bind_double(st, 6, ssot_now());
    if (ssot_row(db, st) != 1) return BT_SSOT_FAIL;
    *cid = sqlite3_column_int64(st, 0);
    rc = ssot_done(db, st);
    char payload[300];
    snprintf(payload, sizeof payload, "{\"contract\":%lld}", *cid);
    return rc ? rc : bt_ssot_event(db, run, "ssot", "contract", payload, NULL);
}

int bt_ssot_add_contract(bt_ssot *db, const char *run, const char *name, const char *kind,
                         const char *owner, const char *spec_json, long long *cid) {
    if (!name || !*name || !kind || !*kind)
        return ssot_err(db, BT_SSOT_MISUSE, "field", "a contract needs a name and a kind");
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, add_contract(db, run, name, kind, owner, spec_json, cid));
}

int bt_ssot_contracts(bt_ssot *db, const char *run, const char *name, bt_ssot_row_fn fn,
                      void *ctx) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc) return rc;
    sqlite3_stmt *st =
        ssot_stmt(db, "SELECT id, name, kind, owner, spec, created_at FROM contracts WHERE run = ?1"
                      " AND (?2 IS NULL OR name = ?2) ORDER BY id");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    ssot_bind_text(st, 2, name);
    return ssot_each(db, st, fn, ctx);
}

typedef struct {
    bt_ssot_violation_fn fn;
    void *ctx;
    const char *workspace;
    int n;
} vstate;

#define COL(i) ((const char *)sqlite3_column_text(st, (i)))

static int v_conflict(void *arg, sqlite3_stmt *st) {
    vstate *v = arg;
    char msg[400];
    snprintf(msg, sizeof msg, "contract '%s' is registered with different specs (owners: %s)",
             COL(0), COL(1));
    v->fn(v->ctx, "conflicting_spec", msg, COL(0), NULL, NULL);
    v->n++;
    return 0;
}

static int v_file(void *arg, sqlite3_stmt *st) {
    vstate *v = arg;
    const char *path = COL(2);
    char msg[600], full[4096];
    if (path[0] == '/' || strstr(path, "..")) {
        snprintf(msg, sizeof msg, "contract '%s' of %s names '%s', which is outside the workspace",
                 COL(0), COL(1), path);
        v->fn(v->ctx, "bad_path", msg, COL(0), COL(1), path);
        v->n++;
        return 0;
    }
    snprintf(full, sizeof full, "%s/%s", v->workspace, path);
    if (access(full, F_OK) == 0) return 0;
    snprintf(msg, sizeof msg,
             "contract '%s' of DONE %s names '%s', which does not exist in the workspace", COL(0),
             COL(1), path);
    v->fn(v->ctx, "missing_file", msg, COL(0), COL(1), path);
    v->n++;
    return 0;
}

static int v_accept(void *arg, sqlite3_stmt *st) {
    vstate *v = arg;
    char msg[200];
    snprintf(msg, sizeof msg, "%s is DONE but has no acceptance criteria", COL(0));
    v->fn(v->ctx, "no_acceptance", msg, NULL, COL(0), NULL);
    v->n++;
    return 0;
}

/* The checks of a run's contracts: one name registered with different
 * specs; files named by the contracts of DONE owners that lie outside the
 * workspace or are missing. */
static int contract_checks(bt_ssot *db, const char *rid, vstate *v) {
    int rc;
    sqlite3_stmt *st = ssot_stmt(
        db, "SELECT name, group_concat(DISTINCT COALESCE(owner, '-')) FROM contracts"
            " WHERE run = ?1 GROUP BY name HAVING count(DISTINCT spec) > 1 ORDER BY name");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    if ((rc = ssot_each(db, st, v_conflict, v))) return rc;
    st = ssot_stmt(
        db, "SELECT c.name, c.owner, f.value FROM contracts c JOIN reqs q ON q.id = c.owner,"
            " json_each(c.spec) f WHERE c.run = ?1 AND q.status = 'DONE' AND f.type = 'text'"
            " AND f.key IN ('path', 'file') UNION ALL SELECT c.name, c.owner, f.value FROM"
            " contracts c JOIN reqs q ON q.id = c.owner, json_each(c.spec, '$.files') f WHERE"
            " c.run = ?1 AND q.status = 'DONE' AND f.type = 'text' AND json_type(c.spec,"
            " '$.files') = 'array'");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    return ssot_each(db, st, v_file, v);
}

int bt_ssot_validate(bt_ssot *db, const char *run, const char *workspace, bt_ssot_violation_fn fn,
                     void *ctx, int *nviolations) {
    char rid[BT_SSOT_IDLEN];
    vstate v = {fn, ctx, workspace, 0};
    *nviolations = 0;
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc) return rc;
    /* A run without contracts (the usual case) skips their checks:
     * preparing those two statements alone cost ~0.4M instructions, on
     * VERIFY's way to the reviewer's request. */
    sqlite3_stmt *st = ssot_stmt(db, "SELECT 1 FROM contracts WHERE run = ?1 LIMIT 1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    int any = ssot_row(db, st);
    if (any < 0) return BT_SSOT_FAIL;
    sqlite3_reset(st);
    if (any && (rc = contract_checks(db, rid, &v))) return rc;
    st = ssot_stmt(db, "SELECT id FROM reqs WHERE run = ?1 AND status = 'DONE' AND"
                       " COALESCE(json_array_length(acceptance), 0) = 0 ORDER BY rowid");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    rc = ssot_each(db, st, v_accept, &v);
    *nviolations = v.n;
    return rc;
}

static int snapshot(bt_ssot *db, const char *run_prefix, const char *label, const char *wsref,
                    long long *sid) {
    char run[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run_prefix, run);
    if (!rc) rc = ssot_held_write(db); /* the state records what was spent */
    if (rc) return rc;
    char *state;
    size_t len;
    if ((rc = ssot_state(db, run, &state, &len))) return rc;
    sqlite3_stmt *st = ssot_stmt(db, "INSERT INTO snapshots(run, label, workspace_ref, created_at,"
                                     " state) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!st) {
        free(state);
        return BT_SSOT_FAIL;
    }
    ssot_bind_text(st, 1, run);
    ssot_bind_text(st, 2, label);
    ssot_bind_text(st, 3, wsref);
    sqlite3_bind_double(st, 4, ssot_now());
    sqlite3_bind_text(st, 5, state, (int)len, SQLITE_STATIC);
    rc = ssot_done(db, st); /* the id is the new rowid (RETURNING: an ephemeral table) */
    free(state);
    if (rc) return rc;
    *sid = sqlite3_last_insert_rowid(db->db);
    char payload[64];
    snprintf(payload, sizeof payload, "{\"snapshot\":%lld}", *sid);
    return bt_ssot_event(db, run, "ssot", "snapshot", payload, NULL);
}

int bt_ssot_snapshot(bt_ssot *db, const char *run, const char *label, const char *wsref,
                     long long *sid) {
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, snapshot(db, run, label, wsref, sid));
}

/* The end of the JSON object at p (just past its '{'), or NULL. */
static const char *object_end(const char *p, const char *end) {
    int level = 1;
    for (; p < end; p++) {
        if (*p == '"') { /* a string: skip it, escapes included */
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\') p++;
        } else if (*p == '{') {
            level++;
        } else if (*p == '}' && --level == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* Whether p..end is the state's tail after spent: ,"iteration":N,"retry_used":N} */
static int state_tail(const char *p, const char *end) {
    static const char *const parts[] = {",\"iteration\":", ",\"retry_used\":"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(parts[i]);
        if ((size_t)(end - p) < n || memcmp(p, parts[i], n) != 0) return 0;
        p += n;
        if (p < end && *p == '-') p++;
        if (p == end || *p < '0' || *p > '9') return 0;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return end - p == 1 && *p == '}';
}

/* bt_state_spent(state): the spent object of a snapshot's state, cut from
 * the text: snapshot() writes it last but for two integers, after the
 * requirements. json_extract parsed the whole state (every requirement)
 * to return it, ~1M instructions per snapshot listed, and the engine lists
 * them every iteration. NULL when the text is not shaped so (the caller
 * then asks json_extract). */
static void state_spent(sqlite3_context *cx, int argc, sqlite3_value **argv) {
    (void)argc;
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    int len = sqlite3_value_bytes(argv[0]);
    static const char key[] = "\"spent\":{";
    const char *found = NULL;
    if (!s || len < (int)sizeof key) return;
    for (const char *p = s + len - (int)sizeof key; p > s; p--)
        if (memcmp(p, key, sizeof key - 1) == 0) {
            found = p;
            break;
        }
    if (!found || found[-1] != ',') return;
    const char *start = found + sizeof key - 2, *stop = object_end(start + 1, s + len);
    if (!stop || !state_tail(stop, s + len)) return;
    sqlite3_result_text(cx, start, (int)(stop - start), SQLITE_TRANSIENT);
}

int ssot_snap_functions(bt_ssot *db) {
    int rc = sqlite3_create_function_v2(db->db, "bt_state_spent", 1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                                        NULL, state_spent, NULL, NULL, NULL);
    return rc == SQLITE_OK ? BT_SSOT_OK : ssot_sqlerr(db, rc);
}

int bt_ssot_snapshots(bt_ssot *db, const char *run, bt_ssot_row_fn fn, void *ctx) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc) return rc;
    sqlite3_stmt *st = ssot_stmt(
        db, "SELECT id, label, workspace_ref, created_at, COALESCE(bt_state_spent(state),"
            " json_extract(state, '$.spent')) AS spent FROM snapshots WHERE run = ?1 ORDER BY id");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    return ssot_each(db, st, fn, ctx);
}

/* Puts every requirement of the snapshot back; a claim does not survive a
 * rollback (IN_PROGRESS comes back PENDING) and every epoch grows, so no
 * holder from before can complete afterwards. Journals each change. */
static int restore_reqs(bt_ssot *db, const char *run, long long sid, const char *state) {
    sqlite3_stmt *it = NULL;
    int rc = sqlite3_prepare_v2(
        db->db,
        "SELECT json_extract(value, '$.id'), json_extract(value, '$.status'),"
        " json_extract(value, '$.assignee'), json_extract(value, '$.description'),"
        " json_extract(value, '$.acceptance'), json_extract(value, '$.role'), r.status"
        " FROM json_each(?1, '$.reqs') JOIN reqs r ON r.id = json_extract(value, '$.id')",
        -1, &it, NULL);
    if (rc != SQLITE_OK) return ssot_sqlerr(db, rc);
    sqlite3_bind_text(it, 1, state, -1, SQLITE_STATIC);
    char reason[64];
    snprintf(reason, sizeof reason, "rollback to snapshot %lld", sid);
    int out = BT_SSOT_OK;
    while (out == BT_SSOT_OK && (rc = sqlite3_step(it)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(it, 0);
        const char *to = (const char *)sqlite3_column_text(it, 1);
        const char *was = (const char *)sqlite3_column_text(it, 6);
        if (!strcmp(to, "IN_PROGRESS")) to = "PENDING";
        sqlite3_stmt *st = ssot_stmt(
            db, "UPDATE reqs SET status = ?2, assignee = ?3, description = ?4, acceptance = ?5,"
                " role = ?6, lease_holder = NULL, lease_pid = NULL, lease_epoch = lease_epoch + 1,"
                " status_by = CASE WHEN status = ?2 THEN status_by ELSE 'ssot' END,"
                " status_at = CASE WHEN status = ?2 THEN status_at ELSE ?7 END WHERE id = ?1");
        if (!st) {
            out = BT_SSOT_FAIL;
            break;
        }
        for (int c = 0; c < 6; c++)
            ssot_bind_text(st, c + 1, (const char *)sqlite3_column_text(it, c));
        ssot_bind_text(st, 2, to);
        sqlite3_bind_double(st, 7, ssot_now());
        out = ssot_done(db, st);
        if (out == BT_SSOT_OK && strcmp(was, to) != 0)
            out = ssot_journal_status(db, run, id, was, to, "ssot", reason);
    }
    if (out == BT_SSOT_OK && rc != SQLITE_DONE) out = ssot_sqlerr(db, rc);
    sqlite3_finalize(it);
    return out;
}

/* Steps of a restore after the requirements: later nodes, deps, contracts. */
static const char *const restore_sql[] = {
    "DELETE FROM reqs WHERE run = ?1 AND id NOT IN (SELECT json_extract(value, '$.id')"
    " FROM json_each(?2, '$.reqs'))",
    /* nodes deleted by a rollback to an older snapshot come back (parents first) */
    "INSERT OR IGNORE INTO reqs(id, run, parent, description, acceptance, role, created_at)"
    " SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.parent'),"
    " json_extract(value, '$.description'), json_extract(value, '$.acceptance'),"
    " json_extract(value, '$.role'), json_extract(value, '$.created_at')"
    " FROM json_each(?2, '$.reqs') ORDER BY key",
    "DELETE FROM deps WHERE req IN (SELECT id FROM reqs WHERE run = ?1)",
    "INSERT INTO deps(req, dep) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
    " FROM json_each(?2, '$.deps')",
    "DELETE FROM contracts WHERE run = ?1",
    "INSERT INTO contracts(run, name, kind, owner, spec, created_at) SELECT ?1,"
    " json_extract(value, '$.name'), json_extract(value, '$.kind'), json_extract(value,"
    " '$.owner'), json(json_extract(value, '$.spec')), json_extract(value, '$.created_at')"
    " FROM json_each(?2, '$.contracts') ORDER BY key",
    NULL};

static int restore(bt_ssot *db, const char *run_prefix, long long sid) {
    char run[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run_prefix, run);
    if (rc) return rc;
    db->parent_run[0] = 0; /* the parent add_req remembers may be deleted */
    sqlite3_stmt *st = ssot_stmt(db, "SELECT state FROM snapshots WHERE run = ?1 AND id = ?2");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, run);
    sqlite3_bind_int64(st, 2, sid);
    int got = ssot_row(db, st);
    if (got < 0) return BT_SSOT_FAIL;
    if (got == 0)
        return ssot_err(db, BT_SSOT_MISUSE, "unknown", "unknown snapshot %lld of run %s", sid, run);
    char *state = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (!state) return ssot_err(db, BT_SSOT_FAIL, "nomem", "ssot: out of memory");
    for (int i = 0; rc == BT_SSOT_OK && restore_sql[i]; i++) {
        if (i == 2) rc = restore_reqs(db, run, sid, state);
        if (rc) break;
        st = ssot_stmt(db, restore_sql[i]);
        if (!st) {
            rc = BT_SSOT_FAIL;
            break;
        }
        ssot_bind_text(st, 1, run);
        ssot_bind_text(st, 2, state);
        rc = ssot_done(db, st);
    }
    free(state);
    char payload[64];
    snprintf(payload, sizeof payload, "{\"snapshot\":%lld}", sid);
    return rc ? rc : bt_ssot_event(db, run, "ssot", "restore", payload, NULL);
}

int bt_ssot_restore(bt_ssot *db, const char *run, long long sid, bt_ssot_row_fn fn, void *ctx) {
    int rc = bt_ssot_begin(db);
    if (rc) return rc;
    rc = ssot_finish(db, restore(db, run, sid));
    if (rc) return rc;
    /* the reference is read after the commit: fn may raise (out of memory) */
    sqlite3_stmt *st = ssot_stmt(db, "SELECT workspace_ref, label FROM snapshots WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    sqlite3_bind_int64(st, 1, sid);
    return ssot_each(db, st, fn, ctx);
}

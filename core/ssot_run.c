/* ssot_run.c: runs (create with their root requirement, get, list,
 * update), the action history, the event journal, the LLM ledger, and id
 * resolution by unique prefix, for baton.ssot. See ssot.h. */
#include <stdio.h>
#include <string.h>

#include "ssot_int.h"

#define RUN_COLS                                                                                   \
    "SELECT id, root, requirement, status, iteration, retry_used, retry_max, policy, team,"        \
    " models, budgets, spent, workspace, meta, controller_pid, created_at, updated_at"             \
    " FROM runs "

int bt_ssot_resolve(bt_ssot *db, const char *table, const char *prefix, char out[BT_SSOT_IDLEN]) {
    int reqs = strcmp(table, "reqs") == 0;
    const char *noun = reqs ? "requirement" : "run";
    if (!prefix || !*prefix || strlen(prefix) >= BT_SSOT_IDLEN)
        return ssot_err(db, BT_SSOT_MISUSE, "unknown", "unknown %s '%s'", noun,
                        prefix ? prefix : "");
    if (!reqs && strcmp(prefix, db->run_seen) == 0) {
        memcpy(out, db->run_seen, BT_SSOT_IDLEN);
        return BT_SSOT_OK;
    }
    if (reqs) { /* callers pass whole ids: a key lookup costs half the range search */
        sqlite3_stmt *st = ssot_stmt(db, "SELECT 1 FROM reqs WHERE id = ?1");
        if (!st) return BT_SSOT_FAIL;
        ssot_bind_text(st, 1, prefix);
        int got = ssot_row(db, st);
        if (got < 0) return BT_SSOT_FAIL;
        if (got) {
            sqlite3_reset(st);
            memcpy(out, prefix, strlen(prefix) + 1);
            return BT_SSOT_OK;
        }
    }
    sqlite3_stmt *st = reqs ? ssot_stmt(db, "SELECT id FROM reqs WHERE id >= ?1 AND id < ?1 || "
                                            "'~' ORDER BY id LIMIT 6")
                            : ssot_stmt(db, "SELECT id FROM runs WHERE id >= ?1 AND id < ?1 || "
                                            "'~' ORDER BY id LIMIT 6");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, prefix);
    char list[160] = "";
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (strcmp(id, prefix) == 0) { /* an exact id wins over longer ids it prefixes */
            snprintf(out, BT_SSOT_IDLEN, "%s", id);
            if (!reqs) memcpy(db->run_seen, out, BT_SSOT_IDLEN);
            sqlite3_reset(st);
            return BT_SSOT_OK;
        }
        if (n == 0) snprintf(out, BT_SSOT_IDLEN, "%s", id);
        size_t len = strlen(list);
        if (n < 5)
            snprintf(list + len, sizeof list - len, "%s%s", n ? ", " : "", id);
        else if (n == 5)
            snprintf(list + len, sizeof list - len, ", ...");
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return ssot_sqlerr(db, rc);
    if (n == 0) return ssot_err(db, BT_SSOT_MISUSE, "unknown", "unknown %s '%s'", noun, prefix);
    if (n > 1)
        return ssot_err(db, BT_SSOT_MISUSE, "ambiguous", "ambiguous id prefix '%s' (matches %s)",
                        prefix, list);
    return BT_SSOT_OK;
}

/* Binds each value to the parameter :name; an unknown name is a misuse. */
static int bind_named(bt_ssot *db, sqlite3_stmt *st, const bt_ssot_val *f, int n,
                      const char *noun) {
    for (int k = 0; k < n; k++) {
        int i = ssot_param(db, st, f[k].name);
        if (i == 0 || strcmp(f[k].name, "id") == 0 || strcmp(f[k].name, "now") == 0)
            return ssot_err(db, BT_SSOT_MISUSE, "field", "unknown %s field '%s'", noun, f[k].name);
        switch (f[k].type) {
        case BT_V_NULL:
            sqlite3_bind_null(st, i);
            break;
        case BT_V_INT:
            sqlite3_bind_int64(st, i, f[k].i);
            break;
        case BT_V_REAL:
            sqlite3_bind_double(st, i, f[k].d);
            break;
        default:
            sqlite3_bind_text(st, i, f[k].s, -1, SQLITE_STATIC);
            break;
        }
    }
    return BT_SSOT_OK;
}

static int insert_run(bt_ssot *db, const bt_ssot_val *f, int n, const char *id) {
    sqlite3_stmt *st = ssot_stmt(
        db, "INSERT INTO runs(id, requirement, workspace, policy, team, models, budgets, meta,"
            " retry_max, created_at, updated_at) VALUES(:id, :requirement, :workspace,"
            " :policy, :team, :models, :budgets, :meta, :retry_max, :now, :now)");
    if (!st) return BT_SSOT_FAIL;
    int rc = bind_named(db, st, f, n, "run");
    if (rc) return rc;
    const char *req = NULL;
    for (int k = 0; k < n; k++)
        if (strcmp(f[k].name, "requirement") == 0 && f[k].type == BT_V_TEXT) req = f[k].s;
    if (!req || !*req)
        return ssot_err(db, BT_SSOT_MISUSE, "field",
                        "a run needs a requirement (a non-empty string)");
    sqlite3_bind_text(st, ssot_param(db, st, "id"), id, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, ssot_param(db, st, "now"), ssot_now());
    rc = ssot_done(db, st);
    if (rc) return rc;
    bt_ssot_req_spec root = {.description = req};
    char rid[BT_SSOT_IDLEN];
    rc = bt_ssot_add_req(db, id, &root, rid);
    if (rc) return rc;
    st = ssot_stmt(db, "UPDATE runs SET root = ?2 WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, id);
    ssot_bind_text(st, 2, rid);
    rc = ssot_done(db, st);
    return rc ? rc : bt_ssot_event(db, id, "ssot", "run", "{\"created\":true}", NULL);
}

int bt_ssot_create_run(bt_ssot *db, const bt_ssot_val *f, int n, char id[BT_SSOT_IDLEN]) {
    int rc = bt_ssot_begin(db);
    if (rc) return rc;
    char tmp[BT_SSOT_IDLEN];
    for (int tries = 0; tries < 50; tries++) { /* random ids: retry the rare collision */
        ssot_newid(db, "run", 5, id);
        if (bt_ssot_resolve(db, "runs", id, tmp) != BT_SSOT_OK) break;
    }
    return ssot_finish(db, insert_run(db, f, n, id));
}

int bt_ssot_run(bt_ssot *db, const char *id, bt_ssot_row_fn fn, void *ctx) {
    sqlite3_stmt *st;
    char rid[BT_SSOT_IDLEN];
    if (ssot_held_write(db)) return BT_SSOT_FAIL; /* the row shows what was spent */
    if (id) {
        int rc = bt_ssot_resolve(db, "runs", id, rid);
        if (rc) return rc;
        st = ssot_stmt(db, RUN_COLS "WHERE id = ?1");
    } else {
        st = ssot_stmt(db, RUN_COLS "ORDER BY rowid DESC LIMIT 1");
    }
    if (!st) return BT_SSOT_FAIL;
    if (id) ssot_bind_text(st, 1, rid);
    return ssot_each(db, st, fn, ctx);
}

int bt_ssot_runs(bt_ssot *db, bt_ssot_row_fn fn, void *ctx) {
    if (ssot_held_write(db)) return BT_SSOT_FAIL;
    sqlite3_stmt *st = ssot_stmt(db, RUN_COLS "ORDER BY rowid");
    return st ? ssot_each(db, st, fn, ctx) : BT_SSOT_FAIL;
}

static const char *const run_fields[] = {
    "status", "iteration", "retry_used", "retry_max", "spent", "controller_pid", "meta", "policy",
    "team",   "models",    "budgets",    "workspace", NULL};

/* An update of spent alone: its ledger rows journal it (no run event). */
static int spent_only(const bt_ssot_val *f, int n) {
    return n == 1 && strcmp(f[0].name, "spent") == 0;
}

/* The index of v's field in run_fields, or -1 after recording the error. */
static int check_run_field(bt_ssot *db, const bt_ssot_val *v) {
    for (int i = 0; run_fields[i]; i++) {
        if (strcmp(v->name, run_fields[i]) != 0) continue;
        if (i == 0 && (v->type != BT_V_TEXT || (strcmp(v->s, "RUNNING") && strcmp(v->s, "DONE") &&
                                                strcmp(v->s, "FAILED") && strcmp(v->s, "STOPPED")))) {
            ssot_err(db, BT_SSOT_MISUSE, "field", "invalid run status '%s' (RUNNING, DONE, FAILED or STOPPED)",
                     v->type == BT_V_TEXT ? v->s : "?");
            return -1;
        }
        return i;
    }
    ssot_err(db, BT_SSOT_MISUSE, "field", "unknown run field '%s'", v->name);
    return -1;
}

/* The UPDATE for a set of fields (a bit per run_fields entry), prepared once
 * per connection: the engine updates the same few sets on every request
 * (spent, iteration, meta), and preparing cost more than the update. *own
 * is set when the statement is not cached and the caller must finalize it. */
static sqlite3_stmt *run_update_stmt(bt_ssot *db, unsigned mask, int *own) {
    *own = 0;
    if (ssot_will_write(db)) return NULL; /* not from ssot_stmt: open the savepoint here */
    for (int i = 0; i < db->nrunupd; i++) {
        if (db->runupd[i].mask != mask) continue;
        sqlite3_reset(db->runupd[i].st);
        sqlite3_clear_bindings(db->runupd[i].st);
        return db->runupd[i].st;
    }
    char sql[1024] = "UPDATE runs SET updated_at = :now";
    for (int i = 0; run_fields[i]; i++) {
        if (!(mask & (1u << i))) continue;
        size_t len = strlen(sql);
        snprintf(sql + len, sizeof sql - len, ", %s = :%s", run_fields[i], run_fields[i]);
    }
    strcat(sql, " WHERE id = :id");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        ssot_sqlerr(db, rc);
        return NULL;
    }
    int n = (int)(sizeof db->runupd / sizeof db->runupd[0]);
    if (db->nrunupd < n) {
        db->runupd[db->nrunupd].mask = mask;
        db->runupd[db->nrunupd++].st = st;
    } else {
        *own = 1;
    }
    return st;
}

static int is_text(const bt_ssot_val *v) {
    return v->type == BT_V_JSON || v->type == BT_V_TEXT;
}

/* The text of field spent among f, or NULL. */
static const char *spent_of(const bt_ssot_val *f, int n) {
    for (int k = 0; k < n; k++)
        if (strcmp(f[k].name, "spent") == 0) return is_text(&f[k]) ? f[k].s : NULL;
    return NULL;
}

static int update_run(bt_ssot *db, const char *id, const bt_ssot_val *f, int n) {
    if (spent_only(f, n) && is_text(&f[0]) && ssot_held_can(db, id))
        return ssot_held_set(db, id, f[0].s, 0); /* written when the transaction commits */
    char names[512] = "[";
    unsigned mask = 0;
    for (int k = 0; k < n; k++) {
        int i = check_run_field(db, &f[k]);
        if (i < 0) return BT_SSOT_MISUSE;
        mask |= 1u << i;
        size_t nl = strlen(names);
        snprintf(names + nl, sizeof names - nl, "%s\"%s\"", k ? "," : "", f[k].name);
    }
    strcat(names, "]");
    int own;
    sqlite3_stmt *st = run_update_stmt(db, mask, &own);
    if (!st) return BT_SSOT_FAIL;
    int rc = bind_named(db, st, f, n, "run");
    if (rc == BT_SSOT_OK) {
        sqlite3_bind_text(st, ssot_param(db, st, "id"), id, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, ssot_param(db, st, "now"), ssot_now());
        rc = ssot_done(db, st);
    }
    if (own) sqlite3_finalize(st);
    else sqlite3_reset(st); /* releases the row and the bound text */
    const char *spent = spent_of(f, n);
    /* a value held from before must not overwrite this newer one at COMMIT */
    if (rc == BT_SSOT_OK && spent && db->nheld && strcmp(db->held_run, id) == 0)
        rc = ssot_held_set(db, id, spent, 1);
    if (rc || spent_only(f, n)) return rc;
    char payload[600];
    snprintf(payload, sizeof payload, "{\"updated\":%s}", names);
    return bt_ssot_event(db, id, "ssot", "run", payload, NULL);
}


int bt_ssot_update_run(bt_ssot *db, const char *id, const bt_ssot_val *f, int n) {
    char rid[BT_SSOT_IDLEN];
    if (n > 16) return ssot_err(db, BT_SSOT_MISUSE, "field", "too many run fields");
    if (spent_only(f, n) && ssot_single_ok(db)) { /* one statement, not journaled */
        int rc = bt_ssot_resolve(db, "runs", id, rid);
        return rc ? rc : update_run(db, rid, f, n);
    }
    int rc = bt_ssot_begin(db);
    if (rc) return rc;
    rc = bt_ssot_resolve(db, "runs", id, rid);
    return ssot_finish(db, rc ? rc : update_run(db, rid, f, n));
}

static int insert_action(bt_ssot *db, const char *run, const bt_ssot_val *f, int n,
                         long long *seq) {
    sqlite3_stmt *st = ssot_stmt(
        db, "INSERT INTO actions(run, seq, time, action, target, role, reasoning, outcome,"
            " detail) VALUES(:id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM actions WHERE run ="
            " :id), :now, :action, :target, :role, :reasoning, :outcome, :detail)"
            " RETURNING seq");
    if (!st) return BT_SSOT_FAIL;
    int rc = bind_named(db, st, f, n, "action");
    if (rc) return rc;
    sqlite3_bind_text(st, ssot_param(db, st, "id"), run, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, ssot_param(db, st, "now"), ssot_now());
    int got = ssot_row(db, st);
    if (got < 0) return BT_SSOT_FAIL;
    if (seq) *seq = sqlite3_column_int64(st, 0);
    return ssot_done(db, st);
}

int bt_ssot_record_action(bt_ssot *db, const char *run, const bt_ssot_val *f, int n,
                          long long *seq) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_begin(db);
    if (rc) return rc;
    rc = bt_ssot_resolve(db, "runs", run, rid);
    return ssot_finish(db, rc ? rc : insert_action(db, rid, f, n, seq));
}

int bt_ssot_actions(bt_ssot *db, const char *run, long long limit, bt_ssot_row_fn fn, void *ctx) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc) return rc;
    sqlite3_stmt *st = ssot_stmt(
        db, "SELECT * FROM (SELECT seq, time, action, target, role, reasoning, outcome, detail"
            " FROM actions WHERE run = ?1 ORDER BY seq DESC LIMIT ?2) ORDER BY seq");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    sqlite3_bind_int64(st, 2, limit);
    return ssot_each(db, st, fn, ctx);
}

/* Appends to the journal of an already resolved run (in any transaction). */
long long ssot_next_seq(bt_ssot *db, const char *run) {
    if (db->seq_run[0] && strcmp(db->seq_run, run) == 0) return db->seq_next;
    sqlite3_stmt *st =
        ssot_stmt(db, "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run = ?1");
    if (!st) return 0;
    ssot_bind_text(st, 1, run);
    int got = ssot_row(db, st);
    if (got < 0) return 0;
    long long next = got ? sqlite3_column_int64(st, 0) : 1; /* an aggregate: always a row */
    if (got) sqlite3_reset(st);
    return next;
}

void ssot_seq_used(bt_ssot *db, const char *run, long long seq) {
    if (strlen(run) >= sizeof db->seq_run) return;
    strcpy(db->seq_run, run);
    db->seq_next = seq + 1;
}

/* The next seq is read first (cached while the write lock is held), then
 * inserted: INSERT ... RETURNING made SQLite open, zero and close an
 * ephemeral b-tree for every journal row (~20k instructions each). */
static int append_event(bt_ssot *db, const char *run, const char *actor, const char *kind,
                        const char *payload, long long *seq) {
    long long next = ssot_next_seq(db, run);
    if (!next) return BT_SSOT_FAIL;
    sqlite3_stmt *st = ssot_stmt(db, "INSERT INTO events(run, seq, time, actor, kind, payload)"
                                     " VALUES(?1, ?6, ?2, ?3, ?4, ?5)");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, run);
    sqlite3_bind_double(st, 2, ssot_now());
    ssot_bind_text(st, 3, actor);
    ssot_bind_text(st, 4, kind);
    ssot_bind_text(st, 5, payload);
    sqlite3_bind_int64(st, 6, next);
    int rc = ssot_done(db, st);
    if (rc != BT_SSOT_OK) return rc;
    ssot_seq_used(db, run, next);
    if (seq) *seq = next;
    return rc;
}

/* Appends ,"key":"s" (no comma first) to buf at *n; 0 when s is NULL,
 * needs escaping or does not fit (SQLite's json_object then writes it). */
static int plain_member(char *buf, size_t size, size_t *n, const char *key, const char *s) {
    if (!s) return 0;
    size_t len = 0;
    for (; s[len]; len++) {
        unsigned char c = (unsigned char)s[len];
        if (c < 0x20 || c == '"' || c == '\\') return 0;
    }
    size_t klen = strlen(key), at = *n;
    if (at + klen + len + 8 > size) return 0;
    if (at > 1) buf[at++] = ',';
    buf[at++] = '"';
    memcpy(buf + at, key, klen);
    at += klen;
    memcpy(buf + at, "\":\"", 3);
    at += 3;
    memcpy(buf + at, s, len);
    at += len;
    buf[at++] = '"';
    *n = at;
    return 1;
}

/* The status payload as json_object writes it, built here when no value
 * needs escaping (ids, statuses and most reasons): json_object in the
 * INSERT cost ~3.5k instructions per claim or completion. NULL otherwise. */
static const char *status_payload(char *buf, size_t size, const char *id, const char *from,
                                  const char *to, const char *reason) {
    size_t n = 1;
    buf[0] = '{';
    if (!plain_member(buf, size, &n, "id", id) || !plain_member(buf, size, &n, "from", from) ||
        !plain_member(buf, size, &n, "to", to) ||
        (reason && !plain_member(buf, size, &n, "reason", reason)))
        return NULL;
    buf[n++] = '}'; /* room kept by plain_member's margin */
    buf[n] = 0;
    return buf;
}

int ssot_journal_status(bt_ssot *db, const char *run, const char *id, const char *from,
                        const char *to, const char *by, const char *reason) {
    char buf[1024];
    const char *payload = status_payload(buf, sizeof buf, id, from, to, reason);
    if (payload) return append_event(db, run, by, "status", payload, NULL);
    long long next = ssot_next_seq(db, run);
    if (!next) return BT_SSOT_FAIL;
    sqlite3_stmt *st = ssot_stmt(
        db, "INSERT INTO events(run, seq, time, actor, kind, payload) VALUES(?1, ?8, ?2, ?3,"
            " 'status', CASE WHEN ?7 IS NULL THEN json_object('id', ?4, 'from', ?5, 'to', ?6)"
            " ELSE json_object('id', ?4, 'from', ?5, 'to', ?6, 'reason', ?7) END)");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, run);
    sqlite3_bind_double(st, 2, ssot_now());
    ssot_bind_text(st, 3, by);
    ssot_bind_text(st, 4, id);
    ssot_bind_text(st, 5, from);
    ssot_bind_text(st, 6, to);
    ssot_bind_text(st, 7, reason);
    sqlite3_bind_int64(st, 8, next);
    int rc = ssot_done(db, st);
    if (rc == BT_SSOT_OK) ssot_seq_used(db, run, next);
    return rc;
}

int bt_ssot_event(bt_ssot *db, const char *run, const char *actor, const char *kind,
                  const char *payload, long long *seq) {
    char rid[BT_SSOT_IDLEN];
    if (!kind || !*kind) return ssot_err(db, BT_SSOT_MISUSE, "field", "an event needs a kind");
    if (ssot_single_ok(db)) {
        int rc = bt_ssot_resolve(db, "runs", run, rid);
        return rc ? rc : append_event(db, rid, actor, kind, payload, seq);
    }
    int rc = bt_ssot_begin(db);
    if (rc) return rc;
    rc = bt_ssot_resolve(db, "runs", run, rid);
    return ssot_finish(db, rc ? rc : append_event(db, rid, actor, kind, payload, seq));
}

int bt_ssot_events(bt_ssot *db, const char *run, long long since, const char *kind, long long limit,
                   bt_ssot_row_fn fn, void *ctx) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc) return rc;
    sqlite3_stmt *st = ssot_stmt(
        db, "SELECT seq, time, actor, kind, payload FROM events WHERE run = ?1 AND seq > ?2"
            " AND (?3 IS NULL OR kind = ?3) ORDER BY seq LIMIT ?4");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    sqlite3_bind_int64(st, 2, since);
    ssot_bind_text(st, 3, kind);
    sqlite3_bind_int64(st, 4, limit);
    return ssot_each(db, st, fn, ctx);
}

static int insert_llm(bt_ssot *db, const char *run, const bt_ssot_val *f, int n, long long *id) {
    sqlite3_stmt *st = ssot_stmt(
        db, "INSERT INTO llm_calls(run, time, agent, role, model, input_tokens, output_tokens,"
            " cost, latency, attempt, status, key, response) VALUES(:id, :now, :agent, :role,"
            " :model, COALESCE(:input_tokens, 0), COALESCE(:output_tokens, 0), COALESCE(:cost,"
            " 0), COALESCE(:latency, 0), COALESCE(:attempt, 1), :status, :key, :response)");
    if (!st) return BT_SSOT_FAIL;
    int rc = bind_named(db, st, f, n, "llm call");
    if (rc) return rc;
    sqlite3_bind_text(st, ssot_param(db, st, "id"), run, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, ssot_param(db, st, "now"), ssot_now());
    /* id from last_insert_rowid, not RETURNING (an ephemeral b-tree per call) */
    rc = ssot_done(db, st);
    if (rc == BT_SSOT_OK && id) *id = sqlite3_last_insert_rowid(db->db);
    return rc;
}

int bt_ssot_llm_record(bt_ssot *db, const char *run, const bt_ssot_val *f, int n, long long *id) {
    char rid[BT_SSOT_IDLEN];
    if (ssot_single_ok(db)) {
        int rc = bt_ssot_resolve(db, "runs", run, rid);
        return rc ? rc : insert_llm(db, rid, f, n, id);
    }
    int rc = bt_ssot_begin(db);
    if (rc) return rc;
    rc = bt_ssot_resolve(db, "runs", run, rid);
    return ssot_finish(db, rc ? rc : insert_llm(db, rid, f, n, id));
}

int bt_ssot_llm_lookup(bt_ssot *db, const char *run, const char *key, bt_ssot_row_fn fn,
                       void *ctx) {
    char rid[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc) return rc;
    sqlite3_stmt *st =
        ssot_stmt(db, "SELECT response FROM llm_calls WHERE run = ?1 AND key = ?2 AND status = 'ok'"
                      " AND response IS NOT NULL ORDER BY id DESC LIMIT 1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    ssot_bind_text(st, 2, key);
    return ssot_each(db, st, fn, ctx);
}

int bt_ssot_llm_totals(bt_ssot *db, const char *run, const char *by, bt_ssot_row_fn fn, void *ctx) {
    char rid[BT_SSOT_IDLEN];
    if (by && strcmp(by, "agent") && strcmp(by, "model") && strcmp(by, "role"))
        return ssot_err(db, BT_SSOT_MISUSE, "field",
                        "llm_totals groups by 'agent', 'model' or 'role', not '%s'", by);
    int rc = bt_ssot_resolve(db, "runs", run, rid);
    if (rc) return rc;
    sqlite3_stmt *st = ssot_stmt(
        db, "SELECT CASE ?2 WHEN 'agent' THEN agent WHEN 'model' THEN model WHEN 'role' THEN"
            " role END AS name, count(*) AS calls, COALESCE(SUM(input_tokens), 0) AS"
            " input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, total(cost) AS"
            " cost, total(latency) AS latency FROM llm_calls WHERE run = ?1 GROUP BY name"
            " ORDER BY name");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, rid);
    ssot_bind_text(st, 2, by);
    return ssot_each(db, st, fn, ctx);
}

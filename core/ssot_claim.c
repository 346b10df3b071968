/* ssot_claim.c: the status machine of baton.ssot and the claims built on it.
 * One table says which change each door may make (set_status, claim,
 * complete, rollback); every change records who and when and is journaled
 * in the same transaction. A claim takes a lease (holder, pid, time, epoch
 * that only grows) so a dead holder's claims can be released on resume and
 * a holder whose lease was taken over cannot complete afterwards. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssot_int.h"

enum door { BY_SET, BY_CLAIM, BY_COMPLETE };

/* NULL when door may change from -> to, else the reason it may not. */
static const char *illegal(const char *from, const char *to, enum door door) {
    if (!strcmp(from, "PENDING") && !strcmp(to, "IN_PROGRESS"))
        return door == BY_CLAIM ? NULL : " (only a claim starts a task)";
    if (door == BY_CLAIM) return "";
    if (!strcmp(from, "IN_PROGRESS"))
        return !strcmp(to, "DONE") || !strcmp(to, "BLOCKED") || !strcmp(to, "PENDING") ? NULL : "";
    if (!strcmp(from, "BLOCKED") && !strcmp(to, "PENDING")) return door == BY_SET ? NULL : "";
    if (!strcmp(from, "DONE") && !strcmp(to, "PENDING"))
        return " (only a rollback reopens a DONE task)";
    return "";
}

typedef struct {
    char id[BT_SSOT_IDLEN], run[BT_SSOT_IDLEN], status[16], holder[128];
    long long epoch;
} req_state;

/* Copies column i of st into dst (cut to its size): snprintf("%s") cost
 * ~600 instructions a column, on every claim and completion. */
static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int i) {
    const char *src = (const char *)sqlite3_column_text(st, i);
    size_t len = src ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (len >= size) len = size - 1;
    if (len) memcpy(dst, src, len);
    dst[len] = 0;
}

/* Loads the state of id (exact ids skip the prefix search: the hot path). */
static int load(bt_ssot *db, const char *id, req_state *r) {
    sqlite3_stmt *st =
        ssot_stmt(db, "SELECT id, run, status, COALESCE(lease_holder, ''), lease_epoch FROM reqs"
                      " WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, id);
    int got = ssot_row(db, st);
    if (got < 0) return BT_SSOT_FAIL;
    if (got == 0) {
        char full[BT_SSOT_IDLEN];
        int rc = bt_ssot_resolve(db, "reqs", id, full);
        return rc ? rc : load(db, full, r);
    }
    copy_col(r->id, sizeof r->id, st, 0);
    copy_col(r->run, sizeof r->run, st, 1);
    copy_col(r->status, sizeof r->status, st, 2);
    copy_col(r->holder, sizeof r->holder, st, 3);
    r->epoch = sqlite3_column_int64(st, 4);
    sqlite3_reset(st);
    return BT_SSOT_OK;
}

static int check(bt_ssot *db, const req_state *r, const char *to, enum door door) {
    if (!ssot_valid_status(to))
        return ssot_err(db, BT_SSOT_MISUSE, "status",
                        "invalid status '%s' (PENDING, IN_PROGRESS, DONE or BLOCKED)", to);
    const char *why = illegal(r->status, to, door);
    if (why)
        return ssot_err(db, BT_SSOT_MISUSE, "transition", "illegal transition for %s: %s -> %s%s",
                        r->id, r->status, to, why);
    return BT_SSOT_OK;
}

/* Moves r out of IN_PROGRESS (or BLOCKED) to `to`; the lease ends. */
static int move(bt_ssot *db, const req_state *r, const char *to, const char *by,
                const char *reason) {
    sqlite3_stmt *st = ssot_stmt(
        db, "UPDATE reqs SET status = ?2, status_by = ?3, status_at = ?4, lease_holder = NULL,"
            " lease_pid = NULL WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, r->id);
    ssot_bind_text(st, 2, to);
    ssot_bind_text(st, 3, by);
    sqlite3_bind_double(st, 4, ssot_now());
    int rc = ssot_done(db, st);
    return rc ? rc : ssot_journal_status(db, r->run, r->id, r->status, to, by, reason);
}

static int set_status(bt_ssot *db, const char *id, const char *to, const char *by,
                      const char *reason) {
    req_state r;
    int rc = load(db, id, &r);
    if (rc == BT_SSOT_OK) rc = check(db, &r, to, BY_SET);
    return rc ? rc : move(db, &r, to, by, reason);
}

int bt_ssot_set_status(bt_ssot *db, const char *id, const char *to, const char *by,
                       const char *reason) {
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, set_status(db, id, to, by, reason));
}

static int claim(bt_ssot *db, const char *id, const char *agent, long long pid, long long *epoch) {
    req_state r;
    int rc = load(db, id, &r);
    if (rc) return rc;
    if (strcmp(r.status, "PENDING") != 0)
        return ssot_err(db, BT_SSOT_REFUSED, "not_pending", "cannot claim %s: it is %s", r.id,
                        r.status);
    /* ORDER BY d.dep (= q.id): the key's own order, where ORDER BY q.id made
     * SQLite sort through a temporary b-tree (~30k instructions a claim). */
    sqlite3_stmt *st = ssot_stmt(
        db, "SELECT q.id, q.status FROM deps d JOIN reqs q ON q.id = d.dep WHERE d.req = ?1"
            " AND q.status <> 'DONE' ORDER BY d.dep LIMIT 1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, r.id);
    int got = ssot_row(db, st);
    if (got < 0) return BT_SSOT_FAIL;
    if (got == 1) {
        rc = ssot_err(db, BT_SSOT_REFUSED, "deps_not_done", "cannot claim %s: dependency %s is %s",
                      r.id, (const char *)sqlite3_column_text(st, 0),
                      (const char *)sqlite3_column_text(st, 1));
        sqlite3_reset(st);
        return rc;
    }
    /* The new epoch is the loaded one + 1 (same write transaction), set
     * explicitly: RETURNING would make SQLite build an ephemeral table per
     * claim (a b-tree opened, zeroed and closed: ~20k instructions). */
    st = ssot_stmt(db, "UPDATE reqs SET status = 'IN_PROGRESS', assignee = ?2, lease_holder = ?2,"
                       " lease_epoch = ?5, lease_time = ?3, lease_pid = ?4,"
                       " status_by = ?2, status_at = ?3 WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, r.id);
    ssot_bind_text(st, 2, agent);
    sqlite3_bind_double(st, 3, ssot_now());
    sqlite3_bind_int64(st, 4, pid);
    sqlite3_bind_int64(st, 5, r.epoch + 1);
    rc = ssot_done(db, st);
    if (rc) return rc;
    if (sqlite3_changes(db->db) == 0)
        return ssot_err(db, BT_SSOT_FAIL, "sqlite", "ssot: %s vanished", r.id);
    *epoch = r.epoch + 1;
    return ssot_journal_status(db, r.run, r.id, "PENDING", "IN_PROGRESS", agent, "claim");
}

int bt_ssot_claim(bt_ssot *db, const char *id, const char *agent, long long pid, long long *epoch) {
    if (!agent || !*agent)
        return ssot_err(db, BT_SSOT_MISUSE, "field", "a claim needs an agent name");
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, claim(db, id, agent, pid, epoch));
}

/* Refuses (lease_lost) unless agent holds r's lease at epoch. */
static int holds(bt_ssot *db, const req_state *r, const char *agent, long long epoch) {
    if (strcmp(r->status, "IN_PROGRESS") != 0)
        return ssot_err(db, BT_SSOT_REFUSED, "lease_lost", "lease lost on %s: the task is %s now",
                        r->id, r->status);
    if (strcmp(r->holder, agent) != 0 || r->epoch != epoch)
        return ssot_err(db, BT_SSOT_REFUSED, "lease_lost",
                        "lease lost on %s: held by %s at epoch %lld", r->id, r->holder, r->epoch);
    return BT_SSOT_OK;
}

static int complete(bt_ssot *db, const char *id, const char *agent, long long epoch, const char *to,
                    const char *reason) {
    req_state r;
    int rc = load(db, id, &r);
    if (rc == BT_SSOT_OK) rc = holds(db, &r, agent, epoch);
    if (rc == BT_SSOT_OK) rc = check(db, &r, to, BY_COMPLETE);
    return rc ? rc : move(db, &r, to, agent, reason);
}

int bt_ssot_complete(bt_ssot *db, const char *id, const char *agent, long long epoch,
                     const char *to, const char *reason) {
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, complete(db, id, agent, epoch, to, reason));
}

static int heartbeat(bt_ssot *db, const char *id, const char *agent, long long epoch) {
    req_state r;
    int rc = load(db, id, &r);
    if (rc == BT_SSOT_OK) rc = holds(db, &r, agent, epoch);
    if (rc) return rc;
    sqlite3_stmt *st = ssot_stmt(db, "UPDATE reqs SET lease_time = ?2 WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, r.id);
    sqlite3_bind_double(st, 2, ssot_now());
    return ssot_done(db, st);
}

int bt_ssot_heartbeat(bt_ssot *db, const char *id, const char *agent, long long epoch) {
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, heartbeat(db, id, agent, epoch));
}

/* A pid is alive when signal 0 reaches it (EPERM: alive, someone else's). */
static int alive(long long pid) {
    if (pid <= 0) return 0;
    if (pid == (long long)getpid()) return 1;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static int release_one(bt_ssot *db, const char *run, const char *id, const char *why) {
    sqlite3_stmt *st = ssot_stmt(
        db, "UPDATE reqs SET status = 'PENDING', lease_holder = NULL, lease_pid = NULL,"
            " lease_epoch = lease_epoch + 1, status_by = 'ssot', status_at = ?2 WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, id);
    sqlite3_bind_double(st, 2, ssot_now());
    int rc = ssot_done(db, st);
    return rc ? rc : ssot_journal_status(db, run, id, "IN_PROGRESS", "PENDING", "ssot", why);
}

static int release(bt_ssot *db, const char *run_prefix, int dead_only, int *count) {
    char run[BT_SSOT_IDLEN];
    int rc = bt_ssot_resolve(db, "runs", run_prefix, run);
    if (rc) return rc;
    sqlite3_stmt *st =
        ssot_stmt(db, "SELECT id, COALESCE(lease_pid, 0) FROM reqs WHERE run = ?1 AND status ="
                      " 'IN_PROGRESS' ORDER BY rowid");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, run);
    int n = 0, cap = 0;
    char(*ids)[BT_SSOT_IDLEN] = NULL; /* collected first: no writes under an open SELECT */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (dead_only && alive(sqlite3_column_int64(st, 1))) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *grown = realloc(ids, (size_t)cap * sizeof *ids);
            if (!grown) break;
            ids = grown;
        }
        snprintf(ids[n++], BT_SSOT_IDLEN, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    rc = rc == SQLITE_DONE  ? BT_SSOT_OK
         : rc == SQLITE_ROW ? ssot_err(db, BT_SSOT_FAIL, "nomem", "ssot: out of memory")
                            : ssot_sqlerr(db, rc);
    for (int i = 0; rc == BT_SSOT_OK && i < n; i++)
        rc = release_one(db, run, ids[i], dead_only ? "holder died" : "released");
    free(ids);
    *count = n;
    return rc;
}

int bt_ssot_release_claims(bt_ssot *db, const char *run, int dead_only, int *count) {
    *count = 0;
    int rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, release(db, run, dead_only, count));
}

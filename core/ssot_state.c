/* ssot_state.c: the state a snapshot of baton.ssot records (ssot_snap.c):
 * the run's requirements, dependencies, contracts, spending, iteration and
 * retries, as the text one json_object(...) statement used to make. SQLite
 * writes each requirement's and each list's JSON; they are joined here as
 * json_group_array and json_object join them (the array over an ordered
 * subquery copied every requirement's columns: ~40% of a snapshot). */
#include <stdlib.h>
#include <string.h>

#include "ssot_int.h"

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t len) {
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *g = realloc(b->p, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->p = g, b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = 0;
}

static void puts_(sbuf *b, const char *s) {
    put(b, s, strlen(s));
}

/* Column i of st as json_object embeds it: JSON text as it is, NULL as null. */
static void put_col(sbuf *b, sqlite3_stmt *st, int i) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    if (s)
        put(b, s, (size_t)sqlite3_column_bytes(st, i));
    else
        puts_(b, "null");
}

/* The one-row value of st (bound to run) at the end of b. */
static int put_one(bt_ssot *db, sbuf *b, sqlite3_stmt *st, const char *run) {
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, run);
    if (ssot_row(db, st) != 1) return BT_SSOT_FAIL;
    put_col(b, st, 0);
    sqlite3_reset(st);
    return BT_SSOT_OK;
}

/* The requirements, in creation order: json_group_array's "[a,b,...]". */
static int put_reqs(bt_ssot *db, sbuf *b, const char *run) {
    sqlite3_stmt *st = ssot_stmt(
        db, "SELECT json_object('id', id, 'status', status, 'assignee', assignee, 'description',"
            " description, 'acceptance', json(acceptance), 'role', role, 'parent', parent,"
            " 'created_at', created_at) FROM reqs WHERE run = ?1 ORDER BY rowid");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, run);
    int rc, first = 1;
    puts_(b, "[");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!first) puts_(b, ",");
        first = 0;
        put_col(b, st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return ssot_sqlerr(db, rc);
    puts_(b, "]");
    return BT_SSOT_OK;
}

/* The state of run; *out is malloc'ed (the caller frees it). */
int ssot_state(bt_ssot *db, const char *run, char **out, size_t *len) {
    sbuf b = {0};
    *out = NULL;
    puts_(&b, "{\"reqs\":");
    int rc = put_reqs(db, &b, run);
    if (rc == BT_SSOT_OK) {
        puts_(&b, ",\"deps\":");
        rc = put_one(db, &b, ssot_stmt(db, "SELECT json_group_array(json_array(d.req, d.dep))"
                                           " FROM deps d JOIN reqs q ON q.id = d.req"
                                           " WHERE q.run = ?1"), run);
    }
    if (rc == BT_SSOT_OK) {
        puts_(&b, ",\"contracts\":");
        rc = put_one(db, &b,
                     ssot_stmt(db, "SELECT json_group_array(json_object('name', name, 'kind', kind,"
                                   " 'owner', owner, 'spec', json(spec), 'created_at', created_at))"
                                   " FROM (SELECT name, kind, owner, spec, created_at FROM contracts"
                                   " WHERE run = ?1 ORDER BY id)"), run);
    }
    sqlite3_stmt *st = rc ? NULL
                          : ssot_stmt(db, "SELECT json(spent), iteration, retry_used FROM runs"
                                          " WHERE id = ?1");
    if (rc == BT_SSOT_OK && !st) rc = BT_SSOT_FAIL;
    if (rc == BT_SSOT_OK) {
        ssot_bind_text(st, 1, run);
        int got = ssot_row(db, st);
        if (got == 1) {
            puts_(&b, ",\"spent\":");
            put_col(&b, st, 0);
            puts_(&b, ",\"iteration\":");
            put_col(&b, st, 1); /* INTEGER NOT NULL: its text is json_object's */
            puts_(&b, ",\"retry_used\":");
            put_col(&b, st, 2);
            puts_(&b, "}");
            sqlite3_reset(st);
        } else {
            rc = got < 0 ? BT_SSOT_FAIL
                         : ssot_err(db, BT_SSOT_FAIL, "sqlite", "ssot: run %s vanished", run);
        }
    }
    if (rc == BT_SSOT_OK && b.oom)
        rc = ssot_err(db, BT_SSOT_FAIL, "nomem", "ssot: out of memory building a snapshot");
    if (rc) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    *len = b.n;
    return BT_SSOT_OK;
}

/* ssot_int.h: what the engine files of baton.ssot (core/ssot*.c, not the
 * binding) share: the connection struct, the prepared-statement cache, error
 * helpers and the transaction wrapper. Not part of the module's API. */
#ifndef BATON_SSOT_INT_H
#define BATON_SSOT_INT_H
#include "ssot.h"

#define SSOT_CACHE 96 /* distinct cached statements per connection */
#define SSOT_MAXDEPTH 200 /* nested transaction levels */

/* A run's spent held until its transaction commits (ssot_held.c). */
struct ssot_held {
    int depth;  /* the transaction depth whose value this is */
    int dirty;  /* not yet written at that depth */
    double now; /* when it was set: the row's updated_at */
    size_t cap; /* text's buffer size (buffers are reused) */
    char *text; /* the JSON text */
};

struct bt_ssot {
    sqlite3 *db;
    int busy_ms;
    int depth;         /* transaction nesting: 0 = no unit open */
    /* Group commit (see bt_ssot_group in ssot.h). */
    int group;   /* on: deferring callers leave their COMMIT to the group */
    int defer;   /* the current caller may defer (set per call by the binding) */
    int gopen;   /* the group's transaction is open: writes not yet committed */
    int unit_sp; /* the open depth-1 unit is a savepoint inside the group */
    /* Savepoints are opened lazily, at a level's first write (see
     * ssot_will_write): pend = how many innermost savepoint levels have
     * written nothing yet (one SAVEPOINT then serves them all); own[d] = 1
     * when level d opened the SAVEPOINT the levels above it share. */
    int pend;
    unsigned char own[SSOT_MAXDEPTH + 1];
    int lost;    /* SQLite rolled the group back: the next flush reports it */
    double busy_start; /* when the current wait for a lock began */
    unsigned long rng; /* jitter for the busy handler */
    const char *code;  /* code word of the last failure (static string) */
    char msg[512];     /* message of the last failure */
    int ncache;
    struct {
        const char *sql; /* keyed by the literal's address */
        sqlite3_stmt *st;
        int ro; /* sqlite3_stmt_readonly: needs no savepoint */
    } cache[SSOT_CACHE];
    /* The last run id resolved exactly (runs are never deleted; cleared on
     * rollback, which may undo the run's creation): every journal row and
     * run update resolves the same id, ~5k instructions each. */
    char run_seen[BT_SSOT_IDLEN];
    /* The last parent add_req resolved (parent_of) in run parent_run: a
     * plan adds every task under the same root, ~5k instructions a lookup.
     * Cleared with run_seen and by a restore; stale after another
     * connection's restore, where the foreign key on reqs.parent refuses the
     * insert and add_req then looks the parent up to name the failure. */
    char parent_run[BT_SSOT_IDLEN], parent_of[BT_SSOT_IDLEN];
    /* The next journal seq of one run, known while this connection holds the
     * write lock (no other writer can append meanwhile): saves a MAX(seq)
     * query per row. seq_run[0] == 0: unknown; forgotten whenever the
     * transaction commits or anything rolls back. */
    char seq_run[BT_SSOT_IDLEN];
    long long seq_next;
    /* Parameter indexes by (statement, name pointer), checked against the
     * statement's own name for the index before use (so a finalized and
     * reused statement address cannot mislead). */
    struct {
        sqlite3_stmt *st;
        const char *name;
        int i;
    } params[128];
    int nrunupd; /* update_run's statements, keyed by the set of fields */
    struct {
        unsigned mask;
        sqlite3_stmt *st;
    } runupd[8];
    /* spent-only run updates held per depth (innermost last), all of one
     * run; only while a write transaction is open */
    char held_run[BT_SSOT_IDLEN];
    struct ssot_held *held;
    int nheld, heldcap;
};

/* Records a failure of the given kind and returns kind. */
int ssot_err(bt_ssot *db, int kind, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records the SQLite failure rc (with sqlite3_errmsg) as BT_SSOT_FAIL. */
int ssot_sqlerr(bt_ssot *db, int rc);
/* The cached statement for the string literal sql, reset and unbound; NULL
 * (with the failure recorded) when it cannot be prepared, or when it writes
 * and the savepoint it needs cannot be opened. */
sqlite3_stmt *ssot_stmt(bt_ssot *db, const char *sql);
int ssot_exec(bt_ssot *db, const char *sql);
/* Called before a write statement runs: opens the savepoint of the levels
 * that have written nothing yet. BT_SSOT_OK or FAIL (recorded). */
int ssot_will_write(bt_ssot *db);
/* Whether a write of one statement may run without a unit of its own (it is
 * atomic by itself): inside a unit, or for a deferring caller inside the
 * group's open transaction. */
int ssot_single_ok(bt_ssot *db);
/* Steps st to completion expecting no rows; resets it. */
int ssot_done(bt_ssot *db, sqlite3_stmt *st);
/* Steps st once: 1 = a row (caller reads it, then sqlite3_reset), 0 = no row
 * (already reset), -1 = failure recorded. */
int ssot_row(bt_ssot *db, sqlite3_stmt *st);
/* The state a snapshot of run records (ssot_state.c), malloc'ed into *out. */
int ssot_state(bt_ssot *db, const char *run, char **out, size_t *len);
/* Calls fn for every row of st, then resets it. */
int ssot_each(bt_ssot *db, sqlite3_stmt *st, bt_ssot_row_fn fn, void *ctx);
/* Ends a write begun with bt_ssot_begin: commits when rc is OK, else rolls
 * back keeping the first failure's message. Returns the final status. */
int ssot_finish(bt_ssot *db, int rc);
double ssot_now(void);
/* A fresh random id: prefix + n base36 characters. */
void ssot_newid(bt_ssot *db, const char *prefix, int n, char out[BT_SSOT_IDLEN]);
void ssot_bind_text(sqlite3_stmt *st, int i, const char *s); /* NULL binds NULL */
/* The index of parameter :name of st (name without the colon); 0 when st
 * has none. */
int ssot_param(bt_ssot *db, sqlite3_stmt *st, const char *name);
/* Journals a status change of req id in run (in the caller's transaction). */
int ssot_journal_status(bt_ssot *db, const char *run, const char *id, const char *from,
                        const char *to, const char *by, const char *reason);
/* Resolves a requirement id (or prefix) and checks it belongs to run. */
int ssot_resolve_in(bt_ssot *db, const char *run, const char *what, const char *prefix,
                    char out[BT_SSOT_IDLEN]);
int ssot_schema_init(bt_ssot *db);
/* Registers the SQL functions ssot_snap.c's queries use (at open). */
int ssot_snap_functions(bt_ssot *db);
/* The next journal seq of run (in the caller's write transaction); 0 with
 * the failure recorded when it cannot be read. ssot_seq_used records that
 * it was taken. */
long long ssot_next_seq(bt_ssot *db, const char *run);
void ssot_seq_used(bt_ssot *db, const char *run, long long seq);
int ssot_valid_status(const char *s);

/* Held spending (ssot_held.c). can: whether run's spent may be held now
 * (nothing held, or held for the same run). set: holds text as run's spent
 * at the current depth (written: the caller wrote it there already).
 * release/undo: savepoint depth d was released / rolled back. write: writes
 * the latest held value (before a COMMIT, or a read of the run). */
int ssot_held_can(const bt_ssot *db, const char *run);
int ssot_held_set(bt_ssot *db, const char *run, const char *text, int written);
void ssot_held_release(bt_ssot *db, int d);
void ssot_held_undo(bt_ssot *db, int d);
void ssot_held_clear(bt_ssot *db);
void ssot_held_free(bt_ssot *db);
int ssot_held_write(bt_ssot *db);

#endif

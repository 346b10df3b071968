/* ssot.h: the engine of baton.ssot, the single source of truth of a run, on
 * SQLite (no lua.h here; core/ssot_lua.c is the binding). Every write is one
 * IMMEDIATE transaction (or a savepoint inside db:tx), journaled in the same
 * transaction, so a process killed anywhere leaves either all or nothing.
 * JSON-able values cross this API as JSON text; rows are handed to a
 * callback as the sqlite3_stmt positioned on them (read by column name). */
#ifndef BATON_SSOT_H
#define BATON_SSOT_H
#include <sqlite3.h>
#include <stddef.h>

/* Every function returns one of these; the message and the code word of the
 * last failure are in bt_ssot_msg/bt_ssot_code until the next call. */
enum {
    BT_SSOT_OK = 0,
    BT_SSOT_MISUSE,  /* the caller's mistake (unknown id, illegal transition): raise */
    BT_SSOT_REFUSED, /* a clean refusal a policy handles (not_pending, lease_lost) */
    BT_SSOT_FAIL     /* SQLite failed (busy past the timeout, full, readonly, corrupt) */
};

#define BT_SSOT_SCHEMA 2 /* PRAGMA user_version this baton writes */
#define BT_SSOT_IDLEN 24 /* buffer size for any id */

typedef struct bt_ssot bt_ssot;
/* Called once per row; a non-zero return stops the iteration and is returned. */
typedef int (*bt_ssot_row_fn)(void *ctx, sqlite3_stmt *st);

/* Opens (creating the file and its folder) and migrates the database.
 * On failure returns non-zero, *out = NULL, msg/code describe it (code is a
 * static string: "notadb", "newer", "open", "busy", ...). The caller owns
 * *out and frees it with bt_ssot_close. */
int bt_ssot_open(const char *path, int busy_ms, bt_ssot **out, char *msg, size_t msglen,
                 const char **code);
void bt_ssot_close(bt_ssot *db); /* NULL is fine */
const char *bt_ssot_msg(const bt_ssot *db);
const char *bt_ssot_code(const bt_ssot *db);
sqlite3 *bt_ssot_handle(bt_ssot *db);

/* Transactions nest: the outermost is BEGIN IMMEDIATE (waiting for the write
 * lock up to the busy timeout), inner ones are savepoints. */
int bt_ssot_begin(bt_ssot *db);
int bt_ssot_commit(bt_ssot *db);
void bt_ssot_rollback(bt_ssot *db);
/* Rolls back every open level (a unit left open, e.g. the database closed
 * from inside it); the group's finished units stay, for its next flush. */
void bt_ssot_unwind(bt_ssot *db);

/* Group commit: many write units, one COMMIT. With the group on, a unit
 * whose caller defers (bt_ssot_defer: the binding sets it per call, for
 * writes made inside loop tasks) ends without committing; the transaction
 * stays open and the units after it join as savepoints, so a failed unit
 * still rolls back alone. bt_ssot_flush commits the group (the binding calls
 * it when the loop is about to block, and for db:sync). A unit whose caller
 * does not defer commits the whole group with it, so a non-deferring caller
 * finds its write durable on return, as without a group. Turning the group
 * off flushes it; so does closing. */
void bt_ssot_group(bt_ssot *db, int on);
void bt_ssot_defer(bt_ssot *db, int defer);
/* Whether the group holds writes not yet committed (or lost, to report). */
int bt_ssot_pending(const bt_ssot *db);
/* Commits the group. BT_SSOT_OK when done or nothing was pending; MISUSE
 * with code "intx" while a unit is open (try again later); FAIL when the
 * COMMIT failed or SQLite had rolled the group back (code "rolledback"):
 * the group's writes are then lost, and the caller must say so. After such
 * a loss (a failed COMMIT too) every new unit and flush fails the same way
 * until a caller that does not defer has been told (by its flush or its
 * next unit). */
int bt_ssot_flush(bt_ssot *db);

/* A named value for create/update calls; json marks text that is JSON. */
typedef struct {
    const char *name;
    enum { BT_V_NULL, BT_V_INT, BT_V_REAL, BT_V_TEXT, BT_V_JSON } type;
    long long i;
    double d;
    const char *s;
} bt_ssot_val;

/* Runs. Fields for create: requirement (required), workspace, policy, team,
 * models, budgets, meta, retry_max. id receives the new run id. */
int bt_ssot_create_run(bt_ssot *db, const bt_ssot_val *f, int n, char id[BT_SSOT_IDLEN]);
/* id may be a unique prefix; NULL means the latest run. */
int bt_ssot_run(bt_ssot *db, const char *id, bt_ssot_row_fn fn, void *ctx);
int bt_ssot_runs(bt_ssot *db, bt_ssot_row_fn fn, void *ctx);
int bt_ssot_update_run(bt_ssot *db, const char *id, const bt_ssot_val *f, int n);
int bt_ssot_record_action(bt_ssot *db, const char *run, const bt_ssot_val *f, int n,
                          long long *seq);
int bt_ssot_actions(bt_ssot *db, const char *run, long long limit, bt_ssot_row_fn fn, void *ctx);

/* Resolves an id or unique prefix in table "runs" or "reqs" into out. */
int bt_ssot_resolve(bt_ssot *db, const char *table, const char *prefix, char out[BT_SSOT_IDLEN]);

/* Requirements. acceptance is a JSON array text; deps are ids or prefixes. */
typedef struct {
    const char *parent, *description, *acceptance, *role;
    const char **deps;
    int ndeps;
} bt_ssot_req_spec;
int bt_ssot_add_req(bt_ssot *db, const char *run, const bt_ssot_req_spec *spec,
                    char id[BT_SSOT_IDLEN]);
/* Unknown id: BT_SSOT_REFUSED with code "unknown" (the binding returns nil). */
int bt_ssot_req(bt_ssot *db, const char *id, bt_ssot_row_fn fn, void *ctx);
/* status/parent may be NULL; ready=1 lists PENDING nodes whose deps are DONE. */
int bt_ssot_reqs(bt_ssot *db, const char *run, const char *status, const char *parent, int ready,
                 bt_ssot_row_fn fn, void *ctx);
int bt_ssot_set_description(bt_ssot *db, const char *id, const char *text);
int bt_ssot_set_transcript(bt_ssot *db, const char *id, const char *text);
int bt_ssot_add_dep(bt_ssot *db, const char *id, const char *dep);

/* The status machine. set_status is the controller's door (no lease check). */
int bt_ssot_set_status(bt_ssot *db, const char *id, const char *to, const char *by,
                       const char *reason);
int bt_ssot_claim(bt_ssot *db, const char *id, const char *agent, long long pid, long long *epoch);
int bt_ssot_complete(bt_ssot *db, const char *id, const char *agent, long long epoch,
                     const char *to, const char *reason);
int bt_ssot_heartbeat(bt_ssot *db, const char *id, const char *agent, long long epoch);
int bt_ssot_release_claims(bt_ssot *db, const char *run, int dead_only, int *count);

/* Contracts and the validator. Violations come as rows with columns kind,
 * message and optionally contract, node, path. */
int bt_ssot_add_contract(bt_ssot *db, const char *run, const char *name, const char *kind,
                         const char *owner, const char *spec_json, long long *cid);
int bt_ssot_contracts(bt_ssot *db, const char *run, const char *name, bt_ssot_row_fn fn, void *ctx);
typedef void (*bt_ssot_violation_fn)(void *ctx, const char *kind, const char *message,
                                     const char *contract, const char *node, const char *path);
int bt_ssot_validate(bt_ssot *db, const char *run, const char *workspace, bt_ssot_violation_fn fn,
                     void *ctx, int *nviolations);

/* Snapshots of the SSOT half; restore commits, then passes the snapshot's
 * row (workspace_ref, label) to fn. */
int bt_ssot_snapshot(bt_ssot *db, const char *run, const char *label, const char *wsref,
                     long long *sid);
int bt_ssot_snapshots(bt_ssot *db, const char *run, bt_ssot_row_fn fn, void *ctx);
int bt_ssot_restore(bt_ssot *db, const char *run, long long sid, bt_ssot_row_fn fn, void *ctx);

/* The event journal. payload is JSON text or NULL. since is exclusive. */
int bt_ssot_event(bt_ssot *db, const char *run, const char *actor, const char *kind,
                  const char *payload, long long *seq);
int bt_ssot_events(bt_ssot *db, const char *run, long long since, const char *kind, long long limit,
                   bt_ssot_row_fn fn, void *ctx);

/* The LLM ledger. Fields: agent, role, model, input_tokens, output_tokens,
 * cost, latency, attempt, status, key, response. by is NULL, "agent" or "model". */
int bt_ssot_llm_record(bt_ssot *db, const char *run, const bt_ssot_val *f, int n, long long *id);
int bt_ssot_llm_lookup(bt_ssot *db, const char *run, const char *key, bt_ssot_row_fn fn, void *ctx);
int bt_ssot_llm_totals(bt_ssot *db, const char *run, const char *by, bt_ssot_row_fn fn, void *ctx);

#endif

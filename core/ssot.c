/* ssot.c: the connection of baton.ssot: open (folder, pragmas, busy
 * handler, schema check), close, the prepared-statement cache, nested
 * transactions and the error helpers every engine file uses. The tables and
 * migrations are in ssot_schema.c, the operations in ssot_run.c,
 * ssot_req.c, ssot_claim.c and ssot_snap.c. */
#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssot_int.h"

double ssot_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int ssot_err(bt_ssot *db, int kind, const char *code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->msg, sizeof db->msg, fmt, ap);
    va_end(ap);
    db->code = code;
    return kind;
}

static const char *code_of(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "busy";
    case SQLITE_FULL:
        return "full";
    case SQLITE_READONLY:
        return "readonly";
    case SQLITE_CORRUPT:
        return "corrupt";
    case SQLITE_NOTADB:
        return "notadb";
    case SQLITE_IOERR:
        return "ioerr";
    case SQLITE_CANTOPEN:
        return "open";
    case SQLITE_CONSTRAINT:
        return "constraint";
    case SQLITE_NOMEM:
        return "nomem";
    default:
        return "sqlite";
    }
}

int ssot_sqlerr(bt_ssot *db, int rc) {
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return ssot_err(db, BT_SSOT_FAIL, "busy", "ssot: database is busy (waited %d ms)",
                        db->busy_ms);
    return ssot_err(db, BT_SSOT_FAIL, code_of(rc), "ssot: %s", sqlite3_errmsg(db->db));
}

const char *bt_ssot_msg(const bt_ssot *db) {
    return db->msg;
}
const char *bt_ssot_code(const bt_ssot *db) {
    return db->code ? db->code : "ok";
}
sqlite3 *bt_ssot_handle(bt_ssot *db) {
    return db->db;
}

sqlite3_stmt *ssot_stmt(bt_ssot *db, const char *sql) {
    for (int i = 0; i < db->ncache; i++) {
        if (db->cache[i].sql == sql) {
            sqlite3_stmt *st = db->cache[i].st;
            if (db->pend && !db->cache[i].ro && ssot_will_write(db)) return NULL;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        ssot_sqlerr(db, rc);
        return NULL;
    }
    assert(db->ncache < SSOT_CACHE); /* else raise SSOT_CACHE: there are more literals */
    if (db->ncache == SSOT_CACHE) {
        sqlite3_finalize(st);
        ssot_err(db, BT_SSOT_FAIL, "sqlite", "ssot: statement cache full");
        return NULL;
    }
    db->cache[db->ncache].sql = sql;
    db->cache[db->ncache].ro = sqlite3_stmt_readonly(st);
    db->cache[db->ncache++].st = st;
    if (db->pend && !sqlite3_stmt_readonly(st) && ssot_will_write(db)) return NULL;
    return st;
}

int ssot_exec(bt_ssot *db, const char *sql) {
    if (ssot_will_write(db)) return BT_SSOT_FAIL;
    int rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? BT_SSOT_OK : ssot_sqlerr(db, rc);
}

int ssot_done(bt_ssot *db, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? BT_SSOT_OK : ssot_sqlerr(db, rc);
}

int ssot_row(bt_ssot *db, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return 0;
    ssot_sqlerr(db, rc);
    return -1;
}

int ssot_each(bt_ssot *db, sqlite3_stmt *st, bt_ssot_row_fn fn, void *ctx) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int stop = fn(ctx, st);
        if (stop) {
            sqlite3_reset(st);
            return stop;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? BT_SSOT_OK : ssot_sqlerr(db, rc);
}

void ssot_bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int ssot_param(bt_ssot *db, sqlite3_stmt *st, const char *name) {
    int n = (int)(sizeof db->params / sizeof db->params[0]);
    unsigned h = (unsigned)(((uintptr_t)st >> 4) ^ ((uintptr_t)name >> 2) * 31u) % (unsigned)n;
    if (db->params[h].st == st && db->params[h].name == name) {
        const char *have = sqlite3_bind_parameter_name(st, db->params[h].i);
        if (have && strcmp(have + 1, name) == 0) return db->params[h].i;
    }
    char pname[64];
    size_t len = strlen(name);
    if (len + 2 > sizeof pname) return 0; /* no parameter has so long a name */
    pname[0] = ':';
    memcpy(pname + 1, name, len + 1);
    int i = sqlite3_bind_parameter_index(st, pname);
    if (i) db->params[h].st = st, db->params[h].name = name, db->params[h].i = i;
    return i;
}

void ssot_newid(bt_ssot *db, const char *prefix, int n, char out[BT_SSOT_IDLEN]) {
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[16];
    sqlite3_randomness(n, rnd);
    (void)db;
    size_t p = strlen(prefix);
    memcpy(out, prefix, p);
    for (int i = 0; i < n; i++)
        out[p + (size_t)i] = digits[rnd[i] % 36];
    out[p + (size_t)n] = 0;
}

/* Waits for a lock with short jittered sleeps (fairer and faster than
 * SQLite's default back-off under contention) until busy_ms have passed. */
static int busy_wait(void *arg, int count) {
    bt_ssot *db = arg;
    double now = mono_ms();
    if (count == 0) db->busy_start = now;
    if (now - db->busy_start >= db->busy_ms) return 0;
    db->rng = db->rng * 6364136223846793005UL + 1442695040888963407UL;
    long cap = count < 20 ? 40 + 20L * count : 1000; /* microseconds */
    usleep((useconds_t)(20 + (long)((db->rng >> 33) % (unsigned long)cap)));
    return 1;
}

/* Runs one of the cached transaction-control statements. */
static int control(bt_ssot *db, const char *sql) {
    sqlite3_stmt *st = ssot_stmt(db, sql);
    if (!st) return sqlite3_errcode(db->db);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A level of a unit opens its SAVEPOINT only before its first write: a
 * unit that writes nothing (or fails before writing) needs none, and levels
 * nested without a write in between share one (each savepoint cost ~3k
 * instructions to open and release, plus a copy of every page it touches
 * into the statement journal). Nothing was written since the levels of pend
 * began, so the savepoint opened now restores the state each began with. */
int ssot_will_write(bt_ssot *db) {
    if (!db->pend) return BT_SSOT_OK;
    int rc = control(db, "SAVEPOINT bt");
    if (rc != SQLITE_OK) return ssot_sqlerr(db, rc);
    db->own[db->depth - db->pend + 1] = 1;
    db->pend = 0;
    return BT_SSOT_OK;
}

/* One statement is atomic by itself: a write of one needs no savepoint of
 * its own inside a unit or (for a deferring caller) inside the group's open
 * transaction (~3k instructions saved per journal row, ledger row or
 * spending update). */
int ssot_single_ok(bt_ssot *db) {
    return db->depth > 0 || (db->gopen && db->defer && !sqlite3_get_autocommit(db->db));
}

/* The write lock is let go (commit) or work is undone (rollback): the
 * cached next journal seq may be stale. */
static void forget_seq(bt_ssot *db) {
    db->seq_run[0] = 0;
}

/* SQLite rolled the group's transaction back by itself (disk full, I/O
 * error): its writes are gone; remember to report that at the next flush. */
static int group_vanished(bt_ssot *db) {
    if (!db->gopen || !sqlite3_get_autocommit(db->db)) return 0;
    db->gopen = db->unit_sp = db->depth = db->pend = 0;
    db->lost = 1;
    db->run_seen[0] = db->parent_run[0] = 0;
    forget_seq(db);
    ssot_held_clear(db);
    return 1;
}

/* The group's writes were lost: fails every new unit until a caller that
 * does not defer (the controller) has been told, so no task goes on
 * building on rows that are gone and the controller cannot miss it. */
static int report_lost(bt_ssot *db) {
    if (!db->defer) db->lost = 0;
    return ssot_err(db, BT_SSOT_FAIL, "rolledback",
                    "ssot: SQLite rolled back the group transaction; the writes since the last "
                    "commit are lost");
}

int bt_ssot_begin(bt_ssot *db) {
    group_vanished(db);
    if (db->lost && db->depth == 0) return report_lost(db);
    if (db->depth > 0 || db->gopen) { /* nested, or a unit joining the group */
        if (db->depth >= SSOT_MAXDEPTH)
            return ssot_err(db, BT_SSOT_MISUSE, "tx", "ssot: transactions nested too deeply");
        if (db->depth == 0) db->unit_sp = 1;
        db->depth++;
        db->own[db->depth] = 0;
        db->pend++; /* its SAVEPOINT waits for its first write */
        return BT_SSOT_OK;
    }
    double start = mono_ms();
    for (;;) { /* BUSY can come back without the handler running (e.g. WAL recovery) */
        int rc = control(db, "BEGIN IMMEDIATE");
        if (rc == SQLITE_OK) break;
        if ((rc & 0xff) != SQLITE_BUSY || mono_ms() - start >= db->busy_ms)
            return ssot_sqlerr(db, rc);
        usleep(200);
    }
    db->depth = 1;
    db->unit_sp = db->pend = 0;
    return BT_SSOT_OK;
}

int bt_ssot_commit(bt_ssot *db) {
    if (db->depth <= 0) return ssot_err(db, BT_SSOT_MISUSE, "tx", "ssot: no transaction");
    if (sqlite3_get_autocommit(db->db)) { /* SQLite rolled it back itself (e.g. disk full) */
        if (db->gopen) db->lost = 1;
        db->depth = db->gopen = db->unit_sp = db->pend = 0;
        db->run_seen[0] = db->parent_run[0] = 0;
        forget_seq(db);
        ssot_held_clear(db);
        return ssot_err(db, BT_SSOT_FAIL, "rolledback", "ssot: the transaction was rolled back");
    }
    if (db->depth > 1 || db->unit_sp) { /* a savepoint: nested, or a unit of the group */
        if (db->own[db->depth]) { /* else it wrote nothing, or under an outer level's */
            int rc = control(db, "RELEASE bt");
            if (rc != SQLITE_OK) {
                int err = ssot_sqlerr(db, rc);
                bt_ssot_rollback(db);
                return err;
            }
            db->own[db->depth] = 0;
        } else if (db->pend) {
            db->pend--;
        }
        ssot_held_release(db, db->depth);
        if (--db->depth == 0) db->unit_sp = 0;
        return db->depth == 0 && !db->defer ? bt_ssot_flush(db) : BT_SSOT_OK;
    }
    ssot_held_release(db, 1);
    if (db->group && db->defer) { /* this transaction becomes the group's */
        db->depth = 0;
        db->gopen = 1;
        return BT_SSOT_OK;
    }
    int rc = ssot_held_write(db); /* the spending commits with its ledger rows */
    if (rc) {
        bt_ssot_rollback(db);
        return rc;
    }
    ssot_held_clear(db);
    forget_seq(db);
    rc = control(db, "COMMIT");
    if (rc != SQLITE_OK) {
        int err = ssot_sqlerr(db, rc);
        bt_ssot_rollback(db);
        return err;
    }
    db->depth = 0;
    return BT_SSOT_OK;
}

void bt_ssot_rollback(bt_ssot *db) {
    if (db->depth <= 0) return;
    db->run_seen[0] = db->parent_run[0] = 0; /* the rollback may undo the run's creation */
    forget_seq(db);
    for (sqlite3_stmt *st = NULL; (st = sqlite3_next_stmt(db->db, st));)
        if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
    if (group_vanished(db)) return;
    if (db->depth > 1 || db->unit_sp) {
        if (db->own[db->depth])
            sqlite3_exec(db->db, "ROLLBACK TO bt; RELEASE bt", NULL, NULL, NULL);
        else if (db->pend) /* it wrote nothing */
            db->pend--;
        else /* it wrote under the savepoint of an outer level, which stays */
            sqlite3_exec(db->db, "ROLLBACK TO bt", NULL, NULL, NULL);
        db->own[db->depth] = 0;
        ssot_held_undo(db, db->depth);
    } else {
        if (!sqlite3_get_autocommit(db->db)) sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        ssot_held_clear(db);
        db->pend = 0;
    }
    if (--db->depth == 0) db->unit_sp = 0;
}

void bt_ssot_group(bt_ssot *db, int on) {
    if (!on) bt_ssot_flush(db);
    db->group = on;
}

void bt_ssot_defer(bt_ssot *db, int defer) {
    db->defer = defer;
}

int bt_ssot_pending(const bt_ssot *db) {
    return db->gopen || db->lost;
}

int bt_ssot_flush(bt_ssot *db) {
    group_vanished(db);
    if (db->lost) return report_lost(db);
    if (!db->gopen) return BT_SSOT_OK;
    if (db->depth > 0)
        return ssot_err(db, BT_SSOT_MISUSE, "intx", "ssot: the group cannot commit inside a unit");
    int err = ssot_held_write(db); /* the spending commits with its ledger rows */
    ssot_held_clear(db);
    forget_seq(db);
    int rc = err ? SQLITE_OK : control(db, "COMMIT");
    db->gopen = 0;
    if (!err && rc == SQLITE_OK) return BT_SSOT_OK;
    if (!err) err = ssot_sqlerr(db, rc);
    if (!sqlite3_get_autocommit(db->db)) sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    db->run_seen[0] = db->parent_run[0] = 0;
    db->lost = 1; /* the tasks whose rows were in it must hear of it too */
    return err;
}

int ssot_finish(bt_ssot *db, int rc) {
    if (rc != BT_SSOT_OK) {
        bt_ssot_rollback(db);
        return rc;
    }
    return bt_ssot_commit(db);
}

/* mkdir -p of path's folder. */
static int make_parent(const char *path) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) return -1;
    strcpy(buf, path);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return 0;
    *slash = 0;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static int configure(bt_ssot *db) {
    sqlite3_busy_handler(db->db, busy_wait, db);
    sqlite3_extended_result_codes(db->db, 1);
    /* The last connection to close would copy the WAL into the database and
     * fsync it (~10-30 ms at the end of every command); the WAL is as safe
     * where it is, and the next writer's automatic checkpoints fold it in. */
    sqlite3_db_config(db->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    return ssot_schema_init(db);
}

/* Every write statement inside a transaction opens a statement savepoint
 * whose small allocations sit at the top of the heap; with glibc's default
 * 128 KiB trim threshold each commit then shrinks and regrows the heap (brk
 * and page faults were a third of a status update's time). Keep 16 MiB. */
static void keep_heap(void) {
    static int done;
    if (!done) mallopt(M_TRIM_THRESHOLD, 16 << 20), done = 1;
}

int bt_ssot_open(const char *path, int busy_ms, bt_ssot **out, char *msg, size_t msglen,
                 const char **code) {
    *out = NULL;
    keep_heap();
    bt_ssot *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(msg, msglen, "ssot: out of memory");
        *code = "nomem";
        return BT_SSOT_FAIL;
    }
    db->busy_ms = busy_ms > 0 ? busy_ms : 5000;
    db->rng = (unsigned long)getpid() * 2654435761UL + (unsigned long)time(NULL);
    int rc = BT_SSOT_OK;
    if (strcmp(path, ":memory:") != 0 && make_parent(path) != 0)
        rc = ssot_err(db, BT_SSOT_FAIL, "open", "ssot: cannot create the folder of %s: %s", path,
                      strerror(errno));
    if (rc == BT_SSOT_OK) {
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        int src = sqlite3_open_v2(path, &db->db, flags, NULL);
        if (src != SQLITE_OK)
            rc = ssot_err(db, BT_SSOT_FAIL, "open", "ssot: cannot open %s: %s", path,
                          db->db ? sqlite3_errmsg(db->db) : "out of memory");
        else
            rc = configure(db);
        if (rc == BT_SSOT_OK) rc = ssot_snap_functions(db);
    }
    if (rc != BT_SSOT_OK) {
        snprintf(msg, msglen, "%s", db->msg);
        *code = db->code;
        bt_ssot_close(db);
        return rc;
    }
    *out = db;
    return BT_SSOT_OK;
}

void bt_ssot_unwind(bt_ssot *db) {
    while (db->depth > 0)
        bt_ssot_rollback(db);
}

void bt_ssot_close(bt_ssot *db) {
    if (!db) return;
    /* a unit left open is undone; the group's finished units were accepted
     * (their callers went on): they commit, with the spending held for them */
    bt_ssot_unwind(db);
    bt_ssot_flush(db);
    for (int i = 0; i < db->ncache; i++)
        sqlite3_finalize(db->cache[i].st);
    for (int i = 0; i < db->nrunupd; i++)
        sqlite3_finalize(db->runupd[i].st);
    ssot_held_free(db);
    if (db->db) sqlite3_close_v2(db->db);
    free(db);
}

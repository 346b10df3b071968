/* ssot_raw.c: the raw-SQLite baseline for bench/ssot_bench.lua: the same
 * statements baton.ssot runs for a journaled status update and a claim
 * (BEGIN IMMEDIATE, read, UPDATE, journal INSERT, COMMIT), with cached
 * prepared statements and the same pragmas, and no checks around them.
 *   cc -O2 -o build/ssot_raw bench/ssot_raw.c -lsqlite3
 *   build/ssot_raw DIR [N] */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ok(int rc, sqlite3 *db) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
}

static sqlite3 *open_db(const char *path) {
    sqlite3 *db;
    ok(sqlite3_open(path, &db), db);
    sqlite3_busy_timeout(db, 60000);
    ok(sqlite3_exec(db,
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                    " PRAGMA foreign_keys=ON",
                    NULL, NULL, NULL),
       db);
    return db;
}

static void schema(sqlite3 *db, int n) {
    ok(sqlite3_exec(db,
                    "CREATE TABLE IF NOT EXISTS reqs(id TEXT PRIMARY KEY, run TEXT, status TEXT,"
                    " assignee TEXT, lease_epoch INTEGER DEFAULT 0, lease_holder TEXT, lease_time"
                    " REAL, lease_pid INTEGER, status_by TEXT, status_at REAL);"
                    "CREATE TABLE IF NOT EXISTS deps(req TEXT, dep TEXT, PRIMARY KEY(req, dep))"
                    " WITHOUT ROWID;"
                    "CREATE TABLE IF NOT EXISTS events(run TEXT, seq INTEGER, time REAL, actor"
                    " TEXT, kind TEXT, payload TEXT, PRIMARY KEY(run, seq)) WITHOUT ROWID;"
                    "BEGIN",
                    NULL, NULL, NULL),
       db);
    sqlite3_stmt *st;
    ok(sqlite3_prepare_v2(db, "INSERT INTO reqs(id, run, status) VALUES(?1, 'run', 'PENDING')", -1,
                          &st, NULL),
       db);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        ok(sqlite3_step(st), db);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    ok(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db);
}

enum { BEGIN, COMMIT, LOAD, DEPS, CLAIM, MOVE, JOURNAL, NSTMT };
static const char *sql[NSTMT] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "SELECT id, run, status, COALESCE(lease_holder, ''), lease_epoch FROM reqs WHERE id = ?1",
    "SELECT 1 FROM deps d JOIN reqs q ON q.id = d.dep WHERE d.req = ?1 AND q.status <> 'DONE'",
    "UPDATE reqs SET status = 'IN_PROGRESS', assignee = ?2, lease_holder = ?2, lease_epoch ="
    " lease_epoch + 1, lease_time = ?3, lease_pid = 1, status_by = ?2, status_at = ?3 WHERE id"
    " = ?1 AND status = 'PENDING' RETURNING lease_epoch",
    "UPDATE reqs SET status = ?2, status_by = 'x', status_at = ?3, lease_holder = NULL,"
    " lease_pid = NULL WHERE id = ?1",
    "INSERT INTO events(run, seq, time, actor, kind, payload) VALUES('run', (SELECT"
    " COALESCE(MAX(seq), 0) + 1 FROM events WHERE run = 'run'), ?1, 'x', 'status',"
    " json_object('id', ?2, 'from', 'A', 'to', ?3, 'reason', NULL))"};
static sqlite3_stmt *st[NSTMT];

static int run(sqlite3 *db, int k, const char *a, const char *b) {
    sqlite3_reset(st[k]);
    if (k == JOURNAL) {
        sqlite3_bind_double(st[k], 1, now());
        sqlite3_bind_text(st[k], 2, a, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[k], 3, b, -1, SQLITE_STATIC);
    } else if (k != BEGIN && k != COMMIT) {
        sqlite3_bind_text(st[k], 1, a, -1, SQLITE_STATIC);
        if (k >= CLAIM) sqlite3_bind_text(st[k], 2, b, -1, SQLITE_STATIC);
        if (k >= CLAIM) sqlite3_bind_double(st[k], 3, now());
    }
    int rc = sqlite3_step(st[k]), row = rc == SQLITE_ROW;
    ok(rc, db);
    sqlite3_reset(st[k]);
    return row;
}

static void prepare(sqlite3 *db) {
    for (int k = 0; k < NSTMT; k++)
        ok(sqlite3_prepare_v2(db, sql[k], -1, &st[k], NULL), db);
}

static void set_status(sqlite3 *db, const char *id, const char *to) {
    run(db, BEGIN, 0, 0), run(db, LOAD, id, 0), run(db, MOVE, id, to);
    run(db, JOURNAL, id, to), run(db, COMMIT, 0, 0);
}

static int claim(sqlite3 *db, const char *id) {
    run(db, BEGIN, 0, 0), run(db, LOAD, id, 0), run(db, DEPS, id, 0);
    int won = run(db, CLAIM, id, "bench");
    if (won) run(db, JOURNAL, id, "IN_PROGRESS");
    run(db, COMMIT, 0, 0);
    return won;
}

/* Each of procs processes cycles its own row (claim, BLOCKED, PENDING)
 * rounds times, or tries to claim all n rows; returns the seconds taken. */
static double measure(const char *path, int procs, int claims, int n) {
    double t0 = now();
    for (int p = 0; p < procs; p++) {
        if (procs > 1 && fork() != 0) continue;
        sqlite3 *db = open_db(path);
        prepare(db);
        char id[16];
        if (claims) {
            for (int i = 0; i < n; i++)
                snprintf(id, sizeof id, "r%d", i), claim(db, id);
        } else {
            snprintf(id, sizeof id, "r%d", p);
            for (int i = 0; i < n / 3 / procs; i++) {
                claim(db, id), set_status(db, id, "BLOCKED"), set_status(db, id, "PENDING");
            }
        }
        for (int k = 0; k < NSTMT; k++)
            sqlite3_finalize(st[k]);
        sqlite3_close(db);
        if (procs > 1) _exit(0);
    }
    while (procs > 1 && wait(NULL) > 0) {
    }
    return now() - t0;
}

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: ssot_raw DIR [N]\n"), 2;
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    for (int procs = 1; procs <= 4; procs += 3) {
        for (int claims = 0; claims <= 1; claims++) {
            char path[512];
            snprintf(path, sizeof path, "%s/raw-%d-%d.db", argv[1], procs, claims);
            unlink(path);
            sqlite3 *db = open_db(path);
            schema(db, n);
            sqlite3_close(db);
            double secs = measure(path, procs, claims, n);
            int ops = claims ? n : n / 3 / procs * 3 * procs;
            printf("raw %d process%s: %-26s %8d ops %7.2f s %10.0f /s\n", procs,
                   procs > 1 ? "es" : "  ", claims ? "claims" : "journaled status updates", ops,
                   secs, ops / secs);
        }
    }
    return 0;
}

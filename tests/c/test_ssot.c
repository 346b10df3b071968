/* test_ssot.c: the baton.ssot engine without Lua, on real SQLite files:
 * the error kinds (misuse, refusal, failure), a full disk (the failing
 * change leaves nothing behind), a corrupted file (an error, never a crash)
 * and the prepared-statement cache surviving many calls. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ssot.h"

static char dir[256];

static bt_ssot *open_db(const char *name) {
    char path[512], msg[600];
    const char *code = NULL;
    bt_ssot *db = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_INT(bt_ssot_open(path, 2000, &db, msg, sizeof msg, &code), BT_SSOT_OK);
    return db;
}

static void new_run(bt_ssot *db, char run[BT_SSOT_IDLEN]) {
    bt_ssot_val f[] = {{.name = "requirement", .type = BT_V_TEXT, .s = "the goal"}};
    CHECK_INT(bt_ssot_create_run(db, f, 1, run), BT_SSOT_OK);
}

static long long count(bt_ssot *db, const char *sql) {
    sqlite3_stmt *st;
    long long n = -1;
    if (sqlite3_prepare_v2(bt_ssot_handle(db), sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int skip_row(void *ctx, sqlite3_stmt *st) {
    (void)ctx, (void)st;
    return 0;
}

static void test_error_kinds(void) {
    bt_ssot *db = open_db("kinds.db");
    char run[BT_SSOT_IDLEN], id[BT_SSOT_IDLEN];
    new_run(db, run);
    bt_ssot_req_spec spec = {.description = "a task", .acceptance = "[\"ok\"]"};
    CHECK_INT(bt_ssot_add_req(db, run, &spec, id), BT_SSOT_OK);
    CHECK_INT(bt_ssot_set_status(db, id, "DONE", "me", NULL), BT_SSOT_MISUSE);
    char want[128];
    snprintf(want, sizeof want, "illegal transition for %s: PENDING -> DONE", id);
    CHECK_STR(bt_ssot_msg(db), want);
    CHECK_STR(bt_ssot_code(db), "transition");
    long long epoch = 0;
    CHECK_INT(bt_ssot_claim(db, id, "a", getpid(), &epoch), BT_SSOT_OK);
    CHECK_INT(epoch, 1);
    CHECK_INT(bt_ssot_claim(db, id, "b", getpid(), &epoch), BT_SSOT_REFUSED);
    CHECK_STR(bt_ssot_code(db), "not_pending");
    CHECK_INT(bt_ssot_complete(db, id, "b", 1, "DONE", NULL), BT_SSOT_REFUSED);
    CHECK_STR(bt_ssot_code(db), "lease_lost");
    CHECK_INT(bt_ssot_complete(db, id, "a", 1, "DONE", "fine"), BT_SSOT_OK);
    CHECK_INT(bt_ssot_set_status(db, "rnosuch", "DONE", "me", NULL), BT_SSOT_MISUSE);
    CHECK_STR(bt_ssot_msg(db), "unknown requirement 'rnosuch'");
    /* 2000 status changes reuse the cached statements */
    char loop[BT_SSOT_IDLEN];
    CHECK_INT(bt_ssot_add_req(db, run, &spec, loop), BT_SSOT_OK);
    for (int i = 0; i < 1000; i++) {
        CHECK_INT(bt_ssot_claim(db, loop, "x", getpid(), &epoch), BT_SSOT_OK);
        CHECK_INT(epoch, i + 1);
        CHECK_INT(bt_ssot_set_status(db, loop, "PENDING", "x", NULL), BT_SSOT_OK);
    }
    CHECK_INT(count(db, "SELECT count(*) FROM events WHERE kind = 'status'"), 2002);
    /* the journal is append-only, even for raw SQL on the connection */
    CHECK_INT(sqlite3_exec(bt_ssot_handle(db), "DELETE FROM events", NULL, NULL, NULL),
              SQLITE_CONSTRAINT_TRIGGER);
    CHECK_STR(sqlite3_errmsg(bt_ssot_handle(db)), "the event journal is append-only");
    CHECK_INT(sqlite3_exec(bt_ssot_handle(db), "UPDATE events SET kind = 'x'", NULL, NULL, NULL),
              SQLITE_CONSTRAINT_TRIGGER);
    bt_ssot_close(db);
}

/* A database that may not grow: the change that hits the limit fails as
 * BT_SSOT_FAIL "full" and leaves no trace; earlier ones are all there. */
static void test_disk_full(void) {
    bt_ssot *db = open_db("full.db");
    char run[BT_SSOT_IDLEN], id[BT_SSOT_IDLEN];
    new_run(db, run);
    long long pages = count(db, "PRAGMA page_count");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", pages + 8);
    CHECK_INT(sqlite3_exec(bt_ssot_handle(db), sql, NULL, NULL, NULL), SQLITE_OK);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    bt_ssot_req_spec spec = {.description = big};
    char last[BT_SSOT_IDLEN] = "";
    int ok = 0, rc = BT_SSOT_OK;
    for (int i = 0; i < 200 && rc == BT_SSOT_OK; i++) {
        rc = bt_ssot_add_req(db, run, &spec, id);
        if (rc == BT_SSOT_OK) ok++, memcpy(last, id, sizeof last);
    }
    CHECK_INT(rc, BT_SSOT_FAIL);
    CHECK_STR(bt_ssot_code(db), "full");
    CHECK_STR(bt_ssot_msg(db), "ssot: database or disk is full");
    CHECK(ok > 0);
    CHECK_INT(count(db, "SELECT count(*) FROM reqs"), ok + 1);
    CHECK_INT(count(db, "SELECT count(*) FROM events WHERE kind = 'req'"), ok + 1);
    long long epoch; /* the connection is not left inside a broken transaction */
    bt_ssot_req_spec small = {.description = "s"};
    char id2[BT_SSOT_IDLEN];
    CHECK_INT(bt_ssot_begin(db), BT_SSOT_OK);
    bt_ssot_rollback(db);
    rc = bt_ssot_add_req(db, run, &small, id2);
    CHECK(rc == BT_SSOT_OK || !strcmp(bt_ssot_code(db), "full"));
    rc = bt_ssot_claim(db, last, "after", getpid(), &epoch);
    if (rc == BT_SSOT_MISUSE) fprintf(stderr, "claim after full: %s\n", bt_ssot_msg(db));
    CHECK_INT(rc == BT_SSOT_MISUSE, 0);
    bt_ssot_close(db);
}

/* Group commit on a database that fills up: whatever SQLite does with the
 * open group (keep it, or roll it all back), what the flush reports and what
 * is in the file agree, and after a loss every unit fails until a caller
 * that does not defer has been told. */
static void test_group_full(void) {
    bt_ssot *db = open_db("gfull.db");
    char run[BT_SSOT_IDLEN], id[BT_SSOT_IDLEN];
    new_run(db, run);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", count(db, "PRAGMA page_count") + 8);
    CHECK_INT(sqlite3_exec(bt_ssot_handle(db), sql, NULL, NULL, NULL), SQLITE_OK);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    bt_ssot_req_spec spec = {.description = big};
    bt_ssot_group(db, 1);
    bt_ssot_defer(db, 1); /* as for a loop task */
    int ok = 0, rc = BT_SSOT_OK;
    for (int i = 0; i < 200 && rc == BT_SSOT_OK; i++)
        if ((rc = bt_ssot_add_req(db, run, &spec, id)) == BT_SSOT_OK) ok++;
    CHECK_INT(rc, BT_SSOT_FAIL);
    CHECK(ok > 0);
    CHECK_INT(bt_ssot_pending(db), 1);
    rc = bt_ssot_flush(db);
    long long reqs = count(db, "SELECT count(*) FROM reqs");
    if (rc == BT_SSOT_OK) { /* only the failing statement was undone */
        CHECK_INT(reqs, ok + 1);
    } else { /* the whole group was rolled back (SQLite 3.40 does, on FULL): reported */
        CHECK_STR(bt_ssot_code(db), "rolledback");
        CHECK_INT(reqs, 1);
        bt_ssot_req_spec small = {.description = "s"};
        CHECK_INT(bt_ssot_add_req(db, run, &small, id), BT_SSOT_FAIL); /* tasks: refused */
        CHECK_STR(bt_ssot_code(db), "rolledback");
        bt_ssot_defer(db, 0); /* the controller is told, once */
        CHECK_INT(bt_ssot_add_req(db, run, &small, id), BT_SSOT_FAIL);
        CHECK_INT(bt_ssot_add_req(db, run, &small, id), BT_SSOT_OK);
    }
    CHECK_INT(bt_ssot_pending(db), 0);
    bt_ssot_close(db);
}

/* Spending held while SQLite rolls the whole transaction back by itself (a
 * full disk): a read of the run must not write the held value outside any
 * transaction, or spent would count requests whose ledger rows are gone.
 * With the group (a task's deferred unit) and in a plain unit alike. */
static void fill_until_full(bt_ssot *db, const char *run, int events) {
    char big[3000], id[BT_SSOT_IDLEN];
    memset(big, 'x', sizeof big - 1);
    big[0] = big[sizeof big - 2] = '"';
    big[sizeof big - 1] = 0;
    bt_ssot_req_spec spec = {.description = big};
    int rc = BT_SSOT_OK;
    for (int i = 0; i < 200 && rc == BT_SSOT_OK; i++) /* events: one statement, no unit */
        rc = events ? bt_ssot_event(db, run, "a", "k", big, NULL) : bt_ssot_add_req(db, run, &spec, id);
    CHECK_INT(rc, BT_SSOT_FAIL);
}

static void test_held_vanished(void) {
    for (int grouped = 0; grouped < 2; grouped++) {
        bt_ssot *db = open_db(grouped ? "hvg.db" : "hv.db");
        char run[BT_SSOT_IDLEN], sql[64];
        new_run(db, run);
        snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", count(db, "PRAGMA page_count") + 8);
        CHECK_INT(sqlite3_exec(bt_ssot_handle(db), sql, NULL, NULL, NULL), SQLITE_OK);
        bt_ssot_val spent[] = {{.name = "spent", .type = BT_V_JSON, .s = "{\"requests\":5}"}};
        bt_ssot_val call[] = {{.name = "agent", .type = BT_V_TEXT, .s = "a"}};
        long long cid;
        if (grouped) {
            bt_ssot_group(db, 1);
            bt_ssot_defer(db, 1);
        }
        CHECK_INT(bt_ssot_begin(db), BT_SSOT_OK);
        CHECK_INT(bt_ssot_llm_record(db, run, call, 1, &cid), BT_SSOT_OK);
        CHECK_INT(bt_ssot_update_run(db, run, spent, 1), BT_SSOT_OK);
        if (grouped) CHECK_INT(bt_ssot_commit(db), BT_SSOT_OK); /* deferred: held in the group */
        fill_until_full(db, run, grouped);
        if (!sqlite3_get_autocommit(bt_ssot_handle(db))) { /* SQLite kept it: nothing to see */
            if (!grouped) bt_ssot_rollback(db);
            bt_ssot_close(db);
            continue;
        }
        CHECK_INT(bt_ssot_run(db, run, skip_row, NULL), BT_SSOT_OK); /* a read of the run */
        if (grouped) CHECK_INT(bt_ssot_flush(db), BT_SSOT_FAIL);
        else CHECK_INT(bt_ssot_commit(db), BT_SSOT_FAIL);
        CHECK_STR(bt_ssot_code(db), "rolledback");
        CHECK_INT(count(db, "SELECT count(*) FROM llm_calls"), 0);
        CHECK_INT(count(db, "SELECT json_extract(spent, '$.requests') FROM runs"), 0);
        bt_ssot_close(db);
    }
}

/* Garbage written over the middle of a database: open or the first query
 * fails with a message; no crash (ASan would see one). */
static void test_corrupt(void) {
    bt_ssot *db = open_db("bad.db");
    char run[BT_SSOT_IDLEN], id[BT_SSOT_IDLEN];
    new_run(db, run);
    bt_ssot_req_spec spec = {.description = "some text to spread over pages"};
    for (int i = 0; i < 300; i++)
        bt_ssot_add_req(db, run, &spec, id);
    bt_ssot_close(db);
    char path[512], msg[600];
    snprintf(path, sizeof path, "%s/bad.db", dir);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    char junk[4096];
    memset(junk, 0xA5, sizeof junk);
    for (int page = 1; page < 12; page++)
        CHECK(pwrite(fd, junk, sizeof junk, page * 4096L) > 0);
    close(fd);
    const char *code = NULL;
    int rc = bt_ssot_open(path, 500, &db, msg, sizeof msg, &code);
    if (rc == BT_SSOT_OK) {
        bt_ssot_req_spec more = {.description = "more"};
        rc = bt_ssot_add_req(db, run, &more, id);
        if (rc == BT_SSOT_OK) rc = bt_ssot_reqs(db, run, NULL, NULL, 0, skip_row, NULL);
        if (rc != BT_SSOT_OK) code = bt_ssot_code(db);
        bt_ssot_close(db);
    }
    CHECK(rc != BT_SSOT_OK);
    CHECK(code &&
          (!strcmp(code, "corrupt") || !strcmp(code, "notadb") || !strcmp(code, "unknown")));
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/test_ssot_c.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_error_kinds();
    test_disk_full();
    test_group_full();
    test_held_vanished();
    test_corrupt();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    CHECK_DONE();
}

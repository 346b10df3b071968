/* test_quit.c: SQLite on the quick exit's allocator (core/quit.c): a database
 * works on it and gives its memory back when closed; once bt_quit_begin has
 * been called, closing one leaves its memory to the process's end (glibc's
 * count of allocated bytes stays up). Under ASan only the first part runs,
 * unmeasured: its malloc keeps no glibc counts, and its leak check would
 * rightly report the memory the second part keeps. */
#include <malloc.h>
#include <sqlite3.h>

#include "check.h"
#include "quit.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static size_t in_use(void) {
    return mallinfo2().uordblks;
}

/* An in-memory database holding ~2 MB of rows (its page cache). */
static sqlite3 *filled(void) {
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db,
                           "CREATE TABLE t(x BLOB);"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 2000) INSERT INTO t SELECT randomblob(1000) FROM n;",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*), sum(length(x)) FROM t", -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 2000);
    CHECK_INT(sqlite3_column_int(st, 1), 2000000);
    sqlite3_finalize(st);
    return db;
}

int main(void) {
    CHECK_INT(bt_quit_sqlite_memory(), SQLITE_OK);
    CHECK(!bt_quitting());
    size_t before = in_use();
    sqlite3 *db = filled();
    size_t full = in_use();
    CHECK_INT(sqlite3_close(db), SQLITE_OK);
    if (!SANITIZED) { /* ASan's malloc keeps no glibc counts */
        CHECK(full > before + 1500000);
        CHECK(in_use() < before + 500000); /* given back */
    }
    sqlite3_shutdown();
    if (!SANITIZED) {
        db = filled();
        full = in_use();
        bt_quit_begin();
        CHECK(bt_quitting());
        CHECK_INT(sqlite3_close(db), SQLITE_OK);
        CHECK(in_use() + 100000 > full); /* kept: the process ends anyway */
    }
    CHECK_DONE();
}

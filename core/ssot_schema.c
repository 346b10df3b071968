/* ssot_schema.c: the tables of baton.ssot and their forward migrations.
 * A baton database carries application_id 'BTN1' and PRAGMA user_version =
 * the schema it was last migrated to; open refuses a file of another
 * application or one written by a newer baton, and migrates older ones. */
#include <stdio.h>
#include <string.h>

#include "ssot_int.h"

#define BATON_APP_ID 0x42544e31 /* 'BTN1' */

/* migrations[v] takes a database from user_version v to v + 1. */
static const char *const migrations[BT_SSOT_SCHEMA] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE runs("
    " id TEXT PRIMARY KEY, root TEXT, requirement TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'RUNNING'"
    "  CHECK(status IN ('RUNNING','DONE','FAILED','STOPPED')),"
    " iteration INTEGER NOT NULL DEFAULT 0, retry_used INTEGER NOT NULL DEFAULT 0,"
    " retry_max INTEGER, policy TEXT, team TEXT, models TEXT, budgets TEXT,"
    " spent TEXT NOT NULL DEFAULT '{\"tokens\":0,\"usd\":0,\"requests\":0}',"
    " workspace TEXT, meta TEXT, controller_pid INTEGER,"
    " created_at REAL NOT NULL, updated_at REAL NOT NULL);"
    "CREATE TABLE reqs("
    " id TEXT PRIMARY KEY, run TEXT NOT NULL REFERENCES runs(id),"
    " parent TEXT REFERENCES reqs(id), description TEXT NOT NULL,"
    " acceptance TEXT NOT NULL DEFAULT '[]', role TEXT,"
    " status TEXT NOT NULL DEFAULT 'PENDING'"
    "  CHECK(status IN ('PENDING','IN_PROGRESS','DONE','BLOCKED')),"
    " assignee TEXT, lease_epoch INTEGER NOT NULL DEFAULT 0, lease_holder TEXT,"
    " lease_time REAL, lease_pid INTEGER, status_by TEXT, status_at REAL,"
    " created_at REAL NOT NULL);"
    /* not (run, status): a status change would rewrite an index page too */
    "CREATE INDEX reqs_run ON reqs(run);"
    /* apart, so a status change does not rewrite a long conversation */
    "CREATE TABLE transcripts(req TEXT PRIMARY KEY REFERENCES reqs(id) ON DELETE CASCADE,"
    " text TEXT NOT NULL);"
    "CREATE INDEX reqs_parent ON reqs(parent);"
    "CREATE TABLE deps(req TEXT NOT NULL REFERENCES reqs(id) ON DELETE CASCADE,"
    " dep TEXT NOT NULL REFERENCES reqs(id) ON DELETE CASCADE,"
    " PRIMARY KEY(req, dep)) WITHOUT ROWID;"
    "CREATE INDEX deps_dep ON deps(dep);"
    "CREATE TABLE contracts(id INTEGER PRIMARY KEY, run TEXT NOT NULL REFERENCES runs(id),"
    " name TEXT NOT NULL, kind TEXT NOT NULL, owner TEXT REFERENCES reqs(id) ON DELETE CASCADE,"
    " spec TEXT NOT NULL, created_at REAL NOT NULL);"
    "CREATE INDEX contracts_run ON contracts(run, name);"
    "CREATE TABLE snapshots(id INTEGER PRIMARY KEY, run TEXT NOT NULL REFERENCES runs(id),"
    " label TEXT, workspace_ref TEXT, state TEXT NOT NULL, created_at REAL NOT NULL);"
    "CREATE TABLE events(run TEXT NOT NULL, seq INTEGER NOT NULL, time REAL NOT NULL,"
    " actor TEXT, kind TEXT NOT NULL, payload TEXT, PRIMARY KEY(run, seq)) WITHOUT ROWID;"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN"
    " SELECT RAISE(ABORT, 'the event journal is append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN"
    " SELECT RAISE(ABORT, 'the event journal is append-only'); END;"
    "CREATE TABLE actions(run TEXT NOT NULL, seq INTEGER NOT NULL, time REAL NOT NULL,"
    " action TEXT, target TEXT, role TEXT, reasoning TEXT, outcome TEXT, detail TEXT,"
    " PRIMARY KEY(run, seq)) WITHOUT ROWID;"
    "CREATE TABLE llm_calls(id INTEGER PRIMARY KEY, run TEXT NOT NULL, time REAL NOT NULL,"
    " agent TEXT, role TEXT, model TEXT, input_tokens INTEGER NOT NULL DEFAULT 0,"
    " output_tokens INTEGER NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0,"
    " latency REAL NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 1, status TEXT,"
    " key TEXT, response TEXT);"
    "CREATE INDEX llm_key ON llm_calls(run, key);",
    /* 1 -> 2: the status CHECKs as OR chains. SQLite 3.40 evaluates
     * `x IN (four constants)` by building a temporary b-tree on every insert
     * and status change (a zeroed page and ~10k instructions each); equality
     * tests cost a few. The constraint means the same, so the stored table
     * text is edited in place (SQLite's documented procedure for changing a
     * CHECK; migrate() then bumps the schema cookie). */
    "PRAGMA writable_schema=ON;"
    "UPDATE sqlite_master SET sql = replace(sql,"
    " 'CHECK(status IN (''PENDING'',''IN_PROGRESS'',''DONE'',''BLOCKED''))',"
    " 'CHECK(status = ''PENDING'' OR status = ''IN_PROGRESS'' OR status = ''DONE'' OR"
    " status = ''BLOCKED'')') WHERE type = 'table' AND name = 'reqs';"
    "UPDATE sqlite_master SET sql = replace(sql,"
    " 'CHECK(status IN (''RUNNING'',''DONE'',''FAILED'',''STOPPED''))',"
    " 'CHECK(status = ''RUNNING'' OR status = ''DONE'' OR status = ''FAILED'' OR"
    " status = ''STOPPED'')') WHERE type = 'table' AND name = 'runs';"
    "PRAGMA writable_schema=OFF;",
};

/* An int PRAGMA; -1 with the failure recorded when it cannot be read. */
static long long pragma_int(bt_ssot *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->db, sql, -1, &st, NULL);
    long long v = -1;
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        ssot_sqlerr(db, rc);
    sqlite3_finalize(st);
    return v;
}

static int refuse(bt_ssot *db, const char *code, const char *why) {
    return ssot_err(db, BT_SSOT_FAIL, code, "ssot: %s is not a baton database (%s)",
                    sqlite3_db_filename(db->db, "main"), why);
}

/* Reads what the file is: sets *ver, refuses another application's file or
 * one from a newer baton. */
static int check(bt_ssot *db, long long *ver) {
    long long app = pragma_int(db, "PRAGMA application_id");
    if (app < 0 && strcmp(db->code, "notadb") == 0)
        return refuse(db, "notadb", "not an SQLite file");
    *ver = app < 0 ? -1 : pragma_int(db, "PRAGMA user_version");
    long long tables = *ver < 0 ? -1 : pragma_int(db, "SELECT count(*) FROM sqlite_master");
    if (tables < 0) return BT_SSOT_FAIL;
    if (app != BATON_APP_ID && (app != 0 || *ver != 0 || tables != 0))
        return refuse(db, "notadb", "it holds another application's data");
    if (*ver > BT_SSOT_SCHEMA)
        return ssot_err(db, BT_SSOT_FAIL, "newer",
                        "ssot: %s was written by a newer baton (schema %lld; this baton "
                        "knows up to %d)",
                        sqlite3_db_filename(db->db, "main"), *ver, BT_SSOT_SCHEMA);
    return BT_SSOT_OK;
}

/* Inside the write transaction (another process may have migrated first). */
static int migrate(bt_ssot *db) {
    long long ver;
    int rc = check(db, &ver);
    int edited = 0;
    for (; rc == BT_SSOT_OK && ver < BT_SSOT_SCHEMA; ver++) {
        rc = ssot_exec(db, migrations[ver]);
        edited |= strstr(migrations[ver], "writable_schema") != NULL;
    }
    if (rc) return rc;
    if (edited) { /* other connections must reparse the edited schema */
        long long cookie = pragma_int(db, "PRAGMA schema_version");
        if (cookie < 0) return BT_SSOT_FAIL;
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA schema_version=%lld", cookie + 1);
        rc = ssot_exec(db, bump);
        if (rc) return rc;
    }
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d", BATON_APP_ID,
             BT_SSOT_SCHEMA);
    return ssot_exec(db, sql);
}

int ssot_schema_init(bt_ssot *db) {
    long long ver;
    int rc = check(db, &ver);
    /* synchronous=NORMAL in WAL mode: a killed process loses nothing committed
     * (the WAL is in the OS cache); only a power cut may lose the last ones. */
    if (rc == BT_SSOT_OK)
        rc = ssot_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"
                           " PRAGMA journal_mode=WAL");
    if (rc || ver == BT_SSOT_SCHEMA) return rc;
    rc = bt_ssot_begin(db);
    return rc ? rc : ssot_finish(db, migrate(db));
}

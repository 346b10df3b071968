/* ssot_held.c: a run's `spent` held in memory until its transaction commits.
 * Every LLM request updates spent with its ledger rows (an UPDATE of the run
 * row, ~21k instructions); a group commits many requests at once, so only the
 * last value is written, just before the COMMIT: ledger rows and spending
 * still commit together. Values are kept per transaction depth (a unit that
 * rolls back takes its value along); reads of the run write it first. */
#include <stdlib.h>
#include <string.h>

#include "ssot_int.h"

/* The entry of the innermost depth that holds a value, or NULL. */
static struct ssot_held *top(bt_ssot *db) {
    return db->nheld ? &db->held[db->nheld - 1] : NULL;
}

int ssot_held_can(const bt_ssot *db, const char *run) {
    return db->nheld == 0 || strcmp(db->held_run, run) == 0;
}

static int copy_text(bt_ssot *db, struct ssot_held *h, const char *text) {
    size_t len = strlen(text) + 1;
    if (len > h->cap) {
        char *p = realloc(h->text, len);
        if (!p) return ssot_err(db, BT_SSOT_FAIL, "nomem", "ssot: out of memory");
        h->text = p;
        h->cap = len;
    }
    memcpy(h->text, text, len);
    return BT_SSOT_OK;
}

int ssot_held_set(bt_ssot *db, const char *run, const char *text, int written) {
    struct ssot_held *h = top(db);
    if (!h || h->depth != db->depth) {
        if (db->nheld == db->heldcap) {
            int cap = db->heldcap ? db->heldcap * 2 : 4;
            struct ssot_held *p = realloc(db->held, (size_t)cap * sizeof *p);
            if (!p) return ssot_err(db, BT_SSOT_FAIL, "nomem", "ssot: out of memory");
            memset(p + db->heldcap, 0, (size_t)(cap - db->heldcap) * sizeof *p);
            db->held = p;
            db->heldcap = cap;
        }
        h = &db->held[db->nheld];
        if (copy_text(db, h, text)) return BT_SSOT_FAIL;
        db->nheld++;
        h->depth = db->depth;
    } else if (copy_text(db, h, text)) {
        return BT_SSOT_FAIL;
    }
    if (db->nheld == 1) strcpy(db->held_run, run);
    h->now = ssot_now();
    h->dirty = !written;
    return BT_SSOT_OK;
}

/* Savepoint depth d was released: its value now belongs to depth d - 1,
 * where it replaces an older one. */
void ssot_held_release(bt_ssot *db, int d) {
    struct ssot_held *h = top(db);
    if (!h || h->depth != d) return;
    h->depth = d - 1;
    if (db->nheld >= 2 && db->held[db->nheld - 2].depth == d - 1) {
        struct ssot_held old = db->held[db->nheld - 2]; /* swap: keep both buffers */
        db->held[db->nheld - 2] = *h;
        *h = old;
        db->nheld--;
    }
}

/* Savepoint depth d was rolled back: the values set inside it are gone. */
void ssot_held_undo(bt_ssot *db, int d) {
    while (db->nheld && db->held[db->nheld - 1].depth >= d)
        db->nheld--;
}

void ssot_held_clear(bt_ssot *db) {
    db->nheld = 0;
}

void ssot_held_free(bt_ssot *db) {
    for (int i = 0; i < db->heldcap; i++)
        free(db->held[i].text);
    free(db->held);
    db->held = NULL;
    db->nheld = db->heldcap = 0;
}

int ssot_held_write(bt_ssot *db) {
    struct ssot_held *h = top(db);
    if (!h) return BT_SSOT_OK;
    /* SQLite rolled the transaction back by itself (a full disk): the held
     * value went with its ledger rows; written now it would commit alone */
    if (sqlite3_get_autocommit(db->db)) {
        ssot_held_clear(db);
        return BT_SSOT_OK;
    }
    if (!h->dirty) return BT_SSOT_OK;
    sqlite3_stmt *st =
        ssot_stmt(db, "UPDATE runs SET spent = ?2, updated_at = max(updated_at, ?3) WHERE id = ?1");
    if (!st) return BT_SSOT_FAIL;
    ssot_bind_text(st, 1, db->held_run);
    ssot_bind_text(st, 2, h->text);
    sqlite3_bind_double(st, 3, h->now);
    int rc = ssot_done(db, st);
    /* written at its own depth, it stays written unless that depth is undone
     * (which drops the entry too); a deeper savepoint may still roll it back */
    if (rc == BT_SSOT_OK && h->depth == db->depth) h->dirty = 0;
    return rc;
}

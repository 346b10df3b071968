/* ssot_bind_group.c: group commit for baton.ssot (engine: bt_ssot_group and
 * bt_ssot_flush in core/ssot.c). With db:group(true), the writes made inside
 * loop tasks share one COMMIT per pass of the loop instead of one each: an
 * idle hook commits the group whenever the loop is about to block. db:sync()
 * is the barrier a task calls before an effect that must only follow durable
 * writes (an LLM reply is in the ledger before the tools it asks for run). */
#include <string.h>

#include "ssot_bind.h"
#include "wait.h"

/* A task waiting in db:sync(); lives on that task's stack while it waits. */
struct ssot_waiter {
    ssot_waiter *prev, *next;
    ssot_box *box; /* NULL once unlinked */
    bt_wait *w;
};

static void unlink_waiter(ssot_waiter *sw) {
    ssot_box *b = sw->box;
    if (!b) return;
    if (sw->prev)
        sw->prev->next = sw->next;
    else
        b->waiters = sw->next;
    if (sw->next) sw->next->prev = sw->prev;
    sw->prev = sw->next = NULL;
    sw->box = NULL;
}

/* The waiting task was cancelled, or the state closes: no Lua here. */
static void waiter_cancel(void *ud) {
    unlink_waiter(ud);
}

/* Wakes every waiter with db:sync()'s results for the flush status rc. */
static void wake_all(ssot_box *b, int rc) {
    while (b->waiters) {
        ssot_waiter *sw = b->waiters;
        unlink_waiter(sw);
        lua_State *T = bt_wait_thread(sw->w);
        int n = 0;
        if (lua_checkstack(T, 3)) {
            if (rc == BT_SSOT_OK) {
                lua_pushboolean(T, 1);
                n = 1;
            } else {
                lua_pushnil(T);
                lua_pushstring(T, b->db ? bt_ssot_msg(b->db) : "ssot: database closed");
                lua_pushstring(T, b->db ? bt_ssot_code(b->db) : "closed");
                n = 3;
            }
        }
        bt_wait_finish(sw->w, n);
    }
}

/* The loop is about to block: commit what the group holds, wake waiters. */
static void group_idle(void *ud) {
    ssot_box *b = ud;
    if (!b->db || (!b->waiters && !bt_ssot_pending(b->db))) return;
    bt_ssot_defer(b->db, 1); /* on the tasks' behalf: a loss stays for the controller to hear */
    int rc = bt_ssot_flush(b->db);
    if (rc == BT_SSOT_MISUSE) return; /* a unit is open: the next idle pass commits */
    wake_all(b, rc);
}

static void group_gone(void *ud) {
    ssot_box *b = ud;
    b->idle = NULL;
}

/* Leaves group mode after a flush that returned rc: the waiters hear rc,
 * the loop hook goes. */
static void leave_group(ssot_box *b, int rc) {
    wake_all(b, rc);
    if (b->idle) bt_wait_idle_remove(b->idle);
    b->idle = NULL;
    b->group = 0;
    bt_ssot_group(b->db, 0);
}

void ssotb_group_close(ssot_box *b) {
    if (b->db) leave_group(b, bt_ssot_pending(b->db) ? bt_ssot_flush(b->db) : BT_SSOT_OK);
}

/* db:group(on) -> true | nil, msg, code. Off commits what is pending. */
static int db_group(lua_State *L) {
    ssot_box *b = luaL_checkudata(L, 1, SSOT_DB);
    bt_ssot *db = ssotb_check(L, 1);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    if (lua_toboolean(L, 2)) {
        if (!b->idle) b->idle = bt_wait_idle_add(L, group_idle, group_gone, b);
        b->group = 1;
        bt_ssot_group(db, 1);
    } else if (b->group) {
        int rc = bt_ssot_flush(db);
        if (rc == BT_SSOT_MISUSE) return luaL_error(L, "db:group(false): inside a transaction");
        leave_group(b, rc);
        if (rc) return ssotb_fail(L, db, rc);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int sync_k(lua_State *L, int status, lua_KContext base) {
    (void)status;
    int n = lua_gettop(L) - (int)base;
    if (n == 0) return luaL_error(L, "db:sync: out of memory");
    return n;
}

/* db:sync() -> true | nil, msg, code: returns once every write made so far
 * is committed. Inside a loop task with the group on, it waits for the
 * group's commit (the loop's next idle point); elsewhere it commits now. */
static int db_sync(lua_State *L) {
    ssot_box *b = luaL_checkudata(L, 1, SSOT_DB);
    bt_ssot *db = ssotb_check(L, 1);
    if (!bt_ssot_pending(db)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (!b->group || !b->idle || !bt_wait_can_yield(L)) {
        int rc = bt_ssot_flush(db);
        if (rc == BT_SSOT_MISUSE) return luaL_error(L, "db:sync: inside a transaction");
        if (rc) return ssotb_fail(L, db, rc);
        lua_pushboolean(L, 1);
        return 1;
    }
    ssot_waiter *sw = lua_newuserdatauv(L, sizeof *sw, 0);
    memset(sw, 0, sizeof *sw);
    int base = lua_gettop(L);
    sw->w = bt_wait_begin(L, waiter_cancel, sw);
    sw->box = b;
    sw->next = b->waiters;
    if (b->waiters) b->waiters->prev = sw;
    b->waiters = sw;
    return bt_wait_yield(L, sw->w, base, sync_k);
}

static const luaL_Reg group_methods[] = {{"group", db_group}, {"sync", db_sync}, {NULL, NULL}};

void ssotb_group_methods(lua_State *L) {
    ssotb_methods(L, group_methods);
}

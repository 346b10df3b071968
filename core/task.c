/* task.c: the loop glue, second half: loop tasks (coroutines started by
 * baton.loop's spawn), the scheduler that resumes them when their waits
 * finish, and joins (wait_all / wait_any); see task.h. A task's outcome is
 * kept in its userdata; live tasks are anchored in the registry. */
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"

/* Registry keys (their addresses): live tasks as lightuserdata(task) ->
 * task userdata; thread -> lightuserdata(task). */
static char live_key, thread_key;

/* ---- tasks ------------------------------------------------------------- */

bt_task *bt_task_of(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &thread_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        return NULL; /* no task was ever spawned */
    }
    lua_pushthread(L);
    lua_rawget(L, -2);
    bt_task *t = lua_touserdata(L, -1);
    lua_pop(L, 2);
    return t;
}

/* Maps co to t (or removes the mapping when t is NULL). */
static void map_thread(lua_State *L, lua_State *co, bt_task *t) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &thread_key);
    lua_checkstack(co, 1);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    if (t)
        lua_pushlightuserdata(L, t);
    else
        lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void bt_task_ready(glue *g, bt_task *t) {
    if (t->queued) return;
    t->queued = 1;
    t->next_ready = NULL;
    if (g->ready_end)
        g->ready_end->next_ready = t;
    else
        g->ready = t;
    g->ready_end = t;
}

static bt_task *ready_pop(glue *g) {
    bt_task *t = g->ready;
    if (!t) return NULL;
    g->ready = t->next_ready;
    if (!g->ready) g->ready_end = NULL;
    t->queued = 0;
    return t;
}

static void ready_remove(glue *g, bt_task *t) {
    bt_task **p = &g->ready, *prev = NULL;
    while (*p && *p != t)
        prev = *p, p = &(*p)->next_ready;
    if (!*p) return;
    *p = t->next_ready;
    if (g->ready_end == t) g->ready_end = prev;
    t->queued = 0;
}

static void push_task(lua_State *L, bt_task *t) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &live_key);
    lua_rawgetp(L, -1, t);
    lua_remove(L, -2);
}

void bt_task_metatable(lua_State *L) {
    luaL_newmetatable(L, BT_TASK_MT);
}

/* The registry tables, made by the first spawn. */
static void make_tables(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &live_key) == LUA_TNIL) {
        lua_newtable(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &live_key);
        lua_newtable(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &thread_key);
    }
    lua_pop(L, 1);
}

bt_task *bt_task_spawn(lua_State *L, int nargs) {
    glue *g = bt_glue_of(L);
    luaL_checkstack(L, 4, NULL);
    make_tables(L);
    bt_task *t = lua_newuserdatauv(L, sizeof *t, 2);
    memset(t, 0, sizeof *t);
    bt_task_metatable(L);
    lua_setmetatable(L, -2);
    lua_State *co = lua_newthread(L);
    lua_setiuservalue(L, -2, 1);
    lua_insert(L, -(nargs + 2)); /* stack: task, fn, args... */
    lua_xmove(L, co, nargs + 1);
    map_thread(L, co, t);
    t->g = g;
    t->co = co;
    t->nargs = nargs;
    t->status = BT_TASK_READY;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &live_key);
    lua_pushvalue(L, -2);
    lua_rawsetp(L, -2, t);
    lua_pop(L, 1);
    g->ntasks++;
    bt_task_ready(g, t);
    return t;
}

int bt_task_status(const bt_task *t) {
    return t->status;
}

int bt_task_finished(const bt_task *t) {
    return t->status >= BT_TASK_DONE;
}

static void notify(glue *g, lua_State *from, bt_task *t);

/* Records the outcome on top of from's stack, drops the thread, unanchors. */
static void settle(glue *g, lua_State *from, bt_task *t, int status) {
    if (t->wait) bt_wait_drop(t->wait);
    if (t->queued) ready_remove(g, t);
    push_task(from, t);
    lua_insert(from, -2);
    lua_setiuservalue(from, -2, 2);
    lua_pushnil(from);
    lua_setiuservalue(from, -2, 1);
    lua_pop(from, 1);
    map_thread(from, t->co, NULL);
    t->co = NULL;
    t->status = status;
    lua_rawgetp(from, LUA_REGISTRYINDEX, &live_key);
    lua_pushnil(from);
    lua_rawsetp(from, -2, t);
    lua_pop(from, 1);
    g->ntasks--;
    notify(g, from, t);
}

static void finish_task(glue *g, lua_State *from, bt_task *t, int st, int nres) {
    lua_State *co = t->co;
    luaL_checkstack(from, 4, NULL);
    if (st == LUA_OK) {
        luaL_checkstack(co, 2, NULL);
        lua_createtable(co, nres, 1);
        lua_insert(co, -(nres + 1));
        for (int i = nres; i >= 1; i--)
            lua_rawseti(co, -(i + 1), i);
        lua_pushinteger(co, nres);
        lua_setfield(co, -2, "n");
        lua_xmove(co, from, 1);
        settle(g, from, t, BT_TASK_DONE);
        return;
    }
    const char *msg = lua_tostring(co, -1);
    if (!msg && lua_istable(co, -1)) { /* a baton.errors object: {msg=, exit=} */
        lua_pushliteral(co, "msg");
        lua_rawget(co, -2);
        msg = lua_tostring(co, -1);
    }
    if (!msg) msg = lua_pushfstring(co, "(error object is a %s value)", luaL_typename(co, -1));
    luaL_traceback(from, co, msg, 0);
    lua_resetthread(co); /* closes its pending to-be-closed variables */
    settle(g, from, t, BT_TASK_FAILED);
}

int bt_task_cancel(lua_State *L, bt_task *t) {
    if (bt_task_finished(t)) return 0;
    if (t->status == BT_TASK_RUNNING) { /* applied when it yields to the scheduler */
        t->cancel_pending = 1;
        return 1;
    }
    if (t->wait) bt_wait_drop(t->wait);
    lua_resetthread(t->co);
    luaL_checkstack(L, 4, NULL);
    lua_pushliteral(L, "cancelled");
    settle(t->g, L, t, BT_TASK_CANCELLED);
    return 1;
}

static void resume_task(glue *g, lua_State *from, bt_task *t) {
    int nargs = t->nargs;
    if (t->wait && t->wait->yielded && t->wait->state == W_DONE)
        nargs = bt_wait_take(t->wait);
    else if (t->wait)
        bt_wait_drop(t->wait); /* begun, then an error skipped its yield */
    t->nargs = 0;
    t->status = BT_TASK_RUNNING;
    int nres;
    g->depth++;
    int st = lua_resume(t->co, from, nargs, &nres);
    g->depth--;
    if (st != LUA_YIELD) {
        finish_task(g, from, t, st, nres);
        return;
    }
    lua_pop(t->co, nres);
    if (t->cancel_pending) {
        t->status = BT_TASK_WAITING;
        bt_task_cancel(from, t);
    } else if (t->wait && t->wait->yielded) {
        t->status = BT_TASK_WAITING;
    } else { /* a plain coroutine.yield(): let the others run, then go on */
        t->status = BT_TASK_READY;
        bt_task_ready(g, t);
    }
}

/* Between two tasks the loop is polled without blocking, so a request a task
 * has just made leaves now (curl's timer, connect and send run on the loop)
 * instead of after every ready task has had its turn: with many tasks ready
 * at once, the first reply then no longer waits for the last request. */
void bt_task_run_ready(glue *g, lua_State *from) {
    bt_task *t;
    while ((t = ready_pop(g))) {
        resume_task(g, from, t);
        if (g->ready) bt_loop_step(g->loop, 0);
    }
}

void bt_task_run_all(lua_State *L) {
    glue *g = bt_glue_of(L);
    if (g->depth) luaL_error(L, "loop.run: cannot be called from inside a task");
    for (;;) {
        bt_task_run_ready(g, L);
        if (g->ntasks == 0) break;
        if (!g->ready) bt_glue_idle(g);
        if (g->ready) continue;
        if (bt_loop_idle(g->loop))
            luaL_error(L, "deadlock: %d task(s) left with nothing that could wake them", g->ntasks);
        if (bt_loop_step(g->loop, g->ready ? 0 : -1) < 0)
            luaL_error(L, "event loop: %s", strerror(errno));
    }
    bt_glue_idle(g); /* the caller goes on without the loop: settle what waits for idleness */
}

/* ---- joins ------------------------------------------------------------- */

static int join_has(const bt_join *j, const bt_task *t) {
    for (int i = 0; i < j->n; i++)
        if (j->tasks[i] == t) return i;
    return -1;
}

static void join_check(bt_join *j) {
    int finished = 0;
    for (int i = 0; i < j->n; i++) {
        const bt_task *t = j->tasks[i];
        if (!bt_task_finished(t)) continue;
        finished++;
        if (j->any && !j->done) {
            j->winner = i;
            j->done = 1;
        }
        if (t->status == BT_TASK_FAILED && j->cancel_on_error) j->want_cancel = 1;
    }
    if (finished == j->n) j->done = 1;
}

static void join_unlink(glue *g, bt_join *j) {
    if (j->prev)
        j->prev->next = j->next;
    else
        g->joins = j->next;
    if (j->next) j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static void join_cancel(void *ud) {
    bt_join *j = ud;
    join_unlink(j->w->g, j);
}

/* Finishes satisfied joins; cancels the rest of a cancel_on_error join.
 * Not reentrant: cancelling a task notifies, which lands here again. */
static void flush_joins(glue *g, lua_State *from) {
    if (g->flushing) return;
    g->flushing = 1;
again:
    for (bt_join *j = g->joins; j; j = j->next) {
        if (j->want_cancel && !j->done) {
            j->want_cancel = 0;
            for (int i = 0; i < j->n; i++)
                bt_task_cancel(from, j->tasks[i]);
            goto again;
        }
        if (j->done) {
            join_unlink(g, j);
            bt_wait_finish(j->w, 0);
            goto again;
        }
    }
    g->flushing = 0;
}

static void notify(glue *g, lua_State *from, bt_task *t) {
    for (bt_join *j = g->joins; j; j = j->next) {
        int i = join_has(j, t);
        if (i < 0 || j->done) continue;
        if (j->any) {
            j->winner = i;
            j->done = 1;
        } else {
            join_check(j);
        }
    }
    flush_joins(g, from);
}

bt_wait *bt_join_begin(lua_State *L, bt_join *j) {
    glue *g = bt_glue_of(L);
    j->done = j->want_cancel = 0;
    j->winner = -1;
    bt_wait *w = bt_wait_begin(L, join_cancel, j);
    j->w = w;
    j->prev = NULL;
    j->next = g->joins;
    if (g->joins) g->joins->prev = j;
    g->joins = j;
    join_check(j);
    flush_joins(g, L);
    return w;
}

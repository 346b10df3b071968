/* wait.c: the loop glue between the C event loop (loop.c) and Lua threads:
 * waits (wait.h), the loop tasks started by baton.loop's spawn and their
 * scheduler, and joins (task.h). Not a binding file: baton.loop's Lua API
 * lives in loop_lua.c. One glue per Lua state, a userdata in the registry
 * whose __gc cancels every pending wait before the loop is freed.
 * Loop callbacks never run Lua: bt_wait_finish only marks a wait done and
 * queues its task; the scheduler resumes tasks from run_ready. */
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"
#include "wait.h"

enum { W_PENDING, W_DONE };

typedef struct hook {
    struct hook *next;
    void (*fn)(void *);
    void *ud;
} hook;

typedef struct glue {
    bt_loop *loop;
    bt_wait *waits;             /* every wait not yet taken, doubly linked */
    bt_task *ready, *ready_end; /* tasks to resume, FIFO */
    bt_join *joins;
    hook *hooks;
    int ntasks;   /* tasks not finished */
    int flushing; /* flush_joins is running */
    int depth;    /* tasks being resumed (nested resumes) */
} glue;

struct bt_wait {
    bt_wait *prev, *next;
    glue *g;
    lua_State *L;
    bt_task *t; /* the task that yields for it, NULL in blocking mode */
    bt_cancel_fn on_cancel;
    void *ud;
    int state, nresults, yielded;
};

struct bt_task {
    glue *g;
    lua_State *co; /* NULL once finished */
    bt_wait *wait;
    bt_task *next_ready;
    int status, queued, cancel_pending, nargs;
};

/* Registry keys (their addresses): the glue; live tasks as
 * lightuserdata(task) -> task userdata; thread -> lightuserdata(task). */
static char glue_key, live_key, thread_key;

/* ---- the glue ---------------------------------------------------------- */

static void free_wait(bt_wait *w) {
    glue *g = w->g;
    if (w->prev)
        w->prev->next = w->next;
    else
        g->waits = w->next;
    if (w->next) w->next->prev = w->prev;
    if (w->t && w->t->wait == w) w->t->wait = NULL;
    free(w);
}

/* Cancels a wait that has not finished; frees it either way. */
static void drop_wait(bt_wait *w) {
    if (w->state == W_PENDING) w->on_cancel(w->ud);
    free_wait(w);
}

static int glue_gc(lua_State *L) {
    glue *g = lua_touserdata(L, 1);
    while (g->waits)
        drop_wait(g->waits);
    while (g->hooks) {
        hook *h = g->hooks;
        g->hooks = h->next;
        h->fn(h->ud);
        free(h);
    }
    bt_loop_free(g->loop);
    g->loop = NULL;
    return 0;
}

static glue *glue_of(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &glue_key) == LUA_TUSERDATA) {
        glue *g = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (!g->loop) luaL_error(L, "the event loop is closed");
        return g;
    }
    lua_pop(L, 1);
    glue *g = lua_newuserdatauv(L, sizeof *g, 0);
    memset(g, 0, sizeof *g);
    g->loop = bt_loop_new();
    if (!g->loop) luaL_error(L, "cannot create the event loop: %s", strerror(errno));
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, glue_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &glue_key);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &live_key);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &thread_key);
    return g;
}

bt_loop *bt_loop_of(lua_State *L) {
    return glue_of(L)->loop;
}

void bt_wait_on_close(lua_State *L, void (*fn)(void *ud), void *ud) {
    glue *g = glue_of(L);
    hook *h = malloc(sizeof *h);
    if (!h) luaL_error(L, "out of memory");
    h->fn = fn;
    h->ud = ud;
    h->next = g->hooks;
    g->hooks = h;
}

/* ---- waits ------------------------------------------------------------- */

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

int bt_wait_can_yield(lua_State *L) {
    bt_task *t = bt_task_of(L);
    return t && t->co == L && lua_isyieldable(L);
}

bt_wait *bt_wait_begin(lua_State *L, bt_cancel_fn on_cancel, void *ud) {
    glue *g = glue_of(L);
    bt_wait *w = calloc(1, sizeof *w);
    if (!w) luaL_error(L, "out of memory");
    w->g = g;
    w->L = L;
    w->on_cancel = on_cancel;
    w->ud = ud;
    w->next = g->waits;
    if (g->waits) g->waits->prev = w;
    g->waits = w;
    if (bt_wait_can_yield(L)) {
        bt_task *t = bt_task_of(L);
        if (t->wait) drop_wait(t->wait); /* begun, then an error skipped its yield */
        w->t = t;
        t->wait = w;
    }
    return w;
}

lua_State *bt_wait_thread(bt_wait *w) {
    return w->L;
}

static void ready_push(glue *g, bt_task *t) {
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

void bt_wait_finish(bt_wait *w, int nresults) {
    w->state = W_DONE;
    w->nresults = nresults;
    if (w->t && w->yielded) ready_push(w->g, w->t);
}

/* Frees a finished wait; its results stay on its thread's stack. */
static int take(bt_wait *w) {
    int n = w->nresults;
    free_wait(w);
    return n;
}

static void run_ready(glue *g, lua_State *from);

/* Blocking mode: drives the loop (and the ready tasks) until w is done. */
static void block_on(lua_State *L, bt_wait *w) {
    glue *g = w->g;
    for (;;) {
        run_ready(g, L);
        if (w->state != W_PENDING) return;
        if (!g->ready && bt_loop_idle(g->loop)) {
            drop_wait(w);
            luaL_error(L, "deadlock: waiting with nothing left that could wake us");
        }
        if (bt_loop_step(g->loop, g->ready ? 0 : -1) < 0) {
            int e = errno;
            drop_wait(w);
            luaL_error(L, "event loop: %s", strerror(e));
        }
    }
}

int bt_wait_yield(lua_State *L, bt_wait *w, lua_KContext ctx, lua_KFunction k) {
    if (w->state == W_PENDING && w->t) {
        w->yielded = 1;
        w->t->status = BT_TASK_WAITING;
        return lua_yieldk(L, 0, ctx, k);
    }
    if (w->state == W_PENDING) block_on(L, w);
    int n = take(w);
    return k ? k(L, LUA_YIELD, ctx) : n;
}

/* ---- tasks ------------------------------------------------------------- */

static void push_task(lua_State *L, bt_task *t) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &live_key);
    lua_rawgetp(L, -1, t);
    lua_remove(L, -2);
}

void bt_task_metatable(lua_State *L) {
    luaL_newmetatable(L, BT_TASK_MT);
}

bt_task *bt_task_spawn(lua_State *L, int nargs) {
    glue *g = glue_of(L);
    luaL_checkstack(L, 4, NULL);
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
    ready_push(g, t);
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
    if (t->wait) drop_wait(t->wait);
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
    if (t->wait) drop_wait(t->wait);
    lua_resetthread(t->co);
    luaL_checkstack(L, 4, NULL);
    lua_pushliteral(L, "cancelled");
    settle(t->g, L, t, BT_TASK_CANCELLED);
    return 1;
}

static void resume_task(glue *g, lua_State *from, bt_task *t) {
    int nargs = t->nargs;
    if (t->wait && t->wait->yielded && t->wait->state == W_DONE)
        nargs = take(t->wait);
    else if (t->wait)
        drop_wait(t->wait); /* begun, then an error skipped its yield */
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
        ready_push(g, t);
    }
}

static void run_ready(glue *g, lua_State *from) {
    bt_task *t;
    while ((t = ready_pop(g)))
        resume_task(g, from, t);
}

void bt_task_run_all(lua_State *L) {
    glue *g = glue_of(L);
    if (g->depth) luaL_error(L, "loop.run: cannot be called from inside a task");
    for (;;) {
        run_ready(g, L);
        if (g->ntasks == 0) return;
        if (!g->ready && bt_loop_idle(g->loop))
            luaL_error(L, "deadlock: %d task(s) left with nothing that could wake them", g->ntasks);
        if (bt_loop_step(g->loop, g->ready ? 0 : -1) < 0)
            luaL_error(L, "event loop: %s", strerror(errno));
    }
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
    glue *g = glue_of(L);
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

/* wait.c: the loop glue between the C event loop (loop.c) and Lua threads,
 * first half: waits (wait.h), the blocking mode, and the glue itself, one
 * per Lua state, a userdata in the registry whose __gc cancels every pending
 * wait, runs the close hooks, then frees the loop. Tasks and the scheduler
 * are the second half (task.c). Loop callbacks never run Lua:
 * bt_wait_finish only marks a wait done and queues its task. */
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"

static char glue_key; /* registry key (its address) of the glue */

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
void bt_wait_drop(bt_wait *w) {
    if (w->state == W_PENDING) w->on_cancel(w->ud);
    free_wait(w);
}

static int glue_gc(lua_State *L) {
    glue *g = lua_touserdata(L, 1);
    while (g->waits)
        bt_wait_drop(g->waits);
    while (g->idles) {
        bt_idle *h = g->idles;
        g->idles = h->next;
        h->gone(h->ud);
        free(h);
    }
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

glue *bt_glue_of(lua_State *L) {
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
    return g;
}

bt_loop *bt_loop_of(lua_State *L) {
    return bt_glue_of(L)->loop;
}

void bt_wait_on_close(lua_State *L, void (*fn)(void *ud), void *ud) {
    glue *g = bt_glue_of(L);
    hook *h = malloc(sizeof *h);
    if (!h) luaL_error(L, "out of memory");
    h->fn = fn;
    h->ud = ud;
    h->next = g->hooks;
    g->hooks = h;
}

bt_idle *bt_wait_idle_add(lua_State *L, void (*fn)(void *), void (*gone)(void *), void *ud) {
    glue *g = bt_glue_of(L);
    bt_idle *h = malloc(sizeof *h);
    if (!h) luaL_error(L, "out of memory");
    *h = (bt_idle){.prev = NULL, .next = g->idles, .g = g, .fn = fn, .gone = gone, .ud = ud};
    if (g->idles) g->idles->prev = h;
    g->idles = h;
    return h;
}

void bt_wait_idle_remove(bt_idle *h) {
    if (h->prev)
        h->prev->next = h->next;
    else
        h->g->idles = h->next;
    if (h->next) h->next->prev = h->prev;
    free(h);
}

void bt_glue_idle(glue *g) {
    for (bt_idle *h = g->idles, *next; h; h = next) {
        next = h->next; /* read first: fn must not remove a hook, but this costs nothing */
        h->fn(h->ud);
    }
}

/* ---- waits ------------------------------------------------------------- */

int bt_wait_can_yield(lua_State *L) {
    bt_task *t = bt_task_of(L);
    return t && t->co == L && lua_isyieldable(L);
}

bt_wait *bt_wait_begin(lua_State *L, bt_cancel_fn on_cancel, void *ud) {
    glue *g = bt_glue_of(L);
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
        if (t->wait) bt_wait_drop(t->wait); /* begun, then an error skipped its yield */
        w->t = t;
        t->wait = w;
    }
    return w;
}

lua_State *bt_wait_thread(bt_wait *w) {
    return w->L;
}

void bt_wait_finish(bt_wait *w, int nresults) {
    w->state = W_DONE;
    w->nresults = nresults;
    if (w->t && w->yielded) bt_task_ready(w->g, w->t);
}

/* Frees a finished wait; its results stay on its thread's stack. */
int bt_wait_take(bt_wait *w) {
    int n = w->nresults;
    free_wait(w);
    return n;
}

/* Blocking mode: drives the loop (and the ready tasks) until w is done. */
static void block_on(lua_State *L, bt_wait *w) {
    glue *g = w->g;
    for (;;) {
        bt_task_run_ready(g, L);
        if (w->state != W_PENDING) break;
        if (!g->ready) bt_glue_idle(g);
        if (g->ready || w->state != W_PENDING) continue;
        if (bt_loop_idle(g->loop)) {
            bt_wait_drop(w);
            luaL_error(L, "deadlock: waiting with nothing left that could wake us");
        }
        if (bt_loop_step(g->loop, g->ready ? 0 : -1) < 0) {
            int e = errno;
            bt_wait_drop(w);
            luaL_error(L, "event loop: %s", strerror(e));
        }
    }
    bt_glue_idle(g); /* the caller goes on without the loop: settle what waits for idleness */
}

int bt_wait_yield(lua_State *L, bt_wait *w, lua_KContext ctx, lua_KFunction k) {
    if (w->state == W_PENDING && w->t) {
        w->yielded = 1;
        w->t->status = BT_TASK_WAITING;
        return lua_yieldk(L, 0, ctx, k);
    }
    if (w->state == W_PENDING) block_on(L, w);
    int n = bt_wait_take(w);
    return k ? k(L, LUA_YIELD, ctx) : n;
}

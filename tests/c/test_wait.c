/* test_wait.c: the wait contract of core/wait.h from C, as another module
 * (the harness) uses it: a waiter on a pipe, a continuation woken several
 * times, finish before yield, cancellation and closing the state, each
 * inside a loop task and outside one. */
#include <lauxlib.h>
#include <lualib.h>
#include <poll.h>
#include <unistd.h>

#include "check.h"
#include "luax.h"
#include "wait.h"

static int cancels;

typedef struct {
    bt_loop *loop;
    bt_wait *w;
    int fd;
} piper;

static void on_readable(void *ud, int fd, int revents) {
    piper *p = ud;
    char c = '?';
    (void)revents;
    bt_loop_io(p->loop, fd, 0, NULL, NULL);
    if (read(fd, &c, 1) != 1) c = '!';
    lua_State *T = bt_wait_thread(p->w);
    lua_pushlstring(T, &c, 1);
    lua_pushinteger(T, fd);
    bt_wait_finish(p->w, 2);
}

static void cancel_pipe(void *ud) {
    piper *p = ud;
    bt_loop_io(p->loop, p->fd, 0, NULL, NULL);
    cancels++;
}

/* readbyte(fd) -> the byte read, fd */
static int l_readbyte(lua_State *L) {
    int fd = (int)luaL_checkinteger(L, 1);
    piper *p = lua_newuserdatauv(L, sizeof *p, 0);
    p->loop = bt_loop_of(L);
    p->fd = fd;
    p->w = bt_wait_begin(L, cancel_pipe, p);
    bt_loop_io(p->loop, fd, POLLIN, on_readable, p);
    return bt_wait_yield(L, p->w, 0, NULL);
}

typedef struct {
    bt_loop *loop;
    bt_wait *w;
    uint64_t id;
} ticker;

static void tick(void *ud) {
    ticker *t = ud;
    t->id = 0;
    bt_wait_finish(t->w, 0);
}

static void cancel_tick(void *ud) {
    ticker *t = ud;
    if (t && t->id) bt_loop_timer_cancel(t->loop, t->id);
    cancels++;
}

/* ticks(n) -> n, after n timer wakes handled by one continuation */
static int ticks_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    ticker *t = lua_touserdata(L, 2);
    if (ctx == lua_tointeger(L, 1)) {
        lua_pushinteger(L, ctx);
        return 1;
    }
    t->loop = bt_loop_of(L);
    t->w = bt_wait_begin(L, cancel_tick, t);
    t->id = bt_loop_timer(t->loop, 0.001, tick, t);
    return bt_wait_yield(L, t->w, ctx + 1, ticks_k);
}

static int l_ticks(lua_State *L) {
    luaL_checkinteger(L, 1);
    lua_settop(L, 1);
    lua_newuserdatauv(L, sizeof(ticker), 0);
    return ticks_k(L, LUA_OK, 0);
}

/* now(a, b) -> a, b without suspending: finished before the yield */
static int l_now(lua_State *L) {
    bt_wait *w = bt_wait_begin(L, cancel_tick, NULL);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    bt_wait_finish(w, 2);
    return bt_wait_yield(L, w, 0, NULL);
}

static lua_State *new_state(void) {
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "baton.loop", luaopen_baton_loop, 0);
    lua_pop(L, 1);
    lua_register(L, "readbyte", l_readbyte);
    lua_register(L, "ticks", l_ticks);
    lua_register(L, "now", l_now);
    return L;
}

/* Runs code, which must return a string; compares it with want. */
static void run(lua_State *L, const char *code, const char *want) {
    if (luaL_dostring(L, code) != LUA_OK) {
        fprintf(stderr, "lua error: %s\n", lua_tostring(L, -1));
        check_failures++;
    } else {
        CHECK_STR(lua_tostring(L, -1), want);
    }
    lua_settop(L, 0);
}

int main(void) {
    int p1[2], p2[2];
    CHECK(pipe(p1) == 0 && pipe(p2) == 0);
    CHECK(write(p1[1], "a", 1) == 1 && write(p2[1], "b", 1) == 1);
    lua_State *L = new_state();
    char code[512];
    /* wait-1.1 blocking outside a task: the results are the call's */
    snprintf(code, sizeof code, "local c, fd = readbyte(%d) return c .. (fd == %d and '+' or '-')",
             p1[0], p1[0]);
    run(L, code, "a+");
    /* wait-1.2 inside tasks it yields; results come back the same */
    snprintf(code, sizeof code,
             "local loop = require 'baton.loop'\n"
             "local t = loop.spawn(function() return readbyte(%d) end)\n"
             "local u = loop.spawn(function() return ticks(5) end)\n"
             "local r = loop.wait_all { t, u }\n"
             "return r[1].values[1] .. r[2].values[1] .. ticks(3)",
             p2[0]);
    run(L, code, "b53");
    /* wait-1.3 finished before the yield: returns at once, both ways */
    run(L,
        "local loop = require 'baton.loop'\n"
        "local t = loop.spawn(function() return now('x', 'y') end)\n"
        "local a, b = now('p', 'q')\n"
        "local ok, c, d = t:wait() return a .. b .. c .. d",
        "pqxy");
    CHECK_INT(cancels, 0);
    /* wait-1.4 cancel: on_cancel runs once, the task ends cancelled */
    snprintf(code, sizeof code,
             "local loop = require 'baton.loop'\n"
             "local t = loop.spawn(function() return readbyte(%d) end)\n"
             "loop.sleep(0.01) loop.cancel(t) loop.cancel(t)\n"
             "return loop.wait_all({ t })[1].err",
             p1[0]);
    run(L, code, "cancelled");
    CHECK_INT(cancels, 1);
    /* wait-1.5 closing the state cancels the waits still pending */
    snprintf(code, sizeof code,
             "local loop = require 'baton.loop'\n"
             "loop.spawn(function() return readbyte(%d) end)\n"
             "loop.spawn(function() return ticks(1000000) end)\n"
             "loop.sleep(0.01) return 'left'",
             p2[0]);
    run(L, code, "left");
    lua_close(L);
    CHECK_INT(cancels, 3);
    close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
    CHECK_DONE();
}

/* loop_lua.c: the baton.loop module: spawn tasks (coroutines the scheduler
 * in core/wait.c resumes when their waits finish), wait for all or any of
 * them, sleep, cancel, and run until every task is done. Inside a task
 * these calls yield to the scheduler; outside one they simply block while
 * the loop runs the tasks. */
#include <lauxlib.h>

#include "luax.h"
#include "task.h"

static const char *const status_names[] = {"ready", "running", "waiting",
                                           "done",  "failed",  "cancelled"};

static bt_task *check_task(lua_State *L, int i) {
    return luaL_checkudata(L, i, BT_TASK_MT);
}

/* loop.spawn(fn, ...) -> task */
static int loop_spawn(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    bt_task_spawn(L, lua_gettop(L) - 1);
    return 1;
}

/* Pushes the outcome of the task userdata at index i: {ok=, values=, err=}. */
static void push_outcome(lua_State *L, int i) {
    bt_task *t = lua_touserdata(L, i);
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, bt_task_status(t) == BT_TASK_DONE);
    lua_setfield(L, -2, "ok");
    lua_getiuservalue(L, i, 2);
    lua_setfield(L, -2, bt_task_status(t) == BT_TASK_DONE ? "values" : "err");
}

/* Pushes the task at position i of the list at index 1, checking it is the
 * one the join waited for (the list may not change during the wait). */
static void push_joined(lua_State *L, const bt_join *j, int i) {
    lua_rawgeti(L, 1, i + 1);
    if (lua_touserdata(L, -1) != (void *)j->tasks[i])
        luaL_error(L, "loop: the task list changed while waiting");
}

static int wait_all_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status, (void)ctx;
    const bt_join *j = lua_touserdata(L, 3);
    lua_createtable(L, j->n, 0);
    for (int i = 0; i < j->n; i++) {
        push_joined(L, j, i);
        push_outcome(L, lua_gettop(L));
        lua_rawseti(L, -3, i + 1);
        lua_pop(L, 1);
    }
    return 1;
}

static int wait_any_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status, (void)ctx;
    const bt_join *j = lua_touserdata(L, 3);
    push_joined(L, j, j->winner);
    return 1;
}

/* The tasks listed at index 1 (options at 2) as a join at index 3. */
static int join_tasks(lua_State *L, const char *fname, int any, lua_KFunction k) {
    luaL_checktype(L, 1, LUA_TTABLE);
    int cancel_on_error = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        cancel_on_error = bt_opt_bool_field(L, 2, "cancel_on_error", 0);
    }
    lua_settop(L, 2);
    lua_Integer n = luaL_len(L, 1);
    if (n > 1000000) luaL_error(L, "%s: too many tasks (%d)", fname, (int)n);
    if (any && n == 0) luaL_error(L, "%s: no tasks given", fname);
    bt_join *j = lua_newuserdatauv(L, bt_join_size(n), 0);
    bt_task *self = bt_task_of(L);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        bt_task *t = luaL_testudata(L, -1, BT_TASK_MT);
        if (!t)
            luaL_error(L, "%s: item %d is not a task (got %s)", fname, i + 1, luaL_typename(L, -1));
        if (t == self) luaL_error(L, "%s: a task cannot wait for itself", fname);
        j->tasks[i] = t;
        lua_pop(L, 1);
    }
    j->n = (int)n;
    j->any = any;
    j->cancel_on_error = cancel_on_error;
    return bt_wait_yield(L, bt_join_begin(L, j), 0, k);
}

/* loop.wait_all(tasks [, {cancel_on_error=}]) -> {{ok=, values=, err=}, ...} */
static int loop_wait_all(lua_State *L) {
    return join_tasks(L, "loop.wait_all", 0, wait_all_k);
}

/* loop.wait_any(tasks) -> the first task to finish */
static int loop_wait_any(lua_State *L) {
    return join_tasks(L, "loop.wait_any", 1, wait_any_k);
}

typedef struct {
    bt_loop *loop;
    bt_wait *w;
    uint64_t id;
} sleeper;

static void sleep_fire(void *ud) {
    sleeper *s = ud;
    s->id = 0;
    bt_wait_finish(s->w, 0);
}

static void sleep_cancel(void *ud) {
    sleeper *s = ud;
    if (s->id) bt_loop_timer_cancel(s->loop, s->id);
}

/* loop.sleep(seconds): the sleeper lives on the caller's stack while it waits. */
static int loop_sleep(lua_State *L) {
    lua_Number secs = luaL_checknumber(L, 1);
    luaL_argcheck(L, secs >= 0, 1, "seconds must not be negative");
    sleeper *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->loop = bt_loop_of(L);
    s->w = bt_wait_begin(L, sleep_cancel, s);
    s->id = bt_loop_timer(s->loop, secs, sleep_fire, s);
    if (!s->id) bt_wait_finish(s->w, 0); /* out of memory: do not sleep at all */
    return bt_wait_yield(L, s->w, 0, NULL);
}

/* loop.cancel(task) -> true if cancelled, false if it had already finished.
 * A task cancelling itself stops here when it may yield. */
static int loop_cancel(lua_State *L) {
    bt_task *t = check_task(L, 1);
    int r = bt_task_cancel(L, t);
    if (r && t == bt_task_of(L) && lua_isyieldable(L)) return lua_yield(L, 0);
    lua_pushboolean(L, r);
    return 1;
}

static int loop_now(lua_State *L) {
    lua_pushnumber(L, bt_now());
    return 1;
}

/* loop.run(): runs every task to its end. */
static int loop_run(lua_State *L) {
    bt_task_run_all(L);
    return 0;
}

static int task_status(lua_State *L) {
    lua_pushstring(L, status_names[bt_task_status(check_task(L, 1))]);
    return 1;
}

/* Returns like the task: true, values... or false, err. */
static int push_result(lua_State *L, int i) {
    bt_task *t = lua_touserdata(L, i);
    lua_pushboolean(L, bt_task_status(t) == BT_TASK_DONE);
    lua_getiuservalue(L, i, 2);
    if (bt_task_status(t) != BT_TASK_DONE) return 2;
    lua_Integer n = (lua_getfield(L, -1, "n"), lua_tointeger(L, -1));
    lua_pop(L, 1);
    luaL_checkstack(L, (int)n, "too many results");
    for (lua_Integer k = 1; k <= n; k++)
        lua_rawgeti(L, -(int)k, k);
    lua_remove(L, -(int)n - 1);
    return (int)n + 1;
}

/* task:result() -> true, values... | false, err; raises if not finished. */
static int task_result(lua_State *L) {
    bt_task *t = check_task(L, 1);
    if (!bt_task_finished(t))
        return luaL_error(L, "task has not finished (it is %s)", status_names[bt_task_status(t)]);
    return push_result(L, 1);
}

static int task_wait_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status, (void)ctx;
    lua_rawgeti(L, 1, 1);
    return push_result(L, lua_gettop(L));
}

/* task:wait() -> like task:result(), after waiting for it. */
static int task_wait(lua_State *L) {
    check_task(L, 1);
    lua_settop(L, 1);
    lua_createtable(L, 1, 0);
    lua_insert(L, 1);
    lua_rawseti(L, 1, 1);
    return join_tasks(L, "task:wait", 0, task_wait_k);
}

static int task_tostring(lua_State *L) {
    bt_task *t = check_task(L, 1);
    lua_pushfstring(L, "baton.loop.task (%s): %p", status_names[bt_task_status(t)], (void *)t);
    return 1;
}

static const luaL_Reg task_methods[] = {{"status", task_status},
                                        {"result", task_result},
                                        {"wait", task_wait},
                                        {"cancel", loop_cancel},
                                        {NULL, NULL}};

static const luaL_Reg loop_funcs[] = {{"spawn", loop_spawn},       {"wait_all", loop_wait_all},
                                      {"wait_any", loop_wait_any}, {"sleep", loop_sleep},
                                      {"cancel", loop_cancel},     {"now", loop_now},
                                      {"run", loop_run},           {NULL, NULL}};

int luaopen_baton_loop(lua_State *L) {
    bt_task_metatable(L);
    luaL_newlib(L, task_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, task_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_newlib(L, loop_funcs);
    return 1;
}

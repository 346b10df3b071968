/* retry_lua.c: the baton.retry module: retry budgets (how many failed
 * verifications a run may retry), backoff delays for failed requests and
 * which statuses and http error codes are worth retrying. The engine is in
 * retry.c; the decision to retry stays with the Lua policy. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "luax.h"
#include "retry.h"

#define BUDGET_MT "baton.retry.budget"

static bt_budget *check_budget(lua_State *L) {
    return luaL_checkudata(L, 1, BUDGET_MT);
}

/* retry.budget(max) -> budget */
static int retry_budget(lua_State *L) {
    lua_Integer max = luaL_checkinteger(L, 1);
    luaL_argcheck(L, max >= 0, 1, "max must not be negative");
    bt_budget *b = lua_newuserdatauv(L, sizeof *b, 0);
    bt_budget_init(b, max);
    luaL_setmetatable(L, BUDGET_MT);
    return 1;
}

static int b_consume(lua_State *L) {
    lua_pushboolean(L, bt_budget_consume(check_budget(L)));
    return 1;
}

static int b_exhausted(lua_State *L) {
    lua_pushboolean(L, bt_budget_exhausted(check_budget(L)));
    return 1;
}

static int b_remaining(lua_State *L) {
    lua_pushinteger(L, bt_budget_remaining(check_budget(L)));
    return 1;
}

static int b_reset(lua_State *L) {
    bt_budget_reset(check_budget(L));
    return 0;
}

static const luaL_Reg budget_methods[] = {{"consume", b_consume},
                                          {"exhausted", b_exhausted},
                                          {"remaining", b_remaining},
                                          {"reset", b_reset},
                                          {NULL, NULL}};

/* b.used and b.max read the counters; other keys are the methods. */
static int b_index(lua_State *L) {
    bt_budget *b = check_budget(L);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "used") == 0)
        lua_pushinteger(L, b->used);
    else if (strcmp(k, "max") == 0)
        lua_pushinteger(L, b->max);
    else
        lua_getfield(L, lua_upvalueindex(1), k);
    return 1;
}

static int b_tostring(lua_State *L) {
    bt_budget *b = check_budget(L);
    lua_pushfstring(L, "baton.retry.budget (%I of %I used)", (LUA_INTEGER)b->used,
                    (LUA_INTEGER)b->max);
    return 1;
}

/* A uniform number in [0, 1) from a xorshift generator seeded once. */
static double uniform(void) {
    static uint64_t s;
    if (!s) s = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

/* retry.backoff{attempt=, base=0.5, cap=30, retry_after=, should_retry=,
 *               max_wait=60, random=} -> seconds | nil when told not to */
static int retry_backoff(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer attempt = bt_opt_int_field(L, 1, "attempt", 0);
    double base = bt_opt_num_field(L, 1, "base", 0.5);
    double cap = bt_opt_num_field(L, 1, "cap", 30);
    double max_wait = bt_opt_num_field(L, 1, "max_wait", 60);
    const char *ra = bt_opt_str_field(L, 1, "retry_after", NULL);
    const char *sr = bt_opt_str_field(L, 1, "should_retry", NULL);
    double r = bt_opt_num_field(L, 1, "random", -1);
    if (attempt < 0) luaL_error(L, "retry.backoff: attempt must not be negative");
    if (!(base >= 0 && cap >= 0 && max_wait >= 0))
        luaL_error(L, "retry.backoff: base, cap and max_wait must be non-negative numbers");
    if (r != -1 && !(r >= 0 && r < 1)) luaL_error(L, "retry.backoff: random must be in [0, 1)");
    if (bt_should_retry(sr) == 0) {
        luaL_pushfail(L);
        return 1;
    }
    double after = bt_retry_after(ra, (int64_t)time(NULL));
    int n = attempt > 10000 ? 10000 : (int)attempt;
    lua_pushnumber(L, bt_backoff(n, base, cap, after, max_wait, r < 0 ? uniform() : r));
    return 1;
}

/* retry.retryable(status | code) -> boolean: 408/409/429/5xx, and the
 * baton.http failure codes of a flaky network. */
static int retry_retryable(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        static const char *const codes[] = {"timeout",   "idle_timeout", "connect",
                                            "truncated", "transport",    NULL};
        const char *c = lua_tostring(L, 1);
        int yes = 0;
        for (int i = 0; codes[i]; i++)
            yes |= strcmp(codes[i], c) == 0;
        lua_pushboolean(L, yes);
        return 1;
    }
    lua_Integer status = luaL_checkinteger(L, 1);
    lua_pushboolean(L, bt_retryable_status((long)status));
    return 1;
}

/* retry.http_date(s) -> Unix seconds | nil (exposed for tests and logs) */
static int retry_http_date(lua_State *L) {
    int64_t t = bt_http_date(luaL_checkstring(L, 1));
    if (t < 0)
        luaL_pushfail(L);
    else
        lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

static const luaL_Reg retry_funcs[] = {{"budget", retry_budget},
                                       {"backoff", retry_backoff},
                                       {"retryable", retry_retryable},
                                       {"http_date", retry_http_date},
                                       {NULL, NULL}};

int luaopen_baton_retry(lua_State *L) {
    luaL_newmetatable(L, BUDGET_MT);
    luaL_newlib(L, budget_methods);
    lua_pushcclosure(L, b_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, b_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_newlib(L, retry_funcs);
    return 1;
}

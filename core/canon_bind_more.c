/* canon_bind_more.c: the rest of the baton.canon binding (the encoder is in
 * core/canon_lua.c): the 64-bit FNV-1a hash of a text, the in-place walk
 * that fixes up what cjson decodes (integers, nulls), and the tools part of
 * a request key built from wire.tool_raw's cache. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "canon_bind.h"

/* Whether the string key at idx is one of a plain tool's fields. */
static int tool_field(lua_State *L, int idx) {
    size_t n;
    const char *k = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &n) : NULL;
    return k && ((n == 4 && memcmp(k, "name", 4) == 0) ||
                 (n == 11 && memcmp(k, "description", 11) == 0) ||
                 (n == 10 && memcmp(k, "parameters", 10) == 0));
}

/* Pushes the cached text of tools[i] (1) when it is a plain tool found in
 * cache, else pushes nothing (0). What wire.tool_raw(cache, t) would give:
 * t has no metatable and no field but name (a string), description (nil or
 * a string) and parameters (a table), and cache[parameters][name] is
 * {description = <the same>, raw = json.raw(text)}. */
static int push_tool_text(lua_State *L, lua_Integer i) {
    int top = lua_gettop(L), t = top + 1;
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE || lua_getmetatable(L, t)) goto miss;
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1))
        if (!tool_field(L, -2)) goto miss;
    if (lua_getfield(L, t, "parameters") != LUA_TTABLE || lua_getfield(L, t, "name") != LUA_TSTRING)
        goto miss;
    int d = lua_getfield(L, t, "description"); /* top + 4 */
    if (d != LUA_TNIL && d != LUA_TSTRING) goto miss;
    lua_pushvalue(L, top + 2);
    if (lua_rawget(L, 2) != LUA_TTABLE) goto miss; /* by name: top + 5 */
    lua_pushvalue(L, top + 3);
    if (lua_rawget(L, top + 5) != LUA_TTABLE) goto miss; /* the entry: top + 6 */
    lua_pushliteral(L, "description");
    lua_rawget(L, top + 6);
    if (!lua_rawequal(L, -1, top + 4)) goto miss;
    lua_pushliteral(L, "raw");
    if (lua_rawget(L, top + 6) != LUA_TTABLE || lua_rawgeti(L, -1, 1) != LUA_TSTRING) goto miss;
    lua_replace(L, t);
    lua_settop(L, t);
    return 1;
miss:
    lua_settop(L, top);
    return 0;
}

/* canon.tool_list(tools, cache) -> json.encode of the list of the cached
 * raw tools | nil. llm.request_key's tools: a list (keys exactly 1..n, n >=
 * 1, no metatable) of plain tools, each already in cache (wire.tool_cache,
 * filled by wire.tool_raw); nil as soon as one is not, and Lua does it. The
 * same text as the Lua way, without its loop over every field of every tool
 * (~55k instructions a request for 8 tools). */
static int canon_tool_list(lua_State *L) {
    lua_settop(L, 2);
    if (!lua_istable(L, 1) || !lua_istable(L, 2) || lua_getmetatable(L, 1)) return 0;
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1), count = 0;
    if (n < 1 || n > 1000) return 0;
    for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1))
        count++;
    if (count != n) return 0; /* with every [i] set below: keys exactly 1..n */
    luaL_checkstack(L, (int)(2 * n + 16), "json: too many tools");
    lua_pushliteral(L, "[");
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) lua_pushliteral(L, ",");
        if (!push_tool_text(L, i)) return 0;
    }
    lua_pushliteral(L, "]");
    lua_concat(L, lua_gettop(L) - 2); /* "[", text, ",", text, ..., "]" */
    return 1;
}

/* canon.fnv1a64(s) -> 16 lowercase hex digits of the 64-bit FNV-1a hash. */
static int canon_fnv1a64(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)bt_fnv(BT_FNV_OFFSET, s, n));
    lua_pushlstring(L, hex, 16);
    return 1;
}

/* In place, the table at t and those inside it: integral floats below 2^53
 * become integers (ints), the NULL light userdata (cjson.null) is removed
 * (nulls). Values only; changing or clearing a field lua_next has just
 * returned is allowed during the traversal. */
static void normalize(lua_State *L, int t, int ints, int nulls, int depth) {
    if (depth > 1000) luaL_error(L, "json: nesting deeper than 1000 (a cycle?)");
    luaL_checkstack(L, 4, "json: nesting too deep");
    lua_pushnil(L);
    while (lua_next(L, t)) {
        switch (lua_type(L, -1)) {
        case LUA_TTABLE:
            normalize(L, lua_gettop(L), ints, nulls, depth + 1);
            break;
        case LUA_TNUMBER:
            if (ints && !lua_isinteger(L, -1)) {
                lua_Number d = lua_tonumber(L, -1);
                if (d == floor(d) && fabs(d) < 9007199254740992.0) {
                    lua_pushvalue(L, -2);
                    lua_pushinteger(L, (lua_Integer)d);
                    lua_rawset(L, t);
                }
            }
            break;
        case LUA_TLIGHTUSERDATA:
            if (nulls && lua_touserdata(L, -1) == NULL) {
                lua_pushvalue(L, -2);
                lua_pushnil(L);
                lua_rawset(L, t);
            }
            break;
        }
        lua_pop(L, 1);
    }
}

/* canon.normalize(v, ints, nulls) -> v: see normalize (v a table, or any
 * value returned as it is). For json.decode and json.strip_nulls. */
static int canon_normalize(lua_State *L) {
    int ints = lua_toboolean(L, 2), nulls = lua_toboolean(L, 3);
    lua_settop(L, 1);
    if (lua_istable(L, 1)) normalize(L, 1, ints, nulls, 0);
    return 1;
}

static const luaL_Reg canon_funcs[] = {{"fnv1a64", canon_fnv1a64},
                                       {"tool_list", canon_tool_list},
                                       {"normalize", canon_normalize},
                                       {NULL, NULL}};

void canonb_more_funcs(lua_State *L) {
    luaL_setfuncs(L, canon_funcs, 0);
}

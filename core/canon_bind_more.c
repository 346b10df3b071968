/* canon_bind_more.c: the rest of the baton.canon binding (the encoder is in
 * core/canon_lua.c): the 64-bit FNV-1a hash of a text, the in-place walk
 * that fixes up what cjson decodes (integers, nulls), the tools part of a
 * request key built from wire.tool_raw's cache, and the check behind
 * wire.tool_list_raw's cache of a provider's tools lists. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "canon_bind.h"

/* Upvalues of canon.tool_list: the field names it looks up, made once
 * (pushing a literal hashes and interns it again on every lookup). */
#define UV_DESCRIPTION lua_upvalueindex(1)
#define UV_RAW lua_upvalueindex(2)
#define MAX_TOOLS 1000

/* The field of a plain tool that the string key at -2 names: 0 name, 1
 * description, 2 parameters, -1 none (then the tool is not plain). */
static int tool_field(lua_State *L) {
    size_t n;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &n) : NULL;
    if (!k) return -1;
    if (n == 4 && memcmp(k, "name", 4) == 0) return 0;
    if (n == 11 && memcmp(k, "description", 11) == 0) return 1;
    if (n == 10 && memcmp(k, "parameters", 10) == 0) return 2;
    return -1;
}

/* The cached text of tools[i] in *text, *len (1) when it is a plain tool
 * found in cache, else 0. What wire.tool_raw(cache, t) would give: t has no
 * metatable and no field but name (a string), description (nil or a string)
 * and parameters (a table), and cache[parameters][name] is {description =
 * <the same>, raw = json.raw(text)}. One walk over t's fields finds them.
 * The text stays anchored by the cache entry (parameters, its weak key, is
 * alive in t) after the stack is cleared. */
static int tool_text(lua_State *L, lua_Integer i, const char **text, size_t *len) {
    int top = lua_gettop(L), t = top + 1, f = top + 2; /* f .. f+2: name, description, parameters */
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE || lua_getmetatable(L, t)) goto miss;
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushnil(L);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        int which = tool_field(L);
        if (which < 0) goto miss;
        lua_copy(L, -1, f + which);
    }
    if (lua_type(L, f) != LUA_TSTRING || !lua_istable(L, f + 2)) goto miss;
    if (!lua_isnil(L, f + 1) && lua_type(L, f + 1) != LUA_TSTRING) goto miss;
    lua_pushvalue(L, f + 2);
    if (lua_rawget(L, 2) != LUA_TTABLE) goto miss; /* by name: f + 3 */
    lua_pushvalue(L, f);
    if (lua_rawget(L, f + 3) != LUA_TTABLE) goto miss; /* the entry: f + 4 */
    lua_pushvalue(L, UV_DESCRIPTION);
    lua_rawget(L, f + 4);
    if (!lua_rawequal(L, -1, f + 1)) goto miss;
    lua_pushvalue(L, UV_RAW);
    if (lua_rawget(L, f + 4) != LUA_TTABLE || lua_rawgeti(L, -1, 1) != LUA_TSTRING) goto miss;
    *text = lua_tolstring(L, -1, len);
    lua_settop(L, top);
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
 * (~55k instructions a request for 8 tools; this way ~10k). */
static int canon_tool_list(lua_State *L) {
    lua_settop(L, 2);
    if (!lua_istable(L, 1) || !lua_istable(L, 2) || lua_getmetatable(L, 1)) return 0;
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1), count = 0;
    if (n < 1 || n > MAX_TOOLS) return 0;
    for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1))
        count++;
    if (count != n) return 0; /* with every [i] set below: keys exactly 1..n */
    luaL_checkstack(L, 16, "json: too many tools");
    const char *text[MAX_TOOLS];
    size_t len[MAX_TOOLS], total = 1 + (size_t)n; /* the brackets and commas */
    for (lua_Integer i = 0; i < n; i++) {
        if (!tool_text(L, i + 1, &text[i], &len[i])) return 0;
        total += len[i];
    }
    /* no allocation since the texts were found: they are all still there.
     * The usual list (~3 kB) is joined on the C stack: a luaL_Buffer that
     * size allocates a box and copies twice. */
    char small[8192], *o = small;
    luaL_Buffer b;
    if (total > sizeof small) o = luaL_buffinitsize(L, &b, total);
    char *start = o;
    *o++ = '[';
    for (lua_Integer i = 0; i < n; i++) {
        if (i > 0) *o++ = ',';
        memcpy(o, text[i], len[i]);
        o += len[i];
    }
    *o++ = ']';
    if (start == small) lua_pushlstring(L, small, total);
    else luaL_pushresultsize(&b, total);
    return 1;
}

/* canon.same_tools(list, check, n) -> whether list still holds the n tools
 * check recorded (check[4i-3 .. 4i]: the tool table, its parameters, name
 * and description): list has no metatable, exactly those tables at 1..n and
 * nothing at n + 1, each with the same three fields (read as t.x reads
 * them). For wire.tool_list_raw: ~5 instructions' worth of Lua per field. */
static int canon_same_tools(lua_State *L) {
    static const char *const fields[] = {"parameters", "name", "description"};
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_checkinteger(L, 3);
    lua_settop(L, 3);
    int same = n >= 0 && n <= MAX_TOOLS && !lua_getmetatable(L, 1);
    lua_settop(L, 3);
    if (same) same = lua_rawgeti(L, 1, n + 1) == LUA_TNIL;
    lua_settop(L, 3);
    for (lua_Integer i = 1; same && i <= n; i++) {
        same = lua_rawgeti(L, 1, i) == LUA_TTABLE; /* 4 */
        lua_rawgeti(L, 2, 4 * i - 3);              /* 5 */
        same = same && lua_rawequal(L, 4, 5);
        for (int f = 0; same && f < 3; f++) {
            lua_getfield(L, 4, fields[f]);
            lua_rawgeti(L, 2, 4 * i - 2 + f);
            same = lua_rawequal(L, 6, 7);
            lua_settop(L, 5);
        }
        lua_settop(L, 3);
    }
    lua_pushboolean(L, same);
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
                                       {"same_tools", canon_same_tools},
                                       {"normalize", canon_normalize},
                                       {NULL, NULL}};

void canonb_more_funcs(lua_State *L) {
    luaL_setfuncs(L, canon_funcs, 0);
    lua_pushliteral(L, "description");
    lua_pushliteral(L, "raw");
    lua_pushcclosure(L, canon_tool_list, 2);
    lua_setfield(L, -2, "tool_list");
}

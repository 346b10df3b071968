/* reqkey_lua.c: the baton.reqkey module: LLM request keys (llm.request_key)
 * hashed in one pass. A key is the FNV-1a 64 of the canonical JSON of the
 * request with a run's random ids renamed (string.gsub(text, "%w+",
 * aliases), as baton first did it in Lua) except inside the tool schemas.
 * The renaming runs over the text while hashing it: no renamed copy, and,
 * with a set compiled once (reqkey.aliases, core/aliases.c), no Lua string
 * per word. The keys must never change: a resumed run finds its replies by
 * them (tests/lua/test_canon.lua checks them against string.gsub). */
#include <stdint.h>

#include "aliases.h"
#include "luax.h"

#define ALIASES "baton.reqkey.aliases"

/* Hashes s with every word w replaced by aliases[w] when that is neither nil
 * nor false: the hash of string.gsub(s, "%w+", aliases). The general path,
 * for a table at stack index a (a string made per word, as gsub did). */
static uint64_t fnv_table_aliased(lua_State *L, uint64_t h, const char *s, size_t n, int a) {
    size_t i = 0;
    while (i < n) {
        if (!bt_is_word_byte((unsigned char)s[i])) {
            h = (h ^ (unsigned char)s[i++]) * BT_FNV_PRIME;
            continue;
        }
        size_t j = i + 1;
        while (j < n && bt_is_word_byte((unsigned char)s[j]))
            j++;
        lua_pushlstring(L, s + i, j - i);
        lua_gettable(L, a);
        if (!lua_toboolean(L, -1)) {
            h = bt_fnv(h, s + i, j - i);
        } else if (lua_isstring(L, -1)) {
            size_t rn;
            const char *r = lua_tolstring(L, -1, &rn);
            h = bt_fnv(h, r, rn);
        } else {
            luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        i = j;
    }
    return h;
}

static int aliases_gc(lua_State *L) {
    bt_aliases **a = luaL_checkudata(L, 1, ALIASES);
    bt_aliases_free(*a);
    *a = NULL;
    return 0;
}

/* reqkey.aliases(t) -> a compiled copy of the word -> name table t: keys
 * that are not words never match and are left out, false values mean no
 * renaming; other values must be strings or numbers. */
static int reqkey_aliases(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    size_t n = 0;
    for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1))
        n++;
    bt_aliases **a = lua_newuserdatauv(L, sizeof *a, 0);
    *a = NULL;
    luaL_setmetatable(L, ALIASES);
    if (!(*a = bt_aliases_new(n))) luaL_error(L, "json: out of memory");
    for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1)) {
        size_t wn, rn, k = 0;
        if (lua_type(L, -2) != LUA_TSTRING || !lua_toboolean(L, -1)) continue;
        const char *w = lua_tolstring(L, -2, &wn);
        while (k < wn && bt_is_word_byte((unsigned char)w[k]))
            k++;
        if (k == 0 || k < wn) continue;
        if (!lua_isstring(L, -1))
            luaL_error(L, "json.aliases: the name for '%s' is a %s (a string or number is needed)", w,
                       luaL_typename(L, -1));
        lua_pushvalue(L, -1); /* lua_tolstring would turn a number value into a string in place */
        const char *r = lua_tolstring(L, -1, &rn);
        if (bt_aliases_add(*a, w, wn, r, rn) != 0) luaL_error(L, "json: out of memory");
        lua_pop(L, 1);
    }
    return 1;
}

/* reqkey.hash(head, aliases, tools) -> 16 hex digits. head: the canonical
 * JSON of an object (the request without its tools); aliases: nil, a table
 * or reqkey.aliases(table), applied to head; tools: nil, or the canonical
 * JSON of the tools, appended as the last member "tools" (its key sorts
 * after every key of head, so the text hashed is the canonical encoding of
 * the whole request). */
static int reqkey_hash(lua_State *L) {
    size_t n, tn = 0;
    const char *head = luaL_checklstring(L, 1, &n);
    const char *tools = luaL_optlstring(L, 3, NULL, &tn);
    if (n < 2 || head[0] != '{' || head[n - 1] != '}') luaL_argerror(L, 1, "a JSON object expected");
    bt_aliases **set = luaL_testudata(L, 2, ALIASES);
    uint64_t h = BT_FNV_OFFSET;
    if (set && *set) h = bt_fnv_aliased(*set, h, head, n - 1);
    else if (lua_istable(L, 2)) h = fnv_table_aliased(L, h, head, n - 1, 2);
    else if (lua_isnil(L, 2)) h = bt_fnv(h, head, n - 1);
    else luaL_typeerror(L, 2, "nil, table or reqkey.aliases");
    if (tools) {
        if (n > 2) h = bt_fnv(h, ",", 1);
        h = bt_fnv(h, "\"tools\":", 8);
        h = bt_fnv(h, tools, tn);
    }
    h = bt_fnv(h, "}", 1);
    char hex[16]; /* "%016llx" (snprintf cost ~900 instructions a key) */
    for (int i = 15; i >= 0; i--, h >>= 4)
        hex[i] = "0123456789abcdef"[h & 15];
    lua_pushlstring(L, hex, 16);
    return 1;
}

static const luaL_Reg reqkey_funcs[] = {{"aliases", reqkey_aliases}, {"hash", reqkey_hash}, {NULL, NULL}};

int luaopen_baton_reqkey(lua_State *L) {
    luaL_newmetatable(L, ALIASES);
    lua_pushcfunction(L, aliases_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newlib(L, reqkey_funcs);
    return 1;
}

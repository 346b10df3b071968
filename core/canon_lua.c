/* canon_lua.c: the baton.canon module: the canonical JSON encoding and the
 * 64-bit FNV-1a hash behind baton.json (request keys, ledger, cassettes,
 * provider bodies, transcripts). Every LLM request encodes its whole
 * conversation and tool schemas several times, so this runs in C; the rules
 * are baton.json's (sorted keys, no whitespace, integers as integers, floats
 * with 17 digits, only the escapes JSON requires) and must never change. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luax.h"

#define MAX_DEPTH 100
#define OUTBUF "baton.canon.buffer"

/* The output buffer lives in a userdata so an error (longjmp) frees it. */
typedef struct {
    char *p;
    size_t len, cap;
} outbuf;

static int outbuf_gc(lua_State *L) {
    outbuf *b = lua_touserdata(L, 1);
    free(b->p);
    b->p = NULL;
    return 0;
}

static void put(lua_State *L, outbuf *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) luaL_error(L, "json: out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_quoted(lua_State *L, outbuf *b, const char *s, size_t n) {
    put(L, b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed in one put */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 32) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (!esc) continue;
        put(L, b, s + run, i - run);
        put(L, b, esc, strlen(esc));
        run = i + 1;
    }
    put(L, b, s + run, n - run);
    put(L, b, "\"", 1);
}

/* Formats the number at idx into out (at least 32 bytes); raises on NaN/inf. */
static size_t format_number(lua_State *L, int idx, char *out) {
    if (lua_isinteger(L, idx))
        return (size_t)snprintf(out, 32, LUA_INTEGER_FMT, lua_tointeger(L, idx));
    lua_Number d = lua_tonumber(L, idx);
    if (isnan(d) || isinf(d)) {
        luaL_tolstring(L, idx, NULL);
        luaL_error(L, "json: cannot encode %s", lua_tostring(L, -1));
    }
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        return (size_t)snprintf(out, 32, LUA_INTEGER_FMT, (lua_Integer)d);
    return (size_t)snprintf(out, 32, "%.17g", (double)d);
}

static void encode_value(lua_State *L, outbuf *b, int idx, int depth, int array_mt);

/* n when the table's keys are exactly 1..n (n >= 1), 0 for an empty table
 * marked with json.array_mt, -1 when it is an object. */
static lua_Integer array_length(lua_State *L, int t, int array_mt) {
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        n++;
        lua_pop(L, 1);
    }
    if (n == 0) {
        /* the caller drops the metatable from the stack */
        return lua_getmetatable(L, t) && lua_rawequal(L, -1, array_mt) ? 0 : -1;
    }
    for (lua_Integer i = 1; i <= n; i++) {
        int missing = lua_geti(L, t, i) == LUA_TNIL;
        lua_pop(L, 1);
        if (missing) return -1;
    }
    return n;
}

typedef struct {
    const char *s;
    size_t len;
    lua_Integer slot;
} key_entry;

static int key_cmp(const void *a, const void *b) {
    const key_entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* An object: keys (numbers formatted as in values) sorted bytewise. The
 * key strings and values are anchored in two scratch tables on the stack. */
static void encode_object(lua_State *L, outbuf *b, int t, int depth, int array_mt) {
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_newtable(L);
    int vals = keys + 1;
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) { /* key at -2, value at -1 */
        int tk = lua_type(L, -2);
        n++;
        lua_seti(L, vals, n);
        if (tk == LUA_TNUMBER) {
            char num[32];
            size_t len = format_number(L, lua_gettop(L), num);
            lua_pushlstring(L, num, len);
        } else if (tk == LUA_TSTRING) {
            lua_pushvalue(L, -1);
        } else {
            luaL_error(L, "json: cannot encode a key of type %s", lua_typename(L, tk));
        }
        lua_seti(L, keys, n);
    }
    key_entry *e = lua_newuserdatauv(L, (size_t)n * sizeof *e + 1, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_geti(L, keys, i + 1);
        e[i].s = lua_tolstring(L, -1, &e[i].len); /* anchored by keys */
        e[i].slot = i + 1;
        lua_pop(L, 1);
    }
    qsort(e, (size_t)n, sizeof *e, key_cmp);
    put(L, b, "{", 1);
    for (lua_Integer i = 0; i < n; i++) {
        if (i > 0) put(L, b, ",", 1);
        put_quoted(L, b, e[i].s, e[i].len);
        put(L, b, ":", 1);
        lua_geti(L, vals, e[i].slot);
        encode_value(L, b, lua_gettop(L), depth + 1, array_mt);
        lua_pop(L, 1);
    }
    put(L, b, "}", 1);
    lua_settop(L, keys - 1);
}

static void encode_table(lua_State *L, outbuf *b, int t, int depth, int array_mt) {
    if (depth > MAX_DEPTH) luaL_error(L, "json: nesting deeper than 100 (a cycle?)");
    luaL_checkstack(L, 8, "json: nesting too deep");
    int top = lua_gettop(L);
    lua_Integer n = array_length(L, t, array_mt);
    lua_settop(L, top);
    if (n < 0) {
        encode_object(L, b, t, depth, array_mt);
        return;
    }
    put(L, b, "[", 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) put(L, b, ",", 1);
        lua_geti(L, t, i);
        encode_value(L, b, lua_gettop(L), depth + 1, array_mt);
        lua_pop(L, 1);
    }
    put(L, b, "]", 1);
}

static void encode_value(lua_State *L, outbuf *b, int idx, int depth, int array_mt) {
    size_t n;
    const char *s;
    char num[32];
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        put_quoted(L, b, s, n);
        break;
    case LUA_TNUMBER:
        n = format_number(L, idx, num);
        put(L, b, num, n);
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) put(L, b, "true", 4);
        else put(L, b, "false", 5);
        break;
    case LUA_TNIL:
        put(L, b, "null", 4);
        break;
    case LUA_TLIGHTUSERDATA: /* cjson.null is the NULL light userdata */
        if (lua_touserdata(L, idx) == NULL) {
            put(L, b, "null", 4);
            break;
        }
        luaL_error(L, "json: cannot encode a value of type userdata");
        break;
    case LUA_TTABLE:
        encode_table(L, b, idx, depth, array_mt);
        break;
    default:
        luaL_error(L, "json: cannot encode a value of type %s", luaL_typename(L, idx));
    }
}

/* canon.encode(v, array_mt) -> string; raises "json: ..." on what JSON
 * cannot say (functions, cycles, NaN, infinity, odd keys). */
static int canon_encode(lua_State *L) {
    lua_settop(L, 2);
    outbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, OUTBUF);
    encode_value(L, b, 1, 0, 2);
    lua_pushlstring(L, b->p ? b->p : "", b->len);
    free(b->p);
    b->p = NULL;
    return 1;
}

/* canon.fnv1a64(s) -> 16 lowercase hex digits of the 64-bit FNV-1a hash. */
static int canon_fnv1a64(lua_State *L) {
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    lua_pushlstring(L, hex, 16);
    return 1;
}

static const luaL_Reg canon_funcs[] = {{"encode", canon_encode},
                                       {"fnv1a64", canon_fnv1a64},
                                       {NULL, NULL}};

int luaopen_baton_canon(lua_State *L) {
    luaL_newmetatable(L, OUTBUF);
    lua_pushcfunction(L, outbuf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newlib(L, canon_funcs);
    return 1;
}

/* canon_lua.c: the baton.canon module: the canonical JSON encoding and the
 * 64-bit FNV-1a hash behind baton.json (request keys, ledger, cassettes,
 * provider bodies, transcripts), the in-place walk that fixes up what
 * cjson decodes (integers, nulls) and the cached tool list of request keys
 * (those two and the hash in canon_bind_more.c). Every LLM request encodes
 * its whole conversation and tool schemas, so this runs in C; the rules are
 * baton.json's (sorted keys, no whitespace, integers as integers, floats
 * with 17 digits, only the escapes JSON requires) and must never change. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon_bind.h"
#include "fmtdbl.h"

#define MAX_DEPTH 100
#define OUTBUF "baton.canon.buffer"

typedef canon_outbuf outbuf;
typedef canon_key_entry key_entry;

#define KEEP_MAX (256 * 1024) /* a kept buffer grown past this is freed after use */

/* Raises "json: ..." (as luaL_error) with b free again for the next call. */
static _Noreturn void fail(lua_State *L, outbuf *b, const char *fmt, ...) {
    va_list ap;
    b->busy = 0;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_error(L);
    abort(); /* lua_error does not return */
}

static void check_stack(lua_State *L, outbuf *b, int n, const char *msg) {
    if (!lua_checkstack(L, n)) fail(L, b, "stack overflow (%s)", msg);
}

static int outbuf_gc(lua_State *L) {
    outbuf *b = lua_touserdata(L, 1);
    free(b->p);
    free(b->keys);
    b->p = NULL;
    b->keys = NULL;
    return 0;
}

/* Makes room for n more bytes (the test inline, the growth out of line). */
static void grow(lua_State *L, outbuf *b, size_t n);
static inline void reserve(lua_State *L, outbuf *b, size_t n) {
    if (b->len + n > b->cap) grow(L, b, n);
}

static void grow(lua_State *L, outbuf *b, size_t n) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) fail(L, b, "json: out of memory");
    b->p = p;
    b->cap = cap;
}

static void put(lua_State *L, outbuf *b, const char *s, size_t n) {
    reserve(L, b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void canonb_reserve(lua_State *L, canon_outbuf *b, size_t n) {
    reserve(L, b, n);
}

/* Whether one of the 8 bytes of w is below 32, a quote or a backslash
 * (the exact "has a zero byte" test, applied three times). */
static int has_special(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    return (((w - ones * 32) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high ? 1 : 0;
}

/* Writes byte c at o, escaped if JSON requires it; returns the new end. */
static inline char *put_byte(char *o, unsigned char c) {
    static const char hex[] = "0123456789abcdef";
    if (c >= 32 && c != '"' && c != '\\') {
        *o++ = (char)c;
        return o;
    }
    *o++ = '\\';
    switch (c) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
        memcpy(o, "u00", 3);
        o[3] = hex[c >> 4];
        o[4] = hex[c & 15];
        o += 5;
    }
    return o;
}

/* A string with only the escapes JSON requires: the quote, the backslash,
 * the five short control escapes, other bytes below 32 as \u00XX. Eight
 * bytes at a time while none needs an escape (prose mostly). */
static void put_quoted(lua_State *L, outbuf *b, const char *s, size_t n) {
    size_t from = 0;
    do { /* room for the worst case, by chunks, and for both quotes */
        size_t end = n - from < 4096 ? n : from + 4096;
        reserve(L, b, 6 * (end - from) + 2);
        char *o = b->p + b->len;
        if (from == 0) *o++ = '"';
        size_t i = from;
        while (i + 8 <= end) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (has_special(w)) {
                for (size_t k = 0; k < 8; k++)
                    o = put_byte(o, (unsigned char)s[i + k]);
            } else {
                memcpy(o, s + i, 8);
                o += 8;
            }
            i += 8;
        }
        for (; i < end; i++)
            o = put_byte(o, (unsigned char)s[i]);
        if (end == n) *o++ = '"';
        b->len = (size_t)(o - b->p);
        from = end;
    } while (from < n);
}

void canonb_put(lua_State *L, canon_outbuf *b, const char *s, size_t n) {
    put(L, b, s, n);
}

void canonb_put_quoted(lua_State *L, canon_outbuf *b, const char *s, size_t n) {
    put_quoted(L, b, s, n);
}

/* Formats the number at idx into out (at least 32 bytes); raises on NaN/inf. */
static size_t format_integer(lua_Integer v, char *out) {
    char tmp[24];
    size_t n = 0, len = 0;
    lua_Unsigned u = v < 0 ? 0u - (lua_Unsigned)v : (lua_Unsigned)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    return len;
}

static size_t format_number(lua_State *L, outbuf *b, int idx, char *out) {
    if (lua_isinteger(L, idx)) return format_integer(lua_tointeger(L, idx), out);
    lua_Number d = lua_tonumber(L, idx);
    if (isnan(d) || isinf(d)) {
        luaL_tolstring(L, idx, NULL);
        fail(L, b, "json: cannot encode %s", lua_tostring(L, -1));
    }
    if (d == floor(d) && fabs(d) < 9007199254740992.0) return format_integer((lua_Integer)d, out);
    return bt_fmt_g((double)d, 17, out); /* snprintf's "%.17g", ~10x cheaper */
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

/* Bytewise order of two keys. A number key's text is in its own entry (the
 * entries move while sorted). */
static int key_cmp(const key_entry *x, const key_entry *y) {
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->is_num ? x->num : x->s, y->is_num ? y->num : y->s, n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

static int key_qcmp(const void *a, const void *b) {
    return key_cmp(a, b);
}

static size_t push_key(lua_State *L, outbuf *b) {
    if (b->nkeys == b->keycap) {
        size_t cap = b->keycap ? 2 * b->keycap : 64;
        key_entry *k = realloc(b->keys, cap * sizeof *k);
        if (!k) fail(L, b, "json: out of memory");
        b->keys = k;
        b->keycap = cap;
    }
    return b->nkeys++;
}

/* An object: keys (numbers formatted as in values) sorted bytewise. Each
 * pair stays on the stack while the keys are sorted (value at slot): looking
 * each value up again by its key re-interned every key string. */
static void encode_object(lua_State *L, outbuf *b, int t, int depth, int array_mt) {
    size_t base = b->nkeys;
    int top = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) { /* key at -2, value at -1 */
        check_stack(L, b, 3, "json: object too large");
        int tk = lua_type(L, -2);
        size_t at = push_key(L, b);
        key_entry *e = &b->keys[at];
        e->slot = lua_gettop(L); /* the value; its key just below */
        e->is_num = tk == LUA_TNUMBER;
        if (e->is_num) {
            e->len = format_number(L, b, e->slot - 1, e->num);
        } else if (tk == LUA_TSTRING) {
            e->s = lua_tolstring(L, e->slot - 1, &e->len);
        } else {
            fail(L, b, "json: cannot encode a key of type %s", lua_typename(L, tk));
        }
        lua_pushvalue(L, -2); /* the key again, for lua_next */
    }
    size_t n = b->nkeys - base;
    if (n == 0) { /* empty: [] when marked with json.array_mt */
        int arr = lua_getmetatable(L, t) && lua_rawequal(L, -1, array_mt);
        lua_settop(L, top);
        put(L, b, arr ? "[]" : "{}", 2);
        return;
    }
    key_entry *e = b->keys + base; /* no realloc until the loop below */
    if (n > 16) qsort(e, n, sizeof *e, key_qcmp);
    for (size_t i = 1; i < n && n <= 16; i++) { /* most objects: a handful of keys */
        key_entry k = e[i];
        size_t j = i;
        for (; j > 0 && key_cmp(&e[j - 1], &k) > 0; j--)
            e[j] = e[j - 1];
        e[j] = k;
    }
    put(L, b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        e = b->keys + base + i; /* a nested object may have moved the stack */
        if (i > 0) put(L, b, ",", 1);
        put_quoted(L, b, e->is_num ? e->num : e->s, e->len);
        put(L, b, ":", 1);
        encode_value(L, b, e->slot, depth + 1, array_mt);
    }
    put(L, b, "}", 1);
    b->nkeys = base;
    lua_settop(L, top);
}

/* Copies the text of the json.raw table at t (its text at [1]). */
static void put_text(lua_State *L, outbuf *b, int t) {
    size_t n;
    lua_rawgeti(L, t, 1);
    const char *s = lua_tolstring(L, -1, &n);
    if (!s) fail(L, b, "json: a raw fragment needs its text at [1]");
    put(L, b, s, n);
    lua_pop(L, 1);
}

/* 1: t has the raw metatable (array_mt + 1), 2: the chat messages one
 * (array_mt + 3), else 0. */
static int is_raw(lua_State *L, int t, int array_mt) {
    if (!lua_getmetatable(L, t)) return 0;
    int raw = lua_rawequal(L, -1, array_mt + 1) ? 1 : lua_rawequal(L, -1, array_mt + 3) ? 2 : 0;
    lua_pop(L, 1);
    return raw;
}

/* A fragment already encoded is copied as it is, or (json.chat_messages)
 * written by canon_chat.c: a json.raw table (the raw
 * metatable, its text at [1]), or a table json.encoded registered in the
 * raws table (weak keys: table -> its json.raw): the tool schemas of every
 * request are the same tables, encoded once (lua/baton/llm/init.lua,
 * openai.lua). The raw metatable sits at stack index array_mt + 1, the raws
 * table at array_mt + 2 (each nil when not given). */
static int put_raw(lua_State *L, outbuf *b, int t, int depth, int array_mt) {
    int kind = is_raw(L, t, array_mt);
    if (kind == 1) put_text(L, b, t);
    if (kind == 2) canonb_chat_messages(L, b, t, depth, array_mt); /* core/canon_chat.c */
    if (kind) return 1;
    if (!lua_istable(L, array_mt + 2)) return 0;
    lua_pushvalue(L, t);
    int found = lua_rawget(L, array_mt + 2) == LUA_TTABLE && is_raw(L, -1, array_mt) == 1;
    if (found) put_text(L, b, lua_gettop(L));
    lua_pop(L, 1);
    return found;
}

static void encode_table(lua_State *L, outbuf *b, int t, int depth, int array_mt) {
    if (depth > MAX_DEPTH) fail(L, b, "json: nesting deeper than 100 (a cycle?)");
    check_stack(L, b, 8, "json: nesting too deep");
    if (put_raw(L, b, t, depth, array_mt)) return;
    int top = lua_gettop(L);
    /* no [1]: an object, or an empty table (encode_object tells which),
     * without a first lua_next here */
    int no_first = lua_geti(L, t, 1) == LUA_TNIL;
    lua_pop(L, 1);
    lua_Integer n = no_first ? -1 : array_length(L, t, array_mt);
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
        n = format_number(L, b, idx, num);
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
        fail(L, b, "json: cannot encode a value of type userdata");
        break;
    case LUA_TTABLE:
        encode_table(L, b, idx, depth, array_mt);
        break;
    default:
        fail(L, b, "json: cannot encode a value of type %s", luaL_typename(L, idx));
    }
}

void canonb_encode_value(lua_State *L, canon_outbuf *b, int idx, int depth, int array_mt) {
    encode_value(L, b, idx, depth, array_mt);
}

/* A new empty output buffer on the stack top (freed by its __gc on errors). */
static outbuf *new_outbuf(lua_State *L) {
    outbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, OUTBUF);
    return b;
}

static void free_outbuf(outbuf *b) {
    free(b->p); /* at once; the collector finds nothing left */
    free(b->keys);
    b->p = NULL;
    b->keys = NULL;
}

/* canon.encode(v, array_mt[, raw_mt[, raws[, chat_mt]]]) -> string; raises
 * "json: ..." on what JSON cannot say (functions, cycles, NaN, infinity, odd
 * keys). chat_mt marks json.chat_messages tables (core/canon_chat.c).
 * Encodes into the state's kept buffer (upvalue 1) unless it is busy. */
static int canon_encode(lua_State *L) {
    lua_settop(L, 5);
    outbuf *kept = lua_touserdata(L, lua_upvalueindex(1));
    outbuf *b = kept->busy ? new_outbuf(L) : kept;
    b->busy = 1;
    b->len = b->nkeys = 0;
    encode_value(L, b, 1, 0, 2);
    lua_pushlstring(L, b->p ? b->p : "", b->len);
    b->busy = 0;
    if (b != kept || b->cap > KEEP_MAX) {
        free_outbuf(b);
        b->cap = b->keycap = 0;
    }
    return 1;
}

int luaopen_baton_canon(lua_State *L) {
    luaL_newmetatable(L, OUTBUF);
    lua_pushcfunction(L, outbuf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_newtable(L);
    canonb_more_funcs(L);
    canonb_decode_funcs(L);
    new_outbuf(L); /* the kept buffer */
    lua_pushcclosure(L, canon_encode, 1);
    lua_setfield(L, -2, "encode");
    return 1;
}

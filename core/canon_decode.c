/* canon_decode.c: canon.decode (baton.canon), json.decode's one pass from
 * JSON text to the values it promises: integral numbers below 2^53 as
 * integers, null as cjson.null or, with strip, left out. Unlike cjson.decode
 * plus a fix-up walk, a container's members wait on the Lua stack (up to
 * CHUNK) and its table is made at their number. Strict JSON (raw control
 * bytes allowed in strings); error texts as cjson's. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canon_bind.h"

#define MAX_DEPTH 1000
#define CHUNK 64 /* members kept on the stack before they go into their table */

typedef struct {
    lua_State *L;
    const char *s, *p, *end;
    int strip;
    char msg[128]; /* set on failure */
} dec;

static int value(dec *d, int depth);

/* Records "Expected <what> but found <found> at character <at - s + 1>". */
static int fail(dec *d, const char *what, const char *found, const char *at) {
    snprintf(d->msg, sizeof d->msg, "json: Expected %s but found %s at character %d", what, found,
             (int)(at - d->s + 1));
    return -1;
}

static int literal_at(const dec *d, const char *word, size_t n) {
    return (size_t)(d->end - d->p) >= n && memcmp(d->p, word, n) == 0;
}

/* What cjson would call the token at d->p, for messages. */
static const char *token_name(const dec *d) {
    if (d->p >= d->end) return "T_END";
    switch (*d->p) {
    case '{': return "T_OBJ_BEGIN";
    case '}': return "T_OBJ_END";
    case '[': return "T_ARR_BEGIN";
    case ']': return "T_ARR_END";
    case ':': return "T_COLON";
    case ',': return "T_COMMA";
    case '"': return "T_STRING";
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': return "T_NUMBER";
    case 't': return literal_at(d, "true", 4) ? "T_BOOLEAN" : "invalid token";
    case 'f': return literal_at(d, "false", 5) ? "T_BOOLEAN" : "invalid token";
    case 'n': return literal_at(d, "null", 4) ? "T_NULL" : "invalid token";
    default: return "invalid token";
    }
}

static void skip_ws(dec *d) {
    const char *p = d->p;
    while (p < d->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    d->p = p;
}

/* Whether one of the 8 bytes of w is a quote or a backslash. */
static int has_quote_or_bs(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    return (((q - ones) & ~q) | ((bs - ones) & ~bs)) & high ? 1 : 0;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned c) {
    if (c < 0x80) {
        *o++ = (char)c;
    } else if (c < 0x800) {
        *o++ = (char)(0xC0 | c >> 6);
        *o++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *o++ = (char)(0xE0 | c >> 12);
        *o++ = (char)(0x80 | (c >> 6 & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    } else {
        *o++ = (char)(0xF0 | c >> 18);
        *o++ = (char)(0x80 | (c >> 12 & 0x3F));
        *o++ = (char)(0x80 | (c >> 6 & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    }
    return o;
}

/* One escape at p (p[0] is the backslash) written at *o; returns its end in
 * the text, or NULL with the message set (what: the expected token). */
static const char *unescape(dec *d, const char *p, char **o, const char *what) {
    static const char simple[256] = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
                                     ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t'};
    if (d->end - p < 2) return fail(d, what, "unexpected end of string", p), NULL;
    unsigned char c = (unsigned char)p[1];
    if (c != 'u') {
        if (!simple[c]) return fail(d, what, "invalid escape code", p), NULL;
        *(*o)++ = simple[c];
        return p + 2;
    }
    unsigned cp, lo;
    if (d->end - p < 6 || hex4(p + 2, &cp) != 0) goto bad;
    if (cp >= 0xDC00 && cp <= 0xDFFF) goto bad; /* a low surrogate alone */
    if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high one: its low one must follow */
        if (d->end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            goto bad;
        *o = put_utf8(*o, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
        return p + 12;
    }
    *o = put_utf8(*o, cp);
    return p + 6;
bad:
    fail(d, what, "invalid unicode escape code", p);
    return NULL;
}

/* The string at d->p (its opening quote) pushed. Plain runs are found eight
 * bytes at a time; a string with escapes is rebuilt in a luaL_Buffer (its
 * text never grows: an escape is longer than what it stands for). */
static int string(dec *d, const char *what) {
    const char *start = d->p + 1, *p = start, *end = d->end;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (has_quote_or_bs(w)) break;
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\')
        p++;
    if (p < end && *p == '"') {
        lua_pushlstring(d->L, start, (size_t)(p - start));
        d->p = p + 1;
        return 0;
    }
    const char *q = p; /* the first escape: find the closing quote */
    while (q < end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= end) return fail(d, what, "unexpected end of string", d->p);
    luaL_Buffer b;
    char *o = luaL_buffinitsize(d->L, &b, (size_t)(q - start));
    memcpy(o, start, (size_t)(p - start));
    o += p - start;
    while (p < q) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p = unescape(d, p, &o, what);
        if (!p) {
            luaL_pushresultsize(&b, 0); /* leaves the stack balanced */
            lua_pop(d->L, 1);
            return -1;
        }
    }
    luaL_pushresultsize(&b, (size_t)(o - luaL_buffaddr(&b)));
    d->p = q + 1;
    return 0;
}

static int is_digit(const char *p, const char *end) {
    return p < end && *p >= '0' && *p <= '9';
}

/* A number per RFC 8259: integers of up to 15 digits directly, others by
 * strtod, then integral values below 2^53 as integers (as json.decode always
 * gave them). */
static int number(dec *d) {
    const char *p = d->p, *end = d->end, *start = p;
    int neg = *p == '-', integral = 1;
    if (neg) p++;
    if (!is_digit(p, end)) return fail(d, "value", "invalid number", start);
    const char *digits = p;
    if (*p == '0') p++;
    else
        while (is_digit(p, end))
            p++;
    size_t ndigits = (size_t)(p - digits);
    if (p < end && *p == '.') {
        integral = 0;
        if (!is_digit(++p, end)) return fail(d, "value", "invalid number", start);
        while (is_digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integral = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!is_digit(p, end)) return fail(d, "value", "invalid number", start);
        while (is_digit(p, end))
            p++;
    }
    d->p = p;
    if (integral && ndigits <= 15) {
        lua_Integer v = 0;
        for (const char *c = digits; c < p; c++)
            v = v * 10 + (*c - '0');
        lua_pushinteger(d->L, neg ? -v : v);
        return 0;
    }
    char small[64];
    size_t n = (size_t)(p - start);
    const char *text = small;
    if (n < sizeof small) {
        memcpy(small, start, n);
        small[n] = 0;
    } else {
        text = lua_pushlstring(d->L, start, n); /* a NUL-terminated copy */
    }
    double v = strtod(text, NULL);
    if (text != small) lua_pop(d->L, 1);
    if (v == floor(v) && fabs(v) < 9007199254740992.0) lua_pushinteger(d->L, (lua_Integer)v);
    else lua_pushnumber(d->L, v);
    return 0;
}

/* Opens a container at d->p: a placeholder for its table at the returned
 * stack index (nil until the first members are stored). */
static int open_container(dec *d, int depth) {
    if (depth > MAX_DEPTH) {
        snprintf(d->msg, sizeof d->msg,
                 "json: Found too many nested data structures (%d) at character %d", depth,
                 (int)(d->p - d->s + 1));
        return -1;
    }
    d->p++;
    lua_pushnil(d->L);
    return lua_gettop(d->L);
}

/* The n values above t go into the table at t as [from + 1 .. from + n]. */
static void store_items(lua_State *L, int t, lua_Integer from, int n) {
    if (lua_isnil(L, t)) {
        lua_createtable(L, n, 0);
        lua_replace(L, t);
    }
    for (int k = 1; k <= n; k++) {
        lua_pushvalue(L, t + k);
        lua_rawseti(L, t, from + k);
    }
    lua_settop(L, t);
}

/* The n key, value pairs above t go into the table at t, in order (the last
 * of equal keys wins; a nil value, a stripped null, clears the key). */
static void store_pairs(lua_State *L, int t, int n) {
    if (lua_isnil(L, t)) {
        lua_createtable(L, 0, n);
        lua_replace(L, t);
    }
    for (int k = 0; k < n; k++) {
        lua_pushvalue(L, t + 2 * k + 1);
        lua_pushvalue(L, t + 2 * k + 2);
        lua_rawset(L, t);
    }
    lua_settop(L, t);
}

static int array(dec *d, int depth) {
    int t = open_container(d, depth);
    if (t < 0) return -1;
    lua_Integer n = 0;
    int pending = 0;
    skip_ws(d);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
        store_items(d->L, t, 0, 0);
        return 0;
    }
    for (;;) {
        if (value(d, depth + 1) != 0) return -1;
        pending++;
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            if (pending == CHUNK) {
                store_items(d->L, t, n, pending);
                n += pending;
                pending = 0;
            }
            continue;
        }
        if (d->p < d->end && *d->p == ']') break;
        return fail(d, "comma or array end", token_name(d), d->p);
    }
    d->p++;
    store_items(d->L, t, n, pending);
    return 0;
}

static int object(dec *d, int depth) {
    int t = open_container(d, depth);
    if (t < 0) return -1;
    int pending = 0;
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        store_pairs(d->L, t, 0);
        return 0;
    }
    for (;;) {
        if (d->p >= d->end || *d->p != '"') return fail(d, "object key string", token_name(d), d->p);
        if (string(d, "object key string") != 0) return -1;
        skip_ws(d);
        if (d->p >= d->end || *d->p != ':') return fail(d, "colon", token_name(d), d->p);
        d->p++;
        if (value(d, depth + 1) != 0) return -1;
        pending++;
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            skip_ws(d);
            if (pending == CHUNK) {
                store_pairs(d->L, t, pending);
                pending = 0;
            }
            continue;
        }
        if (d->p < d->end && *d->p == '}') break;
        return fail(d, "comma or object end", token_name(d), d->p);
    }
    d->p++;
    store_pairs(d->L, t, pending);
    return 0;
}

/* One value at d->p (after white space) pushed: nil for a stripped null.
 * The stack grows a few slots at a time: a task's coroutine stack grown by
 * a whole chunk per level was shrunk by the collector and grown again,
 * reply after reply. */
static int value(dec *d, int depth) {
    if (!lua_checkstack(d->L, 4)) {
        snprintf(d->msg, sizeof d->msg, "json: too many values at character %d",
                 (int)(d->p - d->s + 1));
        return -1;
    }
    skip_ws(d);
    if (d->p >= d->end) return fail(d, "value", "T_END", d->p);
    switch (*d->p) {
    case '{': return object(d, depth);
    case '[': return array(d, depth);
    case '"': return string(d, "value");
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': return number(d);
    }
    if (literal_at(d, "true", 4) || literal_at(d, "false", 5)) {
        lua_pushboolean(d->L, *d->p == 't');
        d->p += *d->p == 't' ? 4 : 5;
    } else if (literal_at(d, "null", 4)) {
        d->strip ? lua_pushnil(d->L) : lua_pushlightuserdata(d->L, NULL);
        d->p += 4;
    } else {
        return fail(d, "value", token_name(d), d->p);
    }
    return 0;
}

/* canon.decode(text[, strip]) -> value | nil, "json: <reason>". strip: nulls
 * are left out of objects and arrays (an array keeps its other indices) and
 * a null text gives nil. */
static int canon_decode(lua_State *L) {
    size_t n;
    dec d;
    d.s = d.p = luaL_checklstring(L, 1, &n);
    d.end = d.s + n;
    d.strip = lua_toboolean(L, 2);
    d.L = L;
    lua_settop(L, 1);
    if (value(&d, 1) == 0) {
        skip_ws(&d);
        if (d.p >= d.end) return 1;
        fail(&d, "the end", token_name(&d), d.p);
    }
    lua_settop(L, 1);
    lua_pushnil(L);
    lua_pushstring(L, d.msg);
    return 2;
}

static const luaL_Reg decode_funcs[] = {{"decode", canon_decode}, {NULL, NULL}};

void canonb_decode_funcs(lua_State *L) {
    luaL_setfuncs(L, decode_funcs, 0);
}

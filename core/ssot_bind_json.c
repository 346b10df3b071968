/* ssot_bind_json.c: the binding helpers of baton.ssot: a JSON encoder with
 * sorted keys (so two equal specs store equal text and contracts can be
 * compared) and option tables read into engine values (rows and their JSON
 * columns are in ssot_bind_rows.c). See ssot_bind.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmtdbl.h"
#include "ssot_bind.h"

/* The output goes to a buffer on the C stack; a longer text moves to a
 * userdata at stack slot `slot` (collected by the GC if an encoding error
 * raises half way). The error prefix is "what" or "what 'key'". */
typedef struct {
    lua_State *L;
    int slot;
    char *p;
    size_t n, cap;
    const char *what, *key;
    char local[512];
} jbuf;

static void jgrow(jbuf *b, size_t len) {
    size_t cap = b->cap * 2 + len;
    char *p = lua_newuserdatauv(b->L, cap, 0);
    memcpy(p, b->p, b->n);
    lua_replace(b->L, b->slot);
    b->p = p;
    b->cap = cap;
}

static inline void jput(jbuf *b, const char *s, size_t len) {
    if (b->n + len > b->cap) jgrow(b, len);
    memcpy(b->p + b->n, s, len);
    b->n += len;
}
#define JLIT(b, s) jput((b), (s), sizeof(s) - 1)

__attribute__((noreturn)) static void jfail(jbuf *b, const char *msg) {
    if (b->key) luaL_error(b->L, "%s '%s': %s", b->what, b->key, msg);
    luaL_error(b->L, "%s: %s", b->what, msg);
    abort(); /* not reached: luaL_error does not return */
}

/* Copies runs of plain characters at once; escapes the rest. */
static void jstring(jbuf *b, const char *s, size_t len) {
    size_t from = 0;
    JLIT(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
        char esc[8];
        jput(b, s + from, i - from);
        from = i + 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            jput(b, esc, 2);
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jput(b, esc, 6);
        }
    }
    jput(b, s + from, len - from);
    JLIT(b, "\"");
}

/* Decimal digits of v (snprintf "%lld" costs ~20 times more). */
static void jinteger(jbuf *b, long long v) {
    char num[24], *e = num + sizeof num, *p = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    jput(b, p, (size_t)(e - p));
}

static void jnumber(jbuf *b, lua_State *L, int idx) {
    if (lua_isinteger(L, idx)) {
        jinteger(b, (long long)lua_tointeger(L, idx));
        return;
    }
    double d = lua_tonumber(L, idx);
    char num[40];
    if (!isfinite(d)) {
        snprintf(num, sizeof num, "cannot encode %f as JSON", d);
        jfail(b, num);
    }
    /* what "%.15g" prints for an integral value below 1e15 (-0 keeps its sign) */
    if (d == floor(d) && fabs(d) < 1e15 && !(d == 0 && signbit(d))) {
        jinteger(b, (long long)d);
        return;
    }
    /* "%.15g" if it reads back exactly, else "%.17g" (core/fmtdbl.c) */
    jput(b, num, bt_fmt_shortest(d, num));
}

static void jvalue(jbuf *b, int idx, int depth, int empty_array);

/* An array: its keys must be exactly 1..n (a border n > 0 means an integer
 * key exists, so anything else is a table with non-string keys). */
static void jarray(jbuf *b, int idx, int depth, size_t n) {
    lua_State *L = b->L;
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    if (count != n) jfail(b, "cannot encode a table with non-string keys as JSON");
    JLIT(b, "[");
    for (size_t i = 1; i <= n; i++) {
        if (i > 1) JLIT(b, ",");
        lua_rawgeti(L, idx, (lua_Integer)i);
        jvalue(b, lua_gettop(L), depth + 1, 0);
        lua_pop(L, 1);
    }
    JLIT(b, "]");
}

typedef struct {
    const char *s;
    size_t len;
    int slot; /* the value's stack slot */
} jkey;

static int key_less(const jkey *a, const jkey *b) {
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c < 0 || (c == 0 && a->len < b->len);
}

static int cmp_keys(const void *a, const void *b) {
    return key_less(a, b) ? -1 : key_less(b, a);
}

/* An object: the pairs are left on the stack (no lookups by key again),
 * then written in key order (insertion sort for the usual few keys). */
static void jobject(jbuf *b, int idx, int depth, int empty_array) {
    lua_State *L = b->L;
    jkey small[16], *keys = small;
    size_t count = 0, cap = 16;
    lua_pushnil(L); /* slot for a bigger key array */
    int base = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* stack: ..., key, value */
        if (lua_type(L, -2) != LUA_TSTRING)
            jfail(b, "cannot encode a table with non-string keys as JSON");
        if (count == cap) {
            jkey *more = lua_newuserdatauv(L, cap * 2 * sizeof *more, 0);
            memcpy(more, keys, count * sizeof *keys);
            lua_replace(L, base);
            keys = more, cap *= 2;
        }
        keys[count].s = lua_tolstring(L, -2, &keys[count].len); /* anchored on the stack */
        keys[count++].slot = lua_gettop(L);
        luaL_checkstack(L, 3, "too many keys for JSON");
        lua_pushvalue(L, -2);
    }
    if (count == 0) {
        lua_settop(L, base - 1);
        if (empty_array)
            JLIT(b, "[]");
        else
            JLIT(b, "{}");
        return;
    }
    if (count > 16) {
        qsort(keys, count, sizeof *keys, cmp_keys);
    } else {
        for (size_t i = 1; i < count; i++) {
            jkey k = keys[i];
            size_t j = i;
            for (; j > 0 && key_less(&k, &keys[j - 1]); j--)
                keys[j] = keys[j - 1];
            keys[j] = k;
        }
    }
    JLIT(b, "{");
    for (size_t k = 0; k < count; k++) {
        if (k) JLIT(b, ",");
        jstring(b, keys[k].s, keys[k].len);
        JLIT(b, ":");
        jvalue(b, keys[k].slot, depth + 1, 0);
    }
    JLIT(b, "}");
    lua_settop(L, base - 1);
}

static void jvalue(jbuf *b, int idx, int depth, int empty_array) {
    lua_State *L = b->L;
    if (depth > 64) jfail(b, "table nested too deeply (a cycle?) for JSON");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        JLIT(b, "null");
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            JLIT(b, "true");
        else
            JLIT(b, "false");
        break;
    case LUA_TNUMBER:
        jnumber(b, L, idx);
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        jstring(b, s, len);
        break;
    }
    case LUA_TTABLE: {
        luaL_checkstack(L, 4, "JSON nesting");
        size_t n = lua_rawlen(L, idx);
        if (n > 0)
            jarray(b, idx, depth, n);
        else
            jobject(b, idx, depth, empty_array);
        break;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { /* cjson.null */
            JLIT(b, "null");
            break;
        }
        /* fall through */
    default: {
        char msg[80];
        snprintf(msg, sizeof msg, "cannot encode a %s value as JSON", luaL_typename(L, idx));
        jfail(b, msg);
    }
    }
}

/* ssotb_encode with an error prefix of "what 'key'" (key may be NULL). With
 * out (size > 0), a text that fits is written there and nothing stays pushed. */
static const char *encode_to(lua_State *L, int idx, int empty_array, const char *what,
                             const char *key, char *out, size_t size) {
    idx = lua_absindex(L, idx);
    jbuf b;
    b.L = L, b.n = 0, b.cap = sizeof b.local, b.p = b.local, b.what = what, b.key = key;
    if (out && size > 1) b.p = out, b.cap = size - 1; /* room for the NUL */
    lua_pushnil(L); /* the buffer's slot once it outgrows its start */
    b.slot = lua_gettop(L);
    jvalue(&b, idx, 0, empty_array);
    if (out && b.p == out) { /* no Lua string: ~400 instructions a journal row */
        out[b.n] = 0;
        lua_settop(L, b.slot - 1);
        return out;
    }
    lua_pushlstring(L, b.p, b.n);
    lua_replace(L, b.slot); /* the text takes the buffer's slot */
    return lua_tostring(L, b.slot);
}

static const char *encode(lua_State *L, int idx, int empty_array, const char *what,
                          const char *key) {
    return encode_to(L, idx, empty_array, what, key, NULL, 0);
}

const char *ssotb_encode(lua_State *L, int idx, int empty_array, const char *what, char *out,
                         size_t size) {
    return encode_to(L, idx, empty_array, what, NULL, out, size);
}

/* The index of key in specs, or -1. */
static int spec_of(const ssotb_field *specs, const char *key) {
    for (int i = 0; specs[i].name; i++)
        if (specs[i].name[0] == key[0] && strcmp(specs[i].name, key) == 0) return i;
    return -1;
}

/* Reads the value at stack slot idx (t[key]) as the given type into v. */
static void read_field(lua_State *L, int idx, const char *key, char type, bt_ssot_val *v,
                       const char *noun) {
    int lt = lua_type(L, idx);
    v->name = key;
    if (type == 'i' || type == 'n') {
        int isint = lua_isinteger(L, idx);
        if (lt != LUA_TNUMBER || (type == 'i' && !isint))
            luaL_error(L, "%s '%s' must be %s, got %s", noun, key,
                       type == 'i' ? "an integer" : "a number", luaL_typename(L, idx));
        if (isint)
            v->type = BT_V_INT, v->i = lua_tointeger(L, idx);
        else
            v->type = BT_V_REAL, v->d = lua_tonumber(L, idx);
    } else if (type == 's') {
        if (lt != LUA_TSTRING)
            luaL_error(L, "%s '%s' must be a string, got %s", noun, key, luaL_typename(L, idx));
        v->type = BT_V_TEXT, v->s = lua_tostring(L, idx);
    } else {
        if (type == 'a' && lt != LUA_TTABLE)
            luaL_error(L, "%s '%s' must be a table, got %s", noun, key, luaL_typename(L, idx));
        v->type = BT_V_JSON, v->s = encode(L, idx, type == 'a', noun, key);
    }
}

/* A table with a metatable is read field by field, as its __index may
 * supply values. */
static int fields_by_name(lua_State *L, int t, const ssotb_field *specs, bt_ssot_val *vals,
                          int max, const char *noun) {
    int n = 0;
    for (int i = 0; specs[i].name && n < max; i++) {
        luaL_checkstack(L, 3, "too many fields");
        if (lua_getfield(L, t, specs[i].name) == LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        read_field(L, lua_gettop(L), specs[i].name, specs[i].type, &vals[n++], noun);
    }
    return n;
}

/* One pass over the table checks the keys and leaves each value on the
 * stack where it is read from (no lookups by name); values come in spec
 * order. */
int ssotb_fields(lua_State *L, int t, const ssotb_field *specs, bt_ssot_val *vals, int max,
                 const char *noun) {
    int slot[64] = {0}, nspecs = 0;
    t = lua_absindex(L, t);
    luaL_checktype(L, t, LUA_TTABLE);
    while (specs[nspecs].name)
        nspecs++;
    luaL_argcheck(L, nspecs <= 64, t, "too many fields"); /* a binding's spec list */
    lua_pushnil(L);
    while (lua_next(L, t)) { /* check every key first: an unknown key is a mistake */
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int k = key ? spec_of(specs, key) : -1;
        if (k < 0) luaL_error(L, "unknown %s '%s'", noun, key ? key : luaL_typename(L, -2));
        slot[k] = lua_gettop(L); /* the value stays there */
        luaL_checkstack(L, 3, "too many fields");
        lua_pushvalue(L, -2);
    }
    if (lua_getmetatable(L, t)) {
        lua_pop(L, 1);
        return fields_by_name(L, t, specs, vals, max, noun);
    }
    int n = 0;
    for (int i = 0; i < nspecs && n < max; i++)
        if (slot[i] && !lua_isnil(L, slot[i]))
            read_field(L, slot[i], specs[i].name, specs[i].type, &vals[n++], noun);
    return n;
}

/* ssot_bind_rows.c: rows of baton.ssot pushed as Lua tables (see
 * ssot_bind.h), with the JSON columns decoded here, straight into Lua values.
 * Decoding follows what cjson.decode gave before (null is cjson.null, a
 * light userdata NULL; numbers are floats except integral ones, which become
 * integers) at a tenth of the cost; text that does not parse stays text. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ssot_bind.h"

#define MAX_DEPTH 1000 /* cjson's default decode_max_depth */

typedef struct {
    lua_State *L;
    const char *p, *end;
} jdec;

static int jparse(jdec *d, int depth);

static void skip_ws(jdec *d) {
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
        d->p++;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Appends the UTF-8 of the \u escape at d->p (past the "\u"), joining a
 * surrogate pair; 0 when it is malformed. */
static int unicode_escape(jdec *d, luaL_Buffer *b) {
    unsigned cp, lo;
    if (d->end - d->p < 4 || !hex4(d->p, &cp)) return 0;
    d->p += 4;
    if (cp >= 0xdc00 && cp <= 0xdfff) return 0;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' || !hex4(d->p + 2, &lo) ||
            lo < 0xdc00 || lo > 0xdfff)
            return 0;
        d->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    char u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    else
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    luaL_addlstring(b, u, n);
    return 1;
}

/* A string whose escapes are decoded through a buffer. */
static int escaped_string(jdec *d, const char *start) {
    luaL_Buffer b;
    luaL_buffinit(d->L, &b);
    luaL_addlstring(&b, start, (size_t)(d->p - start));
    while (d->p < d->end && *d->p != '"') {
        if (*d->p != '\\') {
            const char *run = d->p;
            while (d->p < d->end && *d->p != '"' && *d->p != '\\')
                d->p++;
            luaL_addlstring(&b, run, (size_t)(d->p - run));
            continue;
        }
        if (++d->p >= d->end) return 0;
        char c = *d->p++, out;
        switch (c) {
        case '"': case '\\': case '/': out = c; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u':
            if (!unicode_escape(d, &b)) return 0;
            continue;
        default:
            return 0;
        }
        luaL_addchar(&b, out);
    }
    if (d->p >= d->end) return 0;
    d->p++;
    luaL_pushresult(&b);
    return 1;
}

/* Pushes the string at d->p (just past its opening quote). */
static int jstring(jdec *d) {
    const char *start = d->p;
    while (d->p < d->end && *d->p != '"' && *d->p != '\\')
        d->p++;
    if (d->p >= d->end) return 0;
    if (*d->p == '\\') return escaped_string(d, start);
    lua_pushlstring(d->L, start, (size_t)(d->p - start));
    d->p++;
    return 1;
}

/* Integral values become integers (16, not 16.0), as stored from Lua. */
static int jnumber(jdec *d) {
    const char *s = d->p;
    size_t digits = 0;
    long long v = 0;
    if (s < d->end && *s == '-') s++;
    while (s + digits < d->end && s[digits] >= '0' && s[digits] <= '9' && digits < 16)
        v = v * 10 + (s[digits++] - '0');
    const char *after = s + digits;
    if (digits > 0 && digits <= 15 &&
        (after == d->end || (*after != '.' && *after != 'e' && *after != 'E' &&
                             !(*after >= '0' && *after <= '9')))) {
        lua_pushinteger(d->L, d->p[0] == '-' ? -v : v); /* below 2^53: exact either way */
        d->p = after;
        return 1;
    }
    char buf[64], *endp;
    size_t len = (size_t)(d->end - d->p) < sizeof buf - 1 ? (size_t)(d->end - d->p) : sizeof buf - 1;
    memcpy(buf, d->p, len); /* the column text need not end where the number does */
    buf[len] = 0;
    double n = strtod(buf, &endp);
    if (endp == buf) return 0;
    d->p += endp - buf;
    lua_Integer i;
    if (lua_numbertointeger(floor(n), &i) && (lua_Number)i == n)
        lua_pushinteger(d->L, i);
    else
        lua_pushnumber(d->L, n);
    return 1;
}

static int jword(jdec *d, const char *w, size_t n) {
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, w, n) != 0) return 0;
    d->p += n;
    return 1;
}

/* Arrays and objects: '[' or '{' already taken. */
static int jarray(jdec *d, int depth) {
    lua_State *L = d->L;
    lua_newtable(L);
    skip_ws(d);
    if (d->p < d->end && *d->p == ']') return d->p++, 1;
    for (lua_Integer i = 1;; i++) {
        if (!jparse(d, depth + 1)) return 0;
        lua_rawseti(L, -2, i);
        skip_ws(d);
        if (d->p >= d->end) return 0;
        char c = *d->p++;
        if (c == ']') return 1;
        if (c != ',') return 0;
    }
}

static int jobject(jdec *d, int depth) {
    lua_State *L = d->L;
    lua_newtable(L);
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') return d->p++, 1;
    for (;;) {
        skip_ws(d);
        if (d->p >= d->end || *d->p != '"') return 0;
        d->p++;
        if (!jstring(d)) return 0;
        skip_ws(d);
        if (d->p >= d->end || *d->p++ != ':') return 0;
        if (!jparse(d, depth + 1)) return 0;
        lua_rawset(L, -3);
        skip_ws(d);
        if (d->p >= d->end) return 0;
        char c = *d->p++;
        if (c == '}') return 1;
        if (c != ',') return 0;
    }
}

/* Pushes the value at d->p; 0 on malformed text (the caller drops what
 * was pushed). */
static int jparse(jdec *d, int depth) {
    if (depth > MAX_DEPTH || !lua_checkstack(d->L, 4)) return 0;
    skip_ws(d);
    if (d->p >= d->end) return 0;
    switch (*d->p) {
    case '{':
        d->p++;
        return jobject(d, depth);
    case '[':
        d->p++;
        return jarray(d, depth);
    case '"':
        d->p++;
        return jstring(d);
    case 't':
        return jword(d, "true", 4) ? (lua_pushboolean(d->L, 1), 1) : 0;
    case 'f':
        return jword(d, "false", 5) ? (lua_pushboolean(d->L, 0), 1) : 0;
    case 'n':
        return jword(d, "null", 4) ? (lua_pushlightuserdata(d->L, NULL), 1) : 0;
    default:
        if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) return jnumber(d);
        return 0;
    }
}

/* Pushes the JSON text as a Lua value; the raw text if it does not parse. */
static void push_json(lua_State *L, const char *text, size_t len) {
    int top = lua_gettop(L);
    jdec d = {L, text, text + len};
    if (jparse(&d, 0)) {
        skip_ws(&d);
        if (d.p == d.end) return;
    }
    lua_settop(L, top);
    lua_pushlstring(L, text, len);
}

/* The columns holding JSON (by name, in any table). */
static int is_json(const char *name) {
    switch (name[0]) {
    case 'a':
        return strcmp(name, "acceptance") == 0;
    case 'b':
        return strcmp(name, "budgets") == 0;
    case 'd':
        return strcmp(name, "deps") == 0 || strcmp(name, "detail") == 0;
    case 'm':
        return strcmp(name, "models") == 0 || strcmp(name, "meta") == 0;
    case 'p':
        return strcmp(name, "payload") == 0;
    case 's':
        return strcmp(name, "spent") == 0 || strcmp(name, "spec") == 0;
    default:
        return 0;
    }
}

/* Columns are read through their sqlite3_value (one lookup per column, not
 * one per accessor); fine here, as a connection is used by one thread. */
static void push_row(lua_State *L, sqlite3_stmt *st) {
    int n = sqlite3_column_count(st);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        sqlite3_value *v = sqlite3_column_value(st, i);
        int type = sqlite3_value_type(v);
        if (type == SQLITE_NULL) continue;
        const char *name = sqlite3_column_name(st, i);
        if (type == SQLITE_INTEGER) {
            lua_pushinteger(L, sqlite3_value_int64(v));
        } else if (type == SQLITE_FLOAT) {
            lua_pushnumber(L, sqlite3_value_double(v));
        } else {
            const char *s = (const char *)sqlite3_value_text(v);
            size_t len = (size_t)sqlite3_value_bytes(v);
            if (is_json(name))
                push_json(L, s, len);
            else
                lua_pushlstring(L, s, len);
        }
        lua_setfield(L, -2, name);
    }
}

int ssotb_rows(void *arg, sqlite3_stmt *st) {
    ssotb_ctx *c = arg;
    push_row(c->L, st);
    lua_rawseti(c->L, -2, ++c->n);
    return 0;
}

int ssotb_one(void *arg, sqlite3_stmt *st) {
    ssotb_ctx *c = arg;
    push_row(c->L, st);
    c->n++;
    return 0;
}

/* ssot_bind_json.c: the binding helpers of baton.ssot: a JSON encoder with
 * sorted keys (so two equal specs store equal text and contracts can be
 * compared), rows pushed as Lua tables (JSON columns decoded by cjson), and
 * option tables read into engine values. See ssot_bind.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssot_bind.h"

/* The output buffer lives in a userdata at stack slot `slot` (collected by
 * the GC if an encoding error raises half way). */
typedef struct {
    lua_State *L;
    int slot;
    char *p;
    size_t n, cap;
    const char *what;
} jbuf;

static void jput(jbuf *b, const char *s, size_t len) {
    if (b->n + len > b->cap) {
        size_t cap = b->cap * 2 + len;
        char *p = lua_newuserdatauv(b->L, cap, 0);
        memcpy(p, b->p, b->n);
        lua_replace(b->L, b->slot);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
}
#define JLIT(b, s) jput((b), (s), sizeof(s) - 1)

static void jstring(jbuf *b, const char *s, size_t len) {
    JLIT(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            jput(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jput(b, esc, 6);
        } else {
            jput(b, (const char *)&s[i], 1);
        }
    }
    JLIT(b, "\"");
}

static void jnumber(jbuf *b, lua_State *L, int idx) {
    char num[40];
    if (lua_isinteger(L, idx)) {
        snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
    } else {
        double d = lua_tonumber(L, idx);
        if (!isfinite(d)) luaL_error(L, "%s: cannot encode %f as JSON", b->what, d);
        snprintf(num, sizeof num, "%.15g", d); /* shortest form that reads back exactly */
        if (strtod(num, NULL) != d) snprintf(num, sizeof num, "%.17g", d);
    }
    jput(b, num, strlen(num));
}

static int cmp_keys(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void jvalue(jbuf *b, int idx, int depth, int empty_array);

/* A table: an array when its keys are exactly 1..n, else an object whose
 * keys must all be strings (written in sorted order). */
static void jtable(jbuf *b, int idx, int depth, int empty_array) {
    lua_State *L = b->L;
    size_t n = lua_rawlen(L, idx), count = 0;
    int strings = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        if (lua_type(L, -2) != LUA_TSTRING) strings = 0;
        lua_pop(L, 1);
    }
    if (count == 0) {
        if (empty_array)
            JLIT(b, "[]");
        else
            JLIT(b, "{}");
        return;
    }
    if (count == n) {
        JLIT(b, "[");
        for (size_t i = 1; i <= n; i++) {
            if (i > 1) JLIT(b, ",");
            lua_rawgeti(L, idx, (lua_Integer)i);
            jvalue(b, lua_gettop(L), depth + 1, 0);
            lua_pop(L, 1);
        }
        JLIT(b, "]");
        return;
    }
    if (!strings) luaL_error(L, "%s: cannot encode a table with non-string keys as JSON", b->what);
    const char **keys = lua_newuserdatauv(L, count * sizeof *keys, 0); /* stack: keys */
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* keys stay valid: the table anchors them */
        keys[k++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(keys, count, sizeof *keys, cmp_keys);
    JLIT(b, "{");
    for (k = 0; k < count; k++) {
        if (k) JLIT(b, ",");
        jstring(b, keys[k], strlen(keys[k]));
        JLIT(b, ":");
        lua_getfield(L, idx, keys[k]);
        jvalue(b, lua_gettop(L), depth + 1, 0);
        lua_pop(L, 1);
    }
    JLIT(b, "}");
    lua_pop(L, 1); /* keys */
}

static void jvalue(jbuf *b, int idx, int depth, int empty_array) {
    lua_State *L = b->L;
    if (depth > 64) luaL_error(L, "%s: table nested too deeply (a cycle?) for JSON", b->what);
    luaL_checkstack(L, 4, "JSON nesting");
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
    case LUA_TTABLE:
        jtable(b, idx, depth, empty_array);
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { /* cjson.null */
            JLIT(b, "null");
            break;
        }
        /* fall through */
    default:
        luaL_error(L, "%s: cannot encode a %s value as JSON", b->what, luaL_typename(L, idx));
    }
}

const char *ssotb_encode(lua_State *L, int idx, int empty_array, const char *what) {
    idx = lua_absindex(L, idx);
    jbuf b = {L, 0, NULL, 0, 256, what};
    b.p = lua_newuserdatauv(L, b.cap, 0);
    b.slot = lua_gettop(L);
    jvalue(&b, idx, 0, empty_array);
    lua_pushlstring(L, b.p, b.n);
    lua_replace(L, b.slot); /* the text takes the buffer's slot */
    return lua_tostring(L, b.slot);
}

static const char *const json_cols[] = {"acceptance", "deps", "models",  "budgets", "spent",
                                        "meta",       "spec", "payload", "detail",  NULL};

static int is_json(const char *name) {
    for (int i = 0; json_cols[i]; i++)
        if (strcmp(name, json_cols[i]) == 0) return 1;
    return 0;
}

/* cjson decodes every number as a float; our encoder writes integral
 * floats without a fraction anyway, so integral values become integers
 * again (16, not 16.0). Depth-limited like the encoder. */
static void integers(lua_State *L, int idx, int depth) {
    if (depth > 64 || !lua_checkstack(L, 4)) return;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* stack: key, value */
        if (lua_type(L, -1) == LUA_TTABLE) {
            integers(L, lua_gettop(L), depth + 1);
        } else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            lua_Integer i;
            if (lua_numbertointeger(floor(lua_tonumber(L, -1)), &i) &&
                (lua_Number)i == lua_tonumber(L, -1)) {
                lua_pushvalue(L, -2);
                lua_pushinteger(L, i);
                lua_rawset(L, idx); /* replacing an existing field is allowed mid-traversal */
            }
        }
        lua_pop(L, 1);
    }
}

static int decode(lua_State *L) { /* stack: decode, text */
    lua_call(L, 1, 1);
    if (lua_type(L, 1) == LUA_TTABLE)
        integers(L, 1, 0);
    else if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_Integer i;
        lua_Number n = lua_tonumber(L, 1);
        if (lua_numbertointeger(floor(n), &i) && (lua_Number)i == n) lua_pushinteger(L, i);
    }
    return 1;
}

/* Pushes the JSON text as a Lua value; the raw text if it does not parse. */
static void push_json(lua_State *L, const char *text, size_t len) {
    /* "[]" and "{}" (no acceptance, no deps: most rows of every listing)
     * decode to an empty table; a pcall into cjson cost ~2,400 instructions */
    if (len == 2 && ((text[0] == '[' && text[1] == ']') || (text[0] == '{' && text[1] == '}'))) {
        lua_createtable(L, 0, 0);
        return;
    }
    lua_pushcfunction(L, decode);
    lua_getfield(L, LUA_REGISTRYINDEX, "baton.ssot.decode");
    lua_pushlstring(L, text, len);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        lua_pushlstring(L, text, len);
    }
}

static void push_row(lua_State *L, sqlite3_stmt *st) {
    int n = sqlite3_column_count(st);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL:
            continue;
        case SQLITE_INTEGER:
            lua_pushinteger(L, sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT:
            lua_pushnumber(L, sqlite3_column_double(st, i));
            break;
        default: {
            const char *s = (const char *)sqlite3_column_text(st, i);
            size_t len = (size_t)sqlite3_column_bytes(st, i);
            if (is_json(name))
                push_json(L, s, len);
            else
                lua_pushlstring(L, s, len);
        }
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

static const ssotb_field *spec_of(const ssotb_field *specs, const char *key) {
    for (int i = 0; specs[i].name; i++)
        if (strcmp(specs[i].name, key) == 0) return &specs[i];
    return NULL;
}

/* Reads t[key] (on top of the stack) as the given type into v. */
static void read_field(lua_State *L, const char *key, char type, bt_ssot_val *v, const char *noun) {
    int lt = lua_type(L, -1);
    v->name = key;
    if (type == 'i' || type == 'n') {
        int isint = lua_isinteger(L, -1);
        if (lt != LUA_TNUMBER || (type == 'i' && !isint))
            luaL_error(L, "%s '%s' must be %s, got %s", noun, key,
                       type == 'i' ? "an integer" : "a number", luaL_typename(L, -1));
        if (isint)
            v->type = BT_V_INT, v->i = lua_tointeger(L, -1);
        else
            v->type = BT_V_REAL, v->d = lua_tonumber(L, -1);
    } else if (type == 's') {
        if (lt != LUA_TSTRING)
            luaL_error(L, "%s '%s' must be a string, got %s", noun, key, luaL_typename(L, -1));
        v->type = BT_V_TEXT, v->s = lua_tostring(L, -1);
    } else {
        if (type == 'a' && lt != LUA_TTABLE)
            luaL_error(L, "%s '%s' must be a table, got %s", noun, key, luaL_typename(L, -1));
        char what[80];
        snprintf(what, sizeof what, "%s '%s'", noun, key);
        v->type = BT_V_JSON, v->s = ssotb_encode(L, -1, type == 'a', what);
    }
}

int ssotb_fields(lua_State *L, int t, const ssotb_field *specs, bt_ssot_val *vals, int max,
                 const char *noun) {
    t = lua_absindex(L, t);
    luaL_checktype(L, t, LUA_TTABLE);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) { /* check every key first: an unknown key is a mistake */
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!key || !spec_of(specs, key))
            luaL_error(L, "unknown %s '%s'", noun, key ? key : luaL_typename(L, -2));
        lua_pop(L, 1);
    }
    for (int i = 0; specs[i].name && n < max; i++) {
        luaL_checkstack(L, 3, "too many fields");
        if (lua_getfield(L, t, specs[i].name) == LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        read_field(L, specs[i].name, specs[i].type, &vals[n++], noun); /* value stays */
    }
    return n;
}

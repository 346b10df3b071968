/* canon_chat.c: part of the baton.canon binding: the OpenAI chat-completions
 * "messages" array of a request body, written straight into the encoder's
 * buffer from baton's provider-neutral messages where json.encode meets a
 * json.chat_messages table. The same bytes as json.encode of the tables
 * openai.lua used to build per message (tests/lua/test_llm_wire.lua checks
 * it against that Lua), without building them: those tables, and each tool
 * call's arguments encoded apart, were most of a request body's cost. */
#include <string.h>

#include "canon_bind.h"

#define PUT(L, b, lit) canonb_put(L, b, lit, sizeof(lit) - 1)

/* ,"key": then the value at idx (the comma unless first). */
static void member(lua_State *L, canon_outbuf *b, int first, const char *key, int idx, int depth,
                   int array_mt) {
    if (!first) canonb_put(L, b, ",", 1);
    canonb_put(L, b, key, strlen(key));
    canonb_encode_value(L, b, idx, depth, array_mt);
}

static int is_string(lua_State *L, int idx, const char *s) {
    size_t n;
    const char *v = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &n) : NULL;
    return v && n == strlen(s) && memcmp(v, s, n) == 0;
}

/* json.encode(c.arguments or {}) as a JSON string: encoded at the end of
 * the buffer, moved past the room its quoted form may take, quoted back. */
static void put_arguments(lua_State *L, canon_outbuf *b, int c, int depth, int array_mt) {
    lua_getfield(L, c, "arguments");
    size_t start = b->len;
    if (lua_toboolean(L, -1)) canonb_encode_value(L, b, lua_gettop(L), depth, array_mt);
    else canonb_put(L, b, "{}", 2);
    lua_pop(L, 1);
    size_t n = b->len - start;
    canonb_reserve(L, b, 6 * n + 2); /* after this no write reallocates */
    char *text = b->p + start + 6 * n + 2;
    memmove(text, b->p + start, n);
    b->len = start;
    canonb_put_quoted(L, b, text, n);
}

/* {id=c.id, type="function", ["function"]={name=c.name, arguments=...}} */
static void put_call(lua_State *L, canon_outbuf *b, int c, int depth, int array_mt) {
    PUT(L, b, "{\"function\":{\"arguments\":");
    put_arguments(L, b, c, 0, array_mt); /* encoded apart before: its own depth */
    lua_getfield(L, c, "name");
    if (!lua_isnil(L, -1)) member(L, b, 0, "\"name\":", lua_gettop(L), depth + 2, array_mt);
    lua_getfield(L, c, "id");
    canonb_put(L, b, "}", 1);
    if (!lua_isnil(L, -1)) member(L, b, 0, "\"id\":", lua_gettop(L), depth + 1, array_mt);
    PUT(L, b, ",\"type\":\"function\"}");
    lua_pop(L, 2);
}

/* The tool_calls of an assistant message (m.tool_calls and #m.tool_calls >
 * 0): the list ipairs gives, which is {} (an object) if it gives none. */
static void put_calls(lua_State *L, canon_outbuf *b, int calls, int depth, int array_mt) {
    PUT(L, b, ",\"tool_calls\":");
    lua_Integer i = 1;
    for (; lua_geti(L, calls, i) != LUA_TNIL; i++) {
        canonb_put(L, b, i == 1 ? "[" : ",", 1);
        put_call(L, b, lua_gettop(L), depth + 1, array_mt);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    canonb_put(L, b, i == 1 ? "{}" : "]", i == 1 ? 2 : 1);
}

static int has_calls(lua_State *L, int calls) {
    if (!lua_toboolean(L, calls)) return 0;
    lua_len(L, calls);
    lua_pushinteger(L, 0);
    int more = lua_compare(L, -1, -2, LUA_OPLT); /* 0 < #m.tool_calls */
    lua_pop(L, 2);
    return more;
}

/* One message as openai.lua's wire form: a tool result {content, role,
 * tool_call_id}; any other {content, role[, tool_calls]}, the content null
 * when empty beside tool calls. */
static void put_message(lua_State *L, canon_outbuf *b, int m, int depth, int array_mt) {
    if (!lua_checkstack(L, 12)) luaL_error(L, "json: nesting too deep");
    int top = lua_gettop(L), role = top + 1, content = top + 2, calls = top + 3;
    lua_getfield(L, m, "role");
    lua_getfield(L, m, "content");
    if (!lua_toboolean(L, content)) { /* m.content or "" */
        lua_pushliteral(L, "");
        lua_replace(L, content);
    }
    int tool = is_string(L, role, "tool");
    if (!tool && is_string(L, role, "assistant")) lua_getfield(L, m, "tool_calls");
    else lua_pushnil(L);
    int with_calls = !tool && has_calls(L, calls);
    if (with_calls && is_string(L, content, "")) PUT(L, b, "{\"content\":null");
    else member(L, b, 1, "{\"content\":", content, depth + 1, array_mt);
    if (!lua_isnil(L, role)) member(L, b, 0, "\"role\":", role, depth + 1, array_mt);
    if (tool) {
        lua_getfield(L, m, "tool_call_id");
        if (!lua_isnil(L, -1)) member(L, b, 0, "\"tool_call_id\":", lua_gettop(L), depth + 1, array_mt);
    }
    if (with_calls) put_calls(L, b, calls, depth + 1, array_mt);
    canonb_put(L, b, "}", 1);
    lua_settop(L, top);
}

/* The table at t: {system, messages} (json.chat_messages): the system
 * message first unless system is nil, then every message ipairs gives. */
void canonb_chat_messages(lua_State *L, canon_outbuf *b, int t, int depth, int array_mt) {
    if (!lua_checkstack(L, 8)) luaL_error(L, "json: nesting too deep");
    int first = 1;
    canonb_put(L, b, "[", 1);
    if (lua_rawgeti(L, t, 1) != LUA_TNIL) {
        member(L, b, 1, "{\"content\":", lua_gettop(L), depth + 2, array_mt);
        PUT(L, b, ",\"role\":\"system\"}");
        first = 0;
    }
    lua_pop(L, 1);
    int list = lua_gettop(L) + 1;
    lua_rawgeti(L, t, 2);
    for (lua_Integer i = 1; !lua_isnil(L, list) && lua_geti(L, list, i) != LUA_TNIL; i++) {
        if (!first) canonb_put(L, b, ",", 1);
        first = 0;
        put_message(L, b, lua_gettop(L), depth + 1, array_mt);
        lua_pop(L, 1);
    }
    lua_settop(L, list - 1);
    canonb_put(L, b, "]", 1);
}

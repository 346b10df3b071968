/* canon_bind.h: what the two files of the baton.canon binding share
 * (core/canon_lua.c: the encoder and the opener; core/canon_bind_more.c: the
 * hash, the decode walk and the cached tool list; core/canon_decode.c: the
 * decoder; core/canon_chat.c: the OpenAI messages of a request body). */
#ifndef BATON_CANON_BIND_H
#define BATON_CANON_BIND_H
#include "aliases.h"
#include "luax.h"

/* One key of an object being encoded. A string key points into the Lua
 * string (anchored on the stack with its value); a number key is formatted
 * into num. */
typedef struct {
    const char *s;
    size_t len;
    int is_num;
    int slot; /* stack index of the value */
    char num[32];
} canon_key_entry;

/* The output and a stack of keys (nested objects push on top of their
 * parent's) live in a userdata so an error (longjmp) frees them. One per
 * Lua state is kept and reused by canon.encode (an upvalue): a fresh one
 * per call, with its finalizer and first allocations, cost more than
 * encoding a small value. busy: in use by an encoding; a second one meanwhile
 * (a metamethod run by lua_geti that encodes) takes a fresh one. Our own
 * errors clear it (fail); an error raised inside a metamethod leaves it set,
 * and every later call then takes a fresh buffer: slower, never wrong. */
typedef struct {
    char *p;
    size_t len, cap;
    canon_key_entry *keys;
    size_t nkeys, keycap;
    int busy;
} canon_outbuf;

/* The encoder's pieces (core/canon_lua.c) for canon_chat.c. array_mt: the
 * stack index of json.array_mt; json.raw's metatable is at array_mt + 1,
 * the raws table at + 2, json.chat_messages' metatable at + 3. */
void canonb_reserve(lua_State *L, canon_outbuf *b, size_t n);
void canonb_put(lua_State *L, canon_outbuf *b, const char *s, size_t n);
void canonb_put_quoted(lua_State *L, canon_outbuf *b, const char *s, size_t n);
void canonb_encode_value(lua_State *L, canon_outbuf *b, int idx, int depth, int array_mt);

/* Writes the json.chat_messages table at t (core/canon_chat.c). */
void canonb_chat_messages(lua_State *L, canon_outbuf *b, int t, int depth, int array_mt);

/* Sets fnv1a64, tool_list and normalize in the table on top. */
void canonb_more_funcs(lua_State *L);
/* Sets decode (core/canon_decode.c) in the table on top. */
void canonb_decode_funcs(lua_State *L);

#endif

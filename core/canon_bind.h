/* canon_bind.h: what the two files of the baton.canon binding share
 * (core/canon_lua.c: the encoder and the opener; core/canon_bind_more.c: the
 * hash, the decode walk and the cached tool list; core/canon_decode.c: the
 * decoder). */
#ifndef BATON_CANON_BIND_H
#define BATON_CANON_BIND_H
#include "aliases.h"
#include "luax.h"

/* Sets fnv1a64, tool_list and normalize in the table on top. */
void canonb_more_funcs(lua_State *L);
/* Sets decode (core/canon_decode.c) in the table on top. */
void canonb_decode_funcs(lua_State *L);

#endif

/* luax.h: helpers shared by every binding file (core/NAME_lua.c).
 * Caller mistakes raise; failures of the world return nil, message, code:
 * bt_fail builds that shape so every module reports errors the same way. */
#ifndef BATON_LUAX_H
#define BATON_LUAX_H
#include <lauxlib.h>
#include <lua.h>

/* The opener of every module, declared once from the generated list. */
#define BT_MODULE(name) int luaopen_baton_##name(lua_State *L);
#include "bt_modules.h"
#undef BT_MODULE

/* Pushes nil, "<formatted message>", code and returns 3. code is a short
 * stable word (e.g. "EBUSY", "timeout", "denied") scripts can test. */
int bt_fail(lua_State *L, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads an optional field of the table at index t: its value when present
 * and of the right type, def when nil; raises naming the field otherwise. */
lua_Integer bt_opt_int_field(lua_State *L, int t, const char *key, lua_Integer def);
lua_Number bt_opt_num_field(lua_State *L, int t, const char *key, lua_Number def);
int bt_opt_bool_field(lua_State *L, int t, const char *key, int def);
/* The returned string is owned by Lua and valid while the table holds it. */
const char *bt_opt_str_field(lua_State *L, int t, const char *key, const char *def);

/* Creates a metatable named tname with __index = methods table and
 * __gc/__close = closer (if not NULL), __name set by luaL_newmetatable. */
void bt_new_class(lua_State *L, const char *tname, const luaL_Reg *methods,
                  lua_CFunction closer);

#endif

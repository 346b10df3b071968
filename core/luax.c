/* bt_lua.c: shared binding helpers; see luax.h. */
#include "luax.h"

#include <stdarg.h>

int bt_fail(lua_State *L, const char *code, const char *fmt, ...) {
    va_list ap;
    luaL_pushfail(L);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_pushstring(L, code);
    return 3;
}

/* Pushes t[key]; raises when it is neither nil nor of type want. */
static int field_of_type(lua_State *L, int t, const char *key, int want) {
    int got = lua_getfield(L, t, key);
    if (got == LUA_TNIL) return 0;
    if (got != want)
        luaL_error(L, "option '%s' must be a %s, got %s", key, lua_typename(L, want),
                   lua_typename(L, got));
    return 1;
}

lua_Integer bt_opt_int_field(lua_State *L, int t, const char *key, lua_Integer def) {
    t = lua_absindex(L, t);
    if (!field_of_type(L, t, key, LUA_TNUMBER)) {
        lua_pop(L, 1);
        return def;
    }
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint) luaL_error(L, "option '%s' must be an integer", key);
    lua_pop(L, 1);
    return v;
}

lua_Number bt_opt_num_field(lua_State *L, int t, const char *key, lua_Number def) {
    t = lua_absindex(L, t);
    lua_Number v = field_of_type(L, t, key, LUA_TNUMBER) ? lua_tonumber(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

int bt_opt_bool_field(lua_State *L, int t, const char *key, int def) {
    t = lua_absindex(L, t);
    int v = field_of_type(L, t, key, LUA_TBOOLEAN) ? lua_toboolean(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

const char *bt_opt_str_field(lua_State *L, int t, const char *key, const char *def) {
    t = lua_absindex(L, t);
    const char *v = field_of_type(L, t, key, LUA_TSTRING) ? lua_tostring(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

void bt_new_class(lua_State *L, const char *tname, const luaL_Reg *methods,
                  lua_CFunction closer) {
    luaL_newmetatable(L, tname);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    if (closer) {
        lua_pushcfunction(L, closer);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, closer);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
}

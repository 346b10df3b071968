/* ssot_bind.h: what the binding files of baton.ssot share (core/ssot_lua.c
 * opens the module; core/ssot_bind_*.c hold the rest of the methods and the
 * JSON and row helpers). Only ssot_lua.c exports a Lua opener. */
#ifndef BATON_SSOT_BIND_H
#define BATON_SSOT_BIND_H
#include "luax.h"
#include "ssot.h"

#define SSOT_DB "baton.ssot.db"

/* The userdata of a database (liolib style: db NULL once closed). The group
 * commit fields belong to ssot_bind_group.c. */
typedef struct ssot_waiter ssot_waiter;
typedef struct bt_idle bt_idle;
typedef struct {
    bt_ssot *db;
    int group;            /* db:group(true): tasks' writes share commits */
    bt_idle *idle;        /* the loop hook that commits the group */
    ssot_waiter *waiters; /* tasks in db:sync() waiting for the next commit */
} ssot_box;

/* The open database at index i; raises when it is closed. */
bt_ssot *ssotb_check(lua_State *L, int i);
/* Adds methods to the table at the top, the metatable just below it: each
 * holds the metatable as its upvalue, which ssotb_check compares. */
void ssotb_methods(lua_State *L, const luaL_Reg *methods);
/* Turns an engine failure into a raise (caller mistakes) or nil, msg, code. */
int ssotb_fail(lua_State *L, bt_ssot *db, int rc);

/* The JSON text of the value at idx (sorted keys, so equal tables give
 * equal text); an empty table gives "[]" when empty_array is set. A text
 * shorter than size is written to out (nothing pushed); a longer one is
 * pushed. Raises naming `what` when the value cannot be encoded. */
const char *ssotb_encode(lua_State *L, int idx, int empty_array, const char *what, char *out,
                         size_t size);

/* Row callbacks for the engine (ssot_bind_rows.c): ssotb_rows appends a
 * table per row to the table at the top of the stack; ssotb_one pushes a row
 * table (for queries of one row: c.n says whether it came). Neither raises
 * but for lack of memory (a JSON column that does not parse stays text). */
typedef struct {
    lua_State *L;
    int n;
} ssotb_ctx;
int ssotb_rows(void *ctx, sqlite3_stmt *st);
int ssotb_one(void *ctx, sqlite3_stmt *st);

/* Reads the option table at t into vals using specs (type: i integer,
 * n number, s string, j JSON value, a JSON array; {NULL} ends); values stay
 * anchored on the stack. Raises on an unknown key or a wrong type, naming
 * the noun ("run option 'x'"). Returns how many were set. */
typedef struct {
    const char *name;
    char type;
} ssotb_field;
int ssotb_fields(lua_State *L, int t, const ssotb_field *specs, bt_ssot_val *vals, int max,
                 const char *noun);

/* Registers the methods of ssot_bind_req.c / ssot_bind_more.c /
 * ssot_bind_group.c into the table on top. */
void ssotb_req_methods(lua_State *L);
void ssotb_more_methods(lua_State *L);
void ssotb_group_methods(lua_State *L);
/* Commits a pending group and wakes its waiters, then leaves group mode
 * (before the database closes). */
void ssotb_group_close(ssot_box *b);

#endif

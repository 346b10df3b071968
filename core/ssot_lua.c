/* ssot_lua.c: the binding of baton.ssot (engine: core/ssot*.c). Opens a
 * database as a liolib-style userdata (created closed, one idempotent close
 * for :close, __gc and __close), the run methods and db:tx; the requirement,
 * claim, contract, snapshot, journal and ledger methods are in
 * ssot_bind_req.c and ssot_bind_more.c. Only luaopen_baton_ssot is exported. */
#include <string.h>

#include "ssot_bind.h"

/* Every method passes here, so this is where a call learns whether its
 * commit may join the group: only inside a loop task (a yieldable thread),
 * never for the controller, whose writes must be durable on return. */
bt_ssot *ssotb_check(lua_State *L, int i) {
    /* as luaL_checkudata, against the metatable every method holds as its
     * upvalue: the registry lookup by name cost ~300 instructions a call */
    ssot_box *b = lua_touserdata(L, i);
    if (!b || !lua_getmetatable(L, i) || !lua_rawequal(L, -1, lua_upvalueindex(1)))
        luaL_typeerror(L, i, SSOT_DB);
    lua_pop(L, 1);
    if (!b->db) luaL_error(L, "attempt to use a closed ssot database");
    bt_ssot_defer(b->db, b->group && lua_isyieldable(L));
    return b->db;
}

int ssotb_fail(lua_State *L, bt_ssot *db, int rc) {
    if (rc == BT_SSOT_MISUSE) return luaL_error(L, "%s", bt_ssot_msg(db));
    return bt_fail(L, bt_ssot_code(db), "%s", bt_ssot_msg(db));
}

/* ssot.open(path [, {busy_timeout_ms=}]) -> db | nil, message, code */
static int ssot_open(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int busy = 5000;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_Integer ms = bt_opt_int_field(L, 2, "busy_timeout_ms", 5000);
        luaL_argcheck(L, ms > 0 && ms <= 3600000, 2, "busy_timeout_ms must be 1..3600000");
        busy = (int)ms;
    }
    luaL_argcheck(L, *path, 1, "empty path");
    ssot_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b); /* closed until the open succeeds */
    luaL_setmetatable(L, SSOT_DB);
    char msg[600];
    const char *code = "open";
    if (bt_ssot_open(path, busy, &b->db, msg, sizeof msg, &code) != BT_SSOT_OK)
        return bt_fail(L, code, "%s", msg);
    return 1;
}

static int db_close(lua_State *L) {
    ssot_box *b = luaL_checkudata(L, 1, SSOT_DB);
    if (b->db) bt_ssot_unwind(b->db); /* closed inside a unit: the group's commit waits for no unit */
    ssotb_group_close(b);
    bt_ssot_close(b->db);
    b->db = NULL;
    lua_pushboolean(L, 1);
    return 1;
}

static int db_tostring(lua_State *L) {
    ssot_box *b = luaL_checkudata(L, 1, SSOT_DB);
    if (b->db)
        lua_pushfstring(L, "ssot.db (%s)", sqlite3_db_filename(bt_ssot_handle(b->db), "main"));
    else
        lua_pushliteral(L, "ssot.db (closed)");
    return 1;
}

/* db:tx(fn, ...) -> fn's results: fn runs in one IMMEDIATE transaction;
 * an error in fn rolls everything back and is raised again. */
static int db_tx(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    int rc = bt_ssot_begin(db);
    if (rc) return ssotb_fail(L, db, rc);
    int base = 1;
    if (lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0) != LUA_OK) {
        ssot_box *b = lua_touserdata(L, 1);
        if (b->db) bt_ssot_rollback(b->db);
        return lua_error(L);
    }
    db = ssotb_check(L, 1); /* fn may have closed it (which ended the transaction) */
    rc = bt_ssot_commit(db);
    if (rc) return ssotb_fail(L, db, rc);
    return lua_gettop(L) - base;
}

static const ssotb_field run_create[] = {{"requirement", 's'}, {"workspace", 's'}, {"policy", 's'},
                                         {"team", 's'},        {"models", 'j'},    {"budgets", 'j'},
                                         {"meta", 'j'},        {"retry_max", 'i'}, {NULL, 0}};
static const ssotb_field run_update[] = {
    {"status", 's'}, {"iteration", 'i'},      {"retry_used", 'i'}, {"retry_max", 'i'},
    {"spent", 'j'},  {"controller_pid", 'i'}, {"meta", 'j'},       {"policy", 's'},
    {"team", 's'},   {"models", 'j'},         {"budgets", 'j'},    {"workspace", 's'},
    {NULL, 0}};
static const ssotb_field action_fields[] = {{"action", 's'},    {"target", 's'},  {"role", 's'},
                                            {"reasoning", 's'}, {"outcome", 's'}, {"detail", 'j'},
                                            {NULL, 0}};

/* Pushes one run (id NULL: the latest) or nil when there is none. */
static int push_run(lua_State *L, bt_ssot *db, const char *id) {
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_run(db, id, ssotb_one, &c);
    if (rc == BT_SSOT_MISUSE && strcmp(bt_ssot_code(db), "unknown") == 0) rc = BT_SSOT_OK;
    if (rc) return ssotb_fail(L, db, rc);
    if (c.n == 0) lua_pushnil(L);
    return 1;
}

static int db_create_run(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    bt_ssot_val v[8];
    int n = ssotb_fields(L, 2, run_create, v, 8, "run option");
    char id[BT_SSOT_IDLEN];
    int rc = bt_ssot_create_run(db, v, n, id);
    return rc ? ssotb_fail(L, db, rc) : push_run(L, db, id);
}

static int db_run(lua_State *L) {
    return push_run(L, ssotb_check(L, 1), luaL_checkstring(L, 2));
}

static int db_latest_run(lua_State *L) {
    return push_run(L, ssotb_check(L, 1), NULL);
}

static int db_runs(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_runs(db, ssotb_rows, &c);
    return rc ? ssotb_fail(L, db, rc) : 1;
}

static int db_update_run(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2);
    bt_ssot_val v[16];
    int n = ssotb_fields(L, 3, run_update, v, 16, "run field");
    int rc = bt_ssot_update_run(db, id, v, n);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int db_record_action(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    bt_ssot_val v[8];
    int n = ssotb_fields(L, 3, action_fields, v, 8, "action field");
    long long seq = 0;
    int rc = bt_ssot_record_action(db, run, v, n, &seq);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushinteger(L, seq);
    return 1;
}

static int db_actions(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    lua_Integer limit = luaL_optinteger(L, 3, -1);
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_actions(db, run, limit, ssotb_rows, &c);
    return rc ? ssotb_fail(L, db, rc) : 1;
}

static const luaL_Reg db_methods[] = {{"close", db_close},
                                      {"tx", db_tx},
                                      {"create_run", db_create_run},
                                      {"run", db_run},
                                      {"runs", db_runs},
                                      {"latest_run", db_latest_run},
                                      {"update_run", db_update_run},
                                      {"record_action", db_record_action},
                                      {"actions", db_actions},
                                      {NULL, NULL}};

static const luaL_Reg ssot_funcs[] = {{"open", ssot_open}, {NULL, NULL}};

void ssotb_methods(lua_State *L, const luaL_Reg *methods) {
    lua_pushvalue(L, -2); /* the metatable, for ssotb_check */
    luaL_setfuncs(L, methods, 1);
}

int luaopen_baton_ssot(lua_State *L) {
    luaL_newmetatable(L, SSOT_DB);
    lua_newtable(L);
    ssotb_methods(L, db_methods);
    ssotb_req_methods(L);
    ssotb_more_methods(L);
    ssotb_group_methods(L);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, db_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, db_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, db_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_newlib(L, ssot_funcs);
    return 1;
}

/* ssot_bind_more.c: the contract, validator, snapshot, journal and LLM
 * ledger methods of baton.ssot's db object. JSON-able arguments (spec,
 * payload) are encoded with sorted keys by ssot_bind_json.c. */
#include <string.h>

#include "ssot_bind.h"

static const ssotb_field contract_fields[] = {
    {"name", 's'}, {"kind", 's'}, {"owner", 's'}, {"spec", 'j'}, {NULL, 0}};
static const ssotb_field llm_fields[] = {
    {"agent", 's'},         {"role", 's'}, {"model", 's'},    {"input_tokens", 'i'},
    {"output_tokens", 'i'}, {"cost", 'n'}, {"latency", 'n'},  {"attempt", 'i'},
    {"status", 's'},        {"key", 's'},  {"response", 's'}, {NULL, 0}};

static const char *val_of(const bt_ssot_val *v, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].name, name)) return v[i].s;
    return NULL;
}

/* db:add_contract(run, {name=, kind=, owner=, spec={}}) -> contract id */
static int db_add_contract(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    bt_ssot_val v[4];
    int n = ssotb_fields(L, 3, contract_fields, v, 4, "contract option");
    long long cid = 0;
    int rc = bt_ssot_add_contract(db, run, val_of(v, n, "name"), val_of(v, n, "kind"),
                                  val_of(v, n, "owner"), val_of(v, n, "spec"), &cid);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushinteger(L, cid);
    return 1;
}

static int db_contracts(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_contracts(db, run, NULL, ssotb_rows, &c);
    return rc ? ssotb_fail(L, db, rc) : 1;
}

/* db:contract(run, name) -> the latest contract of that name | nil */
static int db_contract(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2), *name = luaL_checkstring(L, 3);
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_contracts(db, run, name, ssotb_rows, &c);
    if (rc) return ssotb_fail(L, db, rc);
    lua_rawgeti(L, -1, c.n); /* nil when there is none */
    return 1;
}

static void add_violation(void *arg, const char *kind, const char *message, const char *contract,
                          const char *node, const char *path) {
    ssotb_ctx *c = arg;
    lua_State *L = c->L;
    lua_createtable(L, 0, 5);
    const char *keys[] = {"kind", "message", "contract", "node", "path"};
    const char *vals[] = {kind, message, contract, node, path};
    for (int i = 0; i < 5; i++) {
        if (!vals[i]) continue;
        lua_pushstring(L, vals[i]);
        lua_setfield(L, -2, keys[i]);
    }
    lua_rawseti(L, -2, ++c->n);
}

/* db:validate(run, workspace) -> {valid=, violations={{kind=, message=, ...}}} */
static int db_validate(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2), *ws = luaL_checkstring(L, 3);
    lua_createtable(L, 0, 2);
    lua_newtable(L); /* stack: result, violations */
    ssotb_ctx c = {L, 0};
    int n = 0, rc = bt_ssot_validate(db, run, ws, add_violation, &c, &n);
    if (rc) return ssotb_fail(L, db, rc);
    lua_setfield(L, -2, "violations");
    lua_pushboolean(L, n == 0);
    lua_setfield(L, -2, "valid");
    return 1;
}

/* db:snapshot(run, label, workspace_ref) -> snapshot id */
static int db_snapshot(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2), *label = luaL_optstring(L, 3, NULL);
    const char *ref = luaL_optstring(L, 4, NULL);
    long long sid = 0;
    int rc = bt_ssot_snapshot(db, run, label, ref, &sid);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushinteger(L, sid);
    return 1;
}

static int db_snapshots(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_snapshots(db, run, ssotb_rows, &c);
    return rc ? ssotb_fail(L, db, rc) : 1;
}

/* db:restore(run, sid) -> workspace_ref (false when it had none) */
static int db_restore(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    lua_Integer sid = luaL_checkinteger(L, 3);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_restore(db, run, sid, ssotb_one, &c);
    if (rc) return ssotb_fail(L, db, rc);
    if (c.n == 0 || lua_getfield(L, -1, "workspace_ref") == LUA_TNIL) lua_pushboolean(L, 0);
    return 1;
}

/* db:event(run, actor, kind [, payload]) -> seq */
static int db_event(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2), *actor = luaL_optstring(L, 3, NULL);
    const char *kind = luaL_checkstring(L, 4);
    char buf[512];
    const char *payload =
        lua_isnoneornil(L, 5) ? NULL : ssotb_encode(L, 5, 0, "event payload", buf, sizeof buf);
    long long seq = 0;
    int rc = bt_ssot_event(db, run, actor, kind, payload, &seq);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushinteger(L, seq);
    return 1;
}

/* db:events(run [, {since=, kind=, limit=}]) -> array in journal order */
static int db_events(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2), *kind = NULL;
    lua_Integer since = 0, limit = -1;
    if (!lua_isnoneornil(L, 3)) {
        static const ssotb_field f[] = {{"since", 'i'}, {"kind", 's'}, {"limit", 'i'}, {NULL, 0}};
        bt_ssot_val v[3];
        int n = ssotb_fields(L, 3, f, v, 3, "events option");
        for (int i = 0; i < n; i++) {
            if (!strcmp(v[i].name, "kind"))
                kind = v[i].s;
            else if (!strcmp(v[i].name, "since"))
                since = v[i].i;
            else
                limit = v[i].i;
        }
    }
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_events(db, run, since, kind, limit, ssotb_rows, &c);
    return rc ? ssotb_fail(L, db, rc) : 1;
}

static int db_llm_record(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    bt_ssot_val v[12];
    int n = ssotb_fields(L, 3, llm_fields, v, 12, "llm_record field");
    long long id = 0;
    int rc = bt_ssot_llm_record(db, run, v, n, &id);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushinteger(L, id);
    return 1;
}

/* db:llm_lookup(run, key) -> the stored response of a completed call | nil */
static int db_llm_lookup(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2), *key = luaL_checkstring(L, 3);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_llm_lookup(db, run, key, ssotb_one, &c);
    if (rc) return ssotb_fail(L, db, rc);
    if (c.n == 0)
        lua_pushnil(L);
    else
        lua_getfield(L, -1, "response");
    return 1;
}

/* db:llm_totals(run [, "agent"|"model"|"role"]) -> totals, or name -> totals */
static int db_llm_totals(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2), *by = luaL_optstring(L, 3, NULL);
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_llm_totals(db, run, by, ssotb_rows, &c);
    if (rc) return ssotb_fail(L, db, rc);
    if (!by) {
        if (c.n == 0) { /* no calls yet: zeros */
            lua_createtable(L, 0, 5);
            const char *keys[] = {"calls", "input_tokens", "output_tokens"};
            for (int i = 0; i < 3; i++)
                lua_pushinteger(L, 0), lua_setfield(L, -2, keys[i]);
            lua_pushnumber(L, 0), lua_setfield(L, -2, "cost");
            lua_pushnumber(L, 0), lua_setfield(L, -2, "latency");
        } else
            lua_rawgeti(L, -1, 1);
        return 1;
    }
    lua_newtable(L); /* stack: rows, byname */
    for (int i = 1; i <= c.n; i++) {
        lua_rawgeti(L, -2, i);
        if (lua_getfield(L, -1, "name") == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushliteral(L, "?");
        }
        lua_pushvalue(L, -2);
        lua_pushnil(L);
        lua_setfield(L, -2, "name");
        lua_settable(L, -4);
        lua_pop(L, 1);
    }
    return 1;
}

static const luaL_Reg more_methods[] = {{"add_contract", db_add_contract},
                                        {"contracts", db_contracts},
                                        {"contract", db_contract},
                                        {"validate", db_validate},
                                        {"snapshot", db_snapshot},
                                        {"snapshots", db_snapshots},
                                        {"restore", db_restore},
                                        {"event", db_event},
                                        {"events", db_events},
                                        {"llm_record", db_llm_record},
                                        {"llm_lookup", db_llm_lookup},
                                        {"llm_totals", db_llm_totals},
                                        {NULL, NULL}};

void ssotb_more_methods(lua_State *L) {
    ssotb_methods(L, more_methods);
}

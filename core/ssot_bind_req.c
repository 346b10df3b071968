/* ssot_bind_req.c: the requirement and claim methods of baton.ssot's db
 * object (add_req, req, reqs, ready, set_description, set_transcript,
 * add_dep, set_status, claim, complete, heartbeat, release_claims).
 * Caller mistakes raise; refusals a policy handles return nil, msg, code. */
#include <string.h>
#include <unistd.h>

#include "ssot_bind.h"

#define MAX_DEPS 256

static const ssotb_field req_fields[] = {{"parent", 's'}, {"description", 's'}, {"acceptance", 'a'},
                                         {"deps", 'a'},   {"role", 's'},        {NULL, 0}};

/* Checks that the field key of the table at t is an array of strings. */
static int string_list(lua_State *L, int t, const char *key, const char **out, int max) {
    int n = 0;
    if (lua_getfield(L, t, key) == LUA_TTABLE) {
        n = (int)lua_rawlen(L, -1);
        if (n > max) luaL_error(L, "too many %s (at most %d)", key, max);
        for (int i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
                luaL_error(L, "%s[%d] must be a string, got %s", key, i, luaL_typename(L, -1));
            if (out) out[i - 1] = lua_tostring(L, -1); /* anchored by the table */
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return n;
}

/* db:add_req(run, {parent=, description=, acceptance={...}, deps={...}, role=}) -> id */
static int db_add_req(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    bt_ssot_val v[8];
    int n = ssotb_fields(L, 3, req_fields, v, 8, "requirement option");
    const char *deps[MAX_DEPS];
    bt_ssot_req_spec spec = {0};
    spec.ndeps = string_list(L, 3, "deps", deps, MAX_DEPS);
    string_list(L, 3, "acceptance", NULL, 1000);
    spec.deps = deps;
    for (int i = 0; i < n; i++) {
        if (!strcmp(v[i].name, "parent"))
            spec.parent = v[i].s;
        else if (!strcmp(v[i].name, "description"))
            spec.description = v[i].s;
        else if (!strcmp(v[i].name, "acceptance"))
            spec.acceptance = v[i].s;
        else if (!strcmp(v[i].name, "role"))
            spec.role = v[i].s;
    }
    char id[BT_SSOT_IDLEN];
    int rc = bt_ssot_add_req(db, run, &spec, id);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushstring(L, id);
    return 1;
}

/* db:req(id) -> table | nil (an ambiguous prefix raises) */
static int db_req(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_req(db, id, ssotb_one, &c);
    if (rc == BT_SSOT_MISUSE && strcmp(bt_ssot_code(db), "unknown") == 0) rc = BT_SSOT_OK;
    if (rc) return ssotb_fail(L, db, rc);
    if (c.n == 0) lua_pushnil(L);
    return 1;
}

/* db:reqs(run [, {status=, parent=}]) -> array, in creation order */
static int db_reqs(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    const char *status = NULL, *parent = NULL;
    if (!lua_isnoneornil(L, 3)) {
        static const ssotb_field f[] = {{"status", 's'}, {"parent", 's'}, {NULL, 0}};
        bt_ssot_val v[2];
        int n = ssotb_fields(L, 3, f, v, 2, "reqs option");
        for (int i = 0; i < n; i++)
            *(strcmp(v[i].name, "status") ? &parent : &status) = v[i].s;
    }
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_reqs(db, run, status, parent, 0, ssotb_rows, &c);
    return rc ? ssotb_fail(L, db, rc) : 1;
}

/* db:ready(run) -> the PENDING requirements whose dependencies are all DONE */
static int db_ready(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    lua_newtable(L);
    ssotb_ctx c = {L, 0};
    int rc = bt_ssot_reqs(db, run, NULL, NULL, 1, ssotb_rows, &c);
    return rc ? ssotb_fail(L, db, rc) : 1;
}

static int done(lua_State *L, bt_ssot *db, int rc) {
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int db_set_description(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2), *text = luaL_checkstring(L, 3);
    return done(L, db, bt_ssot_set_description(db, id, text));
}

static int db_set_transcript(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2), *text = luaL_optstring(L, 3, NULL);
    return done(L, db, bt_ssot_set_transcript(db, id, text));
}

static int db_add_dep(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2), *dep = luaL_checkstring(L, 3);
    return done(L, db, bt_ssot_add_dep(db, id, dep));
}

/* db:set_status(id, to [, {by=, reason=}]) -> true; raises on an illegal change */
static int db_set_status(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2), *to = luaL_checkstring(L, 3);
    const char *by = "controller", *reason = NULL;
    if (!lua_isnoneornil(L, 4)) {
        static const ssotb_field f[] = {{"by", 's'}, {"reason", 's'}, {NULL, 0}};
        bt_ssot_val v[2];
        int n = ssotb_fields(L, 4, f, v, 2, "set_status option");
        for (int i = 0; i < n; i++)
            *(strcmp(v[i].name, "by") ? &reason : &by) = v[i].s;
    }
    return done(L, db, bt_ssot_set_status(db, id, to, by, reason));
}

/* db:claim(id, agent [, {pid=}]) -> {id=, epoch=, holder=} | nil, msg, code */
static int db_claim(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2), *agent = luaL_checkstring(L, 3);
    lua_Integer pid = getpid();
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        pid = bt_opt_int_field(L, 4, "pid", pid);
    }
    long long epoch = 0;
    int rc = bt_ssot_claim(db, id, agent, pid, &epoch);
    if (rc) return ssotb_fail(L, db, rc);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, epoch);
    lua_setfield(L, -2, "epoch");
    lua_pushstring(L, agent);
    lua_setfield(L, -2, "holder");
    return 1;
}

/* db:complete(id, agent, epoch, to [, reason]) -> true | nil, msg, "lease_lost" */
static int db_complete(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2), *agent = luaL_checkstring(L, 3);
    lua_Integer epoch = luaL_checkinteger(L, 4);
    const char *to = luaL_checkstring(L, 5), *reason = luaL_optstring(L, 6, NULL);
    return done(L, db, bt_ssot_complete(db, id, agent, epoch, to, reason));
}

static int db_heartbeat(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *id = luaL_checkstring(L, 2), *agent = luaL_checkstring(L, 3);
    return done(L, db, bt_ssot_heartbeat(db, id, agent, luaL_checkinteger(L, 4)));
}

/* db:release_claims(run [, {dead_only=}]) -> count */
static int db_release_claims(lua_State *L) {
    bt_ssot *db = ssotb_check(L, 1);
    const char *run = luaL_checkstring(L, 2);
    int dead_only = 0, count = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        dead_only = bt_opt_bool_field(L, 3, "dead_only", 0);
    }
    int rc = bt_ssot_release_claims(db, run, dead_only, &count);
    if (rc) return ssotb_fail(L, db, rc);
    lua_pushinteger(L, count);
    return 1;
}

static const luaL_Reg req_methods[] = {{"add_req", db_add_req},
                                       {"req", db_req},
                                       {"reqs", db_reqs},
                                       {"ready", db_ready},
                                       {"set_description", db_set_description},
                                       {"set_transcript", db_set_transcript},
                                       {"add_dep", db_add_dep},
                                       {"set_status", db_set_status},
                                       {"claim", db_claim},
                                       {"complete", db_complete},
                                       {"heartbeat", db_heartbeat},
                                       {"release_claims", db_release_claims},
                                       {NULL, NULL}};

void ssotb_req_methods(lua_State *L) {
    ssotb_methods(L, req_methods);
}

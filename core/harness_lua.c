/* harness_lua.c: the baton.harness module, the only door through which an
 * agent touches the world. It turns a role's policy table into a bt_policy,
 * checks every request (core/harness_policy.c), performs it confined
 * (core/harness_fs.c, core/sandbox.c) and reports each action, allowed or
 * denied, to the on_audit function. A denial is an ordinary result:
 * nil, "denied: ...", "denied". Snapshots live in core/snapshot.c. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "luax.h"
#include "sandbox.h"
#include "snapshot.h"
#include "wait.h"

#define HARNESS "baton.harness"

typedef struct harness {
    bt_harness core; /* workspace, policy, commands' temp folder and ruleset */
    int audit_ref;   /* LUA_NOREF when no on_audit */
    char agent[64];
    int open;
} harness;

static harness *check_h(lua_State *L) {
    harness *h = luaL_checkudata(L, 1, HARNESS);
    if (!h->open) luaL_error(L, "attempt to use a closed harness");
    return h;
}

/* Fields of the table on top. */
static void seti(lua_State *L, const char *k, lua_Integer v) {
    lua_pushinteger(L, v), lua_setfield(L, -2, k);
}
static void setb(lua_State *L, const char *k, int v) {
    lua_pushboolean(L, v), lua_setfield(L, -2, k);
}
static void sets(lua_State *L, const char *k, const char *v) {
    lua_pushstring(L, v), lua_setfield(L, -2, k);
}

/* ---- policy table -> bt_policy ---- */

static char **str_list(lua_State *L, int t, const char *key, int *n, const char *const *def) {
    *n = 0;
    int ty = lua_getfield(L, t, key);
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        if (!def) return NULL;
        for (; def[*n]; (*n)++) {
        }
        char **v = calloc((size_t)*n + 1, sizeof *v);
        for (int i = 0; v && i < *n; i++)
            v[i] = strdup(def[i]);
        return v;
    }
    if (ty != LUA_TTABLE) luaL_error(L, "policy field '%s' must be a list of strings", key);
    int len = (int)luaL_len(L, -1);
    char **v = calloc((size_t)len + 1, sizeof *v);
    for (int i = 1; v && i <= len; i++) {
        if (lua_rawgeti(L, -1, i) != LUA_TSTRING) {
            for (int j = 0; j < *n; j++)
                free(v[j]);
            free(v);
            luaL_error(L, "policy field '%s' must be a list of strings", key);
        }
        v[(*n)++] = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return v;
}

static void cmd_rule(lua_State *L, int t, bt_cmd_rule *r) {
    if (lua_type(L, -1) == LUA_TSTRING) {
        r->name = strdup(lua_tostring(L, -1));
        return;
    }
    if (!lua_istable(L, -1) || lua_rawgeti(L, -1, 1) != LUA_TSTRING)
        luaL_error(L, "policy field 'commands' must hold names or {name, args=, escapes=}");
    r->name = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    r->escapes = bt_opt_bool_field(L, -1, "escapes", 0);
    (void)t;
    if (lua_getfield(L, -1, "args") != LUA_TNIL) {
        lua_pop(L, 1);
        r->args = str_list(L, lua_gettop(L), "args", &r->nargs, NULL);
    } else {
        lua_pop(L, 1);
    }
}

static const char *const POLICY_KEYS[] = {"read",      "write",       "deny",      "commands",
                                          "shell",     "network",     "timeout",   "output_cap",
                                          "memory_mb", "cpu_seconds", "max_procs", "file_mb",
                                          "env_pass",  "max_read",    "max_write", NULL};

/* A size or limit: an integer >= 0 (for the rlimits, 0 means none). */
static lua_Integer count(lua_State *L, int t, const char *key, lua_Integer def) {
    lua_Integer v = bt_opt_int_field(L, t, key, def);
    if (v < 0 || v > ((lua_Integer)1 << 48))
        luaL_error(L, "policy field '%s' must be between 0 and 2^48", key);
    return v;
}

/* The policy table is at t; p starts from the defaults and is owned by the
 * harness userdata already, so a raise mid-way leaks nothing (__gc frees). */
static void read_policy(lua_State *L, int t, bt_policy *p) {
    static const char *const all[] = {"**", NULL};
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int known = 0;
        for (int i = 0; POLICY_KEYS[i] && !known; i++)
            known = lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), POLICY_KEYS[i]);
        if (!known) luaL_error(L, "unknown policy field '%s'", luaL_tolstring(L, -2, NULL));
        lua_pop(L, 1);
    }
    p->read = str_list(L, t, "read", &p->nread, all);
    p->write = str_list(L, t, "write", &p->nwrite, NULL);
    p->deny = str_list(L, t, "deny", &p->ndeny, NULL);
    p->env_pass = str_list(L, t, "env_pass", &p->nenv_pass, NULL);
    p->shell = bt_opt_bool_field(L, t, "shell", 0);
    p->network = bt_opt_bool_field(L, t, "network", 0);
    p->timeout = bt_opt_num_field(L, t, "timeout", p->timeout);
    p->output_cap = (size_t)count(L, t, "output_cap", (lua_Integer)p->output_cap);
    p->max_read = (size_t)count(L, t, "max_read", (lua_Integer)p->max_read);
    p->max_write = (size_t)count(L, t, "max_write", (lua_Integer)p->max_write);
    p->memory_mb = (long)count(L, t, "memory_mb", p->memory_mb);
    p->cpu_seconds = (long)count(L, t, "cpu_seconds", p->cpu_seconds);
    p->max_procs = (long)count(L, t, "max_procs", p->max_procs);
    p->file_mb = (long)count(L, t, "file_mb", p->file_mb);
    if (p->timeout <= 0) luaL_error(L, "policy field 'timeout' must be positive");
    int ty = lua_getfield(L, t, "commands");
    if (ty != LUA_TNIL && ty != LUA_TTABLE) luaL_error(L, "policy field 'commands' must be a list");
    int n = ty == LUA_TNIL ? 0 : (int)luaL_len(L, -1);
    p->cmds = calloc((size_t)n + 1, sizeof *p->cmds);
    for (int i = 1; p->cmds && i <= n; i++) {
        lua_rawgeti(L, -1, i);
        p->ncmds = i;
        cmd_rule(L, t, &p->cmds[i - 1]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* ---- audit ---- */

/* Calls on_audit{agent=, action=, target=, decision=, summary=}. Its errors
 * propagate: a broken audit hook is the caller's mistake, and nothing is
 * held at this point. */
static void audit(lua_State *L, harness *h, const char *action, const char *target, int allow,
                  const char *summary) {
    if (h->audit_ref == LUA_NOREF) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->audit_ref);
    lua_createtable(L, 0, 5);
    sets(L, "agent", h->agent);
    sets(L, "action", action);
    sets(L, "target", target);
    sets(L, "decision", allow ? "allow" : "deny");
    sets(L, "summary", summary);
    lua_call(L, 1, 0);
}

static int deny(lua_State *L, harness *h, const char *action, const char *target, bt_herr *e) {
    audit(L, h, action, target, 0, e->msg);
    return bt_fail(L, e->code, "%s", e->msg);
}

/* Normalizes argument 2 and applies the policy; returns 0 or pushes the
 * denial (3 values) and returns 3. */
static int guard(lua_State *L, harness *h, const char *action, int write, char *rel, size_t cap) {
    const char *path = luaL_checkstring(L, 2);
    bt_herr e;
    if (strlen(path) != lua_rawlen(L, 2))
        return bt_fail(L, "EINVAL", "invalid path: it holds a NUL byte");
    if (bt_path_normalize(path, rel, cap, &e) != 0 ||
        bt_policy_path(&h->core.pol, rel, write, &e) != 0)
        return deny(L, h, action, path, &e);
    return 0;
}

/* ---- file methods ---- */

static int h_read(lua_State *L) {
    harness *h = check_h(L);
    char rel[4096], real[4096];
    if (guard(L, h, "read", 0, rel, sizeof rel)) return 3;
    bt_herr e;
    char *data;
    size_t len;
    if (bt_ws_read(&h->core.ws, rel, h->core.pol.max_read, &data, &len, real, sizeof real, &e) != 0)
        return deny(L, h, "read", rel, &e);
    if (strcmp(real, rel) != 0 && bt_policy_path(&h->core.pol, real, 0, &e) != 0) {
        free(data); /* a link inside the workspace to a path the policy hides */
        return deny(L, h, "read", rel, &e);
    }
    lua_pushlstring(L, data, len);
    free(data);
    char sum[64];
    snprintf(sum, sizeof sum, "%zu bytes", len);
    audit(L, h, "read", rel, 1, sum);
    return 1;
}

static int h_write(lua_State *L) {
    harness *h = check_h(L);
    char rel[4096];
    size_t len;
    luaL_checklstring(L, 3, &len);
    if (guard(L, h, "write", 1, rel, sizeof rel)) return 3;
    bt_herr e;
    if (len > h->core.pol.max_write) {
        bt_herr_set(&e, "too_large", "too_large: %zu bytes for %s, over the write cap of %zu bytes",
                    len, rel, h->core.pol.max_write);
        return deny(L, h, "write", rel, &e);
    }
    if (bt_ws_write(&h->core.ws, rel, lua_tostring(L, 3), len, &e) != 0)
        return deny(L, h, "write", rel, &e);
    char sum[64];
    snprintf(sum, sizeof sum, "%zu bytes", len);
    audit(L, h, "write", rel, 1, sum);
    lua_pushboolean(L, 1);
    return 1;
}

/* mkdir and delete: guard, do, audit, true. */
static int change(lua_State *L, const char *action,
                  int (*op)(const bt_ws *, const char *, bt_herr *), const char *summary) {
    harness *h = check_h(L);
    char rel[4096];
    if (guard(L, h, action, 1, rel, sizeof rel)) return 3;
    bt_herr e;
    if (op(&h->core.ws, rel, &e) != 0) return deny(L, h, action, rel, &e);
    audit(L, h, action, rel, 1, summary);
    lua_pushboolean(L, 1);
    return 1;
}

static int h_mkdir(lua_State *L) {
    return change(L, "mkdir", bt_ws_mkdir, "created");
}
static int h_delete(lua_State *L) {
    return change(L, "delete", bt_ws_delete, "deleted");
}

static const char *type_name(mode_t m) {
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "link" : "other";
}

static int h_stat(lua_State *L) {
    harness *h = check_h(L);
    char rel[4096];
    if (guard(L, h, "stat", 0, rel, sizeof rel)) return 3;
    bt_herr e;
    struct stat st;
    if (bt_ws_stat(&h->core.ws, rel, &st, &e) != 0) return deny(L, h, "stat", rel, &e);
    audit(L, h, "stat", rel, 1, type_name(st.st_mode));
    lua_createtable(L, 0, 4);
    sets(L, "type", type_name(st.st_mode));
    seti(L, "size", (lua_Integer)st.st_size);
    seti(L, "mode", (lua_Integer)(st.st_mode & 07777));
    lua_pushnumber(L, (lua_Number)st.st_mtim.tv_sec + (lua_Number)st.st_mtim.tv_nsec / 1e9);
    lua_setfield(L, -2, "mtime");
    return 1;
}

#define LIST_MAX 20000 /* entries walked; a listing is for reading, not archiving */

typedef struct lister {
    lua_State *L;
    const bt_policy *pol;
    const char *glob;
    int n;
} lister;

static int list_one(void *ud, const char *rel, const struct stat *st) {
    lister *k = ud;
    (void)st;
    if (bt_policy_path(k->pol, rel, 0, NULL) != 0) return 0;
    if (!bt_glob_match(k->glob, rel)) return 0;
    lua_pushstring(k->L, rel);
    lua_rawseti(k->L, -2, ++k->n);
    return 0;
}

/* h:list([glob]) -> sorted array of readable paths matching glob ("**") */
static int h_list(lua_State *L) {
    harness *h = check_h(L);
    const char *glob = luaL_optstring(L, 2, "**");
    bt_herr e;
    if (glob[0] == '/' || strstr(glob, "..")) {
        bt_herr_set(&e, "denied", "denied: %s is outside the workspace", glob);
        return deny(L, h, "list", glob, &e);
    }
    lua_newtable(L);
    lister k = {L, &h->core.pol, glob, 0};
    if (bt_ws_walk(&h->core.ws, LIST_MAX, list_one, &k, &e) < 0)
        return deny(L, h, "list", glob, &e);
    char sum[64];
    snprintf(sum, sizeof sum, "%d entries", k.n);
    audit(L, h, "list", glob, 1, sum);
    return 1;
}

/* ---- commands ---- */

/* argv at index 2 -> NULL-terminated array of Lua-owned strings (the
 * table stays on the stack while it is used). Raises on a bad argv. */
static const char **check_argv(lua_State *L, int *argc) {
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = (int)luaL_len(L, 2);
    luaL_argcheck(L, n >= 1, 2, "argv must hold at least the program name");
    const char **argv = lua_newuserdatauv(L, sizeof *argv * ((size_t)n + 1), 0);
    for (int i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 2, i) != LUA_TSTRING)
            luaL_argerror(L, 2, "argv must be a list of strings");
        argv[i - 1] = lua_tostring(L, -1);
        if (strlen(argv[i - 1]) != lua_rawlen(L, -1)) luaL_argerror(L, 2, "argv holds a NUL byte");
        lua_pop(L, 1); /* still referenced by the argv table */
    }
    argv[n] = NULL;
    *argc = n;
    return argv;
}

static void push_stream(lua_State *L, const char *buf, size_t n, int trunc, size_t cap) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, buf, n);
    if (trunc) {
        char mark[96];
        snprintf(mark, sizeof mark, "\n[baton: output truncated at %zu bytes]\n", cap);
        luaL_addstring(&b, mark);
    }
    luaL_pushresult(&b);
}

static void push_result(lua_State *L, const bt_run_result *r, size_t cap) {
    lua_createtable(L, 0, 7);
    seti(L, r->signal ? "signal" : "code",
         r->signal ? r->signal : r->code); /* the other stays nil */
    setb(L, "timed_out", r->timed_out);
    push_stream(L, r->out, r->nout, r->out_truncated, cap);
    lua_setfield(L, -2, "stdout");
    push_stream(L, r->err, r->nerr, r->err_truncated, cap);
    lua_setfield(L, -2, "stderr");
    setb(L, "truncated", r->out_truncated || r->err_truncated);
    lua_pushnumber(L, r->duration);
    lua_setfield(L, -2, "duration");
}

/* A running command: a userdata anchored on the caller's stack while it
 * waits, so a raise or a closing state releases the child (__gc). Loop
 * callbacks only feed the bt_proc and finish the wait; the result table
 * is built by run_done on the caller's thread. */
typedef struct runctx {
    bt_proc *p;
    bt_wait *w;
    bt_loop *loop;
    int watched[3];
    uint64_t timer;
    double timer_at;
    bt_run_result r;
    int have_result, dead;
    size_t cap;
    char target[512];
} runctx;

static void unwatch(runctx *c, int keep[3], int nkeep) {
    for (int i = 0; i < 3; i++) {
        int fd = c->watched[i], still = 0;
        for (int k = 0; k < nkeep; k++)
            still |= keep[k] == fd;
        if (fd >= 0 && !still) bt_loop_io(c->loop, fd, 0, NULL, NULL), c->watched[i] = -1;
    }
}

static void run_timer(void *ud);

/* After any event: finish when done, else keep the watches and the timer
 * in line with what the proc still needs. */
static void run_step(runctx *c) {
    int fds[3];
    int n = bt_proc_done(c->p) ? 0 : bt_proc_fds(c->p, fds);
    unwatch(c, fds, n);
    double at = n ? bt_proc_deadline(c->p) : -1;
    if (at != c->timer_at) {
        if (c->timer) bt_loop_timer_cancel(c->loop, c->timer);
        c->timer = 0;
        c->timer_at = at;
        if (at >= 0) {
            double wait = at - bt_mono();
            c->timer = bt_loop_timer(c->loop, wait > 0 ? wait : 0, run_timer, c);
        }
    }
    if (n) return;
    bt_proc_finish(c->p, &c->r);
    c->p = NULL;
    c->have_result = 1;
    bt_wait *w = c->w;
    c->w = NULL;
    bt_wait_finish(w, 0);
}

static void run_io(void *ud, int fd, int revents) {
    runctx *c = ud;
    (void)revents;
    bt_proc_on_fd(c->p, fd);
    run_step(c);
}

static void run_timer(void *ud) {
    runctx *c = ud;
    c->timer = 0;
    c->timer_at = -2;
    bt_proc_on_time(c->p);
    run_step(c);
}

/* Kills and reaps the child, drops every watch; never touches Lua. */
static void run_release(runctx *c) {
    if (c->loop) {
        unwatch(c, NULL, 0);
        if (c->timer) bt_loop_timer_cancel(c->loop, c->timer);
        c->timer = 0;
    }
    if (c->p) bt_proc_abort(c->p);
    c->p = NULL;
}

static void run_cancel(void *ud) {
    runctx *c = ud;
    c->w = NULL;
    if (!c->dead) run_release(c);
}

static int run_gc(lua_State *L) {
    runctx *c = lua_touserdata(L, 1);
    if (c->dead) return 0;
    run_release(c);
    bt_run_result_free(&c->r);
    c->dead = 1;
    return 0;
}

/* Continuation: stack 1 = harness; builds the result and audits it. */
static int run_done(lua_State *L, int status, lua_KContext ctx) {
    runctx *c = (runctx *)ctx;
    (void)status;
    harness *h = lua_touserdata(L, 1);
    char sum[128];
    bt_run_summary(&c->r, sum, sizeof sum);
    push_result(L, &c->r, c->cap);
    bt_run_result_free(&c->r);
    if (h->open) audit(L, h, "run", c->target, 1, sum);
    return 1;
}

/* h:run(argv [, {timeout=}]) -> {code=, signal=, timed_out=, stdout=, stderr=,
 * truncated=, duration=} | nil, "denied: ...", "denied". Inside a baton.loop
 * task the caller yields while the command runs; elsewhere it blocks. */
static int h_run(lua_State *L) {
    harness *h = check_h(L);
    lua_settop(L, 3); /* argv, opts; the argv copy goes above them */
    int argc;
    const char **argv = check_argv(L, &argc);
    double timeout = h->core.pol.timeout;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        timeout = bt_opt_num_field(L, 3, "timeout", timeout);
        luaL_argcheck(L, timeout > 0, 3, "timeout must be positive");
        if (timeout > h->core.pol.timeout)
            timeout = h->core.pol.timeout; /* the policy's is a ceiling */
    }
    runctx *c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    c->watched[0] = c->watched[1] = c->watched[2] = -1;
    c->timer_at = -1;
    c->cap = h->core.pol.output_cap;
    luaL_setmetatable(L, HARNESS ".run");
    bt_argv_join(argv, c->target, sizeof c->target);
    char exe[4096];
    bt_herr e;
    if (bt_policy_argv(&h->core.pol, argv, exe, sizeof exe, &e) != 0)
        return deny(L, h, "run", c->target, &e);
    c->loop = bt_loop_of(L);
    if (!(c->p = bt_harness_start(&h->core, exe, argv, timeout, &e)))
        return deny(L, h, "run", c->target, &e);
    int fds[3], n = bt_proc_fds(c->p, fds);
    for (int i = 0; i < n; i++) {
        if (bt_loop_io(c->loop, fds[i], POLLIN, run_io, c) != 0) luaL_error(L, "out of memory");
        c->watched[i] = fds[i];
    }
    bt_wait *w = c->w = bt_wait_begin(L, run_cancel, c);
    run_step(c); /* arms the timer */
    if (c->timer_at >= 0 && !c->timer) luaL_error(L, "out of memory");
    return bt_wait_yield(L, w, (lua_KContext)c, run_done);
}

/* ---- lifetime ---- */

static void release(lua_State *L, harness *h) {
    if (!h->open) return;
    h->open = 0;
    bt_harness_release(&h->core);
    luaL_unref(L, LUA_REGISTRYINDEX, h->audit_ref);
    h->audit_ref = LUA_NOREF;
}

static int h_close(lua_State *L) {
    release(L, luaL_checkudata(L, 1, HARNESS));
    return 0;
}

static int h_tostring(lua_State *L) {
    harness *h = luaL_checkudata(L, 1, HARNESS);
    if (h->open)
        lua_pushfstring(L, "harness (%s, %s)", h->agent, h->core.ws.root);
    else
        lua_pushliteral(L, "harness (closed)");
    return 1;
}

/* harness.new{workspace=, agent=, policy=, on_audit=} -> harness */
static int harness_new(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *ws = bt_opt_str_field(L, 1, "workspace", NULL);
    if (!ws) luaL_error(L, "option 'workspace' is required");
    const char *agent = bt_opt_str_field(L, 1, "agent", "agent");
    int ty = lua_getfield(L, 1, "on_audit");
    if (ty != LUA_TNIL && ty != LUA_TFUNCTION)
        luaL_error(L, "option 'on_audit' must be a function");
    ty = lua_getfield(L, 1, "policy");
    if (ty != LUA_TNIL && ty != LUA_TTABLE) luaL_error(L, "option 'policy' must be a table");
    if (ty == LUA_TNIL) lua_newtable(L), lua_replace(L, -2);
    /* stack: opts, on_audit, policy */
    harness *h = lua_newuserdatauv(L, sizeof *h, 0);
    memset(h, 0, sizeof *h);
    h->core.ws.fd = -1;
    h->core.ruleset = -1;
    h->core.netns_fd = -1;
    h->audit_ref = LUA_NOREF;
    luaL_setmetatable(L, HARNESS);
    h->open = 1; /* from here __gc releases whatever was acquired */
    bt_policy_defaults(&h->core.pol);
    read_policy(L, 3, &h->core.pol);
    snprintf(h->agent, sizeof h->agent, "%s", agent);
    bt_herr e;
    if (bt_ws_open(&h->core.ws, ws, &e) != 0) {
        release(L, h);
        return bt_fail(L, e.code, "%s", e.msg);
    }
    if (lua_isfunction(L, 2)) {
        lua_pushvalue(L, 2);
        h->audit_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 1;
}

/* harness.probe() -> {landlock_abi=, netns=, pidns=, mntns=, cgroup_pids=, cgroup_base=,
 * openat2=, missing={"<mechanism>: <consequence>", ...}} */
static int harness_probe(lua_State *L) {
    const bt_probe *p = bt_sandbox_probe();
    lua_createtable(L, 0, 8);
    seti(L, "landlock_abi", p->landlock_abi);
    setb(L, "netns", p->netns);
    setb(L, "pidns", p->pidns);
    setb(L, "mntns", p->mntns);
    setb(L, "cgroup_pids", p->cgroup_pids);
    setb(L, "openat2", p->openat2);
    lua_pushstring(L, p->cgroup_base);
    lua_setfield(L, -2, "cgroup_base");
    const char *missing[8];
    int n = bt_sandbox_missing(p, missing);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
        lua_pushstring(L, missing[i]), lua_rawseti(L, -2, i + 1);
    if (getenv("BATON_SANDBOX_DISABLE"))
        lua_pushfstring(L, "(BATON_SANDBOX_DISABLE=%s turned some of these off)",
                        getenv("BATON_SANDBOX_DISABLE")),
            lua_rawseti(L, -2, n + 1);
    lua_setfield(L, -2, "missing");
    return 1;
}

/* ---- snapshots ---- */

/* Reads {store=, ignore={...}} at index i into o; the strings stay owned
 * by Lua (the table is an argument), the array by a userdata on the stack. */
static void snap_opts(lua_State *L, int i, bt_snap_opts *o) {
    memset(o, 0, sizeof *o);
    if (lua_isnoneornil(L, i)) return;
    luaL_checktype(L, i, LUA_TTABLE);
    o->store = bt_opt_str_field(L, i, "store", NULL);
    int ty = lua_getfield(L, i, "ignore");
    if (ty == LUA_TNIL) return (void)lua_pop(L, 1);
    if (ty != LUA_TTABLE) luaL_error(L, "option 'ignore' must be a list of strings");
    int n = (int)luaL_len(L, -1);
    o->ignore = lua_newuserdatauv(L, sizeof(char *) * ((size_t)n + 1), 0);
    for (int k = 1; k <= n; k++) {
        if (lua_rawgeti(L, -2, k) != LUA_TSTRING)
            luaL_error(L, "option 'ignore' must be a list of strings");
        o->ignore[k - 1] = (char *)lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    o->nignore = n;
}

static void push_stats(lua_State *L, const bt_snap_stats *st) {
    lua_createtable(L, 0, 5);
    seti(L, "entries", st->entries);
    seti(L, "hashed", st->hashed);
    seti(L, "stored", st->stored);
    seti(L, "restored", st->restored);
    seti(L, "removed", st->removed);
}

/* harness.snapshot(workspace [, {store=, ignore=}]) -> ref, stats */
static int harness_snapshot(lua_State *L) {
    const char *ws = luaL_checkstring(L, 1);
    bt_snap_opts o;
    snap_opts(L, 2, &o);
    char ref[65];
    bt_snap_stats st;
    bt_herr e;
    if (bt_snapshot(ws, &o, ref, &st, &e) != 0) return bt_fail(L, e.code, "%s", e.msg);
    lua_pushstring(L, ref);
    push_stats(L, &st);
    return 2;
}

/* harness.rollback(workspace, ref [, {store=, ignore=}]) -> true, stats */
static int harness_rollback(lua_State *L) {
    const char *ws = luaL_checkstring(L, 1);
    const char *ref = luaL_checkstring(L, 2);
    bt_snap_opts o;
    snap_opts(L, 3, &o);
    bt_snap_stats st;
    bt_herr e;
    if (bt_rollback(ws, ref, &o, &st, &e) != 0) return bt_fail(L, e.code, "%s", e.msg);
    lua_pushboolean(L, 1);
    push_stats(L, &st);
    return 2;
}

static const luaL_Reg h_methods[] = {{"read", h_read},     {"write", h_write}, {"list", h_list},
                                     {"delete", h_delete}, {"mkdir", h_mkdir}, {"stat", h_stat},
                                     {"run", h_run},       {"close", h_close}, {NULL, NULL}};

static const luaL_Reg harness_funcs[] = {{"new", harness_new},
                                         {"snapshot", harness_snapshot},
                                         {"rollback", harness_rollback},
                                         {"probe", harness_probe},
                                         {NULL, NULL}};

int luaopen_baton_harness(lua_State *L) {
    bt_new_class(L, HARNESS, h_methods, h_close);
    luaL_newmetatable(L, HARNESS ".run");
    lua_pushcfunction(L, run_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_getmetatable(L, HARNESS);
    lua_pushcfunction(L, h_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_newlib(L, harness_funcs);
    return 1;
}

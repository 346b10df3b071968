/* http_lua.c: the baton.http module: http.request{...} over the engine in
 * http.c. A request is a bt_wait: inside a loop task it yields, elsewhere it
 * blocks while the loop runs. A streaming request (on_event) wakes its caller
 * each time SSE events are queued; pump calls on_event for each in the
 * caller's thread and waits again until the transfer ends.
 * Stack while waiting: 1 options, 2 request userdata, 3 on_event or nil. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "luax.h"
#include "quit.h"
#include "wait.h"

#define REQ_MT "baton.http.request"
#define DEFAULT_TIMEOUT 600.0
#define DEFAULT_CONNECT_TIMEOUT 30.0
#define DEFAULT_MAX_SIZE (64 * 1024 * 1024)

static char http_key; /* registry: lightuserdata bt_http */

/* A userdata with a user value (the body: curl reads it in place) has its
 * memory aligned to 8 bytes only; bt_req needs no more (http.c asserts it). */
typedef struct {
    bt_wait *w; /* the wait in progress, NULL between waits */
    _Alignas(8) char req[];
} lreq;

static bt_req *req_of(lreq *l) {
    return (bt_req *)l->req;
}

static int lreq_gc(lua_State *L) {
    bt_req_close(req_of(luaL_checkudata(L, 1, REQ_MT)));
    return 0;
}

/* When the process is about to end (bt_quitting) the pool is left to the
 * kernel: curl_multi_cleanup would only free memory and close the idle
 * keep-alive connections one close() at a time after the run's summary
 * (~30 at 64 jobs: 1-2 ms, and each wakes the server, which on a loaded
 * machine then takes the CPU from baton's last steps); the kernel closes
 * them as the process ends. In-flight transfers were aborted already (their
 * waits are cancelled before this hook runs), so nothing is lost but a TLS
 * close_notify on idle connections. */
static void http_close(void *ud) {
    if (bt_quitting()) return;
    bt_http_free(ud);
}

/* The process's multi handle, created on first use, freed when L closes. */
static bt_http *http_of(lua_State *L) {
    bt_loop *loop = bt_loop_of(L); /* the glue first, so it outlives requests */
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &http_key) == LUA_TLIGHTUSERDATA) {
        bt_http *h = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return h;
    }
    lua_pop(L, 1);
    bt_http *h = bt_http_new(loop);
    if (!h) luaL_error(L, "http: cannot initialise libcurl");
    bt_wait_on_close(L, http_close, h);
    lua_pushlightuserdata(L, h);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &http_key);
    return h;
}

static const char *const known_opts[] = {
    "method",          "url",          "headers",  "body",     "timeout",
    "connect_timeout", "idle_timeout", "max_size", "on_event", NULL};

static void check_known(lua_State *L) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        int i = 0;
        while (k && known_opts[i] && strcmp(known_opts[i], k) != 0)
            i++;
        if (!k)
            luaL_error(L, "http.request: options must be named (got a %s key)",
                       luaL_typename(L, -1));
        if (!known_opts[i]) luaL_error(L, "http.request: unknown option '%s'", k);
    }
}

static int clean(const char *s, const char *bad) {
    return strpbrk(s, bad) == NULL;
}

/* Header lines "Name: value" as a C array kept in a userdata on the stack. */
static const char **header_lines(lua_State *L, int *n) {
    *n = 0;
    if (lua_getfield(L, 1, "headers") == LUA_TNIL) return lua_pop(L, 1), NULL;
    if (!lua_istable(L, -1)) luaL_error(L, "option 'headers' must be a table");
    int t = lua_gettop(L), count = 0;
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1))
        count++;
    const char **lines = lua_newuserdatauv(L, sizeof(char *) * (size_t)(count + 1), count);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!k || !*k || !clean(k, ":\r\n \t"))
            luaL_error(L, "http.request: bad header name %s", k ? k : luaL_typename(L, -2));
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "http.request: header '%s' must be a string", k);
        const char *v = lua_tostring(L, -1);
        if (strlen(v) != lua_rawlen(L, -1) || !clean(v, "\r\n"))
            luaL_error(L, "http.request: header '%s' contains a line break or NUL", k);
        lines[*n] = lua_pushfstring(L, "%s: %s", k, v);
        lua_setiuservalue(L, t + 1, ++*n); /* keeps the string alive */
    }
    return lines;
}

static void read_opts(lua_State *L, bt_req_opts *o) {
    memset(o, 0, sizeof *o);
    o->url = bt_opt_str_field(L, 1, "url", NULL);
    if (!o->url) luaL_error(L, "http.request: option 'url' is required");
    if (strncasecmp(o->url, "http://", 7) != 0 && strncasecmp(o->url, "https://", 8) != 0)
        luaL_error(L, "http.request: url must start with http:// or https://");
    if (!clean(o->url, " \r\n\t")) luaL_error(L, "http.request: url contains white space");
    o->method = bt_opt_str_field(L, 1, "method", NULL);
    if (o->method &&
        (!*o->method || strspn(o->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(o->method) ||
         strlen(o->method) > 16))
        luaL_error(L, "http.request: bad method '%s'", o->method);
    if (lua_getfield(L, 1, "body") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "option 'body' must be a string");
        o->body = lua_tolstring(L, -1, &o->body_len);
    }
    lua_pop(L, 1); /* still referenced by the options table */
    o->timeout = bt_opt_num_field(L, 1, "timeout", DEFAULT_TIMEOUT);
    o->connect_timeout = bt_opt_num_field(L, 1, "connect_timeout", DEFAULT_CONNECT_TIMEOUT);
    o->idle_timeout = bt_opt_num_field(L, 1, "idle_timeout", 0);
    if (!(o->timeout >= 0 && o->connect_timeout >= 0 && o->idle_timeout >= 0))
        luaL_error(L, "http.request: timeouts must be non-negative numbers");
    lua_Integer max = bt_opt_int_field(L, 1, "max_size", DEFAULT_MAX_SIZE);
    if (max < 0) luaL_error(L, "http.request: max_size must not be negative");
    o->max_size = (size_t)max;
}

static void on_progress(void *ud) {
    lreq *l = ud;
    bt_wait *w = l->w;
    l->w = NULL;
    if (w) bt_wait_finish(w, 0);
}

static void on_cancel(void *ud) {
    lreq *l = ud;
    l->w = NULL;
    bt_req_close(req_of(l));
}

static void push_event(lua_State *L, const bt_sse_event *ev) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, ev->event);
    lua_setfield(L, -2, "event");
    lua_pushlstring(L, ev->data, ev->data_len);
    lua_setfield(L, -2, "data");
    if (ev->id) {
        lua_pushstring(L, ev->id);
        lua_setfield(L, -2, "id");
    }
}

/* After one on_event call (status as from lua_pcallk): 0 to go on, or the
 * number of values to return; raises what on_event raised. */
static int event_done(lua_State *L, bt_req *r, int status) {
    if (status != LUA_OK && status != LUA_YIELD) {
        bt_req_close(r); /* abort cleanly, then pass the error on */
        return lua_error(L);
    }
    int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!stop) return 0;
    bt_req_close(r);
    return bt_fail(L, "cancelled", "http: request aborted by on_event");
}

static int push_response(lua_State *L, bt_req *r) {
    const char *code, *msg = bt_req_error(r, &code);
    if (msg) {
        bt_fail(L, code, "%s", msg);
        bt_req_close(r);
        return 3;
    }
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, bt_req_status(r));
    lua_setfield(L, -2, "status");
    const char *name, *value;
    int nhdr = 0;
    while (bt_req_header(r, nhdr, &name, &value))
        nhdr++;
    lua_createtable(L, 0, nhdr); /* at its size: grown one header at a time it was resized 4 times */
    for (int i = 0; bt_req_header(r, i, &name, &value); i++) {
        lua_pushstring(L, value);
        lua_setfield(L, -2, name);
    }
    lua_setfield(L, -2, "headers");
    size_t len;
    const char *body = bt_req_body(r, &len);
    lua_pushlstring(L, body, len);
    lua_setfield(L, -2, "body");
    if (bt_req_streamed(r)) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "streamed");
        if (bt_sse_partial(bt_req_events(r))) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "incomplete_event");
        }
    }
    bt_req_close(r);
    return 1;
}

static int pump(lua_State *L);

static int after_event(lua_State *L, int status, lua_KContext ctx) {
    (void)ctx;
    int n = event_done(L, req_of(lua_touserdata(L, 2)), status);
    return n ? n : pump(L);
}

static int request_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status, (void)ctx;
    return pump(L);
}

/* Hands the queued events to on_event, returns the result once the transfer
 * ended, else waits again: yielding inside a task (going on in request_k),
 * looping here elsewhere so a long stream never nests C calls. on_event may
 * itself yield inside a task (lua_pcallk; going on in after_event). */
static int pump(lua_State *L) {
    lreq *l = lua_touserdata(L, 2);
    bt_req *r = req_of(l);
    for (;;) {
        bt_sse_event *ev;
        while (!lua_isnil(L, 3) && (ev = bt_sse_peek(bt_req_events(r)))) {
            lua_pushvalue(L, 3);
            push_event(L, ev);
            bt_sse_drop(bt_req_events(r));
            int n = event_done(L, r, lua_pcallk(L, 1, 1, 0, 0, after_event));
            if (n) return n;
        }
        if (bt_req_done(r)) return push_response(L, r);
        l->w = bt_wait_begin(L, on_cancel, l);
        if (bt_wait_can_yield(L)) return bt_wait_yield(L, l->w, 0, request_k);
        bt_wait_yield(L, l->w, 0, NULL);
    }
}

/* http.request{url=, method=, headers=, body=, timeout=, connect_timeout=,
 *              idle_timeout=, max_size=, on_event=} -> res | nil, msg, code */
static int http_request(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    check_known(L);
    bt_req_opts o;
    read_opts(L, &o);
    lua_getfield(L, 1, "on_event"); /* 2 */
    if (!lua_isnil(L, 2) && !lua_isfunction(L, 2))
        luaL_error(L, "option 'on_event' must be a function");
    o.stream = !lua_isnil(L, 2);
    o.headers = header_lines(L, &o.nheaders);
    bt_http *h = http_of(L);
    lreq *l = lua_newuserdatauv(L, sizeof(lreq) + bt_req_size(), 1);
    memset(l, 0, sizeof(lreq) + bt_req_size());
    luaL_setmetatable(L, REQ_MT);
    lua_getfield(L, 1, "body"); /* curl reads the body in place: it lives as long as l */
    lua_setiuservalue(L, -2, 1);
    char err[256];
    if (bt_req_start(h, req_of(l), &o, on_progress, l, err, sizeof err) != 0)
        return bt_fail(L, "transport", "%s", err);
    int top = lua_gettop(L);
    lua_pushvalue(L, 2);
    lua_copy(L, top, 2);
    lua_copy(L, top + 1, 3);
    lua_settop(L, 3); /* stack: opts, request, on_event */
    return pump(L);
}

static const luaL_Reg http_funcs[] = {{"request", http_request}, {NULL, NULL}};

int luaopen_baton_http(lua_State *L) {
    luaL_newmetatable(L, REQ_MT);
    lua_pushcfunction(L, lreq_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newlib(L, http_funcs);
    return 1;
}

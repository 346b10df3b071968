/* sys_lua.c: the baton.sys module: versions of the libraries baton is built
 * on, what confinement the kernel offers, this process's children (the
 * test runner uses it to fail a test that leaks a child process), and the
 * loader of baton's own Lua files from their build-time bytecode. */
#include <curl/curl.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sqlite3.h>
#include <unistd.h>

#include "bytecode.h"
#include "luax.h"
#include "loop.h"
#include "sys.h"

/* sys.versions() -> {lua=, curl=, tls=, sqlite=} */
static int sys_versions(lua_State *L) {
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    lua_createtable(L, 0, 4);
    lua_pushliteral(L, LUA_RELEASE);
    lua_setfield(L, -2, "lua");
    lua_pushstring(L, cv->version);
    lua_setfield(L, -2, "curl");
    lua_pushstring(L, cv->ssl_version ? cv->ssl_version : "none");
    lua_setfield(L, -2, "tls");
    lua_pushstring(L, sqlite3_libversion());
    lua_setfield(L, -2, "sqlite");
    return 1;
}

/* sys.confinement() -> {landlock_abi=n, netns=bool, pidns=bool, userns=bool} */
static int sys_confinement(lua_State *L) {
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, bt_sys_landlock_abi());
    lua_setfield(L, -2, "landlock_abi");
    lua_pushboolean(L, bt_sys_can_unshare(CLONE_NEWNET) == 1 ||
                           bt_sys_can_unshare(CLONE_NEWUSER | CLONE_NEWNET) == 1);
    lua_setfield(L, -2, "netns");
    lua_pushboolean(L, bt_sys_can_unshare(CLONE_NEWPID) == 1 ||
                           bt_sys_can_unshare(CLONE_NEWUSER | CLONE_NEWPID) == 1);
    lua_setfield(L, -2, "pidns");
    lua_pushboolean(L, bt_sys_can_unshare(CLONE_NEWUSER) == 1);
    lua_setfield(L, -2, "userns");
    return 1;
}

/* sys.children() -> array of the pids of this process's children */
static int sys_children(lua_State *L) {
    pid_t pids[256];
    int n = bt_sys_children(pids, 256);
    if (n < 0) return bt_fail(L, "EPROC", "cannot read /proc");
    lua_createtable(L, n, 0);
    for (int i = 0; i < n && i < 256; i++) {
        lua_pushinteger(L, pids[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* sys.kill(pid, signal) -> true | nil, message, code */
static int sys_kill(lua_State *L) {
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    int sig = (int)luaL_optinteger(L, 2, SIGKILL);
    luaL_argcheck(L, pid > 0, 1, "pid must be positive");
    if (kill(pid, sig) != 0) return bt_fail(L, "ESRCH", "kill %d: %s", (int)pid, strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

/* sys.reap(pid) -> true when the child had ended and is now reaped */
static int sys_reap(lua_State *L) {
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    luaL_argcheck(L, pid > 0, 1, "pid must be positive");
    lua_pushboolean(L, waitpid(pid, NULL, WNOHANG) == pid);
    return 1;
}

/* sys.isatty(fd) -> boolean */
static int sys_isatty(lua_State *L) {
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1; /* SA_RESETHAND: a second Ctrl-C kills the process at once */
}

/* sys.trap_interrupt(): the first SIGINT/SIGTERM only sets a flag the engine
 * polls between steps, so a run stops cleanly with its state saved. */
static int sys_trap_interrupt(lua_State *L) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    (void)L;
    return 0;
}

/* sys.interrupted() -> boolean: whether SIGINT/SIGTERM arrived since the trap */
static int sys_interrupted(lua_State *L) {
    lua_pushboolean(L, interrupted);
    return 1;
}

/* sys.alive(pid) -> boolean: whether a process with that pid exists */
static int sys_alive(lua_State *L) {
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    lua_pushboolean(L, pid > 0 && (kill(pid, 0) == 0 || errno == EPERM));
    return 1;
}

/* sys.clock() -> monotonic seconds (the loop's clock, as loop.now());
 * sys.time() -> wall-clock seconds */
static int sys_clock(lua_State *L) {
    lua_pushnumber(L, bt_now());
    return 1;
}

static int sys_time(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

/* sys.realpath(path) -> absolute path | nil, message, code */
static int sys_realpath(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char *abs = realpath(path, NULL);
    if (!abs) return bt_fail(L, errno == ENOENT ? "ENOENT" : "EPATH", "%s: %s", path, strerror(errno));
    lua_pushstring(L, abs);
    free(abs);
    return 1;
}

static int sys_pid(lua_State *L) {
    lua_pushinteger(L, getpid());
    return 1;
}

/* Feeds lua_load a chunk with its source name replaced: the header, the
 * new name (size + 1 as Lua's dump writes it, 7 bits a byte, the last one
 * marked), then the rest after the placeholder name. */
typedef struct {
    const bt_bytecode *c;
    unsigned char name[16];
    size_t namelen;
    const char *src;
    size_t srclen;
    int part;
} chunk_reader;

static const char *read_chunk(lua_State *L, void *ud, size_t *size) {
    (void)L;
    chunk_reader *r = ud;
    size_t rest_at = BT_BYTECODE_SRC_AT + 1 + sizeof BT_BYTECODE_NAME - 1;
    switch (r->part++) {
    case 0: *size = BT_BYTECODE_SRC_AT; return (const char *)r->c->code;
    case 1: *size = r->namelen; return (const char *)r->name;
    case 2: *size = r->srclen; return r->src;
    case 3: *size = r->c->codelen - rest_at; return (const char *)r->c->code + rest_at;
    default: *size = 0; return NULL;
    }
}

/* sys.precompiled(text, chunkname [, env]) -> function | nil: text compiled
 * at build time (one of baton's own files, unchanged), loaded as load(text,
 * chunkname, "t", env) would load it, without parsing; nil for any other
 * text. Only bytecode built into the executable is ever loaded. */
static int sys_precompiled(lua_State *L) {
    size_t len, namelen;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *name = luaL_checklstring(L, 2, &namelen);
    lua_settop(L, 3); /* env (or nil) at 3, the chunk above it */
    const bt_bytecode *c = bt_bytecode_find(text, len);
    if (!c || namelen == 0) return 0;
    chunk_reader r = {c, {0}, 0, name, namelen, 0};
    unsigned char rev[16];
    size_t n = 0, x = namelen + 1;
    do {
        rev[n++] = x & 0x7f;
        x >>= 7;
    } while (x != 0);
    for (size_t i = 0; i < n; i++) r.name[i] = rev[n - 1 - i];
    r.name[n - 1] |= 0x80;
    r.namelen = n;
    if (lua_load(L, read_chunk, &r, name, "b") != LUA_OK) return 0; /* another liblua: parse */
    if (!lua_isnil(L, 3)) {
        lua_pushvalue(L, 3);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

static const luaL_Reg sys_funcs[] = {{"versions", sys_versions},
                                     {"confinement", sys_confinement},
                                     {"children", sys_children},
                                     {"pid", sys_pid},
                                     {"kill", sys_kill},
                                     {"reap", sys_reap},
                                     {"isatty", sys_isatty},
                                     {"trap_interrupt", sys_trap_interrupt},
                                     {"interrupted", sys_interrupted},
                                     {"alive", sys_alive},
                                     {"realpath", sys_realpath},
                                     {"clock", sys_clock},
                                     {"time", sys_time},
                                     {"precompiled", sys_precompiled},
                                     {NULL, NULL}};

int luaopen_baton_sys(lua_State *L) {
    luaL_newlib(L, sys_funcs);
    return 1;
}

/* sys_lua.c: the baton.sys module: versions of the libraries baton is built
 * on, what confinement the kernel offers, and this process's children (the
 * test runner uses it to fail a test that leaks a child process). */
#include <curl/curl.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <unistd.h>

#include "luax.h"
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

static int sys_pid(lua_State *L) {
    lua_pushinteger(L, getpid());
    return 1;
}

static const luaL_Reg sys_funcs[] = {{"versions", sys_versions},
                                     {"confinement", sys_confinement},
                                     {"children", sys_children},
                                     {"pid", sys_pid},
                                     {"kill", sys_kill},
                                     {"reap", sys_reap},
                                     {"isatty", sys_isatty},
                                     {NULL, NULL}};

int luaopen_baton_sys(lua_State *L) {
    luaL_newlib(L, sys_funcs);
    return 1;
}

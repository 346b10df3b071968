/* main.c: the baton executable. Creates the Lua state under a protected call,
 * registers the C modules in package.preload, fixes the Lua search path and
 * hands control to lua/baton/cli.lua. Everything else is Lua's business. */
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lua.h>
#include <lualib.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curl_lazy.h"
#include "lalloc.h"
#include "luax.h"
#include "paths.h"
#include "quit.h"

static const luaL_Reg openers[] = {
#define BT_MODULE(name) {"baton." #name, luaopen_baton_##name},
#include "bt_modules.h"
#undef BT_MODULE
    {"cjson", luaopen_cjson},
    {NULL, NULL}};

/* Whether LeakSanitizer checks this build (gcc and clang spell it differently). */
#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECKED 1
#endif
#endif
#ifndef LEAK_CHECKED
#define LEAK_CHECKED 0
#endif

static int debug_wanted(int argc, char **argv) {
    const char *env = getenv("BATON_DEBUG");
    if (env && *env && strcmp(env, "0") != 0) return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--debug") == 0) return 1;
    return 0;
}

/* Message handler: keeps the message, stashes the traceback for --debug. */
static int msgh(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (lua_istable(L, 1)) return 1; /* a baton.errors object carries its own exit code */
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "baton.traceback");
    lua_settop(L, 1);
    return 1;
}

static void register_modules(lua_State *L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const luaL_Reg *m = openers; m->name; m++) {
        lua_pushcfunction(L, m->func);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
}

/* Reads filename and asks sys.precompiled (upvalue 2) for its build-time
 * bytecode; pushes the loaded chunk and returns 1, or returns 0. */
static int push_precompiled(lua_State *L, const char *filename) {
    FILE *f = fopen(filename, "rb");
    if (!f) return 0;
    lua_pushvalue(L, lua_upvalueindex(2));
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t n;
    do {
        n = fread(luaL_prepbuffer(&b), 1, LUAL_BUFFERSIZE, f);
        luaL_addsize(&b, n);
    } while (n == LUAL_BUFFERSIZE);
    int failed = ferror(f);
    fclose(f);
    luaL_pushresult(&b);
    if (failed) {
        lua_pop(L, 2);
        return 0;
    }
    lua_pushfstring(L, "@%s", filename); /* the name luaL_loadfile gives */
    lua_call(L, 2, 1);
    if (lua_isfunction(L, -1)) return 1;
    lua_pop(L, 1);
    return 0;
}

/* package.searchers[2]: Lua's own file searcher (same search, same errors),
 * except that one of baton's own files, unchanged, loads from the bytecode
 * built into the executable instead of being parsed at every start.
 * Upvalues: the package table, sys.precompiled. */
static int search_lua(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, lua_upvalueindex(1), "searchpath");
    lua_pushvalue(L, 1);
    if (lua_getfield(L, lua_upvalueindex(1), "path") != LUA_TSTRING)
        return luaL_error(L, "'package.path' must be a string");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) return 1; /* "no file '...'" for require's message */
    lua_pop(L, 1);
    const char *filename = lua_tostring(L, -1);
    if (!push_precompiled(L, filename) && luaL_loadfilex(L, filename, NULL) != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename,
                          lua_tostring(L, -1));
    lua_pushstring(L, filename); /* the loader's second argument */
    return 2;
}

static void install_searcher(lua_State *L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, LUA_LOADLIBNAME);
    lua_getfield(L, -1, "searchers");
    lua_pushvalue(L, -2);
    luaL_requiref(L, "baton.sys", luaopen_baton_sys, 0);
    lua_getfield(L, -1, "precompiled");
    lua_remove(L, -2);
    lua_pushcclosure(L, search_lua, 2);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 3);
}

/* package.path from paths.c; no C modules from the file system at all. */
static void set_search_path(lua_State *L, const char *root) {
    char cwd[PATH_MAX];
    char *path = bt_build_lua_path(getcwd(cwd, sizeof cwd) ? cwd : NULL,
                                   getenv("BATON_PATH"), root);
    if (!path) luaL_error(L, "out of memory");
    lua_getglobal(L, "package");
    lua_pushstring(L, path);
    free(path);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
}

/* The quick exit, for a command that asked for it (runner.drive calls
 * host.fast_exit() once a run is over). lua_close first calls every
 * finalizer, in the reverse order of their objects' marking (Lua 5.4 manual,
 * 2.5.3), then walks every object to free it (~3 ms after a run at 64 jobs,
 * though lalloc skips the frees). The sentinel is the first object marked, so
 * its finalizer runs last: every database, harness (children, temp folders),
 * wait and Lua file is closed by then, and the process ends there, without
 * the walk and the atexit handlers (OpenSSL's cleanup and the libraries'
 * destructors: ~1 ms, memory only). quit.h says what else it lets skip. */
static struct {
    int wanted, armed, rc; /* host.fast_exit() was called; quit_now ends the process; its code */
} quit;

static int quit_now(lua_State *L) {
    (void)L;
    if (!quit.armed) return 0;
    fflush(NULL); /* what exit() would flush: stdout, stderr, C streams */
    _exit(quit.rc);
}

static void push_sentinel(lua_State *L) {
    lua_newuserdatauv(L, 0, 0);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, quit_now);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "baton.quit");
}

/* host.fast_exit(): the command is done; the process ends with the quick
 * exit (but for leak-checked builds, which free everything). */
static int want_fast_exit(lua_State *L) {
    (void)L;
    quit.wanted = 1;
    if (!LEAK_CHECKED) bt_quit_begin();
    return 0;
}

/* The host table cli.lua reads: argv, exe, root, version, debug, fast_exit. */
static void push_host(lua_State *L, int argc, char **argv, const char *root) {
    lua_createtable(L, 0, 6);
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setfield(L, -2, "argv");
    lua_pushstring(L, argv[0]);
    lua_setfield(L, -2, "exe");
    lua_pushstring(L, root);
    lua_setfield(L, -2, "root");
    lua_pushliteral(L, BATON_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushboolean(L, debug_wanted(argc, argv));
    lua_setfield(L, -2, "debug");
    lua_pushcfunction(L, want_fast_exit);
    lua_setfield(L, -2, "fast_exit");
}

static int pmain(lua_State *L) {
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    char root[PATH_MAX];
    push_sentinel(L); /* before any other object with a finalizer (io's streams) */
    luaL_openlibs(L);
    register_modules(L);
    install_searcher(L);
    if (bt_find_root(argv[0], BATON_SOURCE_DIR, BATON_DATA_SUBDIR, root, sizeof root) != 0)
        return luaL_error(L, "cannot find baton's Lua files (lua/baton/cli.lua) beside "
                             "the executable or in " BATON_SOURCE_DIR);
    set_search_path(L, root);
    push_host(L, argc, argv, root);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "baton.host");
    lua_getglobal(L, "require");
    lua_pushliteral(L, "baton.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_pushvalue(L, -3);
    lua_call(L, 1, 1);
    return 1;
}

static int panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "baton: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
    return 0; /* Lua aborts */
}

/* The Lua heap is capped (BATON_MAX_MEMORY_MB, default 4096): a user script
 * that allocates without end gets "not enough memory", a catchable error
 * reported with its file and line, instead of taking the machine down.
 * core/lalloc.c keeps the count and pools the small blocks. */
static size_t memory_limit(void) {
    const char *env = getenv("BATON_MAX_MEMORY_MB");
    long mb = env ? strtol(env, NULL, 10) : 0;
    return (size_t)(mb > 0 ? mb : 4096) << 20;
}

/* Whether the command talks to model providers over HTTP (run, resume). */
static int needs_http(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--debug") != 0)
            return strcmp(argv[i], "run") == 0 || strcmp(argv[i], "resume") == 0;
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN); /* a closed socket or pipe is an error value, not death */
    /* SQLite's memory statistics (which nothing reads) cost a mutex and a
     * size lookup on each of its ~220 allocations per task; its
     * lookaside, the other remedy, is compiled out of Debian's libsqlite3 */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    bt_quit_sqlite_memory();
    /* libcurl's thirty libraries load while the run starts up (the first
     * request waits for them, the sandbox before it forks); other commands
     * load it if they use it */
    if (needs_http(argc, argv)) bt_curl_preload();
    static bt_lheap h;
    bt_lalloc_init(&h, memory_limit());
    lua_State *L = lua_newstate(bt_lalloc, &h);
    if (L) lua_atpanic(L, panic);
    if (!L) {
        fputs("baton: cannot create the Lua state: out of memory\n", stderr);
        return 1;
    }
    lua_pushcfunction(L, msgh);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int rc = 1;
    if (lua_pcall(L, 2, 1, 1) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (lua_istable(L, -1)) { /* a baton.errors object: {msg=, exit=} */
            lua_getfield(L, -1, "exit");
            rc = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 1;
            lua_getfield(L, -2, "msg");
            msg = lua_tostring(L, -1);
        }
        if (debug_wanted(argc, argv) &&
            lua_getfield(L, LUA_REGISTRYINDEX, "baton.traceback") == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        fprintf(stderr, "baton: %s\n", msg ? msg : "(no message)");
    } else if (lua_isinteger(L, -1)) {
        rc = (int)lua_tointeger(L, -1);
    } else {
        rc = lua_toboolean(L, -1) || lua_isnil(L, -1) ? 0 : 1;
    }
    fflush(stdout);
    /* lua_close still runs every finalizer (sockets, databases, children);
     * only the free() of each object, a few ms after a long run, is skipped:
     * the process ends right after (after a run, in quit_now). Leak-checked
     * builds free everything. */
    h.exiting = !LEAK_CHECKED;
    quit.rc = rc;
    quit.armed = !LEAK_CHECKED && quit.wanted;
    lua_close(L);
    if (!h.exiting) bt_lalloc_release(&h);
    bt_curl_settle();
    return rc;
}

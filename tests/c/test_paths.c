/* test_paths.c: the Lua search path is built in the documented order and
 * never includes the working directory or LUA_PATH. */
#include <stdlib.h>

#include "check.h"
#include "paths.h"

static void test_order(void) {
    char *p = bt_build_lua_path("/proj", "/a::/b", "/root");
    CHECK_STR(p, "/proj/.baton/?.lua;/proj/.baton/?/init.lua;/a/?.lua;/a/?/init.lua;"
                 "/b/?.lua;/b/?/init.lua;/root/lua/?.lua;/root/lua/?/init.lua;"
                 "/root/policies/?.lua;/root/policies/?/init.lua;/root/agents/?.lua;"
                 "/root/agents/?/init.lua");
    free(p);
}

static void test_no_project(void) {
    char *p = bt_build_lua_path(NULL, NULL, "/r");
    CHECK_STR(p, "/r/lua/?.lua;/r/lua/?/init.lua;/r/policies/?.lua;/r/policies/?/init.lua;"
                 "/r/agents/?.lua;/r/agents/?/init.lua");
    CHECK(strstr(p, "./?") == NULL);
    free(p);
}

static void test_find_root(void) {
    char out[4096];
    const char *src = getenv("BATON_SRC");
    CHECK(src != NULL);
    if (!src) return;
    CHECK_INT(bt_find_root("baton", src, "share/baton", out, sizeof out), 0);
    CHECK_STR(out, src);
    CHECK_INT(bt_find_root("baton", "/nonexistent", "share/nothing", out, sizeof out), -1);
    CHECK_INT(bt_find_root("baton", src, "share/baton", out, 4), -1);
}

int main(void) {
    test_order();
    test_no_project();
    test_find_root();
    CHECK_DONE();
}

/* test_harness_policy.c: the harness's decisions without Lua: glob
 * matching, lexical normalization, path rules (deny wins, .git/.baton never
 * writable) and the program check with its known escape hatches. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"

static void test_glob(void) {
    CHECK(bt_glob_match("src/**", "src/a/b.c"));
    CHECK(bt_glob_match("src/**", "src"));
    CHECK(!bt_glob_match("src/**", "srcx/a"));
    CHECK(bt_glob_match("**", "a/b/c"));
    CHECK(bt_glob_match("**/*.c", "main.c"));
    CHECK(bt_glob_match("**/*.c", "a/b/main.c"));
    CHECK(!bt_glob_match("*.c", "a/main.c"));
    CHECK(bt_glob_match("tests/*_test.lua", "tests/x_test.lua"));
    CHECK(!bt_glob_match("tests/?", "tests/ab"));
    CHECK(bt_glob_match("a/**/z", "a/z"));
    CHECK(bt_glob_match("a/**/z", "a/b/c/z"));
    CHECK(bt_glob_match("a**b", "axxb"));
    CHECK(!bt_glob_match("a**b", "ax/xb"));
    CHECK(bt_glob_match("**", "."));
    CHECK(bt_glob_match("*.md", ".hidden.md"));
    CHECK(!bt_glob_match("src/*", "src"));
    CHECK(bt_glob_match("**/b/**/d", "a/b/c/d"));
    CHECK(!bt_glob_match("**/b/**/d", "a/b/c/e"));
}

/* Hostile patterns stay fast: each of these would take ages when matched
 * by naive backtracking. */
static void test_glob_hostile(void) {
    char path[8192] = "", seg[600];
    for (int i = 0; i < 200; i++)
        strcat(path, "a/");
    strcat(path, "b");
    memset(seg, 'a', 250);
    seg[250] = '\0';
    clock_t t0 = clock();
    for (int i = 0; i < 100; i++) {
        CHECK(!bt_glob_match("**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/x", path));
        CHECK(!bt_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", seg));
    }
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

static void test_normalize(void) {
    char out[256];
    bt_herr e;
    CHECK_INT(bt_path_normalize("./src//a/../b.c", out, sizeof out, &e), 0);
    CHECK_STR(out, "src/b.c");
    CHECK_INT(bt_path_normalize("src/..", out, sizeof out, &e), 0);
    CHECK_STR(out, ".");
    CHECK_INT(bt_path_normalize("../../etc/passwd", out, sizeof out, &e), -1);
    CHECK_STR(e.msg, "denied: ../../etc/passwd is outside the workspace");
    CHECK_STR(e.code, "denied");
    CHECK_INT(bt_path_normalize("src/../../x", out, sizeof out, &e), -1);
    CHECK_INT(bt_path_normalize("/etc/passwd", out, sizeof out, &e), -1);
    CHECK_STR(e.msg, "denied: /etc/passwd is outside the workspace");
    CHECK_INT(bt_path_normalize("", out, sizeof out, &e), -1);
    CHECK_STR(e.code, "EINVAL");
}

static char **list(int n, ...);
#include <stdarg.h>
static char **list(int n, ...) {
    char **v = calloc((size_t)n + 1, sizeof *v);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i] = strdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

static void test_paths(void) {
    bt_policy p;
    bt_herr e;
    bt_policy_defaults(&p);
    p.read = list(1, "**"), p.nread = 1;
    p.write = list(2, "src/**", "**"), p.nwrite = 2;
    p.deny = list(1, "secrets/**"), p.ndeny = 1;
    CHECK_INT(bt_policy_path(&p, "src/a.c", 1, &e), 0);
    CHECK_INT(bt_policy_path(&p, "secrets/k", 0, &e), -1);
    CHECK_STR(e.msg, "denied: secrets/k matches a deny rule of this agent's policy");
    CHECK_INT(bt_policy_path(&p, ".git/config", 1, &e), -1);
    CHECK_STR(
        e.msg,
        "denied: .git/config is protected (.baton/ and .git/ are never writable by an agent)");
    CHECK_INT(bt_policy_path(&p, ".baton", 1, &e), -1);
    CHECK_INT(bt_policy_path(&p, ".gitignore", 1, &e), 0);
    CHECK_INT(bt_policy_path(&p, ".git/config", 0, &e), 0);
    bt_policy_free(&p);
}

static void test_argv(void) {
    bt_policy p;
    bt_herr e;
    char exe[256];
    bt_policy_defaults(&p);
    p.cmds = calloc(5, sizeof *p.cmds);
    p.cmds[0].name = strdup("git");
    p.cmds[0].args = list(2, "status*", "diff*"), p.cmds[0].nargs = 2;
    p.cmds[1].name = strdup("find");
    p.cmds[2].name = strdup("env");
    p.cmds[3].name = strdup("python3");
    p.cmds[4].name = strdup("true");
    p.ncmds = 5;
    const char *ok[] = {"git", "status", "--short", NULL};
    CHECK_INT(bt_policy_argv(&p, ok, exe, sizeof exe, &e), 0);
    CHECK(strstr(exe, "/git") != NULL);
    const char *notallowed[] = {"git", "push", NULL};
    CHECK_INT(bt_policy_argv(&p, notallowed, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg, "denied: these arguments to git are not allowed by this agent's policy");
    const char *gitc[] = {"git", "-c", "core.pager=sh", "status", NULL};
    CHECK_INT(bt_policy_argv(&p, gitc, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg, "denied: git -c is an escape hatch the policy does not allow");
    const char *fexec[] = {"find", ".", "-exec", "sh", ";", NULL};
    CHECK_INT(bt_policy_argv(&p, fexec, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg, "denied: find -exec is an escape hatch the policy does not allow");
    const char *env[] = {"env", "sh", NULL};
    CHECK_INT(bt_policy_argv(&p, env, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg,
              "denied: env runs other programs (an escape hatch) and the policy does not allow it");
    const char *py[] = {"python3", "-Sc", "print(1)", NULL};
    CHECK_INT(bt_policy_argv(&p, py, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg, "denied: python3 -Sc is an escape hatch the policy does not allow");
    const char *sh[] = {"sh", "-c", "true", NULL};
    CHECK_INT(bt_policy_argv(&p, sh, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg, "denied: sh is a shell and this agent's policy does not allow a shell");
    p.shell = 1;
    CHECK_INT(bt_policy_argv(&p, sh, exe, sizeof exe, &e), 0);
    const char *abs[] = {"/bin/true", NULL};
    CHECK_INT(bt_policy_argv(&p, abs, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg, "denied: program '/bin/true' must be a bare name found on the PATH "
                     "(/usr/local/bin:/usr/bin:/bin)");
    const char *curl[] = {"curl", NULL};
    CHECK_INT(bt_policy_argv(&p, curl, exe, sizeof exe, &e), -1);
    CHECK_STR(e.msg, "denied: program curl is not allowed by this agent's policy");
    p.cmds[1].escapes = 1;
    CHECK_INT(bt_policy_argv(&p, fexec, exe, sizeof exe, &e), 0);
    bt_policy_free(&p);
}

int main(void) {
    test_glob();
    test_glob_hostile();
    test_normalize();
    test_paths();
    test_argv();
    CHECK_DONE();
}

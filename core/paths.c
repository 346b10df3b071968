/* paths.c: locating the Lua half of baton and building package.path.
 * Debian's default path starts with ./?.lua and honours LUA_PATH; baton
 * replaces it entirely so a file planted in the working directory or an
 * inherited LUA_PATH can never hijack the runtime. */
#include "paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int has_cli(const char *root) {
    char probe[PATH_MAX];
    if (snprintf(probe, sizeof probe, "%s/lua/baton/cli.lua", root) >= (int)sizeof probe)
        return 0;
    return access(probe, R_OK) == 0;
}

static int exe_dir(const char *exe, char *out, size_t n) {
    char resolved[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", resolved, sizeof resolved - 1);
    if (len > 0) {
        resolved[len] = '\0';
    } else if (!exe || !realpath(exe, resolved)) {
        return -1;
    }
    return snprintf(out, n, "%s", dirname(resolved)) >= (int)n ? -1 : 0;
}

int bt_find_root(const char *exe, const char *src_dir, const char *data_subdir,
                 char *out, size_t n) {
    char dir[PATH_MAX], cand[PATH_MAX];
    if (exe_dir(exe, dir, sizeof dir) == 0 &&
        snprintf(cand, sizeof cand, "%s/../%s", dir, data_subdir) < (int)sizeof cand &&
        has_cli(cand) && realpath(cand, dir)) {
        return snprintf(out, n, "%s", dir) >= (int)n ? -1 : 0;
    }
    if (src_dir && has_cli(src_dir))
        return snprintf(out, n, "%s", src_dir) >= (int)n ? -1 : 0;
    return -1;
}

/* A growable string; on allocation failure buf becomes NULL and stays so. */
typedef struct {
    char *buf;
    size_t len, cap;
} strbuf;

static void sb_add(strbuf *sb, const char *s, size_t n) {
    if (!sb->buf) return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = (sb->len + n + 1) * 2;
        char *nb = realloc(sb->buf, cap);
        if (!nb) {
            free(sb->buf);
            sb->buf = NULL;
            return;
        }
        sb->buf = nb;
        sb->cap = cap;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

/* Adds "dir/?.lua;dir/?/init.lua;" for one search folder. */
static void add_folder(strbuf *sb, const char *dir, size_t n) {
    static const char *const tails[] = {"/?.lua;", "/?/init.lua;"};
    for (int i = 0; i < 2; i++) {
        sb_add(sb, dir, n);
        sb_add(sb, tails[i], strlen(tails[i]));
    }
}

char *bt_build_lua_path(const char *project, const char *baton_path, const char *root) {
    strbuf sb = {malloc(256), 0, 256};
    if (!sb.buf) return NULL;
    sb.buf[0] = '\0';
    if (project && *project) {
        char dot[PATH_MAX];
        int len = snprintf(dot, sizeof dot, "%s/.baton", project);
        if (len > 0 && len < (int)sizeof dot) add_folder(&sb, dot, (size_t)len);
    }
    for (const char *p = baton_path; p && *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0) add_folder(&sb, p, n);
        p = end ? end + 1 : p + n;
    }
    static const char *const builtin[] = {"/lua", "/policies", "/agents"};
    for (int i = 0; i < 3; i++) {
        char dir[PATH_MAX];
        int len = snprintf(dir, sizeof dir, "%s%s", root, builtin[i]);
        if (len > 0 && len < (int)sizeof dir) add_folder(&sb, dir, (size_t)len);
    }
    if (sb.buf && sb.len > 0) sb.buf[--sb.len] = '\0'; /* drop the last ';' */
    return sb.buf;
}

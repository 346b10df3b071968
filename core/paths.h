/* paths.h: where baton finds its Lua half, and the package.path it builds.
 * Engine code without lua.h so that tests/c can check it directly.
 * The search order is fixed here, in one place: the project's .baton/ folder,
 * each folder of BATON_PATH, then the built-in lua/, policies/ and agents/. */
#ifndef BATON_PATHS_H
#define BATON_PATHS_H
#include <stddef.h>

/* Finds the folder holding lua/baton/cli.lua: first <exe_dir>/../<data_subdir>
 * (an installed baton), then src_dir (a build tree). Writes it to out.
 * Returns 0, or -1 when neither exists. exe may be relative or absolute. */
int bt_find_root(const char *exe, const char *src_dir, const char *data_subdir,
                 char *out, size_t n);

/* Builds the package.path for project folder project (may be NULL),
 * BATON_PATH value baton_path (may be NULL; ':'-separated, empty items
 * skipped) and root. Returns a malloc'd string the caller frees, or NULL
 * when out of memory. */
char *bt_build_lua_path(const char *project, const char *baton_path, const char *root);

#endif

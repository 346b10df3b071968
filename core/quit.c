/* quit.c: the quick exit's flag and SQLite's allocator (see quit.h). The
 * allocator is malloc's, sized by malloc_usable_size as SQLite's own default
 * on glibc, so it costs a run nothing; only its free looks at the flag. */
#include "quit.h"

#include <malloc.h>
#include <sqlite3.h>
#include <stdlib.h>

static int quitting;

void bt_quit_begin(void) {
    quitting = 1;
}

int bt_quitting(void) {
    return quitting;
}

static void *mem_malloc(int n) {
    return malloc((size_t)n);
}

static void mem_free(void *p) {
    if (!quitting) free(p);
}

static void *mem_realloc(void *p, int n) {
    return realloc(p, (size_t)n);
}

static int mem_size(void *p) {
    return (int)malloc_usable_size(p);
}

static int mem_roundup(int n) {
    return (n + 7) & ~7;
}

static int mem_init(void *ud) {
    (void)ud;
    return SQLITE_OK;
}

static void mem_shutdown(void *ud) {
    (void)ud;
}

int bt_quit_sqlite_memory(void) {
    static const sqlite3_mem_methods methods = {.xMalloc = mem_malloc,
                                                .xFree = mem_free,
                                                .xRealloc = mem_realloc,
                                                .xSize = mem_size,
                                                .xRoundup = mem_roundup,
                                                .xInit = mem_init,
                                                .xShutdown = mem_shutdown};
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}

/* lalloc.h: the allocator of baton's Lua state (engine file, no lua.h).
 * bt_lalloc has lua_Alloc's signature: it keeps the heap under a cap
 * (BATON_MAX_MEMORY_MB) and serves small blocks from size-class free lists
 * carved out of 64 KB chunks, so the Lua VM's many short-lived tables,
 * strings and closures skip malloc/free. Larger blocks go to realloc/free. */
#ifndef BATON_LALLOC_H
#define BATON_LALLOC_H
#include <stddef.h>

#define BT_LALLOC_STEP 8          /* class sizes are multiples of this */
#define BT_LALLOC_MAX 512         /* largest pooled block; larger ones use malloc */
#define BT_LALLOC_CLASSES (BT_LALLOC_MAX / BT_LALLOC_STEP + 1)
#define BT_LALLOC_CHUNK 65536     /* bytes per chunk, header included */

typedef struct bt_lheap {
    size_t used, limit; /* bytes Lua holds (its own sizes) and the cap on them */
    int exiting;        /* lua_close at exit: the frees are left to the kernel */
    int pooled;         /* whether small blocks come from the pool */
    void *free[BT_LALLOC_CLASSES]; /* per class: a list linked through the blocks */
    char *bump, *end;   /* the unused rest of the newest chunk */
    void *chunks;       /* every chunk, linked through its first word */
    size_t nchunks;
} bt_lheap;

/* Sets up an empty heap capped at limit bytes; the pool is on unless the
 * build runs under AddressSanitizer (see lalloc.c). */
void bt_lalloc_init(bt_lheap *h, size_t limit);

/* lua_Alloc: frees when nsize == 0, else (re)allocates ptr (osize bytes when
 * ptr is not NULL) to nsize bytes; NULL when the cap or memory runs out. */
void *bt_lalloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Gives every chunk back to malloc; blocks still held from the pool die with
 * them (for after lua_close, and for tests). The heap is empty again. */
void bt_lalloc_release(bt_lheap *h);

#endif

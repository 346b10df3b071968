/* lalloc.c: the Lua state's allocator (see lalloc.h). Lua tells the allocator
 * the old size of every block it reallocates or frees, so a pooled block needs
 * no header: its size class follows from that size. Blocks of up to
 * BT_LALLOC_MAX bytes come from per-class free lists refilled from a bump
 * pointer in 64 KB chunks; chunks are kept for the life of the process (a run
 * reuses its freed blocks). A block changing class moves (alloc+copy+free). */
#include "lalloc.h"

#include <stdlib.h>
#include <string.h>

/* Under AddressSanitizer the pool is off: ASan sees only malloc's blocks, so
 * a use-after-free or overflow inside a pooled chunk would go unnoticed. */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_DEFAULT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_DEFAULT 0
#endif
#endif
#ifndef POOL_DEFAULT
#define POOL_DEFAULT 1
#endif

#define CHUNK_HEADER 16 /* the chunk list link, padded to keep 16-byte alignment */

void bt_lalloc_init(bt_lheap *h, size_t limit) {
    memset(h, 0, sizeof *h);
    h->limit = limit;
    h->pooled = POOL_DEFAULT;
}

static size_t class_of(size_t size) { return (size + BT_LALLOC_STEP - 1) / BT_LALLOC_STEP; }

static void pool_put(bt_lheap *h, void *block, size_t cls) {
    *(void **)block = h->free[cls];
    h->free[cls] = block;
}

/* A fresh chunk becomes the bump region; what was left of the previous one
 * (less than the block asked for) goes to the free list of its own size. */
static int new_chunk(bt_lheap *h) {
    char *chunk = malloc(BT_LALLOC_CHUNK);
    if (!chunk) return 0;
    size_t rest = (size_t)(h->end - h->bump);
    if (rest >= BT_LALLOC_STEP) pool_put(h, h->bump, rest / BT_LALLOC_STEP);
    *(void **)chunk = h->chunks;
    h->chunks = chunk;
    h->nchunks++;
    h->bump = chunk + CHUNK_HEADER;
    h->end = chunk + BT_LALLOC_CHUNK;
    return 1;
}

/* A block of class cls from its free list or the bump region; NULL when
 * both are empty (inline: it is most of the fast path). */
static inline void *take(bt_lheap *h, size_t cls) {
    void **block = h->free[cls];
    if (block) {
        h->free[cls] = *block;
        return block;
    }
    size_t size = cls * BT_LALLOC_STEP;
    if ((size_t)(h->end - h->bump) < size) return NULL;
    block = (void **)h->bump;
    h->bump += size;
    return block;
}

static void *pool_get(bt_lheap *h, size_t cls) {
    void *block = take(h, cls);
    return block || !new_chunk(h) ? block : take(h, cls);
}

static void give_back(bt_lheap *h, void *ptr, size_t size) {
    if (size <= BT_LALLOC_MAX) pool_put(h, ptr, class_of(size));
    else free(ptr);
}

/* (Re)allocation with the pool on; old is 0 when ptr is NULL. */
static void *pool_realloc(bt_lheap *h, void *ptr, size_t old, size_t nsize) {
    int small = nsize <= BT_LALLOC_MAX;
    if (ptr) {
        if (old > BT_LALLOC_MAX && !small) return realloc(ptr, nsize);
        if (old <= BT_LALLOC_MAX && small && class_of(old) == class_of(nsize)) return ptr;
    }
    void *p = small ? pool_get(h, class_of(nsize)) : malloc(nsize);
    if (!p) {
        /* Lua counts on a shrink never failing: the old block is big enough,
         * and once freed as nsize bytes it serves that class (never malloc) */
        return ptr && nsize < old ? ptr : NULL;
    }
    if (ptr) {
        memcpy(p, ptr, old < nsize ? old : nsize);
        give_back(h, ptr, old);
    }
    return p;
}

/* Everything but the common cases bt_lalloc handles itself. Kept out of
 * line so that the fast paths need no saved registers. */
__attribute__((noinline)) static void *slow_alloc(bt_lheap *h, void *ptr, size_t osize,
                                                  size_t nsize) {
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr && !h->exiting) {
            if (h->pooled) give_back(h, ptr, old);
            else free(ptr);
        }
        h->used -= old;
        return NULL;
    }
    if (nsize > old && h->used - old + nsize > h->limit) return NULL;
    void *p = h->pooled ? pool_realloc(h, ptr, old, nsize) : realloc(ptr, nsize);
    if (p) h->used = h->used - old + nsize;
    return p;
}

/* The fast paths: freeing a small block and taking a new one off a free
 * list or the bump region (Lua's object births and deaths); the accounting
 * is the same as in slow_alloc. */
void *bt_lalloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    bt_lheap *h = ud;
    if (!h->pooled) return slow_alloc(h, ptr, osize, nsize);
    if (nsize == 0) {
        if (ptr && osize <= BT_LALLOC_MAX) {
            if (!h->exiting) pool_put(h, ptr, class_of(osize));
            h->used -= osize;
            return NULL;
        }
    } else if (!ptr && nsize <= BT_LALLOC_MAX && h->used + nsize <= h->limit) {
        void *block = take(h, class_of(nsize));
        if (block) {
            h->used += nsize;
            return block;
        }
    }
    return slow_alloc(h, ptr, osize, nsize);
}

void bt_lalloc_release(bt_lheap *h) {
    while (h->chunks) {
        void *next = *(void **)h->chunks;
        free(h->chunks);
        h->chunks = next;
    }
    memset(h->free, 0, sizeof h->free);
    h->bump = h->end = NULL;
    h->nchunks = 0;
}

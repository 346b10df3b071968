/* test_lalloc.c: the Lua state's allocator (core/lalloc.c) driven directly
 * through its lua_Alloc entry: class boundaries, block reuse, moves between
 * classes and to/from malloc with contents kept, a long random mix checked
 * byte for byte, and the memory cap. The pool is forced on for most cases so
 * that ASan builds (where it is off by default) test its logic too. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "lalloc.h"

#define NO_CAP ((size_t)1 << 40)

static void *al(bt_lheap *h, void *p, size_t o, size_t n) { return bt_lalloc(h, p, o, n); }

static void pooled_heap(bt_lheap *h, size_t limit) {
    bt_lalloc_init(h, limit);
    h->pooled = 1;
}

/* Whether p lies inside one of h's chunks. */
static int in_pool(const bt_lheap *h, const void *p) {
    for (char *c = h->chunks; c; c = *(char **)c)
        if ((const char *)p >= c && (const char *)p < c + BT_LALLOC_CHUNK) return 1;
    return 0;
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed * 31u + i * 7u + 1u);
}

static int intact(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31u + i * 7u + 1u)) return 0;
    return 1;
}

/* The default follows the build: off under AddressSanitizer, on otherwise. */
static void test_default(void) {
    bt_lheap h;
    bt_lalloc_init(&h, 1000);
#if defined(__SANITIZE_ADDRESS__)
    CHECK_INT(h.pooled, 0);
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    CHECK_INT(h.pooled, 0);
#else
    CHECK_INT(h.pooled, 1);
#endif
#else
    CHECK_INT(h.pooled, 1);
#endif
    CHECK_INT(h.used, 0);
    CHECK_INT(h.limit, 1000);
}

/* Sizes 8k-7 .. 8k share a class (a freed block comes back for any of them);
 * 8k+1 is the next class; above BT_LALLOC_MAX blocks come from malloc. */
static void test_class_boundaries(void) {
    bt_lheap h;
    pooled_heap(&h, NO_CAP);
    for (size_t top = BT_LALLOC_STEP; top <= BT_LALLOC_MAX; top += BT_LALLOC_STEP) {
        void *a = al(&h, NULL, 0, top);
        CHECK(a && in_pool(&h, a));
        CHECK_INT((uintptr_t)a % 8, 0);
        fill(a, top, (unsigned)top);
        void *b = al(&h, NULL, 0, top + 1); /* next class: another block */
        CHECK(b && b != a);
        fill(b, top + 1, 3);
        CHECK(intact(a, top, (unsigned)top));
        al(&h, a, top, 0);
        void *c = al(&h, NULL, 0, top - BT_LALLOC_STEP + 1); /* same class: a again */
        CHECK(c == a);
        al(&h, c, top - BT_LALLOC_STEP + 1, 0);
        al(&h, b, top + 1, 0);
    }
    CHECK_INT(h.used, 0);
    size_t chunks = h.nchunks;
    void *big = al(&h, NULL, 0, BT_LALLOC_MAX + 1);
    CHECK(big && !in_pool(&h, big));
    CHECK_INT(h.nchunks, chunks);
    fill(big, BT_LALLOC_MAX + 1, 9);
    CHECK(intact(big, BT_LALLOC_MAX + 1, 9));
    al(&h, big, BT_LALLOC_MAX + 1, 0);
    CHECK_INT(h.used, 0);
    bt_lalloc_release(&h);
    CHECK_INT(h.nchunks, 0);
    CHECK(h.chunks == NULL);
}

/* Whether p[k] == k + 1 (mod 256) for k < n. */
static int counted(const unsigned char *p, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (p[k] != (unsigned char)(k + 1)) return 0;
    return 1;
}

/* One block grown byte by byte from 1 to 2000 bytes and shrunk back: it moves
 * across every class and to and from malloc, keeping what it held. */
static void test_realloc_walk(void) {
    bt_lheap h;
    pooled_heap(&h, NO_CAP);
    unsigned char *p = al(&h, NULL, 0, 1);
    p[0] = 1;
    for (size_t n = 2; n <= 2000; n++) {
        unsigned char *q = al(&h, p, n - 1, n);
        CHECK(q != NULL);
        if (!q) return;
        CHECK(counted(q, n - 1));
        CHECK((n <= BT_LALLOC_MAX) == in_pool(&h, q));
        /* within a class the block stays put */
        if (n <= BT_LALLOC_MAX && (n - 1) % BT_LALLOC_STEP != 0) CHECK(q == p);
        q[n - 1] = (unsigned char)n;
        p = q;
    }
    for (size_t n = 2000; n > 1; n--) {
        unsigned char *q = al(&h, p, n, n - 1);
        CHECK(q != NULL);
        if (!q) return;
        CHECK(counted(q, n - 1));
        p = q;
    }
    CHECK_INT(h.used, 1);
    al(&h, p, 1, 0);
    CHECK_INT(h.used, 0);
    bt_lalloc_release(&h);
}

/* Jumps: small to big and back, big to big, and a class to a far one. */
static void test_realloc_jumps(void) {
    bt_lheap h;
    pooled_heap(&h, NO_CAP);
    void *p = al(&h, NULL, 0, 24);
    fill(p, 24, 1);
    p = al(&h, p, 24, 5000); /* to malloc */
    CHECK(p && !in_pool(&h, p) && intact(p, 24, 1));
    fill(p, 5000, 2);
    p = al(&h, p, 5000, 100000); /* malloc to malloc */
    CHECK(p && intact(p, 5000, 2));
    p = al(&h, p, 100000, 40); /* back to the pool */
    CHECK(p && in_pool(&h, p) && intact(p, 40, 2));
    p = al(&h, p, 40, 512); /* far class */
    CHECK(p && in_pool(&h, p) && intact(p, 40, 2));
    fill(p, 512, 3);
    p = al(&h, p, 512, 8);
    CHECK(p && intact(p, 8, 3));
    CHECK_INT(h.used, 8);
    al(&h, p, 8, 0);
    CHECK_INT(h.used, 0);
    bt_lalloc_release(&h);
}

/* When a chunk cannot hold the next block, its tail serves its own class:
 * 127 blocks of 512 bytes leave 496 of the first chunk's 65520. */
static void test_chunk_tail(void) {
    bt_lheap h;
    pooled_heap(&h, NO_CAP);
    enum { N = 128 };
    void *v[N];
    for (int i = 0; i < N; i++) v[i] = al(&h, NULL, 0, 512);
    CHECK_INT(h.nchunks, 2);
    char *first = *(char **)h.chunks; /* the list is newest first */
    CHECK(v[126] == first + 16 + 126 * 512);
    char *tail = al(&h, NULL, 0, 496);
    CHECK(tail == first + 16 + 127 * 512);
    al(&h, tail, 496, 0);
    for (int i = 0; i < N; i++) al(&h, v[i], 512, 0);
    CHECK_INT(h.used, 0);
    bt_lalloc_release(&h);
}

static unsigned rnd(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return (unsigned)(*s >> 11);
}

/* Many blocks allocated, grown, shrunk and freed in a fixed pseudo-random
 * order; every block's bytes are checked before it changes and at the end. */
static void random_mix(bt_lheap *h) {
    enum { SLOTS = 3000, STEPS = 60000 };
    static unsigned char *ptr[SLOTS];
    static size_t len[SLOTS];
    static unsigned seed[SLOTS];
    uint64_t s = 0x9e3779b97f4a7c15u;
    size_t total = 0;
    memset(ptr, 0, sizeof ptr);
    for (int step = 0; step < STEPS; step++) {
        unsigned i = rnd(&s) % SLOTS, r = rnd(&s);
        size_t n = r % 8 == 0 ? 513 + r % 3000 : 1 + r % 600;
        if (ptr[i]) CHECK(intact(ptr[i], len[i], seed[i]));
        if (ptr[i] && r % 3 == 0) { /* free */
            al(h, ptr[i], len[i], 0);
            total -= len[i];
            ptr[i] = NULL;
            continue;
        }
        unsigned char *q = al(h, ptr[i], ptr[i] ? len[i] : 0, n);
        CHECK(q != NULL);
        if (!q) return;
        if (ptr[i]) CHECK(intact(q, len[i] < n ? len[i] : n, seed[i]));
        total += n - (ptr[i] ? len[i] : 0);
        ptr[i] = q, len[i] = n, seed[i] = (unsigned)step;
        fill(q, n, seed[i]);
    }
    CHECK_INT(h->used, total);
    for (int i = 0; i < SLOTS; i++) {
        if (!ptr[i]) continue;
        CHECK(intact(ptr[i], len[i], seed[i]));
        al(h, ptr[i], len[i], 0);
    }
    CHECK_INT(h->used, 0);
}

static void test_random(void) {
    bt_lheap h;
    pooled_heap(&h, NO_CAP);
    random_mix(&h);
    CHECK(h.nchunks > 0);
    bt_lalloc_release(&h);
    bt_lalloc_init(&h, NO_CAP); /* the same with the pool off: plain malloc */
    h.pooled = 0;
    random_mix(&h);
    CHECK_INT(h.nchunks, 0);
}

/* The cap counts Lua's own sizes: growing past it fails and leaves the block
 * and the count alone; shrinking and freeing always work. */
static void cap_case(int pooled) {
    bt_lheap h;
    bt_lalloc_init(&h, 1000);
    h.pooled = pooled;
    unsigned char *a = al(&h, NULL, 0, 600);
    CHECK(a != NULL);
    CHECK_INT(h.used, 600);
    CHECK(al(&h, NULL, 0, 401) == NULL);
    CHECK(al(&h, NULL, 0, 401) == NULL);
    CHECK_INT(h.used, 600);
    void *b = al(&h, NULL, 0, 400); /* exactly at the cap */
    CHECK(b != NULL);
    CHECK_INT(h.used, 1000);
    CHECK(al(&h, NULL, 0, 1) == NULL);
    fill(a, 600, 5);
    CHECK(al(&h, a, 600, 601) == NULL);
    CHECK(intact(a, 600, 5));
    CHECK_INT(h.used, 1000);
    a = al(&h, a, 600, 100); /* shrink: always granted */
    CHECK(a && intact(a, 100, 5));
    CHECK_INT(h.used, 500);
    a = al(&h, a, 100, 600);
    CHECK(a && intact(a, 100, 5));
    CHECK_INT(h.used, 1000);
    al(&h, b, 400, 0);
    CHECK_INT(h.used, 600);
    al(&h, NULL, 77, 0); /* free(NULL): osize is a type tag, not counted */
    CHECK_INT(h.used, 600);
    al(&h, a, 600, 0);
    CHECK_INT(h.used, 0);
    bt_lalloc_release(&h);
}

static void test_cap(void) {
    cap_case(1);
    cap_case(0);
}

/* At exit frees only count: a pooled block is not put back for reuse. */
static void test_exiting(void) {
    bt_lheap h;
    pooled_heap(&h, NO_CAP);
    void *a = al(&h, NULL, 0, 32);
    h.exiting = 1;
    al(&h, a, 32, 0);
    CHECK_INT(h.used, 0);
    CHECK(h.free[32 / BT_LALLOC_STEP] == NULL);
    h.exiting = 0;
    void *b = al(&h, NULL, 0, 32);
    CHECK(b != a);
    al(&h, b, 32, 0);
    bt_lalloc_release(&h);
}

int main(void) {
    test_default();
    test_class_boundaries();
    test_realloc_walk();
    test_realloc_jumps();
    test_chunk_tail();
    test_random();
    test_cap();
    test_exiting();
    CHECK_DONE();
}

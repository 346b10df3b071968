/* aliases.c: see aliases.h. An open-addressing table (linear probing, at
 * most half full) built once per set of names, probed once per word of a
 * request: no Lua string is made per word, which is what string.gsub with a
 * table cost (most words are prose and never match). */
#include "aliases.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *word; /* word then replacement, one allocation; NULL: empty slot */
    size_t wn, rn;
} slot;

struct bt_aliases {
    size_t cap, n, max; /* cap a power of two >= 2 * max */
    uint64_t lengths;   /* bit min(length, 63) for each word present */
    uint64_t first[4];  /* bit c for each first byte c */
    slot slots[];
};

/* Whether a word of wn bytes starting with c may have a replacement: most
 * words of a request are prose, never names, and stop here. */
static int may_have(const bt_aliases *a, unsigned char c, size_t wn) {
    return (a->lengths >> (wn < 63 ? wn : 63) & 1) && (a->first[c >> 6] >> (c & 63) & 1);
}

/* Eight bytes a round: the loop's own counting and test once per eight
 * (a request key hashes ~3 kB of tool schemas; the hash itself is serial). */
uint64_t bt_fnv(uint64_t h, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    for (; end - p >= 8; p += 8) {
        h = (h ^ p[0]) * BT_FNV_PRIME;
        h = (h ^ p[1]) * BT_FNV_PRIME;
        h = (h ^ p[2]) * BT_FNV_PRIME;
        h = (h ^ p[3]) * BT_FNV_PRIME;
        h = (h ^ p[4]) * BT_FNV_PRIME;
        h = (h ^ p[5]) * BT_FNV_PRIME;
        h = (h ^ p[6]) * BT_FNV_PRIME;
        h = (h ^ p[7]) * BT_FNV_PRIME;
    }
    while (p < end)
        h = (h ^ *p++) * BT_FNV_PRIME;
    return h;
}

/* Lua's %w in the C locale: ASCII letters and digits. */
#define D10 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
#define L26 D10, D10, 1, 1, 1, 1, 1, 1
static const unsigned char word_byte[256] = {
    ['0'] = D10, ['A'] = L26, ['a'] = L26,
};

int bt_is_word_byte(unsigned char c) {
    return word_byte[c];
}

bt_aliases *bt_aliases_new(size_t n) {
    size_t cap = 8;
    while (cap < 2 * n)
        cap *= 2;
    bt_aliases *a = calloc(1, sizeof *a + cap * sizeof(slot));
    if (!a) return NULL;
    a->cap = cap;
    a->max = n;
    return a;
}

void bt_aliases_free(bt_aliases *a) {
    if (!a) return;
    for (size_t i = 0; i < a->cap; i++)
        free(a->slots[i].word);
    free(a);
}

static size_t find_slot(const bt_aliases *a, const char *w, size_t wn) {
    size_t i = (size_t)bt_fnv(BT_FNV_OFFSET, w, wn) & (a->cap - 1);
    while (a->slots[i].word &&
           !(a->slots[i].wn == wn && memcmp(a->slots[i].word, w, wn) == 0))
        i = (i + 1) & (a->cap - 1);
    return i;
}

int bt_aliases_add(bt_aliases *a, const char *word, size_t wn, const char *rep, size_t rn) {
    size_t i = find_slot(a, word, wn);
    if (a->slots[i].word) return 0;
    if (a->n == a->max) return -1;
    char *p = malloc(wn + rn + 1);
    if (!p) return -1;
    memcpy(p, word, wn);
    memcpy(p + wn, rep, rn);
    a->slots[i] = (slot){p, wn, rn};
    a->n++;
    a->lengths |= 1ULL << (wn < 63 ? wn : 63);
    if (wn) a->first[(unsigned char)word[0] >> 6] |= 1ULL << ((unsigned char)word[0] & 63);
    return 0;
}

const char *bt_aliases_find(const bt_aliases *a, const char *word, size_t wn, size_t *rn) {
    const slot *s = &a->slots[find_slot(a, word, wn)];
    if (!s->word) return NULL;
    *rn = s->rn;
    return s->word + wn;
}

/* Each word is hashed as it is scanned (one pass; most words are prose),
 * and hashed again from the state before it in the rare case it is renamed. */
uint64_t bt_fnv_aliased(const bt_aliases *a, uint64_t h, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        if (!word_byte[*p]) {
            h = (h ^ *p++) * BT_FNV_PRIME;
            continue;
        }
        const unsigned char *w = p;
        uint64_t before = h;
        do
            h = (h ^ *p++) * BT_FNV_PRIME;
        while (p < end && word_byte[*p]);
        size_t rn, wn = (size_t)(p - w);
        const char *r = may_have(a, *w, wn) ? bt_aliases_find(a, (const char *)w, wn, &rn) : NULL;
        if (r) h = bt_fnv(before, r, rn);
    }
    return h;
}

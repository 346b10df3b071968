/* aliases.h: a fixed set of word -> replacement pairs and the FNV-1a 64
 * hash of a text with its words replaced, for LLM request keys (baton.canon's
 * request_key; lua/baton/llmcall.lua renames a run's random ids to stable
 * names). A word is a maximal run of ASCII letters and digits, as Lua's %w
 * in the C locale. Engine code without lua.h; tests/c/test_aliases.c. */
#ifndef BATON_ALIASES_H
#define BATON_ALIASES_H
#include <stddef.h>
#include <stdint.h>

#define BT_FNV_OFFSET 0xcbf29ce484222325ULL
#define BT_FNV_PRIME 0x100000001b3ULL

typedef struct bt_aliases bt_aliases;

bt_aliases *bt_aliases_new(size_t n); /* room for n pairs; NULL without memory */
void bt_aliases_free(bt_aliases *a);
/* Copies the pair; a word already present keeps its first replacement.
 * Returns 0, or -1 when full or out of memory. */
int bt_aliases_add(bt_aliases *a, const char *word, size_t wn, const char *rep, size_t rn);
/* The replacement of word (wn bytes), NULL when it has none. */
const char *bt_aliases_find(const bt_aliases *a, const char *word, size_t wn, size_t *rn);

uint64_t bt_fnv(uint64_t h, const char *s, size_t n); /* continues FNV-1a 64 from h */
int bt_is_word_byte(unsigned char c);
/* Continues h over s with every word that has a replacement replaced. */
uint64_t bt_fnv_aliased(const bt_aliases *a, uint64_t h, const char *s, size_t n);

#endif

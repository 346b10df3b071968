/* bytecode.c: finds the build-time bytecode of a source text (bytecode.h).
 * The key is the text itself (length and a 64-bit FNV-1a hash, then a
 * check that the chunk came from a text of that length): an edited or
 * user-written file never matches and is parsed as before. */
#include "bytecode.h"

const bt_bytecode *bt_bytecode_find(const char *text, size_t len) {
    unsigned long long h = 0;
    for (int i = 0; i < bt_bytecode_count; i++) {
        const bt_bytecode *c = &bt_bytecode_chunks[i];
        if (c->srclen != len) continue;
        if (h == 0) h = bt_bytecode_hash(text, len);
        if (c->hash == h) return c;
    }
    return NULL;
}

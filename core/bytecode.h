/* bytecode.h: baton's own Lua files, compiled at build time (tools/bt_embed.c
 * writes the table into the build folder). A source text that matches one
 * byte for byte loads from its bytecode instead of being parsed: the
 * start-up of every command parses ~120 KB of Lua otherwise. */
#ifndef BT_BYTECODE_H
#define BT_BYTECODE_H

#include <stddef.h>

/* Chunks are compiled under this name; the loader puts the real one in its
 * place (the main function's source string, right after the header). */
#define BT_BYTECODE_NAME "=?"
#define BT_BYTECODE_SRC_AT 32 /* 31-byte Lua 5.4 header + the upvalue count */

typedef struct {
    unsigned long long hash; /* bt_bytecode_hash of the source text */
    size_t srclen;
    const unsigned char *code;
    size_t codelen;
} bt_bytecode;

extern const bt_bytecode bt_bytecode_chunks[];
extern const int bt_bytecode_count;

/* 64-bit FNV-1a (inline: the build-time tool uses it without the table). */
static inline unsigned long long bt_bytecode_hash(const char *text, size_t len) {
    unsigned long long h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The chunk compiled from exactly this text, or NULL. */
const bt_bytecode *bt_bytecode_find(const char *text, size_t len);

#endif

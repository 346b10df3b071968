/* sha256.h: SHA-256 (FIPS 180-4), written from the specification, for the
 * harness's content-addressed workspace snapshots (core/snapshot.c).
 * Engine code without lua.h; tested against the standard vectors in
 * tests/c/test_sha256.c. */
#ifndef BATON_SHA256_H
#define BATON_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct bt_sha256 {
    uint32_t h[8];
    uint64_t len;    /* bytes hashed so far */
    uint8_t buf[64]; /* pending partial block */
    size_t nbuf;
} bt_sha256;

void bt_sha256_init(bt_sha256 *c);
void bt_sha256_update(bt_sha256 *c, const void *data, size_t n);
void bt_sha256_final(bt_sha256 *c, uint8_t out[32]);
/* One-shot digest as 64 lowercase hex characters plus NUL. */
void bt_sha256_hex(const void *data, size_t n, char hex[65]);
void bt_sha256_tohex(const uint8_t d[32], char hex[65]);
/* Whether the CPU's SHA extensions are used (x86-64); on = 0 turns them
 * off, 1 back on where the CPU has them, -1 only asks. Returns the state
 * before the call. The test compares the two ways. */
int bt_sha256_accel(int on);

#endif

/* test_sha256.c: SHA-256 against the FIPS 180-4 / NIST example vectors,
 * including the one-million-'a' message fed in uneven pieces, both with the
 * CPU's SHA extensions (where there are any) and without; and the two ways
 * against each other on pseudo-random messages of every length to 300 bytes
 * and larger ones, fed whole and in pieces. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sha256.h"

static void vec(const char *msg, const char *want) {
    char hex[65];
    bt_sha256_hex(msg, strlen(msg), hex);
    CHECK_STR(hex, want);
}

static void vectors(void);

/* The digest of data[0..n) fed in pieces of step bytes (0: whole). */
static void digest(const uint8_t *data, size_t n, size_t step, char hex[65]) {
    bt_sha256 c;
    uint8_t d[32];
    bt_sha256_init(&c);
    for (size_t at = 0; at < n;) {
        size_t k = step && n - at > step ? step : n - at;
        bt_sha256_update(&c, data + at, k);
        at += k;
    }
    bt_sha256_final(&c, d);
    bt_sha256_tohex(d, hex);
}

static void both_ways(void) {
    static uint8_t data[70000];
    uint32_t x = 2463534242u; /* xorshift: the same bytes on every run */
    for (size_t i = 0; i < sizeof data; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        data[i] = (uint8_t)x;
    }
    static const size_t big[] = {1000, 4096, 65535, 65536, 65537, 70000};
    static const size_t steps[] = {0, 1, 63, 64, 65, 1000};
    for (size_t k = 0; k < 301 + sizeof big / sizeof *big; k++) {
        size_t n = k < 301 ? k : big[k - 301];
        for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
            char fast[65], slow[65];
            bt_sha256_accel(1);
            digest(data, n, steps[s], fast);
            bt_sha256_accel(0);
            digest(data, n, steps[s], slow);
            CHECK_STR(fast, slow);
        }
    }
    bt_sha256_accel(1);
}

int main(void) {
    int accel = bt_sha256_accel(-1);
    printf("# SHA extensions %s\n", accel ? "in use" : "absent: the portable rounds twice");
    vectors();
    bt_sha256_accel(0);
    vectors();
    bt_sha256_accel(1);
    CHECK(bt_sha256_accel(-1) == accel);
    both_ways();
    CHECK_DONE();
}

static void vectors(void) {
    vec("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    vec("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    vec("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    vec("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
        "klmnopqrlmnopqrsmnopqrstnopqrstu",
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    bt_sha256 c;
    uint8_t d[32], chunk[997];
    char hex[65];
    memset(chunk, 'a', sizeof chunk);
    bt_sha256_init(&c);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        bt_sha256_update(&c, chunk, n);
        left -= n;
    }
    bt_sha256_final(&c, d);
    bt_sha256_tohex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

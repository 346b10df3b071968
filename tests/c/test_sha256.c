/* test_sha256.c: SHA-256 against the FIPS 180-4 / NIST example vectors,
 * including the one-million-'a' message fed in uneven pieces. */
#include <string.h>

#include "check.h"
#include "sha256.h"

static void vec(const char *msg, const char *want) {
    char hex[65];
    bt_sha256_hex(msg, strlen(msg), hex);
    CHECK_STR(hex, want);
}

int main(void) {
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
    CHECK_DONE();
}

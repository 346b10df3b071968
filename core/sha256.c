/* sha256.c: SHA-256 per FIPS 180-4 section 6.2; see sha256.h. On x86-64
 * CPUs with the SHA extensions the compression runs on them (about ten times
 * fewer instructions: a snapshot hashes its manifest, one line per file);
 * elsewhere, and under valgrind (which hides them), the portable rounds. */
#include "sha256.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define BT_SHA_NI 1
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* Processes one 512-bit block (FIPS 180-4, 6.2.2). */
static void block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 =
            k + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

#ifdef BT_SHA_NI
/* The rounds on the SHA extensions. The state lives in two registers as
 * the instructions want it: ABEF and CDGH (A in the top lane); each
 * sha256rnds2 does two rounds with W+K in its low lanes and returns the new
 * ABEF, the old ABEF being the new CDGH. */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_ni(uint32_t h[8], const uint8_t *p,
                                                                   size_t n) {
    const __m128i swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* B A D C */
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* H G F E */
    __m128i abef = _mm_alignr_epi8(dcba, hgfe, 8);                                    /* F E B A */
    __m128i cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);                                /* H G D C */
    for (; n; n--, p += 64) {
        __m128i abef0 = abef, cdgh0 = cdgh, m[4];
        for (int i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
        for (int i = 0; i < 16; i++) { /* rounds 4i .. 4i+3 */
            __m128i w = m[i & 3];
            if (i >= 4) { /* W[4i..4i+3] from the four groups before (m[i&3] is i-4) */
                w = _mm_sha256msg1_epu32(m[i & 3], m[(i + 1) & 3]);
                w = _mm_add_epi32(w, _mm_alignr_epi8(m[(i + 3) & 3], m[(i + 2) & 3], 4));
                w = _mm_sha256msg2_epu32(w, m[(i + 3) & 3]);
                m[i & 3] = w;
            }
            __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&K[4 * i]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    __m128i abef_ = _mm_shuffle_epi32(abef, 0x1B); /* A B E F, from the low lane up */
    __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xB1);  /* G H C D */
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(abef_, ghcd, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(ghcd, abef_, 8));
}

static int use_ni = -1; /* -1: not asked yet */

/* CPUID, not __builtin_cpu_supports: clang 14 knows no "sha" feature name.
 * Leaf 1 ECX: SSSE3 bit 9, SSE4.1 bit 19; leaf 7 EBX: SHA bit 29. */
static int ni_ok(void) {
    if (use_ni < 0) {
        unsigned a, b, c, d;
        int base = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 9)) && (c & (1u << 19));
        use_ni = base && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
    }
    return use_ni;
}

int bt_sha256_accel(int on) {
    int was = ni_ok();
    if (on == 0) use_ni = 0;
    else if (on > 0) use_ni = -1, (void)ni_ok();
    return was;
}
#else
int bt_sha256_accel(int on) {
    (void)on;
    return 0;
}
#endif

/* Compresses n whole blocks at p into h. */
static void blocks(uint32_t h[8], const uint8_t *p, size_t n) {
#ifdef BT_SHA_NI
    if (ni_ok()) {
        blocks_ni(h, p, n);
        return;
    }
#endif
    for (; n; n--, p += 64)
        block(h, p);
}

void bt_sha256_init(bt_sha256 *c) {
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, H0, sizeof H0);
    c->len = 0;
    c->nbuf = 0;
}

void bt_sha256_update(bt_sha256 *c, const void *data, size_t n) {
    const uint8_t *p = data;
    c->len += n;
    if (c->nbuf) {
        size_t take = 64 - c->nbuf < n ? 64 - c->nbuf : n;
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += take, p += take, n -= take;
        if (c->nbuf < 64) return;
        blocks(c->h, c->buf, 1);
        c->nbuf = 0;
    }
    blocks(c->h, p, n / 64);
    p += n / 64 * 64, n %= 64;
    memcpy(c->buf, p, n);
    c->nbuf = n;
}

/* Padding (5.1.1): a 1 bit, zeros, then the bit length as 64-bit big endian. */
void bt_sha256_final(bt_sha256 *c, uint8_t out[32]) {
    uint64_t bits = c->len * 8;
    uint8_t pad[72] = {0x80};
    size_t npad = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
    for (int i = 0; i < 8; i++)
        pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
    bt_sha256_update(c, pad, npad + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24), out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8), out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void bt_sha256_tohex(const uint8_t d[32], char hex[65]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++)
        hex[2 * i] = digits[d[i] >> 4], hex[2 * i + 1] = digits[d[i] & 15];
    hex[64] = '\0';
}

void bt_sha256_hex(const void *data, size_t n, char hex[65]) {
    bt_sha256 c;
    uint8_t d[32];
    bt_sha256_init(&c);
    bt_sha256_update(&c, data, n);
    bt_sha256_final(&c, d);
    bt_sha256_tohex(d, hex);
}

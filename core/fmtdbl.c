/* fmtdbl.c: "%.<P>g" of a double in integer arithmetic (see fmtdbl.h). A
 * float in a ledger row or journal payload (a latency) cost ~2.5k
 * instructions in snprintf and ~1k more in strtod for the read-back check;
 * this way ~200. |d| = m * 2^-s exactly, so d * 10^k is the integer m * 10^k
 * over 2^s: 128 bits hold it for fixed-notation results (1e-4 <= |d| <
 * 10^P, non-integral), the only ones taken here; the rest go to snprintf. */
#include "fmtdbl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

#define MAX_K 22 /* 10^22 * 2^53 < 2^127 */

static u128 pow10_128(int k) {
    static const uint64_t p[20] = {1ULL,
                                   10ULL,
                                   100ULL,
                                   1000ULL,
                                   10000ULL,
                                   100000ULL,
                                   1000000ULL,
                                   10000000ULL,
                                   100000000ULL,
                                   1000000000ULL,
                                   10000000000ULL,
                                   100000000000ULL,
                                   1000000000000ULL,
                                   10000000000000ULL,
                                   100000000000000ULL,
                                   1000000000000000ULL,
                                   10000000000000000ULL,
                                   100000000000000000ULL,
                                   1000000000000000000ULL,
                                   10000000000000000000ULL};
    return k < 20 ? (u128)p[k] : (u128)p[19] * p[k - 19];
}

/* The exact decimal form of |d| to prec digits: digits D (10^(prec-1) <= D
 * < 10^prec, rounded to nearest, ties to even, as glibc does) with |d| ~ D
 * * 10^-k; N = |d| * 10^k * 2^s exactly. 0 when outside the fast range. */
typedef struct {
    uint64_t m; /* |d| = m * 2^-s */
    int s, k, x; /* x: the decimal exponent of the first digit */
    u128 n, dig;
} decimal;

static int to_decimal(double d, int prec, decimal *r) {
    if (!isfinite(d) || d == 0 || prec < 1 || prec > 17) return 0;
    int e2;
    double f = frexp(fabs(d), &e2); /* |d| = f * 2^e2, 0.5 <= f < 1 */
    r->m = (uint64_t)ldexp(f, 53);
    r->s = 53 - e2;
    if (r->s <= 0 || r->s > 72 || r->m < (1ULL << 52)) return 0; /* integral, tiny or subnormal */
    int x = (int)floor((e2 - 1) * 0.30102999566398120); /* floor(log10 |d|), or one less */
    for (int tries = 0; tries < 3; tries++) {
        int k = prec - 1 - x;
        if (k < 0 || k > MAX_K) return 0;
        u128 n = (u128)r->m * pow10_128(k), q = n >> r->s;
        if (q < pow10_128(prec - 1)) {
            x--;
            continue;
        }
        if (q >= pow10_128(prec)) {
            x++;
            continue;
        }
        u128 rem = n - (q << r->s), half = (u128)1 << (r->s - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        r->n = n, r->dig = q, r->k = k, r->x = x;
        if (q == pow10_128(prec)) r->x = x + 1; /* 9.99.. rounded up: 1 and zeros */
        return 1;
    }
    return 0;
}

/* Whether strtod of the digits gives d back (prec <= 15: dig << s fits): the decimal lies inside d's
 * rounding interval (half an ulp each side; half of the smaller ulp below a
 * power of two; the ends belong to d when m is even). */
static int reads_back(const decimal *r) {
    u128 v = r->dig << r->s, ten = pow10_128(r->k);
    int below = v < r->n;
    u128 diff = below ? r->n - v : v - r->n;
    u128 twice = (below && r->m == (1ULL << 52)) ? diff << 2 : diff << 1;
    return twice < ten || (twice == ten && (r->m & 1) == 0);
}

/* Fixed notation of r's digits as %g writes it (trailing zeros of the
 * fraction dropped); 0 when %g would use an exponent. */
static size_t put_fixed(const decimal *r, int prec, int negative, char *out) {
    if (r->x < -4 || r->x >= prec) return 0;
    char dig[24];
    uint64_t q = (uint64_t)r->dig; /* below 10^17 + 1: 64-bit division, not 128 */
    int nd = prec;
    if (r->dig == pow10_128(prec)) q = (uint64_t)pow10_128(prec - 1);
    for (int i = nd - 1; i >= 0; i--) {
        dig[i] = (char)('0' + (int)(q % 10));
        q /= 10;
    }
    size_t len = 0;
    if (negative) out[len++] = '-';
    int intlen = r->x >= 0 ? r->x + 1 : 0;
    while (nd > intlen && dig[nd - 1] == '0')
        nd--;
    if (intlen > 0) {
        memcpy(out + len, dig, (size_t)intlen);
        len += (size_t)intlen;
    } else {
        out[len++] = '0';
    }
    if (nd > intlen) {
        out[len++] = '.';
        for (int z = 0; z < -r->x - 1; z++)
            out[len++] = '0';
        memcpy(out + len, dig + intlen, (size_t)(nd - intlen));
        len += (size_t)(nd - intlen);
    }
    out[len] = 0;
    return len;
}

size_t bt_fmt_g_fast(double d, int prec, char *out) {
    decimal r;
    return to_decimal(d, prec, &r) ? put_fixed(&r, prec, d < 0, out) : 0;
}

size_t bt_fmt_g(double d, int prec, char *out) {
    size_t n = bt_fmt_g_fast(d, prec, out);
    return n ? n : (size_t)snprintf(out, 32, "%.*g", prec, d);
}

size_t bt_fmt_shortest(double d, char *out) {
    decimal r;
    if (to_decimal(d, 15, &r)) {
        size_t n = reads_back(&r) ? put_fixed(&r, 15, d < 0, out) : bt_fmt_g_fast(d, 17, out);
        if (n) return n;
    }
    snprintf(out, 32, "%.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, 32, "%.17g", d);
    return strlen(out);
}

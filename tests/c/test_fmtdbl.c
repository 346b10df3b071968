/* test_fmtdbl.c: bt_fmt_g and bt_fmt_shortest against glibc's snprintf
 * (and strtod for the read-back rule) on fixed cases (ties, rounding to the
 * next power of ten, powers of two, the fast path's edges) and on ~200k
 * pseudo-random doubles of every shape the encoders meet. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fmtdbl.h"

static int mismatches = 0;

static void ref_shortest(double d, char *out) {
    snprintf(out, 32, "%.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, 32, "%.17g", d);
}

static void one(double d) {
    char got[40], want[40];
    int precs[] = {17, 15, 1, 6};
    for (int i = 0; i < 4; i++) {
        size_t n = bt_fmt_g(d, precs[i], got);
        snprintf(want, sizeof want, "%.*g", precs[i], d);
        if (strcmp(got, want) != 0 || n != strlen(want)) {
            if (mismatches++ < 10) fprintf(stderr, "%.17g %%.%dg: got %s want %s\n", d, precs[i], got, want);
        }
    }
    size_t n = bt_fmt_shortest(d, got);
    ref_shortest(d, want);
    if (strcmp(got, want) != 0 || n != strlen(want)) {
        if (mismatches++ < 10) fprintf(stderr, "%.17g shortest: got %s want %s\n", d, got, want);
    }
}

static uint64_t state = 88172645463325252ULL;
static uint64_t next(void) { /* xorshift64 */
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static double from_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

int main(void) {
    char out[40];
    bt_fmt_g(0.1, 17, out);
    CHECK_STR(out, "0.10000000000000001");
    bt_fmt_shortest(0.1, out);
    CHECK_STR(out, "0.1");
    bt_fmt_shortest(0.10953296799925738, out);
    CHECK_STR(out, "0.10953296799925738");
    bt_fmt_shortest(-2.5, out);
    CHECK_STR(out, "-2.5");
    bt_fmt_g(0.00012345, 17, out);
    CHECK_STR(out, "0.00012344999999999999");
    bt_fmt_g(1e-5, 17, out); /* an exponent: snprintf's */
    CHECK_STR(out, "1.0000000000000001e-05");
    const double fixed[] = {0.5, 0.25, 0.3, 1.0 / 3, 2.0 / 3, 0.30000000000000004, 9.9999999999999995,
                            0.99999999999999989, 999999999999999.9, 123456789012345.67, 4503599627370495.5,
                            1e15, 1e16, 1e17, 0.0001, 0.00009999999999999999, 1e-4 * (1 + 1e-16),
                            9.5, 0.125, 1.5, 2.5, 1e22, 1e23, 5e-324, 2.2250738585072014e-308,
                            1.7976931348623157e308, 0.0, -0.0, 1.0, 1e300, 123.456, 1234567.0001};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        one(fixed[i]);
        one(-fixed[i]);
        one(nextafter(fixed[i], 0));
        one(nextafter(fixed[i], INFINITY));
    }
    for (int e = -30; e < 60; e++) { /* powers of two: the smaller ulp below */
        one(ldexp(1.0, e));
        one(nextafter(ldexp(1.0, e), 0));
    }
    for (int i = 0; i < 40000; i++) {
        one(from_bits(next()));                                /* any double */
        one((double)(next() >> 11) / 9007199254740992.0);      /* [0, 1) */
        one((double)(next() % 2000000) / 1e6 + 1e-9 * (double)(next() % 1000)); /* latencies */
        one((double)(next() % 100000) / pow(10, (double)(next() % 8))); /* short decimals: ties */
        one(ldexp((double)(next() >> 11), (int)(next() % 120) - 100));   /* every scale */
    }
    CHECK_INT(mismatches, 0);
    /* the fast path is taken where the encoders meet floats */
    int fast = 0;
    for (int i = 0; i < 1000; i++)
        fast += bt_fmt_g_fast((double)(next() % 2000000) / 1e6 + 1e-9, 17, out) > 0;
    CHECK_INT(fast, 1000);
    CHECK(bt_fmt_g_fast(0.1, 15, out) > 0);
    CHECK_STR(out, "0.1");
    CHECK_INT(bt_fmt_g_fast(1e-5, 17, out), 0);
    CHECK_INT(bt_fmt_g_fast(1e300, 17, out), 0);
    CHECK_DONE();
}

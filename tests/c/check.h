/* check.h: a minimal assert header for baton's C unit tests. Each CHECK
 * names its file and line; a test program exits 1 if any check failed. */
#ifndef BATON_CHECK_H
#define BATON_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_failures = 0;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                 \
        }                                                                     \
    } while (0)

#define CHECK_STR(got, want)                                                  \
    do {                                                                      \
        const char *g_ = (got), *w_ = (want);                                 \
        if (!g_ || strcmp(g_, w_) != 0) {                                     \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
                    g_ ? g_ : "(null)", w_);                                  \
            check_failures++;                                                 \
        }                                                                     \
    } while (0)

#define CHECK_INT(got, want)                                                  \
    do {                                                                      \
        long long g_ = (long long)(got), w_ = (long long)(want);              \
        if (g_ != w_) {                                                       \
            fprintf(stderr, "%s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); \
            check_failures++;                                                 \
        }                                                                     \
    } while (0)

#define CHECK_DONE()                                                          \
    do {                                                                      \
        if (check_failures) fprintf(stderr, "%d check(s) failed\n", check_failures); \
        return check_failures ? 1 : 0;                                        \
    } while (0)

#endif

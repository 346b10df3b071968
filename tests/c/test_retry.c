/* test_retry.c: the retry engine (core/retry.c): the budget, the three
 * HTTP-date forms and their bad variants, Retry-After, backoff bounds. */
#include <math.h>

#include "check.h"
#include "retry.h"

static void test_budget(void) {
    bt_budget b;
    bt_budget_init(&b, 2);
    CHECK(!bt_budget_exhausted(&b));
    CHECK_INT(bt_budget_consume(&b), 1);
    CHECK_INT(bt_budget_consume(&b), 1);
    CHECK_INT(bt_budget_consume(&b), 0);
    CHECK(bt_budget_exhausted(&b));
    CHECK_INT(bt_budget_remaining(&b), 0);
    bt_budget_reset(&b);
    CHECK_INT(bt_budget_remaining(&b), 2);
    bt_budget_init(&b, 0);
    CHECK_INT(bt_budget_consume(&b), 0);
}

static void test_dates(void) {
    /* retry-2.1 the three forms of RFC 7231's example date */
    CHECK_INT(bt_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    CHECK_INT(bt_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    CHECK_INT(bt_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    CHECK_INT(bt_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    CHECK_INT(bt_http_date("Tue, 29 Feb 2000 23:59:59 GMT"), 951868799);
    CHECK_INT(bt_http_date("Fri, 31 Dec 2027 12:00:00 GMT"), 1830254400);
    /* retry-2.2 anything else is refused */
    const char *bad[] = {"",
                         "Sun, 6 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Nov 1994 08:49:37 UTC",
                         "Sun, 06 Nov 1994 08:49:37 GMT ",
                         "Sun, 31 Feb 2001 00:00:00 GMT",
                         "Sun, 29 Feb 1900 00:00:00 GMT",
                         "Sun, 06 Nov 1994 24:00:00 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT",
                         "Xyz, 06 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Nov 19a4 08:49:37 GMT",
                         "Sun Nov 6 08:49:37 1994",
                         "120",
                         "Sun, 06 Nov 1994 08:49",
                         NULL};
    for (int i = 0; bad[i]; i++)
        CHECK_INT(bt_http_date(bad[i]), -1);
    CHECK_INT(bt_http_date(NULL), -1);
}

static void test_retry_after(void) {
    int64_t now = 784111777;
    CHECK(bt_retry_after("120", now) == 120);
    CHECK(bt_retry_after(" 0 ", now) == 0);
    CHECK(bt_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now) == 30);
    CHECK(bt_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == 0); /* in the past */
    CHECK(bt_retry_after("-5", now) == -1);
    CHECK(bt_retry_after("1.5", now) == -1);
    CHECK(bt_retry_after("soon", now) == -1);
    CHECK(bt_retry_after("", now) == -1);
    CHECK(bt_retry_after(NULL, now) == -1);
    CHECK(bt_retry_after("99999999999999999999999999", now) >= 1e12);
    CHECK_INT(bt_should_retry("true"), 1);
    CHECK_INT(bt_should_retry("false"), 0);
    CHECK_INT(bt_should_retry("maybe"), -1);
    CHECK_INT(bt_should_retry(NULL), -1);
}

static void test_backoff(void) {
    /* retry-3.1 full jitter: r * min(cap, base * 2^attempt) */
    CHECK(fabs(bt_backoff(0, 0.5, 30, -1, 60, 0.5) - 0.25) < 1e-9);
    CHECK(fabs(bt_backoff(3, 0.5, 30, -1, 60, 0.999) - 3.996) < 1e-9);
    CHECK(bt_backoff(20, 0.5, 30, -1, 60, 0.999) <= 30);
    CHECK(bt_backoff(100000, 0.5, 30, -1, 60, 0.5) == 15);
    CHECK(bt_backoff(2, 0.5, 30, -1, 60, 0) == 0);
    /* retry-3.2 Retry-After is a lower bound, capped by max_wait */
    CHECK(bt_backoff(0, 0.5, 30, 7, 60, 0.1) == 7);
    CHECK(bt_backoff(0, 0.5, 30, 600, 60, 0.1) == 60);
    CHECK(fabs(bt_backoff(6, 0.5, 30, 1, 60, 0.5) - 15) < 1e-9);
    /* retry-3.3 statuses */
    long yes[] = {408, 409, 429, 500, 502, 503, 504, 529, 599},
         no[] = {200, 301, 400, 401, 403, 404, 422, 600};
    for (unsigned i = 0; i < sizeof yes / sizeof *yes; i++)
        CHECK(bt_retryable_status(yes[i]));
    for (unsigned i = 0; i < sizeof no / sizeof *no; i++)
        CHECK(!bt_retryable_status(no[i]));
}

int main(void) {
    test_budget();
    test_dates();
    test_retry_after();
    test_backoff();
    CHECK_DONE();
}

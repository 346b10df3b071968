/* retry.h: retry policy mechanics for baton.retry (engine, no lua.h): a
 * retry budget, exponential backoff with full jitter, Retry-After parsing
 * (delta-seconds or an HTTP-date) and which HTTP statuses are retryable.
 * The policy that uses them (when to retry what) lives in Lua. */
#ifndef BATON_RETRY_H
#define BATON_RETRY_H
#include <stdint.h>

typedef struct {
    int64_t max, used;
} bt_budget;

void bt_budget_init(bt_budget *b, int64_t max);
int bt_budget_consume(bt_budget *b); /* 1 and counts one use, or 0 when exhausted */
int bt_budget_exhausted(const bt_budget *b);
int64_t bt_budget_remaining(const bt_budget *b);
void bt_budget_reset(bt_budget *b);

/* An HTTP-date (IMF-fixdate, RFC 850 or asctime form, RFC 7231 7.1.1.1) as
 * Unix seconds, or -1 when s is not one. */
int64_t bt_http_date(const char *s);

/* A Retry-After value as seconds to wait from now_unix: delta-seconds or an
 * HTTP-date (0 when in the past); -1 when unparsable. */
double bt_retry_after(const char *value, int64_t now_unix);

/* x-should-retry: 1 for "true", 0 for "false", -1 for anything else. */
int bt_should_retry(const char *value);

/* Seconds before retry number attempt (>= 0): full jitter, r * min(cap,
 * base * 2^attempt) with r in [0, 1); retry_after (>= 0, or < 0 for none)
 * is a lower bound, itself capped at max_wait. */
double bt_backoff(int attempt, double base, double cap, double retry_after, double max_wait,
                  double r);

/* 408, 409, 429 and 5xx (529 included): worth retrying. */
int bt_retryable_status(long status);

#endif

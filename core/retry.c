/* retry.c: retry budget, backoff and Retry-After parsing (see retry.h). The
 * HTTP-date parser is our own: strptime depends on the locale and timegm on
 * the C library, and a server's header must never be able to crash us. */
#include "retry.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void bt_budget_init(bt_budget *b, int64_t max) {
    b->max = max < 0 ? 0 : max;
    b->used = 0;
}

int bt_budget_consume(bt_budget *b) {
    if (b->used >= b->max) return 0;
    b->used++;
    return 1;
}

int bt_budget_exhausted(const bt_budget *b) {
    return b->used >= b->max;
}
int64_t bt_budget_remaining(const bt_budget *b) {
    return b->max - b->used;
}
void bt_budget_reset(bt_budget *b) {
    b->used = 0;
}

/* ---- HTTP-date ---------------------------------------------------------- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_wdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int lit(const char **p, const char *s) {
    size_t n = strlen(s);
    if (strncmp(*p, s, n) != 0) return -1;
    *p += n;
    return 0;
}

static int word(const char **p, const char *const *names, int count, int *out) {
    for (int i = 0; i < count; i++)
        if (lit(p, names[i]) == 0) return *out = i, 0;
    return -1;
}

/* "HH:MM:SS" */
static int clock_of(const char **p, int *h, int *mi, int *s) {
    if (digits(p, 2, h) || lit(p, ":") || digits(p, 2, mi) || lit(p, ":") || digits(p, 2, s))
        return -1;
    return *h > 23 || *mi > 59 || *s > 60 ? -1 : 0;
}

static int64_t assemble(int y, int mon, int d, int h, int mi, int s) {
    if (mon < 1 || mon > 12 || d < 1 || d > days_in_month(y, mon)) return -1;
    return days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static int64_t imf(const char *p) {
    int wd, d, mon, y, h, mi, s;
    if (word(&p, wdays, 7, &wd) || lit(&p, ", ") || digits(&p, 2, &d) || lit(&p, " ") ||
        word(&p, months, 12, &mon) || lit(&p, " ") || digits(&p, 4, &y) || lit(&p, " ") ||
        clock_of(&p, &h, &mi, &s) || lit(&p, " GMT") || *p)
        return -1;
    return assemble(y, mon + 1, d, h, mi, s);
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year below 70 is
 * taken as 20xx (a fixed pivot: such dates only come from old servers). */
static int64_t rfc850(const char *p) {
    int wd, d, mon, y, h, mi, s;
    if (word(&p, long_wdays, 7, &wd) || lit(&p, ", ") || digits(&p, 2, &d) || lit(&p, "-") ||
        word(&p, months, 12, &mon) || lit(&p, "-") || digits(&p, 2, &y) || lit(&p, " ") ||
        clock_of(&p, &h, &mi, &s) || lit(&p, " GMT") || *p)
        return -1;
    return assemble(y + (y < 70 ? 2000 : 1900), mon + 1, d, h, mi, s);
}

/* asctime: "Sun Nov  6 08:49:37 1994" */
static int64_t asctime_form(const char *p) {
    int wd, d, mon, y, h, mi, s;
    if (word(&p, wdays, 7, &wd) || lit(&p, " ") || word(&p, months, 12, &mon) || lit(&p, " "))
        return -1;
    if (*p == ' ') {
        p++;
        if (digits(&p, 1, &d)) return -1;
    } else if (digits(&p, 2, &d)) {
        return -1;
    }
    if (lit(&p, " ") || clock_of(&p, &h, &mi, &s) || lit(&p, " ") || digits(&p, 4, &y) || *p)
        return -1;
    return assemble(y, mon + 1, d, h, mi, s);
}

int64_t bt_http_date(const char *s) {
    if (!s) return -1;
    int64_t t = imf(s);
    if (t < 0) t = rfc850(s);
    if (t < 0) t = asctime_form(s);
    return t;
}

double bt_retry_after(const char *v, int64_t now_unix) {
    if (!v) return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0) return -1;
    size_t k = 0;
    while (k < n && isdigit((unsigned char)v[k]))
        k++;
    if (k == n) { /* delta-seconds; a huge number is just "very long" */
        double secs = 0;
        for (size_t i = 0; i < n && secs < 1e12; i++)
            secs = secs * 10 + (v[i] - '0');
        return secs;
    }
    char buf[64];
    if (n >= sizeof buf) return -1;
    memcpy(buf, v, n);
    buf[n] = 0;
    int64_t t = bt_http_date(buf);
    if (t < 0) return -1;
    return t > now_unix ? (double)(t - now_unix) : 0;
}

int bt_should_retry(const char *v) {
    if (!v) return -1;
    if (strcmp(v, "true") == 0) return 1;
    if (strcmp(v, "false") == 0) return 0;
    return -1;
}

double bt_backoff(int attempt, double base, double cap, double retry_after, double max_wait,
                  double r) {
    if (attempt < 0) attempt = 0;
    double ceiling = base * pow(2.0, attempt > 1000 ? 1000 : attempt);
    if (!(ceiling <= cap)) ceiling = cap; /* also catches inf */
    double delay = r * ceiling;
    if (retry_after >= 0) {
        double floor = retry_after < max_wait ? retry_after : max_wait;
        if (delay < floor) delay = floor;
    }
    return delay < 0 ? 0 : delay;
}

int bt_retryable_status(long status) {
    return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

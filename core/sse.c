/* sse.c: the incremental text/event-stream parser (see sse.h), following the
 * WHATWG "interpreting an event stream" rules: a blank line dispatches the
 * event being built, an event with no data line is dropped, "field: value"
 * loses one space after the colon, unknown fields and comments are ignored. */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

void bt_sse_init(bt_sse *p) {
    memset(p, 0, sizeof *p);
}

static int reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 128;
    while (cap2 < need)
        cap2 *= 2;
    char *b = realloc(*buf, cap2);
    if (!b) return -1;
    *buf = b;
    *cap = cap2;
    return 0;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static int set_str(char **dst, const char *s, size_t n) {
    char *d = dup_n(s, n);
    if (!d) return -1;
    free(*dst);
    *dst = d;
    return 0;
}

static void free_event(bt_sse_event *e) {
    free(e->event);
    free(e->id);
    free(e->data);
    free(e);
}

/* A blank line: queue the event being built (if it has data), reset it. */
static int dispatch(bt_sse *p) {
    p->has_fields = 0;
    if (p->data_len == 0) { /* no data line: nothing to dispatch */
        free(p->event);
        p->event = NULL;
        return 0;
    }
    size_t n = p->data_len;
    if (n && p->data[n - 1] == '\n') n--; /* the last data line's "\n" */
    bt_sse_event *e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->data = dup_n(p->data ? p->data : "", n);
    e->data_len = n;
    e->event = p->event ? p->event : dup_n("message", 7);
    e->id = p->id ? dup_n(p->id, strlen(p->id)) : NULL;
    p->event = NULL;
    p->data_len = 0;
    if (!e->data || !e->event || (p->id && !e->id)) {
        free_event(e);
        return -1;
    }
    if (p->tail)
        p->tail->next = e;
    else
        p->head = e;
    p->tail = e;
    return 0;
}

static int field(bt_sse *p, const char *name, size_t nlen, const char *val, size_t vlen) {
    if (nlen == 4 && memcmp(name, "data", 4) == 0) {
        if (reserve(&p->data, &p->data_cap, p->data_len + vlen + 2) != 0) return -1;
        memcpy(p->data + p->data_len, val, vlen);
        p->data_len += vlen;
        p->data[p->data_len++] = '\n';
        p->has_fields = 1;
        return 0;
    }
    p->has_fields = 1;
    if (nlen == 5 && memcmp(name, "event", 5) == 0) return set_str(&p->event, val, vlen);
    if (nlen == 2 && memcmp(name, "id", 2) == 0 && !memchr(val, 0, vlen))
        return set_str(&p->id, val, vlen);
    return 0; /* retry and unknown fields are ignored */
}

static int line(bt_sse *p, const char *s, size_t n) {
    if (n == 0) return dispatch(p);
    if (s[0] == ':') return 0; /* a comment, e.g. a keep-alive */
    const char *colon = memchr(s, ':', n);
    if (!colon) return field(p, s, n, "", 0);
    size_t nlen = (size_t)(colon - s);
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    if (vlen && *v == ' ') v++, vlen--;
    return field(p, s, nlen, v, vlen);
}

int bt_sse_feed(bt_sse *p, const char *buf, size_t n) {
    size_t i = 0;
    if (p->cr && n && buf[0] == '\n') i = 1; /* the LF of a CRLF split across chunks */
    if (n) p->cr = 0;
    while (i < n) {
        const char *start = buf + i;
        size_t left = n - i, k = 0;
        while (k < left && start[k] != '\n' && start[k] != '\r')
            k++;
        if (k == left) { /* no line end yet: keep the piece */
            if (reserve(&p->line, &p->line_cap, p->line_len + k) != 0) return -1;
            memcpy(p->line + p->line_len, start, k);
            p->line_len += k;
            return 0;
        }
        int rc;
        if (p->line_len) {
            if (reserve(&p->line, &p->line_cap, p->line_len + k) != 0) return -1;
            memcpy(p->line + p->line_len, start, k);
            rc = line(p, p->line, p->line_len + k);
            p->line_len = 0;
        } else {
            rc = line(p, start, k);
        }
        if (rc != 0) return -1;
        i += k + 1;
        if (start[k] == '\r') {
            if (i < n && buf[i] == '\n')
                i++;
            else if (i == n)
                p->cr = 1;
        }
    }
    return 0;
}

bt_sse_event *bt_sse_peek(bt_sse *p) {
    return p->head;
}

void bt_sse_drop(bt_sse *p) {
    bt_sse_event *e = p->head;
    if (!e) return;
    p->head = e->next;
    if (!p->head) p->tail = NULL;
    free_event(e);
}

int bt_sse_partial(const bt_sse *p) {
    return p->line_len > 0 || p->has_fields != 0;
}

void bt_sse_free(bt_sse *p) {
    while (p->head)
        bt_sse_drop(p);
    free(p->line);
    free(p->data);
    free(p->event);
    free(p->id);
    bt_sse_init(p);
}

/* http.c: the HTTP client engine (see http.h). One CURLM whose sockets and
 * timer are driven by the bt_loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION);
 * each request is an easy handle collecting headers and either the body or
 * SSE events. An idle timer of our own (re-armed lazily from the time of the
 * last byte) catches stalled streams, which curl's low-speed limit would
 * report as a plain timeout. Curl never prints and never raises signals.
 * Easy handles are reset and kept for the next requests (up to POOL). */
#include "http.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 200
/* Easy handles are kept for reuse (making one costs ~8k instructions, more
 * than resetting it): as many as were ever in flight at once, up to POOL_MAX,
 * so a burst of N requests makes N handles once, not again at every burst. */
#define POOL_MAX 1024

/* URLs parsed once (a run asks one endpoint again and again; curl parsed
 * CURLOPT_URL anew for every request): handed to curl as CURLOPT_CURLU,
 * which curl copies and never changes. Kept until bt_http_free. */
#define URLS_MAX 8

struct bt_http {
    CURLM *multi;
    bt_loop *loop;
    uint64_t timer;
    int running;
    CURL **pool;
    int npool, pool_cap;
    char *url_text[URLS_MAX];
    CURLU *url[URLS_MAX];
    int nurls;
};

enum { MODE_UNDECIDED, MODE_BODY, MODE_SSE };

struct bt_req {
    bt_http *h;
    CURL *easy;
    struct curl_slist *hdrs;
    bt_req_cb cb;
    void *ud;
    int in_multi, done, mode, stream, too_large, idle_fired, oom;
    CURLcode result;
    long status;
    char *body;
    size_t body_len, body_cap, received, max_size;
    char **hname, **hvalue; /* nhdr of hcap, grown on demand (most replies have ~5) */
    int nhdr, hcap;
    bt_sse sse;
    double idle, timeout, connect_timeout, last_activity;
    uint64_t idle_timer;
    const char *code;
    char msg[CURL_ERROR_SIZE + 128];
    char errbuf[CURL_ERROR_SIZE];
};

/* http_lua.c keeps a request in a userdata with a user value: 8-byte aligned. */
_Static_assert(_Alignof(bt_req) <= 8, "bt_req must fit an 8-byte aligned userdata");

size_t bt_req_size(void) {
    return sizeof(bt_req);
}

/* ---- the multi handle on the loop -------------------------------------- */

static void drain_done(bt_http *h);

static void act(bt_http *h, curl_socket_t fd, int flags) {
    curl_multi_socket_action(h->multi, fd, flags, &h->running);
    drain_done(h);
}

static void on_sock(void *ud, int fd, int revents) {
    int flags = (revents & POLLIN ? CURL_CSELECT_IN : 0) |
                (revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
                (revents & (POLLERR | POLLHUP) ? CURL_CSELECT_ERR : 0);
    act(ud, fd, flags);
}

static void on_timer(void *ud) {
    bt_http *h = ud;
    h->timer = 0;
    act(h, CURL_SOCKET_TIMEOUT, 0);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e, (void)socketp;
    bt_http *h = userp;
    int ev = what == CURL_POLL_IN      ? POLLIN
             : what == CURL_POLL_OUT   ? POLLOUT
             : what == CURL_POLL_INOUT ? POLLIN | POLLOUT
                                       : 0;
    return bt_loop_io(h->loop, s, ev, on_sock, h) == 0 ? 0 : -1;
}

static int timer_cb(CURLM *m, long ms, void *userp) {
    (void)m;
    bt_http *h = userp;
    if (h->timer) bt_loop_timer_cancel(h->loop, h->timer);
    h->timer = 0;
    if (ms < 0) return 0;
    h->timer = bt_loop_timer(h->loop, (double)ms / 1000.0, on_timer, h);
    return h->timer ? 0 : -1;
}

bt_http *bt_http_new(bt_loop *loop) {
    static int inited;
    if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
    inited = 1;
    bt_http *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->loop = loop;
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

void bt_http_free(bt_http *h) {
    if (!h) return;
    while (h->npool)
        curl_easy_cleanup(h->pool[--h->npool]);
    free(h->pool);
    curl_multi_cleanup(h->multi); /* closes cached connections via sock_cb */
    for (int i = 0; i < h->nurls; i++) {
        curl_url_cleanup(h->url[i]);
        free(h->url_text[i]);
    }
    if (h->timer) bt_loop_timer_cancel(h->loop, h->timer);
    free(h);
}

/* ---- ending a request -------------------------------------------------- */

static void set_error(bt_req *r) {
    const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result);
    curl_off_t connected = 0;
    if (r->too_large) {
        r->code = "too_large";
        snprintf(r->msg, sizeof r->msg, "http: response larger than %zu bytes", r->max_size);
    } else if (r->idle_fired) {
        r->code = "idle_timeout";
        snprintf(r->msg, sizeof r->msg, "http: no data received for %g s", r->idle);
    } else if (r->oom) {
        r->code = "transport";
        snprintf(r->msg, sizeof r->msg, "http: out of memory");
    } else if (r->result == CURLE_OPERATION_TIMEDOUT) {
        /* pretransfer, not connect time: a reused connection has connect time 0 */
        curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &connected);
        r->code = connected ? "timeout" : "connect";
        if (connected)
            snprintf(r->msg, sizeof r->msg, "http: request timed out after %g s", r->timeout);
        else
            snprintf(r->msg, sizeof r->msg, "http: connect timed out (%s)", detail);
    } else if (r->result == CURLE_COULDNT_CONNECT || r->result == CURLE_COULDNT_RESOLVE_HOST ||
               r->result == CURLE_COULDNT_RESOLVE_PROXY) {
        r->code = "connect";
        snprintf(r->msg, sizeof r->msg, "http: cannot connect (%s)", detail);
    } else if (r->result == CURLE_PARTIAL_FILE) {
        r->code = "truncated";
        snprintf(r->msg, sizeof r->msg, "http: response truncated (%s)", detail);
    } else {
        r->code = "transport";
        snprintf(r->msg, sizeof r->msg, "http: %s (%s)", curl_easy_strerror(r->result), detail);
    }
}

static void unplug(bt_req *r) {
    if (r->in_multi) curl_multi_remove_handle(r->h->multi, r->easy);
    r->in_multi = 0;
    if (r->idle_timer) bt_loop_timer_cancel(r->h->loop, r->idle_timer);
    r->idle_timer = 0;
}

static void finish(bt_req *r, CURLcode result) {
    r->result = result;
    if (result == CURLE_OK && !r->too_large && !r->idle_fired && !r->oom)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    else
        set_error(r);
    unplug(r);
    r->done = 1;
    r->cb(r->ud);
}

static void drain_done(bt_http *h) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        bt_req *r = NULL;
        CURLcode result = m->data.result; /* m dies with remove_handle */
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r) finish(r, result);
    }
}

static void on_idle(void *ud) {
    bt_req *r = ud;
    r->idle_timer = 0;
    double quiet = bt_now() - r->last_activity;
    if (quiet + 0.001 < r->idle) { /* data came meanwhile: wait for the rest */
        r->idle_timer = bt_loop_timer(r->h->loop, r->idle - quiet, on_idle, r);
        if (r->idle_timer) return;
    }
    r->idle_fired = 1;
    finish(r, CURLE_OPERATION_TIMEDOUT);
}

/* ---- receiving ---------------------------------------------------------- */

static int is_sse(bt_req *r) {
    long status = 0;
    char *ctype = NULL;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
    return r->stream && status >= 200 && status < 300 && ctype &&
           strncasecmp(ctype, "text/event-stream", 17) == 0;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
    bt_req *r = ud;
    size_t len = size * n;
    r->last_activity = bt_now();
    if (r->max_size && len > r->max_size - r->received) {
        r->too_large = 1;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    r->received += len;
    if (r->mode == MODE_UNDECIDED) r->mode = is_sse(r) ? MODE_SSE : MODE_BODY;
    if (r->mode == MODE_SSE) {
        int had = bt_sse_peek(&r->sse) != NULL;
        if (bt_sse_feed(&r->sse, p, len) != 0) return r->oom = 1, 0;
        if (!had && bt_sse_peek(&r->sse)) r->cb(r->ud);
        return len;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) return r->oom = 1, 0;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, len);
    r->body_len += len;
    r->body[r->body_len] = 0;
    return len;
}

static void clear_headers(bt_req *r) {
    for (int i = 0; i < r->nhdr; i++)
        free(r->hname[i]), free(r->hvalue[i]);
    r->nhdr = 0;
}

static void free_headers(bt_req *r) {
    clear_headers(r);
    free(r->hname);
    free(r->hvalue);
    r->hname = r->hvalue = NULL;
    r->hcap = 0;
}

static int grow_headers(bt_req *r) {
    int cap = r->hcap ? 2 * r->hcap : 16;
    if (cap > MAX_HEADERS) cap = MAX_HEADERS;
    char **n = realloc(r->hname, (size_t)cap * sizeof *n);
    if (n) r->hname = n;
    char **v = n ? realloc(r->hvalue, (size_t)cap * sizeof *v) : NULL;
    if (v) r->hvalue = v;
    if (!n || !v) return -1;
    r->hcap = cap;
    return 0;
}

static int add_header(bt_req *r, const char *name, size_t nlen, const char *val, size_t vlen) {
    for (int i = 0; i < r->nhdr; i++)
        if (strlen(r->hname[i]) == nlen && memcmp(r->hname[i], name, nlen) == 0) {
            size_t old = strlen(r->hvalue[i]);
            char *v = realloc(r->hvalue[i], old + vlen + 3);
            if (!v) return -1;
            memcpy(v + old, ", ", 2);
            memcpy(v + old + 2, val, vlen);
            v[old + 2 + vlen] = 0;
            r->hvalue[i] = v;
            return 0;
        }
    if (r->nhdr == MAX_HEADERS) return 0; /* a flood of headers: keep the first ones */
    if (r->nhdr == r->hcap && grow_headers(r) != 0) return -1;
    char *nm = malloc(nlen + 1), *v = malloc(vlen + 1);
    if (!nm || !v) return free(nm), free(v), -1;
    for (size_t i = 0; i < nlen; i++)
        nm[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    nm[nlen] = 0;
    memcpy(v, val, vlen);
    v[vlen] = 0;
    r->hname[r->nhdr] = nm;
    r->hvalue[r->nhdr++] = v;
    return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    bt_req *r = ud;
    size_t len = size * n;
    r->last_activity = bt_now();
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (after 100, 3xx) */
        clear_headers(r);
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p) return len;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (add_header(r, p, nlen, v, (size_t)(end - v)) != 0) return r->oom = 1, 0;
    return len;
}

/* ---- starting ----------------------------------------------------------- */

static int set_method(bt_req *r, const bt_req_opts *o) {
    const char *m = o->method ? o->method : o->body ? "POST" : "GET";
    CURL *e = r->easy;
    int rc = 0;
    if (o->body) {
        /* not copied: the caller keeps the body until bt_req_close */
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
    }
    if (strcmp(m, "GET") == 0 && !o->body)
        rc |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(m, "HEAD") == 0)
        rc |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(m, "POST") != 0)
        rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    return rc;
}

/* url parsed, from the cache or into it; NULL when the cache is full or curl
 * rejects url (CURLOPT_URL then parses it and reports the error). */
static CURLU *parsed_url(bt_http *h, const char *url) {
    for (int i = 0; i < h->nurls; i++)
        if (strcmp(h->url_text[i], url) == 0) return h->url[i];
    if (h->nurls == URLS_MAX) return NULL;
    CURLU *u = curl_url();
    char *text = strdup(url);
    if (!u || !text || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        if (u) curl_url_cleanup(u);
        free(text);
        return NULL;
    }
    h->url[h->nurls] = u;
    h->url_text[h->nurls++] = text;
    return u;
}

static int set_options(bt_req *r, const bt_req_opts *o) {
    CURL *e = r->easy;
    int rc = 0;
    CURLU *u = parsed_url(r->h, o->url);
    if (u) rc |= curl_easy_setopt(e, CURLOPT_CURLU, u);
    else rc |= curl_easy_setopt(e, CURLOPT_URL, o->url);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    /* gzip only: a server or proxy that compresses is decoded, and libcurl
     * formats this header byte by byte, so the full list of its codings
     * ("deflate, gzip, br, zstd") cost ~12k instructions a request. */
    rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->timeout > 0) rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->timeout * 1000));
    if (o->connect_timeout > 0)
        rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout * 1000));
    r->hdrs = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    for (int i = 0; r->hdrs && i < o->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(r->hdrs, o->headers[i]);
        if (!l) return -1;
        r->hdrs = l;
    }
    if (!r->hdrs) return -1;
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    return rc | set_method(r, o);
}

int bt_req_start(bt_http *h, bt_req *r, const bt_req_opts *o, bt_req_cb cb, void *ud, char *err,
                 size_t errlen) {
    memset(r, 0, sizeof *r);
    r->h = h;
    r->cb = cb;
    r->ud = ud;
    r->stream = o->stream;
    r->max_size = o->max_size;
    r->idle = o->idle_timeout;
    r->timeout = o->timeout;
    r->connect_timeout = o->connect_timeout;
    bt_sse_init(&r->sse);
    r->easy = h->npool ? h->pool[--h->npool] : curl_easy_init();
    if (!r->easy || set_options(r, o) != 0 ||
        curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
        snprintf(err, errlen, "http: cannot start the request%s%s", r->errbuf[0] ? ": " : "",
                 r->errbuf);
        bt_req_close(r);
        return -1;
    }
    r->in_multi = 1;
    r->last_activity = bt_now();
    if (r->idle > 0) r->idle_timer = bt_loop_timer(h->loop, r->idle, on_idle, r);
    return 0;
}

/* Keeps an easy handle for the next request (1), or says there is no room (0). */
static int pool_put(bt_http *h, CURL *e) {
    if (h->npool == h->pool_cap) {
        int cap = h->pool_cap ? 2 * h->pool_cap : 64;
        if (cap > POOL_MAX) return 0;
        CURL **p = realloc(h->pool, (size_t)cap * sizeof *p);
        if (!p) return 0;
        h->pool = p;
        h->pool_cap = cap;
    }
    curl_easy_reset(e); /* every option back to its default */
    /* but this one: a kept handle may meet curl_easy_cleanup before its
     * next request, which without it saves and restores SIGPIPE's action */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    h->pool[h->npool++] = e;
    return 1;
}

void bt_req_close(bt_req *r) {
    if (!r->h) return; /* never started, or closed already */
    unplug(r);
    if (r->easy && !pool_put(r->h, r->easy)) curl_easy_cleanup(r->easy);
    r->easy = NULL;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    free_headers(r);
    bt_sse_free(&r->sse);
    r->h = NULL;
}

int bt_req_done(const bt_req *r) {
    return r->done;
}
bt_sse *bt_req_events(bt_req *r) {
    return &r->sse;
}
int bt_req_streamed(const bt_req *r) {
    return r->mode == MODE_SSE;
}

const char *bt_req_error(const bt_req *r, const char **code) {
    if (!r->code) return NULL;
    *code = r->code;
    return r->msg;
}

long bt_req_status(const bt_req *r) {
    return r->status;
}

const char *bt_req_body(const bt_req *r, size_t *len) {
    *len = r->body_len;
    return r->body ? r->body : "";
}

int bt_req_header(const bt_req *r, int i, const char **name, const char **value) {
    if (i < 0 || i >= r->nhdr) return 0;
    *name = r->hname[i];
    *value = r->hvalue[i];
    return 1;
}

/* http.h: baton's HTTP client engine (no lua.h): one curl multi handle
 * driven by a bt_loop, many requests in flight at once, optional SSE parsing
 * of text/event-stream replies, a response size cap and an idle timeout.
 * The binding (http_lua.c) turns a request into a bt_wait.
 * Ownership: the caller allocates a request (bt_req_size() bytes, e.g. as a
 * Lua userdata) and must bt_req_close it, which is idempotent and aborts a
 * transfer still running; close every request before bt_http_free. */
#ifndef BATON_HTTP_H
#define BATON_HTTP_H
#include <stddef.h>

#include "loop.h"
#include "sse.h"

typedef struct bt_http bt_http;
typedef struct bt_req bt_req;

/* Callback telling the owner that something happened: SSE events were
 * queued, or the transfer ended (bt_req_done). Runs from a loop callback. */
typedef void (*bt_req_cb)(void *ud);

typedef struct {
    const char *method; /* "GET", "POST", ...; NULL: POST with a body, else GET */
    const char *url;    /* http:// or https:// only */
    const char *body;   /* not copied: valid until bt_req_close; NULL for none */
    size_t body_len;
    const char *const *headers; /* "Name: value" lines */
    int nheaders;
    double timeout, connect_timeout, idle_timeout; /* seconds; 0: none */
    size_t max_size;                               /* cap on the received body in bytes; 0: none */
    int stream;                                    /* parse a 2xx text/event-stream reply as SSE */
} bt_req_opts;

bt_http *bt_http_new(bt_loop *loop); /* NULL when curl cannot start */
void bt_http_free(bt_http *h);

size_t bt_req_size(void);

/* Starts a request in req's memory; cb(ud) will report progress. Returns 0,
 * or -1 with a message in err (req is then closed already). */
int bt_req_start(bt_http *h, bt_req *req, const bt_req_opts *o, bt_req_cb cb, void *ud, char *err,
                 size_t errlen);

/* Aborts the transfer if running, frees all memory but req itself. */
void bt_req_close(bt_req *req);

int bt_req_done(const bt_req *req);     /* the transfer ended */
bt_sse *bt_req_events(bt_req *req);     /* its queue of parsed SSE events */
int bt_req_streamed(const bt_req *req); /* the reply went to the SSE parser */

/* After the end: NULL when a response arrived (then status, headers and
 * body are set), else the failure's message with *code set to a stable word:
 * timeout, idle_timeout, connect, too_large, truncated, transport. */
const char *bt_req_error(const bt_req *req, const char **code);
long bt_req_status(const bt_req *req);
const char *bt_req_body(const bt_req *req, size_t *len);
/* Header i (0-based) of the final response, names lowercased; returns 0
 * when i is out of range. Repeated headers are joined by ", ". */
int bt_req_header(const bt_req *req, int i, const char **name, const char **value);

#endif

/* sse.h: an incremental parser of text/event-stream (the WHATWG server-sent
 * events format) for baton.http's streaming requests. Bytes go in as they
 * arrive, in chunks of any size; complete events come out of a queue.
 * Handles LF, CRLF and CR line ends (also split across chunks), comment
 * lines (": keep-alive"), multi-line data and the id/event fields. */
#ifndef BATON_SSE_H
#define BATON_SSE_H
#include <stddef.h>

typedef struct bt_sse_event {
    struct bt_sse_event *next;
    char *event; /* the event field, or "message" when none was sent */
    char *id;    /* the last id field seen in the stream, or NULL */
    char *data;  /* data lines joined by "\n", NUL-terminated */
    size_t data_len;
} bt_sse_event;

typedef struct {
    char *line; /* the line being received */
    size_t line_len, line_cap;
    char *data; /* data of the event being received */
    size_t data_len, data_cap;
    char *event, *id;
    int cr;         /* the previous chunk ended with CR: skip a leading LF */
    int has_fields; /* a field of an unfinished event was seen */
    bt_sse_event *head, *tail;
} bt_sse;

void bt_sse_init(bt_sse *p);
/* Parses n bytes; returns 0, or -1 when out of memory. */
int bt_sse_feed(bt_sse *p, const char *buf, size_t n);
/* The oldest complete event (owned by p), or NULL; bt_sse_drop frees it. */
bt_sse_event *bt_sse_peek(bt_sse *p);
void bt_sse_drop(bt_sse *p);
/* True when bytes of an unfinished event are buffered (a stream cut mid-event). */
int bt_sse_partial(const bt_sse *p);
void bt_sse_free(bt_sse *p); /* frees the queue and buffers; p can be reused after init */

#endif

/* test_sse.c: the text/event-stream parser (core/sse.c) fed whole, byte by
 * byte and in every two-piece split: line ends, comments, multi-line data,
 * event and id fields, events without data, streams cut mid-event. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sse.h"

/* Parses text split at cut (0: whole; SIZE_MAX: byte by byte) and renders
 * the events as "event|id|data;" for comparison. */
static char *render(const char *text, size_t cut, int *partial) {
    bt_sse p;
    bt_sse_init(&p);
    size_t n = strlen(text);
    if (cut == (size_t)-1) {
        for (size_t i = 0; i < n; i++)
            CHECK(bt_sse_feed(&p, text + i, 1) == 0);
    } else {
        CHECK(bt_sse_feed(&p, text, cut) == 0);
        CHECK(bt_sse_feed(&p, text + cut, n - cut) == 0);
    }
    static char out[4096];
    out[0] = 0;
    for (bt_sse_event *e; (e = bt_sse_peek(&p)); bt_sse_drop(&p)) {
        size_t len = strlen(out);
        snprintf(out + len, sizeof out - len, "%s|%s|%s;", e->event, e->id ? e->id : "-", e->data);
        CHECK(strlen(e->data) == e->data_len);
    }
    if (partial) *partial = bt_sse_partial(&p);
    bt_sse_free(&p);
    return out;
}

/* The same result whichever way the bytes are split. */
static void same_every_split(const char *text, const char *want, int want_partial) {
    int partial;
    CHECK_STR(render(text, 0, &partial), want);
    CHECK_INT(partial, want_partial);
    CHECK_STR(render(text, (size_t)-1, &partial), want);
    for (size_t cut = 1; cut < strlen(text); cut++) {
        CHECK_STR(render(text, cut, &partial), want);
        CHECK_INT(partial, want_partial);
    }
}

int main(void) {
    /* sse-1.1 OpenAI style: data lines, [DONE] */
    same_every_split("data: {\"a\":1}\n\ndata: [DONE]\n\n", "message|-|{\"a\":1};message|-|[DONE];",
                     0);
    /* sse-1.2 CRLF and CR line ends */
    same_every_split("data: x\r\n\r\ndata: y\r\rdata: z\n\n",
                     "message|-|x;message|-|y;message|-|z;", 0);
    /* sse-1.3 comments and keep-alives are ignored */
    same_every_split(": keep-alive\n\n:ping\ndata: a\n\n", "message|-|a;", 0);
    /* sse-1.4 multi-line data joined by LF; no space after colon kept */
    same_every_split("data: one\ndata:two\ndata:  three\n\n", "message|-|one\ntwo\n three;", 0);
    /* sse-1.5 Anthropic style: event names, id persists, error event mid-stream */
    same_every_split(
        "event: message_start\nid: 7\ndata: {}\n\nevent: error\ndata: {\"type\":\"error\"}\n\n",
        "message_start|7|{};error|7|{\"type\":\"error\"};", 0);
    /* sse-1.6 an event with no data is dropped; an empty data line is an event */
    same_every_split("event: ping\n\ndata\n\ndata:\n\n", "message|-|;message|-|;", 0);
    /* sse-1.7 a stream cut mid-event keeps the partial event back */
    same_every_split("data: whole\n\ndata: {\"cut", "message|-|whole;", 1);
    same_every_split("data: whole\n\ndata: done-line\n", "message|-|whole;", 1);
    /* sse-1.8 unknown fields and retry are ignored; field without colon */
    same_every_split("retry: 10\nfoo: bar\ndata: q\n\n", "message|-|q;", 0);
    CHECK_DONE();
}

/* test_loop.c: unit tests of the event loop engine (core/loop.c): timers in
 * order, cancellation, zero-delay re-arming, pipes through epoll, removal
 * during a step, idleness. */
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "loop.h"

static char order[32];
static int norder;

static void mark(void *ud) {
    order[norder++] = *(const char *)ud;
}

static bt_loop *rearm_loop;
static int rearms;
static void rearm(void *ud) {
    rearms++;
    bt_loop_timer(rearm_loop, 0, rearm, ud);
}

static void test_timers(void) {
    bt_loop *loop = bt_loop_new();
    CHECK(loop != NULL);
    CHECK(bt_loop_idle(loop));
    /* loop-1.1 timers fire in due order, equal times in creation order */
    static const char a = 'a', b = 'b', c = 'c', d = 'd';
    bt_loop_timer(loop, 0.03, mark, (void *)&c);
    bt_loop_timer(loop, 0.01, mark, (void *)&a);
    uint64_t id = bt_loop_timer(loop, 0.02, mark, (void *)&d);
    bt_loop_timer(loop, 0.01, mark, (void *)&b);
    CHECK(id > 0);
    CHECK(!bt_loop_idle(loop));
    /* loop-1.2 a cancelled timer never fires; cancelling twice is harmless */
    bt_loop_timer_cancel(loop, id);
    bt_loop_timer_cancel(loop, id);
    bt_loop_timer_cancel(loop, 999999);
    double t0 = bt_now();
    while (!bt_loop_idle(loop))
        CHECK(bt_loop_step(loop, -1) >= 0);
    double took = bt_now() - t0;
    order[norder] = 0;
    CHECK_STR(order, "abc");
    CHECK(took >= 0.029 && took < 5.0);
    /* loop-1.3 a 0 s timer re-armed by its callback runs once per step */
    rearm_loop = loop;
    uint64_t first = bt_loop_timer(loop, 0, rearm, NULL);
    CHECK(first > id);
    CHECK_INT(bt_loop_step(loop, 0), 1);
    CHECK_INT(bt_loop_step(loop, 0), 1);
    CHECK_INT(rearms, 2);
    /* loop-1.4 a step with nothing due returns 0 after max_wait */
    bt_loop *quiet = bt_loop_new();
    t0 = bt_now();
    CHECK_INT(bt_loop_step(quiet, 0.02), 0);
    CHECK(bt_now() - t0 >= 0.019);
    bt_loop_free(quiet);
    bt_loop_free(loop); /* frees the pending re-armed timer too */
}

static int fired[64];
static void fire(void *ud) {
    fired[(int *)ud - fired]++;
}

/* loop-1.5 ids stay right when timers sift through the heap: cancel every
 * other one of 64 timers added in decreasing order, the rest fire once */
static void test_timer_ids(void) {
    bt_loop *loop = bt_loop_new();
    uint64_t ids[64];
    for (int i = 0; i < 64; i++)
        ids[i] = bt_loop_timer(loop, 0.001 * (64 - i), fire, &fired[i]);
    for (int i = 0; i < 64; i += 2)
        bt_loop_timer_cancel(loop, ids[i]);
    while (!bt_loop_idle(loop))
        bt_loop_step(loop, -1);
    for (int i = 0; i < 64; i++)
        CHECK_INT(fired[i], i % 2);
    bt_loop_free(loop);
}

static int reads;
static bt_loop *io_loop;
static void on_read(void *ud, int fd, int revents) {
    int *other = ud;
    char buf[16];
    CHECK(revents & POLLIN);
    if (read(fd, buf, sizeof buf) > 0) reads++;
    /* removing another watched fd during the step must skip its event */
    if (*other >= 0) bt_loop_io(io_loop, *other, 0, NULL, NULL);
}

static int last_revents;
static void on_any(void *ud, int fd, int revents) {
    (void)ud, (void)fd;
    last_revents = revents;
}

static void test_io(void) {
    bt_loop *loop = io_loop = bt_loop_new();
    int p1[2], p2[2];
    CHECK(pipe(p1) == 0 && pipe(p2) == 0);
    int none = -1;
    /* loop-2.1 a readable pipe runs its callback with POLLIN */
    CHECK_INT(bt_loop_io(loop, p1[0], POLLIN, on_read, &none), 0);
    CHECK(!bt_loop_idle(loop));
    CHECK_INT(bt_loop_step(loop, 0), 0);
    CHECK(write(p1[1], "x", 1) == 1);
    CHECK_INT(bt_loop_step(loop, 1.0), 1);
    CHECK_INT(reads, 1);
    /* loop-2.2 replacing the callback of a watched fd */
    CHECK_INT(bt_loop_io(loop, p1[0], POLLIN, on_read, &p2[0]), 0);
    CHECK_INT(bt_loop_io(loop, p2[0], POLLIN, on_read, &p1[0]), 0);
    CHECK(write(p1[1], "y", 1) == 1 && write(p2[1], "z", 1) == 1);
    /* loop-2.3 both readable: the first callback removes the other's fd */
    CHECK_INT(bt_loop_step(loop, 1.0), 1);
    CHECK_INT(reads, 2);
    /* loop-2.4 removal makes the loop idle; removing again is harmless */
    bt_loop_io(loop, p1[0], 0, NULL, NULL);
    bt_loop_io(loop, p2[0], 0, NULL, NULL);
    bt_loop_io(loop, p2[0], 0, NULL, NULL);
    CHECK(bt_loop_idle(loop));
    /* loop-2.5 a hung-up pipe reports POLLHUP */
    close(p1[1]);
    char buf[4];
    CHECK(read(p1[0], buf, sizeof buf) >= 0); /* drain "y" if left */
    CHECK_INT(bt_loop_io(loop, p1[0], POLLIN, on_any, NULL), 0);
    CHECK_INT(bt_loop_step(loop, 1.0), 1);
    CHECK(last_revents & POLLHUP);
    bt_loop_io(loop, p1[0], 0, NULL, NULL);
    CHECK_INT(bt_loop_io(loop, -1, POLLIN, on_read, NULL), -1);
    close(p1[0]);
    close(p2[0]);
    close(p2[1]);
    bt_loop_free(loop);
}

int main(void) {
    test_timers();
    test_timer_ids();
    test_io();
    CHECK_DONE();
}

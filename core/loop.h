/* loop.h: the event loop every baton C module shares (engine half, no lua.h).
 * One loop per process drives curl_multi's sockets and timers (baton.http),
 * child pipes and pidfds (baton.harness) and sleeps (baton.loop). Callbacks
 * run on the loop's thread from bt_loop_step; they must not block.
 * Ownership: the loop owns nothing it is given; whoever registers an fd or a
 * timer removes it (bt_loop_io(.., 0, ..) / bt_loop_timer_cancel) before
 * closing the fd or freeing ud. */
#ifndef BATON_LOOP_H
#define BATON_LOOP_H
#include <stdint.h>

typedef struct bt_loop bt_loop;
typedef void (*bt_io_cb)(void *ud, int fd, int revents); /* revents: POLLIN|POLLOUT|POLLERR|POLLHUP */
typedef void (*bt_timer_cb)(void *ud);

bt_loop *bt_loop_new(void);           /* NULL when out of memory */
void bt_loop_free(bt_loop *loop);     /* the caller removed its fds and timers first */

/* Watches fd for events (POLLIN and/or POLLOUT); calling it again for the
 * same fd replaces the events, callback and ud; events == 0 stops watching.
 * Returns 0, or -1 when out of memory. */
int bt_loop_io(bt_loop *loop, int fd, int events, bt_io_cb cb, void *ud);

/* A one-shot timer firing after seconds (>= 0). Returns its id (> 0), or 0
 * when out of memory. Cancelling a fired or unknown id does nothing. */
uint64_t bt_loop_timer(bt_loop *loop, double seconds, bt_timer_cb cb, void *ud);
void bt_loop_timer_cancel(bt_loop *loop, uint64_t id);

/* Polls once, waiting at most max_wait seconds (0: do not block, < 0: until
 * the next fd event or timer), and runs the callbacks that are due.
 * Returns how many callbacks ran, or -1 on a poll error other than EINTR. */
int bt_loop_step(bt_loop *loop, double max_wait);

/* True when nothing is watched and no timer is pending. */
int bt_loop_idle(const bt_loop *loop);

double bt_now(void); /* monotonic clock, seconds */

#endif

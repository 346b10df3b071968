/* loop.c: the event loop engine (see loop.h): epoll for file descriptors and
 * a binary min-heap for one-shot timers. No Lua here; core/wait.c builds the
 * coroutine scheduler on top of it. Epoll is level-triggered, so an event
 * the loop skips (its fd was removed or re-added during the same step) is
 * simply reported again on the next step. */
#include "loop.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    bt_io_cb cb;
    void *ud;
    int events;   /* POLLIN|POLLOUT as asked; 0 when not watched */
    uint32_t gen; /* bumped on each new registration to spot stale events */
} io_slot;

typedef struct {
    double when;
    uint64_t id;
    bt_timer_cb cb;
    void *ud;
} timer;

struct bt_loop {
    int epfd;
    io_slot *io; /* indexed by fd */
    int io_cap;
    int nwatched;
    timer *heap;
    int ntimers, heap_cap;
    uint64_t next_id;
};

double bt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bt_loop *bt_loop_new(void) {
    bt_loop *loop = calloc(1, sizeof *loop);
    if (!loop) return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    loop->next_id = 1;
    return loop;
}

void bt_loop_free(bt_loop *loop) {
    if (!loop) return;
    close(loop->epfd);
    free(loop->io);
    free(loop->heap);
    free(loop);
}

static uint32_t to_epoll(int events) {
    return (events & POLLIN ? EPOLLIN : 0) | (events & POLLOUT ? EPOLLOUT : 0);
}

static int grow_io(bt_loop *loop, int fd) {
    if (fd < loop->io_cap) return 0;
    int cap = loop->io_cap ? loop->io_cap : 64;
    while (cap <= fd)
        cap *= 2;
    io_slot *io = realloc(loop->io, (size_t)cap * sizeof *io);
    if (!io) return -1;
    memset(io + loop->io_cap, 0, (size_t)(cap - loop->io_cap) * sizeof *io);
    loop->io = io;
    loop->io_cap = cap;
    return 0;
}

int bt_loop_io(bt_loop *loop, int fd, int events, bt_io_cb cb, void *ud) {
    if (fd < 0) return -1;
    events &= POLLIN | POLLOUT;
    if (events == 0) {
        if (fd < loop->io_cap && loop->io[fd].events) {
            /* fails harmlessly (EBADF) if the fd was already closed */
            epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
            loop->io[fd].events = 0;
            loop->nwatched--;
        }
        return 0;
    }
    if (grow_io(loop, fd) != 0) return -1;
    io_slot *s = &loop->io[fd];
    int adding = s->events == 0;
    if (adding) s->gen++;
    struct epoll_event ev = {.events = to_epoll(events)};
    ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)s->gen << 32;
    if (epoll_ctl(loop->epfd, adding ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
        /* a fd closed and reused behind our back: register it afresh */
        if (!(errno == ENOENT && !adding) || epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            return -1;
    }
    if (adding) loop->nwatched++;
    s->events = events;
    s->cb = cb;
    s->ud = ud;
    return 0;
}

/* Heap ordered by (when, id) so timers due at the same time fire in order. */
static int before(const timer *a, const timer *b) {
    return a->when < b->when || (a->when == b->when && a->id < b->id);
}

static void sift_up(timer *h, int i) {
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!before(&h[i], &h[p])) break;
        timer t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void sift_down(timer *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(&h[l], &h[m])) m = l;
        if (r < n && before(&h[r], &h[m])) m = r;
        if (m == i) return;
        timer t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_remove(bt_loop *loop, int i) {
    loop->heap[i] = loop->heap[--loop->ntimers];
    if (i < loop->ntimers) {
        sift_down(loop->heap, loop->ntimers, i);
        sift_up(loop->heap, i);
    }
}

uint64_t bt_loop_timer(bt_loop *loop, double seconds, bt_timer_cb cb, void *ud) {
    if (loop->ntimers == loop->heap_cap) {
        int cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        timer *h = realloc(loop->heap, (size_t)cap * sizeof *h);
        if (!h) return 0;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    if (!(seconds > 0)) seconds = 0; /* also turns NaN into 0 */
    timer *t = &loop->heap[loop->ntimers];
    t->when = bt_now() + seconds;
    t->id = loop->next_id++;
    t->cb = cb;
    t->ud = ud;
    uint64_t id = t->id; /* t moves as it sifts up */
    sift_up(loop->heap, loop->ntimers++);
    return id;
}

/* Linear: a process has about one timer per waiting task, which is few. */
void bt_loop_timer_cancel(bt_loop *loop, uint64_t id) {
    for (int i = 0; i < loop->ntimers; i++)
        if (loop->heap[i].id == id) {
            heap_remove(loop, i);
            return;
        }
}

static int wait_ms(const bt_loop *loop, double max_wait) {
    double wait = max_wait;
    if (loop->ntimers) {
        double due = loop->heap[0].when - bt_now();
        if (due < 0) due = 0;
        if (wait < 0 || due < wait) wait = due;
    }
    if (wait < 0) return -1;
    double ms = ceil(wait * 1000.0); /* round up: never wake before a timer is due */
    return ms > 86400000.0 ? 86400000 : (int)ms;
}

static int run_io(bt_loop *loop, struct epoll_event *evs, int n) {
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = (int)(uint32_t)evs[i].data.u64;
        uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
        if (fd >= loop->io_cap) continue;
        io_slot *s = &loop->io[fd];
        if (!s->events || s->gen != gen) continue; /* removed or replaced meanwhile */
        uint32_t e = evs[i].events;
        int revents = (e & EPOLLIN ? POLLIN : 0) | (e & EPOLLOUT ? POLLOUT : 0) |
                      (e & EPOLLERR ? POLLERR : 0) | (e & EPOLLHUP ? POLLHUP : 0);
        s->cb(s->ud, fd, revents);
        ran++;
    }
    return ran;
}

/* Fires the timers due now, but not the ones their callbacks add: a callback
 * re-arming a 0 s timer must not keep this step going forever. */
static int run_timers(bt_loop *loop) {
    double now = bt_now();
    uint64_t limit = loop->next_id;
    int ran = 0;
    while (loop->ntimers && loop->heap[0].when <= now && loop->heap[0].id < limit) {
        timer t = loop->heap[0];
        heap_remove(loop, 0);
        t.cb(t.ud);
        ran++;
    }
    return ran;
}

int bt_loop_step(bt_loop *loop, double max_wait) {
    struct epoll_event evs[64];
    int n = epoll_wait(loop->epfd, evs, 64, wait_ms(loop, max_wait));
    if (n < 0) {
        if (errno != EINTR) return -1;
        n = 0;
    }
    int ran = run_io(loop, evs, n);
    return ran + run_timers(loop);
}

int bt_loop_idle(const bt_loop *loop) {
    return loop->nwatched == 0 && loop->ntimers == 0;
}

/* bench/floor.c: the reference workflow's request pattern with nothing else,
 * to measure what the mock and the kernel alone cost (the floor any client
 * reaches on this machine, against bench/mock_openai.py).
 *   cc -O2 -Wall -Wextra -o floor bench/floor.c && ./floor PORT N
 * One planner request; when it is answered, N worker requests at once, one
 * connection each (as an HTTP/1.1 client with N jobs opens them); each
 * worker's reply is followed on its connection by its second request; when
 * all N are answered, one review request. Prints the wall time in seconds.
 * Requests carry the message shapes the mock's rules read; bodies are padded
 * to ~3 KB like baton's. Plain blocking-free epoll, no JSON parsing: the
 * client's own CPU stays far below the mock's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXN 4096
#define PAD 2800

struct conn {
    int fd, step;        /* step: 0 = first request out, 1 = second out, 2 = done */
    size_t got, need;    /* reply bytes read so far, total expected (0: unknown yet) */
    char buf[8192];      /* the reply's head (its body is only counted) */
};

static struct sockaddr_in addr;
static char pad[PAD + 1];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int open_conn(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("floor: connect");
        exit(1);
    }
    return fd;
}

/* system: the system prompt; last: the last message (role and content). */
static void send_chat(int fd, const char *system, const char *role, const char *content) {
    char body[PAD + 1024], req[PAD + 2048];
    int n = snprintf(body, sizeof body,
                     "{\"model\":\"mock\",\"messages\":[{\"role\":\"system\",\"content\":\"%s %s\"},"
                     "{\"role\":\"%s\",\"content\":\"%s\"}]}", system, pad, role, content);
    int m = snprintf(req, sizeof req,
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", n, body);
    if (send(fd, req, (size_t)m, MSG_NOSIGNAL) != m) {
        perror("floor: send");
        exit(1);
    }
}

/* Reads what is there; returns 1 once a whole reply is in (and resets).
 * Only the head is kept: once its length is known the body's bytes are
 * counted into the buffer's start, so a reply of any size (the plan at
 * N = 300 is ~69 KB) fits. */
static int read_reply(struct conn *c) {
    for (;;) {
        char *to = c->need ? c->buf : c->buf + c->got;
        size_t room = c->need ? sizeof c->buf - 1 : sizeof c->buf - 1 - c->got;
        if (room == 0) {
            fprintf(stderr, "floor: reply head longer than %zu bytes\n", sizeof c->buf - 1);
            exit(1);
        }
        ssize_t r = recv(c->fd, to, room, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (r <= 0) {
            fprintf(stderr, "floor: connection closed\n");
            exit(1);
        }
        c->got += (size_t)r;
        if (!c->need) {
            c->buf[c->got] = 0;
            char *end = strstr(c->buf, "\r\n\r\n");
            if (!end) continue;
            *end = 0; /* the length is looked for in the head only */
            char *cl = strstr(c->buf, "content-length:");
            if (!cl || strncmp(c->buf, "HTTP/1.1 200", 12) != 0) {
                fprintf(stderr, "floor: bad reply: %.80s\n", c->buf);
                exit(1);
            }
            c->need = (size_t)(end + 4 - c->buf) + strtoul(cl + 15, NULL, 10);
        }
        if (c->got >= c->need) {
            c->got = c->need = 0;
            return 1;
        }
    }
}

/* Blocks until fd's one outstanding reply is in. */
static void wait_one(int fd) {
    static struct conn c;
    c.fd = fd;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (!read_reply(&c))
        if (poll(&p, 1, -1) < 0 && errno != EINTR) {
            perror("floor: poll");
            exit(1);
        }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: floor PORT N\n");
        return 2;
    }
    int n = atoi(argv[2]);
    if (n < 1 || n > MAXN) return 2;
    memset(pad, 'x', PAD);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    double t0 = now();
    int first = open_conn();
    send_chat(first, "You are the planner.", "user", "Requirement: write files");
    wait_one(first);
    static struct conn conns[MAXN];
    int ep = epoll_create1(0), done = 0;
    if (ep < 0) {
        perror("floor: epoll_create1");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        struct conn *c = &conns[i];
        c->fd = i == 0 ? first : open_conn();
        char task[64];
        snprintf(task, sizeof task, "Task: Write out/file%d.txt", i);
        send_chat(c->fd, "You are a backend engineer.", "user", task);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    while (done < n) {
        struct epoll_event evs[64];
        int k = epoll_wait(ep, evs, 64, -1);
        for (int j = 0; j < k; j++) {
            struct conn *c = evs[j].data.ptr;
            if (!read_reply(c)) continue;
            if (c->step++ == 0) send_chat(c->fd, "You are a backend engineer.", "tool", "wrote 5 bytes");
            else done++;
        }
    }
    send_chat(first, "You review work.", "user", "Files: ...");
    wait_one(first);
    printf("%.4f\n", now() - t0);
    return 0;
}

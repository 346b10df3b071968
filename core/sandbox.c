/* sandbox.c: starts a confined child and collects its result (see
 * sandbox.h). With PID namespaces the child is the namespace's init: it
 * forks the command, forwards SIGTERM to everything in the namespace and
 * reports the command's status on a pipe; when it exits (or is SIGKILLed on
 * timeout) the kernel kills every process left in the namespace. Without
 * them the command leads its own process group (and pids cgroup, if any). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#define LL_IOCTL_DEV (1ULL << 15)
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* The ruleset attribute as of ABI 6; older kernels get a shorter size. */
struct ll_attr {
    uint64_t fs, net, scoped;
};

#define GRACE_SECONDS 1.0 /* SIGTERM, then SIGKILL after this */
#define DRAIN_SECONDS 2.0 /* after exit, how long leftover pipe holders may linger */

typedef struct stream {
    int fd;
    char *buf;
    size_t len, cap, limit;
    int truncated, eof; /* at eof the fd stays open (a loop may watch it) until the end */
} stream;

struct bt_proc {
    pid_t pid;
    int pidfd, statusfd, pidns;
    int reaped, raw_status, have_status;
    int status_from_init;
    stream out, err;
    double start, deadline, kill_at, exited_at;
    int timed_out, term_sent;
    int new_net; /* the child got a network namespace of its own */
    char cgroup[320];
};

/* ---- Landlock ---- */

static uint64_t fs_rights(int abi) {
    uint64_t r = (1ULL << 13) - 1; /* ABI 1: bits 0-12 */
    if (abi >= 2) r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) r |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) r |= LL_IOCTL_DEV;
    return r;
}

static int ll_add(int rs, const char *path, uint64_t allowed) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) /* files take file rights only */
        allowed &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                   LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LL_IOCTL_DEV;
    struct landlock_path_beneath_attr pb = {.allowed_access = allowed, .parent_fd = fd};
    int rc = (int)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    close(fd);
    return rc;
}

int bt_sandbox_ruleset(const bt_run_opts *o) {
    const bt_probe *pr = bt_sandbox_probe();
    int abi = pr->landlock_abi, netns = pr->netns;
    if (abi <= 0) return -1;
    uint64_t all = fs_rights(abi);
    uint64_t rd = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
                  LANDLOCK_ACCESS_FS_EXECUTE | (abi >= 5 ? LL_IOCTL_DEV : 0);
    uint64_t wr = all & ~(LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK);
    struct ll_attr a = {.fs = all};
    size_t size = sizeof a.fs;
    if (abi >= 4) {
        size += sizeof a.net; /* no TCP rules: only matters where netns is missing */
        if (!o->network && !netns) a.net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    }
    if (abi >= 6) {
        size += sizeof a.scoped;
        a.scoped = LL_SCOPE_SIGNAL | (o->network ? 0 : LL_SCOPE_ABSTRACT_UNIX);
    }
    int rs = (int)syscall(SYS_landlock_create_ruleset, &a, size, 0);
    if (rs < 0) return -2;
    int bad =
        ll_add(rs, "/", rd) != 0 || ll_add(rs, o->tmpdir, wr) != 0 ||
        ll_add(rs, "/dev/null", LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE) != 0;
    for (int i = 0; i < o->nwrite_roots && !bad; i++)
        bad = ll_add(rs, o->write_roots[i], wr) != 0;
    if (bad) {
        close(rs);
        return -2;
    }
    return rs;
}

/* ---- the child (plain system calls only) ---- */

typedef struct spawn {
    const bt_run_opts *o;
    int devnull, outw, errw, statusw, ruleset, cgfd, pidns;
    int mntns;    /* the child is in a mount namespace of its own */
    int join_net; /* setns into o->netns_fd */
} spawn;

static void say(const char *a, const char *b) {
    if (write(2, a, strlen(a)) < 0 || write(2, b, strlen(b)) < 0 || write(2, "\n", 1) < 0) {
    }
}

static void limit(int res, long v) {
    struct rlimit rl = {(rlim_t)v, (rlim_t)v};
    if (v > 0) setrlimit(res, &rl);
}

/* Signals as a fresh process has them: nothing blocked, nothing ignored
 * (an ignored SIGCHLD would make the init's waitpid fail). */
static void reset_signals(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < 32; sig++)
        signal(sig, SIG_DFL);
}

static void exec_command(const spawn *s) {
    const bt_run_opts *o = s->o;
    reset_signals();
    setsid();
    if (dup2(s->devnull, 0) < 0 || dup2(s->outw, 1) < 0 || dup2(s->errw, 2) < 0) _exit(126);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    for (int cap = 0; cap < 64; cap++) /* EINVAL past the last capability */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
    if (s->ruleset >= 0 && syscall(SYS_landlock_restrict_self, s->ruleset, 0) != 0) {
        say("baton: cannot enter the Landlock sandbox: ", strerror(errno));
        _exit(126);
    }
    syscall(SYS_close_range, 3U, ~0U, 0U);
    if (chdir(o->cwd) != 0) {
        say("baton: cannot enter the workspace: ", strerror(errno));
        _exit(126);
    }
    execve(o->exe, o->argv, o->envp);
    say("baton: cannot run the program: ", strerror(errno));
    _exit(127);
}

static volatile sig_atomic_t init_term;
static void init_on_term(int sig) {
    (void)sig;
    init_term = 1;
    kill(-1, SIGTERM); /* as PID 1: every other process in the namespace */
}

/* PID 1 of the namespace: runs the command, reaps orphans, reports. */
static void init_main(const spawn *s) {
    setsid();
    struct clone_args ca = {.exit_signal = SIGCHLD};
    pid_t cmd = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    if (cmd == 0) exec_command(s);
    struct sigaction sa = {.sa_handler = init_on_term};
    sigaction(SIGTERM, &sa, NULL);
    if (s->statusw > 0) syscall(SYS_close_range, 0U, (unsigned)s->statusw - 1, 0U);
    syscall(SYS_close_range, (unsigned)s->statusw + 1, ~0U, 0U);
    if (cmd < 0) _exit(126);
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p == cmd) {
            if (write(s->statusw, &st, sizeof st) < 0) {
            }
            _exit(0);
        }
        if (p < 0 && errno != EINTR) _exit(126);
    }
}

/* Binds path onto itself read-only, keeping the flags a remount may not
 * drop (nosuid, nodev, noexec). */
static int bind_ro(const char *path) {
    struct statvfs sv;
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0 || statvfs(path, &sv) != 0) return -1;
    unsigned long keep = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
                         (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
                         (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
    return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
}

/* In its own mount namespace (made private first, so nothing propagates
 * back to the host): a /proc of its own PID namespace, so the command sees
 * no other process; in root mode, .git and .baton bound read-only (the
 * workspace root is writable then; a rename or rmdir of a mount point
 * fails with EBUSY). Never exec in root mode when this fails or happened
 * outside a private mount namespace. */
static void remount(const spawn *s) {
    const bt_run_opts *o = s->o;
    if (!s->mntns || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        if (!o->nro) return;
        say("baton: cannot protect .git and .baton: ",
            s->mntns ? strerror(errno) : "no mount namespace");
        _exit(126);
    }
    if (s->pidns) mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    for (int i = 0; i < o->nro; i++)
        if (bind_ro(o->ro_paths[i]) != 0) {
            say("baton: cannot protect .git and .baton: ", strerror(errno));
            _exit(126);
        }
}

/* Network off and no namespace made by clone: join the shared one, or make
 * one; never run on the host's network. */
static void isolate_net(const spawn *s) {
    if (!s->join_net) return;
    if (setns(s->o->netns_fd, CLONE_NEWNET) == 0 || unshare(CLONE_NEWNET) == 0) return;
    say("baton: cannot cut the command off the network: ", strerror(errno));
    _exit(126);
}

static void child_main(const spawn *s) {
    reset_signals();
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* baton killed: its commands (and namespaces) go too */
    isolate_net(s);
    remount(s);
    int in_cgroup = s->cgfd >= 0 && write(s->cgfd, "0", 1) == 1;
    const bt_run_opts *o = s->o;
    limit(RLIMIT_AS, o->memory_mb * 1024 * 1024);
    limit(RLIMIT_CPU, o->cpu_seconds);
    limit(RLIMIT_FSIZE, o->file_mb * 1024 * 1024);
    if (!in_cgroup) limit(RLIMIT_NPROC, o->max_procs); /* per user, so only as a fallback */
    limit(RLIMIT_CORE, 0);
    if (s->pidns) init_main(s);
    exec_command(s);
}

/* ---- the parent ---- */

static int make_cgroup(bt_proc *p, const bt_run_opts *o, const bt_probe *pr) {
    static unsigned seq;
    if (!pr->cgroup_pids || o->max_procs <= 0) return -1;
    snprintf(p->cgroup, sizeof p->cgroup, "%s/baton-%d-%u", pr->cgroup_base, (int)getpid(), ++seq);
    if (mkdir(p->cgroup, 0755) != 0) goto fail;
    char file[400], num[32];
    snprintf(file, sizeof file, "%s/pids.max", p->cgroup);
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    int n = snprintf(num, sizeof num, "%ld", o->max_procs);
    if (fd < 0 || write(fd, num, (size_t)n) != n) {
        if (fd >= 0) close(fd);
        rmdir(p->cgroup);
        goto fail;
    }
    close(fd);
    snprintf(file, sizeof file, "%s/cgroup.procs", p->cgroup);
    if ((fd = open(file, O_WRONLY | O_CLOEXEC)) >= 0) return fd;
    rmdir(p->cgroup);
fail:
    p->cgroup[0] = '\0';
    return -1;
}

/* Kills whatever is left in the cgroup, then removes it. */
static void drop_cgroup(bt_proc *p) {
    if (!p->cgroup[0]) return;
    char file[400];
    snprintf(file, sizeof file, "%s/cgroup.procs", p->cgroup);
    for (int round = 0; round < 200 && rmdir(p->cgroup) != 0; round++) {
        FILE *f = fopen(file, "r");
        int pid;
        while (f && fscanf(f, "%d", &pid) == 1)
            kill(pid, SIGKILL);
        if (f) fclose(f);
        usleep(5000);
    }
    p->cgroup[0] = '\0';
}

/* clone3 gives the child its namespaces and us a pidfd in one step. If the
 * kernel refuses the namespaces, run without them (the probe said they
 * work, so this is rare: a seccomp filter, a limit on namespaces); without
 * clone3 (Linux < 5.3) fall back to fork, unshare and pidfd_open. */
static pid_t start_child(spawn *s, int flags, int *pidfd) {
    struct clone_args ca = {.flags = (uint64_t)flags | CLONE_PIDFD,
                            .pidfd = (uint64_t)(uintptr_t)pidfd,
                            .exit_signal = SIGCHLD};
    pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) child_main(s);
    if (pid < 0 && flags && errno != ENOSYS && errno != EAGAIN && errno != ENOMEM) {
        s->pidns = 0;
        s->mntns = 0; /* root mode then refuses to run: see remount() */
        return start_child(s, 0, pidfd);
    }
    if (pid >= 0 || errno != ENOSYS) return pid;
    s->pidns = 0;
    pid = fork();
    if (pid == 0) {
        if ((flags & CLONE_NEWNET) && unshare(CLONE_NEWNET) != 0) {
            say("baton: cannot cut the command off the network: ", strerror(errno));
            _exit(126);
        }
        s->mntns = (flags & CLONE_NEWNS) && unshare(CLONE_NEWNS) == 0;
        child_main(s);
    }
    if (pid > 0 && (*pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void close_spawn(spawn *s) {
    int *fds[] = {&s->devnull, &s->outw, &s->errw, &s->statusw, &s->cgfd}; /* not the ruleset */
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (*fds[i] >= 0) close(*fds[i]), *fds[i] = -1;
}

bt_proc *bt_proc_start(const bt_run_opts *o, bt_herr *e) {
    bt_probe *pr = (bt_probe *)bt_sandbox_probe();
    bt_proc *p = calloc(1, sizeof *p);
    if (!p) return bt_herr_set(e, "ENOMEM", "out of memory"), NULL;
    spawn s = {.o = o,
               .devnull = -1,
               .outw = -1,
               .errw = -1,
               .statusw = -1,
               .ruleset = o->ruleset,
               .cgfd = -1};
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, ps[2] = {-1, -1};
    p->out.fd = p->err.fd = p->statusfd = p->pidfd = -1;
    s.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s.devnull < 0 || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(ps, O_CLOEXEC)) {
        bt_herr_set(e, "EIO", "cannot start %s: %s", o->argv[0], strerror(errno));
        goto fail;
    }
    p->out = (stream){.fd = po[0], .limit = o->output_cap};
    p->err = (stream){.fd = pe[0], .limit = o->output_cap};
    p->statusfd = ps[0];
    s.outw = po[1], s.errw = pe[1], s.statusw = ps[1];
    po[1] = pe[1] = ps[1] = -1;                   /* now owned by s */
    if (pr->landlock_abi > 0 && o->ruleset < 0) { /* never run unconfined silently */
        bt_herr_set(e, "sandbox", "sandbox: no Landlock ruleset (%s)", strerror(errno));
        goto fail;
    }
    s.cgfd = make_cgroup(p, o, pr);
    s.pidns = pr->pidns;
    s.join_net = !o->network && pr->netns && o->netns_fd >= 0;
    int want_mnt = o->nro || (pr->pidns && pr->mntns); /* root mode; a /proc of its own */
    int flags = (pr->pidns ? CLONE_NEWPID : 0) | (want_mnt ? CLONE_NEWNS : 0) |
                (!o->network && pr->netns && !s.join_net ? CLONE_NEWNET : 0);
    p->new_net = (flags & CLONE_NEWNET) != 0;
    s.mntns = want_mnt;
    p->start = bt_mono();
    p->pid = start_child(&s, flags, &p->pidfd);
    if (p->pid < 0) {
        bt_herr_set(e, "EIO", "cannot start %s: %s", o->argv[0], strerror(errno));
        goto fail;
    }
    p->pidns = s.pidns;
    close_spawn(&s);
    p->deadline = o->timeout > 0 ? p->start + o->timeout : -1;
    p->kill_at = -1;
    fcntl(p->out.fd, F_SETFL, O_NONBLOCK);
    fcntl(p->err.fd, F_SETFL, O_NONBLOCK);
    fcntl(p->statusfd, F_SETFL, O_NONBLOCK);
    return p;
fail:
    close_spawn(&s);
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0) close(po[i]);
        if (pe[i] >= 0) close(pe[i]);
        if (ps[i] >= 0) close(ps[i]);
    }
    drop_cgroup(p);
    free(p);
    return NULL;
}

int bt_proc_netns(const bt_proc *p) {
    if (!p->new_net || p->reaped) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)p->pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int bt_proc_fds(const bt_proc *p, int fds[3]) {
    int n = 0;
    if (!p->out.eof) fds[n++] = p->out.fd;
    if (!p->err.eof) fds[n++] = p->err.fd;
    if (!p->reaped) fds[n++] = p->pidfd;
    return n;
}

/* Reads what is there; beyond the cap the bytes are read and dropped so a
 * flood costs no memory and the child is never blocked on a full pipe. */
static void drain(stream *st) {
    char tmp[65536];
    for (;;) {
        ssize_t n = read(st->fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            st->eof = 1;
            return;
        }
        size_t keep = st->len < st->limit ? st->limit - st->len : 0;
        if ((size_t)n > keep) st->truncated = 1;
        keep = keep < (size_t)n ? keep : (size_t)n;
        if (keep && st->len + keep > st->cap) {
            size_t cap = st->cap ? st->cap : 4096;
            while (cap < st->len + keep)
                cap *= 2;
            char *b = realloc(st->buf, cap);
            if (!b) return;
            st->buf = b, st->cap = cap;
        }
        memcpy(st->buf + st->len, tmp, keep);
        st->len += keep;
    }
}

static void send_signal(bt_proc *p, int sig) {
    if (p->reaped) return;
    if (p->pidns) { /* the init forwards SIGTERM; SIGKILL ends the namespace */
        syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
    } else {
        kill(-p->pid, sig);
        syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
    }
}

static void reap(bt_proc *p) {
    siginfo_t si = {0};
    if (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) != 0 || si.si_pid == 0) return;
    p->reaped = 1;
    p->exited_at = bt_mono();
    int st;
    if (p->pidns && read(p->statusfd, &st, sizeof st) == (ssize_t)sizeof st) {
        p->raw_status = st, p->have_status = 1;
    } else if (!p->pidns) {
        p->raw_status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
        p->have_status = 1;
    }
    if (!p->pidns) kill(-p->pid, SIGKILL); /* stragglers in the group hold our pipes */
    drop_cgroup(p);
}

void bt_proc_on_fd(bt_proc *p, int fd) {
    if (fd == p->out.fd && !p->out.eof)
        drain(&p->out);
    else if (fd == p->err.fd && !p->err.eof)
        drain(&p->err);
    else if (fd == p->pidfd && !p->reaped)
        reap(p);
}

double bt_proc_deadline(const bt_proc *p) {
    if (p->reaped) return p->exited_at + DRAIN_SECONDS;
    return p->kill_at >= 0 ? p->kill_at : p->deadline;
}

void bt_proc_on_time(bt_proc *p) {
    double now = bt_mono();
    if (p->reaped) {
        if (now >= p->exited_at + DRAIN_SECONDS) { /* a leftover holds the pipes: stop reading */
            if (!p->out.eof) drain(&p->out);
            if (!p->err.eof) drain(&p->err);
            if (!p->out.eof) p->out.eof = p->out.truncated = 1;
            if (!p->err.eof) p->err.eof = p->err.truncated = 1;
        }
        return;
    }
    if (p->kill_at >= 0 && now >= p->kill_at) {
        send_signal(p, SIGKILL);
        p->kill_at = now + GRACE_SECONDS; /* keep nudging until the pidfd reports */
    } else if (p->deadline >= 0 && now >= p->deadline && !p->term_sent) {
        p->timed_out = p->term_sent = 1;
        send_signal(p, SIGTERM);
        p->kill_at = now + GRACE_SECONDS;
    }
}

int bt_proc_done(const bt_proc *p) {
    return p->reaped && p->out.eof && p->err.eof;
}

static void take(stream *st, char **buf, size_t *len, int *trunc) {
    *buf = st->buf ? st->buf : calloc(1, 1);
    *len = st->len;
    *trunc = st->truncated;
    st->buf = NULL;
}

void bt_proc_finish(bt_proc *p, bt_run_result *r) {
    memset(r, 0, sizeof *r);
    r->duration = (p->exited_at ? p->exited_at : bt_mono()) - p->start;
    r->timed_out = p->timed_out;
    if (p->have_status && WIFEXITED(p->raw_status)) {
        r->code = WEXITSTATUS(p->raw_status);
    } else {
        r->code = -1;
        r->signal = p->have_status ? WTERMSIG(p->raw_status) : SIGKILL;
    }
    take(&p->out, &r->out, &r->nout, &r->out_truncated);
    take(&p->err, &r->err, &r->nerr, &r->err_truncated);
    bt_proc_abort(p);
}

void bt_proc_abort(bt_proc *p) {
    if (!p->reaped) {
        send_signal(p, SIGKILL);
        siginfo_t si;
        waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED);
        p->reaped = 1;
        if (!p->pidns) kill(-p->pid, SIGKILL);
    }
    drop_cgroup(p);
    int fds[] = {p->out.fd, p->err.fd, p->statusfd, p->pidfd};
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(p->out.buf);
    free(p->err.buf);
    free(p);
}

void bt_proc_wait(bt_proc *p, bt_run_result *r) {
    while (!bt_proc_done(p)) {
        int fds[3];
        int n = bt_proc_fds(p, fds);
        struct pollfd pf[3];
        for (int i = 0; i < n; i++)
            pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        double dl = bt_proc_deadline(p), now = bt_mono();
        int ms = dl < 0 ? -1 : dl <= now ? 0 : (int)((dl - now) * 1000) + 1;
        int got = poll(pf, (nfds_t)n, ms);
        if (got < 0 && errno != EINTR) break;
        for (int i = 0; i < n && got > 0; i++)
            if (pf[i].revents) bt_proc_on_fd(p, pf[i].fd);
        bt_proc_on_time(p);
    }
    bt_proc_finish(p, r);
}

void bt_run_result_free(bt_run_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

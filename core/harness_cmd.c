/* harness_cmd.c: one agent's command runner state (engine, no lua.h): the
 * workspace, the policy, the private HOME/TMPDIR its commands share and the
 * cached Landlock ruleset; bt_harness_start turns an allowed argv into a
 * started bt_proc (core/sandbox.c). core/harness_lua.c waits on it. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    remove(path);
    return 0;
}

void bt_harness_release(bt_harness *h) {
    bt_ws_close(&h->ws);
    bt_policy_free(&h->pol);
    if (h->ruleset >= 0) close(h->ruleset);
    h->ruleset = -1;
    if (h->netns_fd >= 0) close(h->netns_fd);
    h->netns_fd = -1;
    if (h->tmpdir[0]) nftw(h->tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    h->tmpdir[0] = '\0';
}

static int ensure_tmpdir(bt_harness *h, bt_herr *e) {
    static int swept;
    if (h->tmpdir[0]) return 0;
    if (!swept++) bt_sweep_stale("/tmp", "baton-run-", 0);
    snprintf(h->tmpdir, sizeof h->tmpdir, "/tmp/baton-run-%d-XXXXXX", (int)getpid());
    if (mkdtemp(h->tmpdir)) return 0;
    h->tmpdir[0] = '\0';
    return bt_herr_set(e, "EIO", "EIO: cannot create the commands' temp folder: %s",
                       strerror(errno));
}

void bt_run_summary(const bt_run_result *r, char *sum, size_t cap) {
    if (r->timed_out)
        snprintf(sum, cap, "timed out after %.2fs", r->duration);
    else if (r->signal)
        snprintf(sum, cap, "killed by signal %d after %.2fs", r->signal, r->duration);
    else
        snprintf(sum, cap, "exit %d after %.2fs", r->code, r->duration);
}

void bt_argv_join(const char *const *argv, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; argv[i] && n + 2 < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s", i ? " " : "", argv[i]);
        if (w < 0) break;
        n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;
    }
}

/* The Landlock ruleset grants write per top-level entry, so it is rebuilt
 * only when the root's ctime says entries came or went. */
static int ruleset_for(bt_harness *h, bt_run_opts *o, bt_herr *e) {
    struct stat st;
    if (fstat(h->ws.fd, &st) != 0)
        return bt_herr_set(e, "EIO", "EIO: workspace: %s", strerror(errno));
    if (h->ruleset >= 0 && st.st_ctim.tv_sec == h->ruleset_at.tv_sec &&
        st.st_ctim.tv_nsec == h->ruleset_at.tv_nsec)
        return o->ruleset = h->ruleset, 0;
    if (h->ruleset >= 0) close(h->ruleset);
    h->ruleset = -1;
    char **roots = NULL;
    h->nro = bt_sandbox_root_mode(&h->ws, &h->pol, h->ro) ? 2 : 0;
    if (h->nro) {
        roots = malloc(sizeof *roots);
        if (roots && !(roots[0] = strdup(h->ws.root))) free(roots), roots = NULL;
        o->nwrite_roots = roots ? 1 : 0;
    } else {
        o->nwrite_roots = bt_sandbox_write_roots(&h->ws, &h->pol, &roots);
    }
    o->write_roots = roots;
    int rs = bt_sandbox_ruleset(o);
    bt_sandbox_roots_free(roots, o->nwrite_roots);
    o->write_roots = NULL, o->nwrite_roots = 0;
    if (rs == -2)
        return bt_herr_set(e, "sandbox", "sandbox: cannot build the Landlock ruleset: %s",
                           strerror(errno));
    h->ruleset = o->ruleset = rs;
    h->ruleset_at = st.st_ctim;
    return 0;
}

bt_proc *bt_harness_start(bt_harness *h, const char *exe, const char *const *argv, double timeout,
                          bt_herr *e) {
    if (ensure_tmpdir(h, e) != 0) return NULL;
    bt_run_opts o = {.exe = exe,
                     .argv = (char *const *)argv,
                     .cwd = h->ws.root,
                     .tmpdir = h->tmpdir,
                     .network = h->pol.network,
                     .timeout = timeout,
                     .output_cap = h->pol.output_cap,
                     .memory_mb = h->pol.memory_mb,
                     .cpu_seconds = h->pol.cpu_seconds,
                     .max_procs = h->pol.max_procs,
                     .file_mb = h->pol.file_mb,
                     .ruleset = -1,
                     .netns_fd = h->netns_fd};
    if (ruleset_for(h, &o, e) != 0) return NULL;
    char *ro[2] = {h->ro[0], h->ro[1]};
    o.ro_paths = ro;
    o.nro = h->nro;
    char **env = bt_sandbox_env(h->pol.env_pass, h->pol.nenv_pass, h->tmpdir);
    if (!env) return bt_herr_set(e, "ENOMEM", "out of memory"), NULL;
    o.envp = env;
    bt_proc *p = bt_proc_start(&o, e);
    bt_sandbox_env_free(env);
    if (p && h->netns_fd < 0) h->netns_fd = bt_proc_netns(p);
    return p;
}

/* harness_policy.c: an agent's policy as data and the decisions made from
 * it: glob matching of workspace paths, lexical path normalization, and the
 * program check (allowed names, argument patterns, known escape hatches).
 * Deny rules win over allow rules; .baton/ and .git/ are never writable. */
#include "harness.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bt_herr_set(bt_herr *e, const char *code, const char *fmt, ...) {
    if (!e) return -1;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int bt_disabled(const char *mechanism) {
    const char *v = getenv("BATON_SANDBOX_DISABLE");
    size_t n = strlen(mechanism);
    for (const char *p = v; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        if (strncmp(p, mechanism, n) == 0 && (p[n] == ',' || p[n] == '\0')) return 1;
        if (!strchr(p, ',')) break;
    }
    return 0;
}

void bt_policy_defaults(bt_policy *p) {
    memset(p, 0, sizeof *p);
    p->timeout = 60;
    p->output_cap = 1 << 20;
    p->max_read = 4 << 20;
    p->max_write = 4 << 20;
    p->memory_mb = 2048;
    p->cpu_seconds = 120;
    p->max_procs = 256;
    p->file_mb = 1024;
}

static void free_list(char **v, int n) {
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void bt_policy_free(bt_policy *p) {
    free_list(p->read, p->nread);
    free_list(p->write, p->nwrite);
    free_list(p->deny, p->ndeny);
    free_list(p->env_pass, p->nenv_pass);
    for (int i = 0; i < p->ncmds; i++) {
        free(p->cmds[i].name);
        free_list(p->cmds[i].args, p->cmds[i].nargs);
    }
    free(p->cmds);
    memset(p, 0, sizeof *p);
}

/* One segment: '*' any run of characters, '?' one character. The classic
 * greedy match with one backtrack point: O(len(p) * len(s)) at worst, so
 * a hostile pattern cannot make it exponential. */
static int seg_match(const char *p, size_t pn, const char *s, size_t sn) {
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < sn) {
        if (pi < pn && p[pi] != '*' && (p[pi] == '?' || p[pi] == s[si])) {
            pi++, si++;
        } else if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

typedef struct seg {
    const char *s;
    size_t n;
} seg;

#define MAX_SEGS 256

static int split(const char *s, seg *out) {
    int n = 0;
    for (;;) {
        size_t len = strcspn(s, "/");
        if (n == MAX_SEGS) return -1;
        out[n++] = (seg){s, len};
        if (s[len] == '\0') return n;
        s += len + 1;
    }
}

static int is_globstar(seg g) {
    return g.n == 2 && g.s[0] == '*' && g.s[1] == '*';
}

/* The same greedy algorithm one level up: a "**" segment is the star over
 * segments and a segment matches a segment by seg_match. */
int bt_glob_match(const char *pat, const char *path) {
    seg ps[MAX_SEGS], ss[MAX_SEGS];
    int pn = split(pat, ps), sn = split(path, ss);
    if (pn < 0 || sn < 0) return 0;
    int pi = 0, si = 0, star = -1, mark = 0;
    while (si < sn) {
        if (pi < pn && !is_globstar(ps[pi]) && seg_match(ps[pi].s, ps[pi].n, ss[si].s, ss[si].n)) {
            pi++, si++;
        } else if (pi < pn && is_globstar(ps[pi])) {
            star = pi++;
            mark = si;
        } else if (star >= 0) {
            pi = star + 1;
            si = ++mark;
        } else {
            return 0;
        }
    }
    while (pi < pn && is_globstar(ps[pi]))
        pi++;
    return pi == pn;
}

int bt_path_normalize(const char *in, char *out, size_t cap, bt_herr *e) {
    if (*in == '\0') return bt_herr_set(e, "EINVAL", "invalid path: the path is empty");
    if (*in == '/') return bt_herr_set(e, "denied", "denied: %s is outside the workspace", in);
    size_t n = 0;
    const char *s = in;
    while (*s) {
        const char *end = strchr(s, '/');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == 0 || (len == 1 && s[0] == '.')) {
        } else if (len == 2 && s[0] == '.' && s[1] == '.') {
            if (n == 0) return bt_herr_set(e, "denied", "denied: %s is outside the workspace", in);
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0) n--;
        } else {
            if (n + len + 2 > cap) return bt_herr_set(e, "EINVAL", "invalid path: too long");
            if (n) out[n++] = '/';
            memcpy(out + n, s, len);
            n += len;
        }
        s += len + (end ? 1 : 0);
    }
    if (n == 0) out[n++] = '.';
    out[n] = '\0';
    return 0;
}

static int any_match(char **pats, int n, const char *rel) {
    for (int i = 0; i < n; i++)
        if (bt_glob_match(pats[i], rel)) return 1;
    return 0;
}

static int protected_path(const char *rel) {
    static const char *const dirs[] = {".baton", ".git"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(dirs[i]);
        if (strncmp(rel, dirs[i], n) == 0 && (rel[n] == '\0' || rel[n] == '/')) return 1;
    }
    return 0;
}

int bt_policy_path(const bt_policy *p, const char *rel, int write, bt_herr *e) {
    if (write && protected_path(rel))
        return bt_herr_set(e, "denied",
                           "denied: %s is protected (.baton/ and .git/ are never "
                           "writable by an agent)",
                           rel);
    if (write && strcmp(rel, ".") == 0)
        return bt_herr_set(e, "denied", "denied: the workspace root itself cannot be changed");
    if (any_match(p->deny, p->ndeny, rel))
        return bt_herr_set(e, "denied", "denied: %s matches a deny rule of this agent's policy",
                           rel);
    if (write ? any_match(p->write, p->nwrite, rel) : any_match(p->read, p->nread, rel)) return 0;
    return bt_herr_set(e, "denied", "denied: %s is not %s under this agent's policy", rel,
                       write ? "writable" : "readable");
}

/* ---- programs ---- */

static int in_set(const char *name, const char *const *set) {
    for (; *set; set++)
        if (strcmp(name, *set) == 0) return 1;
    return 0;
}

static const char *const SHELLS[] = {"sh",   "bash", "dash", "zsh",     "ksh", "mksh",
                                     "fish", "csh",  "tcsh", "busybox", NULL};
/* Programs whose job is to run another program. */
static const char *const WRAPPERS[] = {
    "env",    "xargs",   "nice",    "nohup",   "timeout",  "sudo",    "su",
    "doas",   "chroot",  "setsid",  "unshare", "nsenter",  "strace",  "ltrace",
    "stdbuf", "time",    "watch",   "flock",   "ionice",   "taskset", "chrt",
    "capsh",  "runuser", "setpriv", "script",  "parallel", "gdb",     NULL};

/* Per program: argument prefixes that run arbitrary code or leave the
 * workspace, and short-option letters that do so inside clusters. */
typedef struct escape_rule {
    const char *prog;
    const char *const args[12];
    const char *letters;
} escape_rule;

static const escape_rule ESCAPES[] = {
    {"git",
     {"-c", "--config-env", "--exec-path", "-C", "--git-dir", "--work-tree", "--upload-pack",
      "--receive-pack", "--ext-diff", "--namespace", NULL},
     NULL},
    {"find", {"-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fls", NULL}, NULL},
    {"python", {NULL}, "c"},
    {"python3", {NULL}, "c"},
    {"perl", {NULL}, "eE"},
    {"ruby", {NULL}, "e"},
    {"node", {"--eval", "--print", "--require", NULL}, "epr"},
    {"nodejs", {"--eval", "--print", "--require", NULL}, "epr"},
    {"lua", {NULL}, "e"},
    {"lua5.4", {NULL}, "e"},
    {"luajit", {NULL}, "e"},
    {"php", {NULL}, "r"},
    {"tclsh", {NULL}, NULL},
    {"make", {"--eval", "SHELL=", NULL}, NULL},
    {NULL, {NULL}, NULL}};

/* Returns the offending argument of argv (escape hatch), or NULL. */
static const char *find_escape(const char *const argv[]) {
    const char *prog = argv[0];
    for (const escape_rule *r = ESCAPES; r->prog; r++) {
        if (strcmp(r->prog, prog) != 0 &&
            !(strncmp(prog, "python3.", 8) == 0 && strcmp(r->prog, "python3") == 0))
            continue;
        for (int i = 1; argv[i]; i++) {
            const char *a = argv[i];
            for (int k = 0; r->args[k]; k++)
                if (strncmp(a, r->args[k], strlen(r->args[k])) == 0) return a;
            if (r->letters && a[0] == '-' && a[1] != '-' && strpbrk(a + 1, r->letters)) return a;
        }
    }
    return NULL;
}

static int resolve_exe(const char *name, char *exe, size_t cap) {
    const char *dirs = BT_SAFE_PATH;
    while (*dirs) {
        size_t n = strcspn(dirs, ":");
        snprintf(exe, cap, "%.*s/%s", (int)n, dirs, name);
        if (access(exe, X_OK) == 0) return 0;
        dirs += n + (dirs[n] == ':');
    }
    return -1;
}

static int args_match(const bt_cmd_rule *r, const char *const argv[]) {
    if (!r->args) return 1;
    char joined[8192];
    size_t n = 0;
    for (int i = 1; argv[i]; i++) {
        int w = snprintf(joined + n, sizeof joined - n, "%s%s", i > 1 ? " " : "", argv[i]);
        if (w < 0 || (size_t)w >= sizeof joined - n) return 0;
        n += (size_t)w;
    }
    joined[n] = '\0';
    for (int i = 0; i < r->nargs; i++)
        if (fnmatch(r->args[i], joined, 0) == 0) return 1;
    return 0;
}

int bt_policy_argv(const bt_policy *p, const char *const argv[], char *exe, size_t cap,
                   bt_herr *e) {
    const char *name = argv[0];
    if (*name == '\0' || strchr(name, '/'))
        return bt_herr_set(e, "denied",
                           "denied: program '%s' must be a bare name found on "
                           "the PATH (%s)",
                           name, BT_SAFE_PATH);
    const bt_cmd_rule *rule = NULL;
    for (int i = 0; i < p->ncmds && !rule; i++)
        if (strcmp(p->cmds[i].name, name) == 0) rule = &p->cmds[i];
    if (in_set(name, SHELLS)) {
        if (!p->shell)
            return bt_herr_set(e, "denied",
                               "denied: %s is a shell and this agent's policy "
                               "does not allow a shell",
                               name);
    } else {
        if (!rule)
            return bt_herr_set(e, "denied",
                               "denied: program %s is not allowed by this "
                               "agent's policy",
                               name);
        const char *bad = find_escape(argv);
        if (!rule->escapes && in_set(name, WRAPPERS))
            return bt_herr_set(e, "denied",
                               "denied: %s runs other programs (an escape "
                               "hatch) and the policy does not allow it",
                               name);
        if (!rule->escapes && bad)
            return bt_herr_set(e, "denied",
                               "denied: %s %s is an escape hatch the policy "
                               "does not allow",
                               name, bad);
        if (!args_match(rule, argv))
            return bt_herr_set(e, "denied",
                               "denied: these arguments to %s are not allowed "
                               "by this agent's policy",
                               name);
    }
    if (resolve_exe(name, exe, cap) != 0)
        return bt_herr_set(e, "ENOENT", "ENOENT: program %s not found on %s", name, BT_SAFE_PATH);
    return 0;
}

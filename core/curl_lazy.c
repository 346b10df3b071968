/* curl_lazy.c: libcurl, loaded when first needed instead of at exec.
 * libcurl pulls in some thirty libraries (OpenSSL, GnuTLS, Kerberos, LDAP,
 * ...): binding them costs every start ~14 M instructions and ~10 ms, more
 * than the rest of a command's start-up, and most commands never use HTTP.
 * baton is linked without libcurl; the curl functions it calls are defined
 * here: the first call loads libcurl.so.4 (or waits for the thread of
 * bt_curl_preload, which `baton run` and `resume` start at exec so that the
 * loading overlaps their start-up) and every call is forwarded to it. A curl
 * function the C code starts to use needs its line here (the link fails
 * until it has one). */
#define CURL_DISABLE_TYPECHECK 1
#include "curl_lazy.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LIBCURL "libcurl.so.4"

/* X(return type, name, parameters, arguments) for the fixed-arity ones. */
#define CURL_FUNCS(X)                                                                        \
    X(CURLcode, curl_global_init, (long flags), (flags))                                     \
    X(CURL *, curl_easy_init, (void), ())                                                    \
    X(const char *, curl_easy_strerror, (CURLcode code), (code))                             \
    X(CURLM *, curl_multi_init, (void), ())                                                  \
    X(CURLMcode, curl_multi_cleanup, (CURLM * m), (m))                                       \
    X(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL *h), (m, h))                        \
    X(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL *h), (m, h))                     \
    X(CURLMcode, curl_multi_socket_action, (CURLM * m, curl_socket_t s, int ev, int *running), \
      (m, s, ev, running))                                                                   \
    X(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left))                   \
    X(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s)) \
    X(curl_version_info_data *, curl_version_info, (CURLversion v), (v))                     \
    X(CURLU *, curl_url, (void), ())                                                         \
    X(CURLUcode, curl_url_set, (CURLU * u, CURLUPart what, const char *part, unsigned int flags), \
      (u, what, part, flags))

#define CURL_VOID_FUNCS(X)                                                                   \
    X(curl_easy_cleanup, (CURL * h), (h))                                                    \
    X(curl_easy_reset, (CURL * h), (h))                                                      \
    X(curl_slist_free_all, (struct curl_slist * l), (l))                                     \
    X(curl_url_cleanup, (CURLU * u), (u))

#define POINTER(ret, name, params, args) static ret(*p_##name) params;
#define VOID_POINTER(name, params, args) static void(*p_##name) params;
CURL_FUNCS(POINTER)
CURL_VOID_FUNCS(VOID_POINTER)
static CURLcode (*p_curl_easy_setopt)(CURL *, CURLoption, ...);
static CURLcode (*p_curl_easy_getinfo)(CURL *, CURLINFO, ...);
static CURLMcode (*p_curl_multi_setopt)(CURLM *, CURLMoption, ...);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[512]; /* why libcurl could not be loaded ("" when it was) */

static void *sym(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p && !failure[0]) snprintf(failure, sizeof failure, "it has no %s", name);
    return p;
}

static void load_now(void) {
    void *lib = dlopen(LIBCURL, RTLD_LAZY | RTLD_LOCAL); /* as the loader binds at exec */
    if (!lib) { /* copied: dlerror's text belongs to the thread that asked */
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "%s", why ? why : "unknown error");
        return;
    }
#define LOOKUP(ret, name, params, args) *(void **)&p_##name = sym(lib, #name);
#define VOID_LOOKUP(name, params, args) *(void **)&p_##name = sym(lib, #name);
    CURL_FUNCS(LOOKUP)
    CURL_VOID_FUNCS(VOID_LOOKUP)
    *(void **)&p_curl_easy_setopt = sym(lib, "curl_easy_setopt");
    *(void **)&p_curl_easy_getinfo = sym(lib, "curl_easy_getinfo");
    *(void **)&p_curl_multi_setopt = sym(lib, "curl_multi_setopt");
    /* TLS and the rest set up here too (on the preload thread, off the path
     * of the first request); http.c's own call later only counts one more.
     * A failure is left for that call to report. */
    if (!failure[0]) p_curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A broken installation (no libcurl) is as fatal as it was when the dynamic
 * loader refused to start baton, but only for the commands that need it. */
static void load(void) {
    pthread_once(&once, load_now);
    if (failure[0]) {
        fprintf(stderr, "baton: cannot load %s: %s\n", LIBCURL, failure);
        exit(1);
    }
}

#define DEFINE(ret, name, params, args) \
    ret name params {                   \
        load();                         \
        return p_##name args;           \
    }
#define VOID_DEFINE(name, params, args) \
    void name params {                  \
        load();                         \
        p_##name args;                  \
    }
CURL_FUNCS(DEFINE)
CURL_VOID_FUNCS(VOID_DEFINE)

/* The variadic three take one argument whose type the option's number range
 * tells (curl.h: CURLOPTTYPE_*); getinfo's is always a pointer. */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...) {
    load();
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT) rc = p_curl_easy_setopt(h, opt, va_arg(ap, long));
    else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
        rc = p_curl_easy_setopt(h, opt, va_arg(ap, curl_off_t));
    else rc = p_curl_easy_setopt(h, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...) {
    load();
    va_list ap;
    va_start(ap, opt);
    CURLMcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT) rc = p_curl_multi_setopt(m, opt, va_arg(ap, long));
    else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
        rc = p_curl_multi_setopt(m, opt, va_arg(ap, curl_off_t));
    else rc = p_curl_multi_setopt(m, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...) {
    load();
    va_list ap;
    va_start(ap, info);
    CURLcode rc = p_curl_easy_getinfo(h, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

static pthread_t preloader;
static int preloading;

static void *preload_main(void *ud) {
    (void)ud;
    pthread_once(&once, load_now);
    return NULL;
}

void bt_curl_preload(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the main thread */
    preloading = pthread_create(&preloader, NULL, preload_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void bt_curl_settle(void) {
    if (!preloading) return;
    pthread_join(preloader, NULL);
    preloading = 0;
}

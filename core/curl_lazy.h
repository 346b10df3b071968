/* curl_lazy.h: libcurl loaded on first use instead of at exec (curl_lazy.c). */
#ifndef BT_CURL_LAZY_H
#define BT_CURL_LAZY_H

/* Starts loading libcurl on a thread of its own (signals blocked there), so
 * the loading overlaps the caller's own start-up. */
void bt_curl_preload(void);

/* Waits for a bt_curl_preload still loading; afterwards the process has no
 * thread of baton's own again (safe to fork). Harmless when none runs. */
void bt_curl_settle(void);

#endif

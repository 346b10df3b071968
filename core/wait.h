/* wait.h: how a C function suspends its Lua caller until an event, the
 * openresty way. Scripts see a plain blocking call; C sees events.
 *
 *   static int h_run(lua_State *L) {          // e.g. harness command
 *       ... check every argument first, then start the child ...
 *       bt_wait *w = bt_wait_begin(L, on_cancel, child);
 *       ... register fds/timers with bt_loop_of(L); their callbacks, when the
 *           child is done, push results onto bt_wait_thread(w) and call
 *           bt_wait_finish(w, nresults) ...
 *       return bt_wait_yield(L, w, 0, NULL);
 *   }
 *
 * Inside a loop task (a coroutine started by baton.loop's spawn),
 * bt_wait_yield yields to the scheduler, which resumes the task with the
 * pushed results once bt_wait_finish ran. Outside a task (the main thread, or
 * a plain coroutine baton.loop did not start) it runs the loop itself until
 * the wait finishes (other tasks keep running meanwhile) and returns the
 * results: the same call simply blocks.
 *
 * A continuation k (may be NULL) lets a C function handle several wakes, e.g.
 * one per streamed SSE event: bt_wait_finish wakes the caller, k runs in the
 * caller's thread (it may call Lua functions such as on_event), and k may
 * begin a new wait and return bt_wait_yield again.
 *
 * Ownership: the bt_wait belongs to the loop glue; it is freed after the
 * resume. If the task is cancelled (loop.cancel) or the Lua state closes
 * while waiting, on_cancel(ud) runs exactly once instead, and must release
 * whatever the waiter owns (kill and reap the child, remove the curl handle)
 * without touching Lua; after that the waiter must never call finish. */
#ifndef BATON_WAIT_H
#define BATON_WAIT_H
#include <lua.h>

#include "loop.h"

typedef struct bt_wait bt_wait;
typedef void (*bt_cancel_fn)(void *ud);

/* The process's loop, created on first use and freed when L closes. */
bt_loop *bt_loop_of(lua_State *L);

/* Begins a wait for the running thread L. Raises on out of memory (call it
 * before acquiring anything you cannot release from on_cancel). */
bt_wait *bt_wait_begin(lua_State *L, bt_cancel_fn on_cancel, void *ud);

/* The thread results must be pushed on (lua_checkstack it first). */
lua_State *bt_wait_thread(bt_wait *w);

/* Marks the wait done with the top nresults values of bt_wait_thread(w) as
 * the call's results. Called from a loop callback, never twice. */
void bt_wait_finish(bt_wait *w, int nresults);

/* Suspends until finish; see above. With k == NULL the results become the C
 * function's return values; with k, k(L, LUA_YIELD, ctx) runs on wake with
 * the results on top of the stack. */
int bt_wait_yield(lua_State *L, bt_wait *w, lua_KContext ctx, lua_KFunction k);

/* Extensions (used by baton.http; harmless to ignore):
 * - bt_wait_finish may also be called before bt_wait_yield (e.g. when the
 *   operation failed to start after bt_wait_begin): bt_wait_yield then
 *   returns the results at once without suspending.
 * - In blocking mode k is called directly from bt_wait_yield, so a function
 *   expecting thousands of wakes (a long SSE stream) should loop instead:
 *   bt_wait_can_yield(L) tells whether a wait begun now would suspend. */
int bt_wait_can_yield(lua_State *L);

/* Idle hooks: fn(ud) runs whenever the code driving the loop finds no task
 * ready and is about to poll it (block), e.g. to commit a group of SSOT
 * writes and wake the tasks waiting for that. fn may finish waits (making
 * tasks ready again) but must not raise. If the loop closes first, gone(ud)
 * runs once instead of any later fn; after that, do not remove the hook.
 * Raises on out of memory. */
typedef struct bt_idle bt_idle;
bt_idle *bt_wait_idle_add(lua_State *L, void (*fn)(void *ud), void (*gone)(void *ud), void *ud);
void bt_wait_idle_remove(bt_idle *h);

/* Registers fn(ud) to run when L closes, after every pending wait was
 * cancelled and before the loop is freed (e.g. curl_multi_cleanup). */
void bt_wait_on_close(lua_State *L, void (*fn)(void *ud), void *ud);

#endif

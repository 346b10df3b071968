/* task.h: loop tasks (coroutines started by baton.loop's spawn) and joins,
 * implemented by core/task.c (internals shared with wait.c: glue.h) and
 * used by the baton.loop binding (core/loop_lua.c). Other modules only
 * need wait.h.
 * A task is a full userdata of type BT_TASK_MT with two user values:
 * 1 = its thread (while it may still run), 2 = its outcome once finished
 * (a table of return values with field n, or the error message with its
 * traceback, or "cancelled"). */
#ifndef BATON_TASK_H
#define BATON_TASK_H
#include <lua.h>

#include "wait.h"

#define BT_TASK_MT "baton.loop.task"

enum {
    BT_TASK_READY,
    BT_TASK_RUNNING,
    BT_TASK_WAITING,
    BT_TASK_DONE,
    BT_TASK_FAILED,
    BT_TASK_CANCELLED
};

typedef struct bt_task bt_task;

/* Pushes the task metatable (created on first use); the binding adds the
 * methods. */
void bt_task_metatable(lua_State *L);

/* Pops the function and its nargs arguments off L, pushes a new task that
 * will start on the scheduler's next turn. Raises on out of memory. */
bt_task *bt_task_spawn(lua_State *L, int nargs);

int bt_task_status(const bt_task *t);
int bt_task_finished(const bt_task *t); /* done, failed or cancelled */

/* The task whose thread is L, or NULL (the main thread, a plain coroutine). */
bt_task *bt_task_of(lua_State *L);

/* Cancels t: a pending wait gets its on_cancel, pending to-be-closed
 * variables of the task are closed. A running task (L itself, or one up the
 * resume chain) is cancelled when it next yields to the scheduler. Returns 1
 * when t was or will be cancelled, 0 when it had already finished. */
int bt_task_cancel(lua_State *L, bt_task *t);

/* Runs ready tasks and the loop until no task is left. Raises on a deadlock
 * (tasks left but nothing that could wake them). */
void bt_task_run_all(lua_State *L);

/* A join: waits until all (any == 0) or one (any == 1) of tasks[0..n-1] have
 * finished. The caller allocates it with bt_join_size(n) bytes as a userdata
 * kept on L's stack until the wait is over, and fills tasks, n, any and
 * cancel_on_error (cancel the others when one fails). winner is set for any. */
typedef struct bt_join {
    struct bt_join *prev, *next;
    bt_wait *w;
    int n, any, cancel_on_error, winner, done, want_cancel;
    bt_task *tasks[];
} bt_join;

#define bt_join_size(n) (sizeof(bt_join) + (size_t)(n) * sizeof(bt_task *))

/* Begins the join's wait (finished at once if already satisfied); the
 * caller then returns bt_wait_yield(L, w, ...) with the returned wait. */
bt_wait *bt_join_begin(lua_State *L, bt_join *j);

#endif

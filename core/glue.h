/* glue.h: internals shared by the two halves of the loop glue: core/wait.c
 * (waits, blocking, the glue's lifetime) and core/task.c (tasks, the
 * scheduler, joins). Not for other modules: they use wait.h and task.h. */
#ifndef BATON_GLUE_H
#define BATON_GLUE_H
#include "task.h"
#include "wait.h"

enum { W_PENDING, W_DONE };

typedef struct hook {
    struct hook *next;
    void (*fn)(void *);
    void *ud;
} hook;

struct bt_idle {
    struct bt_idle *prev, *next;
    struct glue *g;
    void (*fn)(void *);
    void (*gone)(void *);
    void *ud;
};

typedef struct glue {
    bt_loop *loop;
    bt_wait *waits;             /* every wait not yet taken, doubly linked */
    bt_task *ready, *ready_end; /* tasks to resume, FIFO */
    bt_join *joins;
    hook *hooks;
    bt_idle *idles;
    int ntasks;   /* tasks not finished */
    int flushing; /* flush_joins is running */
    int depth;    /* tasks being resumed (nested resumes) */
} glue;

struct bt_wait {
    bt_wait *prev, *next;
    glue *g;
    lua_State *L;
    bt_task *t; /* the task that yields for it, NULL in blocking mode */
    bt_cancel_fn on_cancel;
    void *ud;
    int state, nresults, yielded;
};

struct bt_task {
    glue *g;
    lua_State *co; /* NULL once finished */
    bt_wait *wait;
    bt_task *next_ready;
    int status, queued, cancel_pending, nargs;
};

/* The glue of L's state, created on first use (raises when L is closing). */
glue *bt_glue_of(lua_State *L);
/* Cancels a wait that has not finished (on_cancel); frees it either way. */
void bt_wait_drop(bt_wait *w);
/* Frees a finished wait and returns its result count (the results stay on
 * its thread's stack). */
int bt_wait_take(bt_wait *w);
/* Queues t to be resumed (once). */
void bt_task_ready(glue *g, bt_task *t);
/* Runs the idle hooks (nothing is ready and the loop is about to be polled). */
void bt_glue_idle(glue *g);
/* Resumes every ready task, from the thread that drives the loop. */
void bt_task_run_ready(glue *g, lua_State *from);

#endif

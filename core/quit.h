/* quit.h: the end of a process that asked for the quick exit (engine, no
 * lua.h). main.c calls bt_quit_begin once `baton run` or `resume` is done
 * (host.fast_exit, outside leak-checked builds): from there on the process
 * only closes what it opened and ends with _exit, so a finalizer may leave to
 * the kernel what exit reclaims anyway (memory, idle sockets); it must still
 * do what exit would not: end children, remove files, commit. */
#ifndef BATON_QUIT_H
#define BATON_QUIT_H

void bt_quit_begin(void);
int bt_quitting(void);

/* Gives SQLite malloc's functions, except that its frees do nothing once
 * bt_quitting (closing the database frees its caches and statements: ~0.3
 * ms after a run). Call before anything else uses SQLite; returns
 * sqlite3_config's result. */
int bt_quit_sqlite_memory(void);

#endif

/* sys.h: facts about the host that baton doctor and the tests need:
 * library versions, what confinement the kernel offers, child processes.
 * Engine code without lua.h. */
#ifndef BATON_SYS_H
#define BATON_SYS_H
#include <stddef.h>
#include <sys/types.h>

/* The Landlock ABI version the kernel offers, or 0 when it has none
 * (syscall missing, or Landlock disabled at boot). */
int bt_sys_landlock_abi(void);

/* Forks a child that tries unshare(flags) and reports whether it worked.
 * Returns 1 when it did, 0 when the kernel refused, -1 when fork failed. */
int bt_sys_can_unshare(int flags);

/* Fills pids with the live (or unreaped) children of this process, found by
 * scanning /proc. Returns how many there are (may exceed max: only max are
 * written), or -1 when /proc cannot be read. */
int bt_sys_children(pid_t *pids, int max);

#endif

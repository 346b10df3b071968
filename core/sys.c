/* sys.c: host probes; see sys.h. */
#include "sys.h"

#include "curl_lazy.h"

#include <ctype.h>
#include <dirent.h>
#include <linux/landlock.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int bt_sys_landlock_abi(void) {
#ifdef SYS_landlock_create_ruleset
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi > 0 ? (int)abi : 0;
#else
    return 0;
#endif
}

int bt_sys_can_unshare(int flags) {
    bt_curl_settle(); /* no fork while libcurl loads on its thread */
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) _exit(unshare(flags) == 0 ? 0 : 1);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Reads the parent pid from /proc/<pid>/stat; the comm field may hold
 * spaces and parentheses, so parse after the last ')'. */
static pid_t parent_of(const char *pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close = strrchr(buf, ')');
    char state;
    int ppid;
    if (!close || sscanf(close + 1, " %c %d", &state, &ppid) != 2) return -1;
    return ppid;
}

int bt_sys_children(pid_t *pids, int max) {
    DIR *d = opendir("/proc");
    if (!d) return -1;
    pid_t self = getpid();
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        if (parent_of(e->d_name) != self) continue;
        if (count < max) pids[count] = (pid_t)atoi(e->d_name);
        count++;
    }
    closedir(d);
    return count;
}

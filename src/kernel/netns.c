#include "kernel/netns.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int netns_enter(const char *name, char *err, size_t errlen)
{
    char path[512];
    if (!*name || strchr(name, '/'))
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "network namespace '%s': %s", name, strerror(errno));
        return -1;
    }
    if (setns(fd, CLONE_NEWNET) < 0) {
        snprintf(err, errlen, "cannot enter network namespace '%s': %s%s", name,
                 strerror(errno), errno == EPERM ? " (needs root / CAP_SYS_ADMIN)" : "");
        close(fd);
        return -1;
    }
    close(fd);
    /* /proc/net and /proc/sys/net follow the task's namespace already; /sys
     * would need a remount, which closer does not read. */
    return 0;
}

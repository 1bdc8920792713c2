/* SPDX-License-Identifier: MIT */
#include "kernel/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/parse.h"

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int netns_spec_parse(const char *arg, struct netns_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!arg || !*arg) {
        snprintf(err, errlen, "empty network namespace (want NAME, a path, or pid:PID)");
        return -1;
    }
    if (!strncmp(arg, "pid:", 4)) {
        uint64_t pid;
        if (!all_digits(arg + 4) || parse_u64(arg + 4, 1, 4194304, &pid) < 0) {
            snprintf(err, errlen, "bad network namespace '%s': pid:PID wants a process id", arg);
            return -1;
        }
        out->pid = (pid_t)pid;
        snprintf(out->path, sizeof out->path, "/proc/%d/ns/net", out->pid);
        return 0;
    }
    if (strlen(arg) >= sizeof out->path - 12) {
        snprintf(err, errlen, "network namespace path too long");
        return -1;
    }
    if (strchr(arg, '/')) {
        snprintf(out->path, sizeof out->path, "%s", arg);
        return 0;
    }
    if (!strcmp(arg, ".") || !strcmp(arg, "..")) {
        snprintf(err, errlen, "bad network namespace name '%s'", arg);
        return -1;
    }
    out->named = 1;
    snprintf(out->path, sizeof out->path, "/run/netns/%s", arg);
    return 0;
}

int netns_open(const struct netns_spec *s, const char *arg, char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO given as the path must not hang the open. */
    int fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0)
        return fd;
    int e = errno;
    if (s->pid && e == ENOENT)
        snprintf(err, errlen, "network namespace '%s': no process %d", arg, s->pid);
    else if (s->named && e == ENOENT && all_digits(arg))
        snprintf(err, errlen, "network namespace '%s': no /run/netns/%s (for a process's "
                 "namespace use pid:%s)", arg, arg, arg);
    else if (s->named && e == ENOENT)
        snprintf(err, errlen, "network namespace '%s': no /run/netns/%s (ip netns list; a "
                 "process's namespace is pid:PID, any nsfs file a path)", arg, arg);
    else
        snprintf(err, errlen, "network namespace '%s': %s: %s", arg, s->path, strerror(e));
    return -1;
}

int netns_setns(int fd, const char *what, char *err, size_t errlen)
{
    if (setns(fd, CLONE_NEWNET) == 0)
        return 0;
    int e = errno;
    const char *hint = "";
    if (e == EPERM)
        hint = " (needs root / CAP_SYS_ADMIN)";
    else if (e == EINVAL)
        hint = " (not a network namespace file)";
    snprintf(err, errlen, "cannot enter network namespace '%s': %s%s", what, strerror(e), hint);
    return -1;
}

int netns_enter(const char *arg, char *err, size_t errlen)
{
    struct netns_spec s;
    if (netns_spec_parse(arg, &s, err, errlen) < 0)
        return -1;
    int fd = netns_open(&s, arg, err, errlen);
    if (fd < 0)
        return -1;
    int rc = netns_setns(fd, arg, err, errlen);
    close(fd);
    /* /proc/net and /proc/sys/net follow the task's namespace already; /sys
     * would need a remount, which closer does not read. */
    return rc;
}

int netns_self(char *err, size_t errlen)
{
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        snprintf(err, errlen, "cannot open this process's network namespace: %s", strerror(errno));
    return fd;
}

uint64_t netns_fd_inode(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int netns_self_name(const char *dir, char *name, size_t len)
{
    struct stat self, st;
    if (stat("/proc/self/ns/net", &self) < 0)
        return -1;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int found = -1;
    char path[PATH_MAX];
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= len ||
            (found == 0 && strcmp(e->d_name, name) >= 0))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && st.st_ino == self.st_ino && st.st_dev == self.st_dev) {
            snprintf(name, len, "%s", e->d_name);
            found = 0;
        }
    }
    closedir(d);
    return found;
}

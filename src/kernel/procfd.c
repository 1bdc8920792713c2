/* SPDX-License-Identifier: MIT */
#include "kernel/procfd.h"
#include "util/vec.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

long procfd_parse_epoll_fdinfo(const char *text, uint64_t *inos, size_t max)
{
    if (!strstr(text, "tfd:") && !strstr(text, "eventpoll"))
        return strncmp(text, "pos:", 4) == 0 ? 0 : -1;
    long n = 0;
    for (const char *p = strstr(text, "tfd:"); p; p = strstr(p + 4, "tfd:")) {
        const char *ino = strstr(p, "ino:");
        const char *eol = strchr(p, '\n');
        if (!ino || (eol && ino > eol))
            continue;
        if ((size_t)n < max)
            inos[n] = strtoull(ino + 4, NULL, 16);
        n++;
    }
    return n;
}

static int push_fd(struct procfd_table *t, struct fd_ref r)
{
    int rc = vec_reserve((void **)&t->fds, &t->fds_cap, t->nfds + 1, sizeof *t->fds, 1024);
    if (!rc)
        t->fds[t->nfds++] = r;
    return rc;
}

static int push_proc(struct procfd_table *t, struct proc_info p)
{
    int rc = vec_reserve((void **)&t->procs, &t->procs_cap, t->nprocs + 1, sizeof *t->procs, 256);
    if (!rc)
        t->procs[t->nprocs++] = p;
    return rc;
}

static void read_comm(int pidfd, char comm[16])
{
    int fd = openat(pidfd, "comm", O_RDONLY | O_CLOEXEC);
    char line[17]; /* up to 15 bytes of comm and the kernel's newline */
    ssize_t n = fd >= 0 ? read(fd, line, 16) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        n = 0;
    /* Only the last newline is the kernel's: a name may hold one itself
     * (prctl(PR_SET_NAME) takes any bytes), and outputs escape it. */
    if (n > 0 && line[n - 1] == '\n')
        n--;
    if (n > 15)
        n = 15;
    memcpy(comm, line, (size_t)n);
    comm[n] = 0;
}

/* Soft "Max open files" from /proc/PID/limits: what a CLOSE_WAIT leak
 * eventually runs into (EMFILE). */
static uint64_t read_fd_limit(int pidfd)
{
    char text[4096];
    int fd = openat(pidfd, "limits", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = 0;
    const char *p = strstr(text, "Max open files");
    return p ? strtoull(p + strlen("Max open files"), NULL, 10) : 0;
}

struct epoll_set {
    uint64_t *inos;
    size_t n, cap;
};

/* Adds the interest list of epoll fd `fd` of this process to set. */
static int read_epoll(int pidfd, const char *fd, struct epoll_set *set, bool *denied)
{
    char path[64], text[65536];
    snprintf(path, sizeof path, "fdinfo/%s", fd);
    int f = openat(pidfd, path, O_RDONLY | O_CLOEXEC);
    if (f < 0) {
        *denied = true;
        return 0;
    }
    /* An fdinfo larger than text (thousands of registrations) is read in
     * full through a growing heap buffer. */
    size_t cap = sizeof text, len = 0;
    char *buf = text;
    for (;;) {
        ssize_t r = read(f, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len + 1 == cap) {
            char *nb = malloc(cap * 2);
            if (!nb)
                break;
            memcpy(nb, buf, len);
            if (buf != text)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    close(f);
    buf[len] = 0;
    /* Count first, then fill: the registrations go straight into the set. */
    long n = procfd_parse_epoll_fdinfo(buf, NULL, 0);
    int rc = 0;
    if (n > 0 && !(rc = vec_reserve((void **)&set->inos, &set->cap, set->n + (size_t)n,
                                     sizeof *set->inos, 64)))
        set->n += (size_t)procfd_parse_epoll_fdinfo(buf, set->inos + set->n, (size_t)n);
    if (buf != text)
        free(buf);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void mark_polled(struct fd_ref *refs, size_t n, struct epoll_set *set)
{
    if (!set->n)
        return;
    qsort(set->inos, set->n, sizeof *set->inos, cmp_u64);
    for (size_t i = 0; i < n; i++)
        refs[i].polled = bsearch(&refs[i].inode, set->inos, set->n,
                                 sizeof *set->inos, cmp_u64) != NULL;
}

/* The network namespace of a process, as the inode of its /proc/PID/net/tcp:
 * each namespace has its own proc entry, and unlike /proc/PID/ns/net it is
 * readable without ptrace access. 0 when unknown. */
static uint64_t netns_of(int pidfd)
{
    struct stat st;
    return fstatat(pidfd, "net/tcp", &st, 0) == 0 ? (uint64_t)st.st_ino : 0;
}

/* Kernel threads own no fds (their fd directory is as unreadable as any
 * other user's): PF_KTHREAD in the flags of /proc/PID/stat (readable by
 * all). */
static bool kernel_thread(int pidfd)
{
    char stat[512];
    int fd = openat(pidfd, "stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return false;
    stat[n] = 0;
    const char *p = strrchr(stat, ')');
    unsigned long flags = 0;
    /* after ')': state ppid pgrp session tty_nr tpgid flags */
    return p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 &&
           (flags & 0x00200000ul);
}

static void note_denied(int pidfd, pid_t pid, uid_t uid, struct procfd_table *t)
{
    if (kernel_thread(pidfd))
        return;
    struct stat nsst;
    uint64_t ns = netns_of(pidfd);
    struct denied_where w = {fstatat(pidfd, "ns/net", &nsst, 0) == 0 ? (uint64_t)nsst.st_ino : 0, ns};
    if (!vec_reserve((void **)&t->denied_ns, &t->denied_ns_cap, t->ndenied_ns + 1,
                     sizeof *t->denied_ns, 64))
        t->denied_ns[t->ndenied_ns++] = w; /* out of memory: counted as before only */
    if (ns && t->netns && ns != t->netns) {
        t->denied_elsewhere++;
        return;
    }
    if (t->denied < PROCFD_MAX_DENIED_LISTED) {
        struct denied_proc *d = &t->denied_list[t->denied];
        *d = (struct denied_proc){.pid = pid, .uid = uid};
        read_comm(pidfd, d->comm);
    }
    t->denied++;
}

static int scan_pid(int procfd, const char *pidname, struct procfd_table *t)
{
    int pidfd = openat(procfd, pidname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pidfd < 0)
        return 0; /* exited meanwhile */
    struct stat st;
    uid_t uid = fstat(pidfd, &st) == 0 ? st.st_uid : (uid_t)-1;
    int fddir = openat(pidfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fddir < 0) {
        if (errno == EACCES || errno == EPERM)
            note_denied(pidfd, atoi(pidname), uid, t);
        close(pidfd);
        return 0;
    }
    DIR *d = fdopendir(fddir);
    if (!d) {
        close(fddir);
        close(pidfd);
        return 0;
    }
    struct proc_info p = {.pid = atoi(pidname), .uid = uid};
    size_t first = t->nfds;
    struct epoll_set eset = {0};
    int rc = 0;
    bool denied = false;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char link[64];
        ssize_t n = readlinkat(fddir, de->d_name, link, sizeof link - 1);
        if (n <= 0) {
            /* The directory may list while its links stay unreadable
             * (ptrace access mode checks, e.g. for a container's init). */
            denied |= n < 0 && (errno == EACCES || errno == EPERM);
            continue;
        }
        link[n] = 0;
        p.nfds++;
        if (!strncmp(link, "socket:[", 8)) {
            p.nsockets++;
            rc = push_fd(t, (struct fd_ref){.inode = strtoull(link + 8, NULL, 10),
                                            .pid = p.pid, .fd = atoi(de->d_name),
                                            .proc = (uint32_t)t->nprocs});
        } else if (!strcmp(link, "anon_inode:[eventpoll]")) {
            p.nepoll++;
            rc = read_epoll(pidfd, de->d_name, &eset, &p.fdinfo_denied);
        }
    }
    closedir(d);
    if (denied)
        note_denied(pidfd, p.pid, uid, t);
    if (!rc && p.nsockets) {
        read_comm(pidfd, p.comm);
        p.fd_limit = read_fd_limit(pidfd);
        mark_polled(t->fds + first, t->nfds - first, &eset);
        rc = push_proc(t, p);
    }
    free(eset.inos);
    close(pidfd);
    return rc;
}

int procfd_scan_pid(const char *proc_root, pid_t pid, struct procfd_table *t)
{
    int procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return -errno;
    char name[16];
    snprintf(name, sizeof name, "%d", (int)pid);
    int rc = scan_pid(procfd, name, t);
    close(procfd);
    return rc;
}

size_t procfd_netns_pids(const char *proc_root, pid_t *out, size_t max)
{
    int procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return 0;
    struct stat self;
    DIR *d = fstatat(procfd, "self/net/tcp", &self, 0) == 0 ? fdopendir(dup(procfd)) : NULL;
    size_t n = 0;
    pid_t me = getpid();
    struct dirent *de;
    while (d && n < max && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || atoi(de->d_name) == me)
            continue;
        int pidfd = openat(procfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pidfd < 0)
            continue;
        if (netns_of(pidfd) == (uint64_t)self.st_ino && !kernel_thread(pidfd))
            out[n++] = atoi(de->d_name);
        close(pidfd);
    }
    if (d)
        closedir(d);
    close(procfd);
    return n;
}

static int cmp_ref(const void *a, const void *b)
{
    const struct fd_ref *x = a, *y = b;
    if (x->inode != y->inode)
        return x->inode < y->inode ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->fd > y->fd) - (x->fd < y->fd);
}

int procfd_scan(const char *proc_root, struct procfd_table *t)
{
    int procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return -errno;
    DIR *d = fdopendir(dup(procfd));
    if (!d) {
        close(procfd);
        return -errno;
    }
    pid_t self = getpid();
    struct stat st;
    t->netns = fstatat(procfd, "self/net/tcp", &st, 0) == 0 ? (uint64_t)st.st_ino : 0;
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        /* Our own netlink/proc fds are not what the user asked about. */
        if (atoi(de->d_name) == self)
            continue;
        rc = scan_pid(procfd, de->d_name, t);
    }
    closedir(d);
    close(procfd);
    if (!rc && t->nfds)
        qsort(t->fds, t->nfds, sizeof *t->fds, cmp_ref);
    return rc;
}

void procfd_free(struct procfd_table *t)
{
    free(t->fds);
    free(t->procs);
    free(t->denied_ns);
    *t = (struct procfd_table){0};
}

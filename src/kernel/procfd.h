/* SPDX-License-Identifier: MIT */
/* Who owns which socket: walks /proc/PID/fd for "socket:[INODE]" links and
 * reads /proc/PID/fdinfo of every epoll fd to learn which sockets sit in an
 * epoll interest list. Only root (or the owner) can read another process's
 * fds; what could not be read is counted, not hidden.
 *
 * Error convention: 0 ok, negative errno (only for failures that make the
 * whole scan meaningless, e.g. no /proc or out of memory). */
#ifndef CLOSER_KERNEL_PROCFD_H
#define CLOSER_KERNEL_PROCFD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel/proctask.h"

/* One (socket inode, process, fd) triple from /proc/PID/fd. */
struct fd_ref {
    uint64_t inode;
    pid_t pid;
    int fd;
    uint32_t proc;  /* index into the process table */
    bool polled;    /* inode is in an epoll instance of the same process */
};

struct proc_info {
    pid_t pid;
    uid_t uid;
    char comm[16];
    uint32_t nfds;       /* open fds */
    uint32_t nsockets;   /* of which sockets */
    uint32_t nepoll;     /* epoll instances */
    uint64_t fd_limit;   /* soft RLIMIT_NOFILE, 0 if unknown */
    bool fdinfo_denied;  /* an epoll fdinfo could not be read */
    struct proc_model model; /* read only for owners of sockets a rule looks at */
};

/* A process whose fds could not be read, as far as /proc still tells. */
struct denied_proc {
    pid_t pid;
    uid_t uid;
    char comm[16];
};
#define PROCFD_MAX_DENIED_LISTED 8

/* A refused process's network namespace: the inode of /proc/PID/ns/net
 * (0 when that link is refused too, as it is under a security module) and
 * of /proc/PID/net/tcp (readable by all; one inode per namespace). */
struct denied_where {
    uint64_t ns, net_tcp;
};

struct procfd_table {
    struct fd_ref *fds;  /* sorted by (inode, pid, fd) after the scan */
    size_t nfds, fds_cap;
    struct proc_info *procs; /* only processes owning at least one socket */
    size_t nprocs, procs_cap;
    /* Processes (not kernel threads) whose fds we could not read and that
     * live in this network namespace (or whose namespace is unknown);
     * those in another namespace only count in denied_elsewhere. */
    uint32_t denied, denied_elsewhere;
    uint64_t netns;      /* the namespace asked about: inode of /proc/self/net/tcp */
    struct denied_proc denied_list[PROCFD_MAX_DENIED_LISTED];
    /* Where each process counted in denied or denied_elsewhere lives, so a
     * scan of every namespace (--all-netns) counts them per namespace. */
    struct denied_where *denied_ns;
    size_t ndenied_ns, denied_ns_cap;
};

/* Scans proc_root ("/proc"). Frees nothing on error: call procfd_free. */
int procfd_scan(const char *proc_root, struct procfd_table *t);
void procfd_free(struct procfd_table *t);
/* Adds one process's socket fds to t (nothing when it has none or is
 * gone): a targeted look, milliseconds after a full scan. */
int procfd_scan_pid(const char *proc_root, pid_t pid, struct procfd_table *t);
/* The processes (not kernel threads, not this one) in this process's
 * network namespace, up to max; how many. */
size_t procfd_netns_pids(const char *proc_root, pid_t *out, size_t max);

/* Parses the text of /proc/PID/fdinfo/EPFD; stores the "ino:" values of up
 * to max "tfd:" lines into inos and returns how many lines there were (which
 * may exceed max). Returns -1 if the text is not an epoll fdinfo. */
long procfd_parse_epoll_fdinfo(const char *text, uint64_t *inos, size_t max);

#endif

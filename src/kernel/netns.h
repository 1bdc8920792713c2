/* SPDX-License-Identifier: MIT */
/* Naming and entering a network namespace.
 *
 * A namespace is given the way users meet them (the -N/--netns argument of
 * every command, and `closer trace -N`):
 *   NAME       a namespace made by `ip netns add` (/run/netns/NAME)
 *   PATH       any nsfs file or bind mount: /proc/PID/ns/net, /var/run/docker/netns/X
 *   pid:PID    the namespace process PID lives in (containers, `unshare --net`)
 *
 * Only the network namespace is entered: /proc and the mount namespace stay
 * the caller's, so owners are still read from the host's /proc. setns()
 * moves the calling thread only; /proc/net (= /proc/self/net) follows the
 * thread-group leader, so enter from the main thread before creating others.
 *
 * Error convention: 0 (or an fd) on success, -1 with a message in err. */
#ifndef CLOSER_KERNEL_NETNS_H
#define CLOSER_KERNEL_NETNS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct netns_spec {
    char path[320];  /* what to open */
    pid_t pid;       /* pid:PID form, else 0 */
    int named;       /* NAME form (/run/netns/NAME) */
};

/* Parses a -N argument. Pure: touches no file. */
int netns_spec_parse(const char *arg, struct netns_spec *out, char *err, size_t errlen);
/* Opens the namespace file (O_RDONLY|O_CLOEXEC); returns the fd. */
int netns_open(const struct netns_spec *s, const char *arg, char *err, size_t errlen);
/* setns(fd, CLONE_NEWNET) with a message naming what (and why, for EPERM
 * or a file that is not a network namespace). */
int netns_setns(int fd, const char *what, char *err, size_t errlen);
/* Parse, open and enter in one call: what -N does. */
int netns_enter(const char *arg, char *err, size_t errlen);
/* An fd of the calling thread's current network namespace, to come back to. */
int netns_self(char *err, size_t errlen);
/* The namespace's inode (its identity, as in /proc/PID/ns/net "net:[N]"), 0 on error. */
uint64_t netns_fd_inode(int fd);
/* The name under dir ("/run/netns") of a bind mount of the calling
 * process's network namespace (/proc/self/ns/net), as `ip netns exec NAME`
 * leaves it: 0 with the name in name (the first in byte order when several
 * match), -1 when none does or dir cannot be read. */
int netns_self_name(const char *dir, char *name, size_t len);

#endif

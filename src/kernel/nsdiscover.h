/* SPDX-License-Identifier: MIT */
/* Every network namespace on the host and who lives there.
 *
 * A namespace is a distinct inode of /proc/PID/ns/net, plus namespaces kept
 * alive by a bind mount with no process left in them (any nsfs mount in
 * mountinfo: /run/netns, docker's, CNI's, unshare --net=FILE). Each
 * one is labelled: its inode, its /run/netns name, and its owner — the
 * container or pod read from its processes' cgroup paths (docker,
 * containerd/CRI with the pod UID, CRI-O, podman, LXC, a systemd unit), or
 * else the command of its first process.
 *
 * Error convention: 0, or -1 with a message in err (no /proc, out of memory);
 * processes that vanish or hide their ns link are skipped and counted. */
#ifndef CLOSER_KERNEL_NSDISCOVER_H
#define CLOSER_KERNEL_NSDISCOVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Who a cgroup path says a process belongs to. Empty strings = unknown. */
struct ns_owner {
    char runtime[16];    /* docker, containerd, cri-o, podman, lxc */
    char container[72];  /* container id (64 hex, or a name for lxc) */
    char pod[72];        /* Kubernetes pod UID (dashed), or a podman pod id */
    char unit[96];       /* systemd unit (nginx.service, session-3.scope) */
};

struct netns_entry {
    uint64_t inode;
    pid_t pid;            /* its first process (started first); 0 = none, kept by a mount */
    uint32_t nprocs;      /* processes living there */
    bool host;            /* the namespace of pid 1 */
    bool mounted;         /* kept by a bind mount too */
    char name[64];        /* name of its bind mount (/run/netns/NAME), "" if none */
    char path[320];       /* what to open to enter it */
    char comm[16];        /* command of the first process */
    struct ns_owner owner;
};

struct netns_list {
    struct netns_entry *items;
    size_t n;
    uint32_t denied;      /* processes whose ns link could not be read */
};

/* proc_root "/proc" (its self/mountinfo names the mounts), run_netns
 * "/run/netns" (read too, in case mountinfo is not there). Sorted: the host
 * first, then by inode. */
int nsdiscover(const char *proc_root, const char *run_netns, struct netns_list *out,
               char *err, size_t errlen);
void nsdiscover_free(struct netns_list *l);

/* Parses the text of /proc/PID/cgroup (v1 or v2 lines). Returns 1 when a
 * container or pod was found, 0 when only a systemd unit or nothing. Pure. */
int ns_owner_parse_cgroup(const char *text, struct ns_owner *out);

/* Control bytes and bytes that are not well-formed UTF-8 become '?', in place. */
void ns_text_sanitize(char *s);

/* One short human label: "4026532801 web (pod 1d2c…, containerd 0123456789ab)",
 * "4026531840 host", "4026532999 (python3)". */
void netns_entry_label(const struct netns_entry *e, char *buf, size_t len);
/* The owner alone, for labels: "docker 0123456789ab", "pod 1d2c…", "nginx.service", "python3". */
void netns_entry_who(const struct netns_entry *e, char *buf, size_t len);
struct json;
/* The members of a namespace's JSON object (inode, name, pid, processes,
 * host, comm, runtime, container, pod, unit, owner); the caller opens it. */
void netns_entry_json_fields(struct json *j, const struct netns_entry *e);

#endif

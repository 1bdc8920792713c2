/* SPDX-License-Identifier: MIT */
/* The `ip netns` names of network namespaces (/run/netns/NAME), by inode,
 * for labelling records. Namespaces come and go while a trace runs: a
 * lookup of an inode never met before reads the directory again, once
 * (bounded by the distinct inodes, not by events); inodes already met
 * without a name are retried at most once a second. Not thread-safe. */
#ifndef CLOSER_TRACE_NSNAMES_H
#define CLOSER_TRACE_NSNAMES_H
#include <stddef.h>
#include <stdint.h>

#define NSNAMES_TRIED_MAX 4096 /* unnamed inodes remembered; past it, only the 1 s rule */

struct nsname {
    uint64_t ino;
    char name[64];
};

struct nsnames {
    const char *dir; /* "/run/netns"; tests point it elsewhere */
    struct nsname *v;
    size_t n;
    uint64_t *tried; /* inodes looked up and not found */
    size_t ntried;
    uint64_t last_load_ns;
    unsigned long loads; /* directory reads, for the tests */
};

/* Reads dir once. */
void nsnames_init(struct nsnames *ns, const char *dir, uint64_t now_ns);
/* The name of inode ino, or NULL; now_ns: CLOCK_MONOTONIC. */
const char *nsnames_get(struct nsnames *ns, uint64_t ino, uint64_t now_ns);
void nsnames_free(struct nsnames *ns);

#endif

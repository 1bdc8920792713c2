/* SPDX-License-Identifier: MIT */
/* Names and network namespaces of the processes that touch sockets. Kept
 * from the kernel's own task records (exec, fork, exit arrive in the perf
 * rings in time order) and /proc when a pid is first seen, so a process
 * that closed a socket and exited before closer read its ring still has
 * its name. Not thread-safe (one per tracer). */
#ifndef CLOSER_TRACE_PCACHE_H
#define CLOSER_TRACE_PCACHE_H
#include <stdint.h>

#define PCACHE_BUCKETS 4096

/* Keyed by thread id: a thread may setns() into another namespace (closer
 * doctor -N does), so the namespace is the thread's; the name is the
 * process's (thread names like "worker-3" say less). */
struct pentry {
    int32_t tid, pid;
    char comm[16];
    uint64_t netns; /* inode of the thread's network namespace; 0 unknown */
    struct pentry *next;
};

struct pcache {
    struct pentry *buckets[PCACHE_BUCKETS];
    const char *proc; /* "/proc"; tests point it elsewhere */
    unsigned long entries;
};

void pcache_init(struct pcache *pc, const char *proc_root);
void pcache_free(struct pcache *pc);
/* Reads every thread in /proc once, so a process that exits while traced
 * (its sockets closed on exit, after its namespaces are gone) keeps its
 * name and namespace. Returns the number of threads read. */
unsigned long pcache_seed(struct pcache *pc);
/* The entry of a thread, read from /proc when it is new; NULL when it is
 * unknown and gone. */
const struct pentry *pcache_get(struct pcache *pc, int32_t pid, int32_t tid);
void pcache_exec(struct pcache *pc, int32_t pid, int32_t tid, const char *comm);
/* A new process or thread tid (of process pid) made by thread ptid of ppid. */
void pcache_fork(struct pcache *pc, int32_t ppid, int32_t ptid, int32_t pid, int32_t tid);
void pcache_exit(struct pcache *pc, int32_t tid);
/* The kernel's word on a thread's namespace (PERF_RECORD_NAMESPACES). */
void pcache_netns(struct pcache *pc, int32_t pid, int32_t tid, uint64_t netns);
/* Inode of the network namespace at path (/proc/self/ns/net, /run/netns/X). */
uint64_t netns_inode(const char *path);

#endif

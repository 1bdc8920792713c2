/* SPDX-License-Identifier: MIT */
#include "trace/pcache.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pcache_init(struct pcache *pc, const char *proc_root)
{
    memset(pc, 0, sizeof *pc);
    pc->proc = proc_root ? proc_root : "/proc";
}

void pcache_free(struct pcache *pc)
{
    for (unsigned i = 0; i < PCACHE_BUCKETS; i++)
        while (pc->buckets[i]) {
            struct pentry *e = pc->buckets[i];
            pc->buckets[i] = e->next;
            free(e);
        }
    pc->entries = 0;
}

uint64_t netns_inode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static struct pentry **slot(struct pcache *pc, int32_t tid)
{
    struct pentry **p = &pc->buckets[(uint32_t)tid % PCACHE_BUCKETS];
    while (*p && (*p)->tid != tid)
        p = &(*p)->next;
    return p;
}

static void read_proc(struct pcache *pc, struct pentry *e)
{
    char path[96];
    snprintf(path, sizeof path, "%s/%d/comm", pc->proc, (int)e->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, e->comm, sizeof e->comm - 1);
        close(fd);
        if (n > 0) {
            e->comm[n] = 0;
            char *nl = strchr(e->comm, '\n');
            if (nl)
                *nl = 0;
        }
    }
    snprintf(path, sizeof path, "%s/%d/task/%d/ns/net", pc->proc, (int)e->pid, (int)e->tid);
    uint64_t ns = netns_inode(path);
    if (ns)
        e->netns = ns;
}

static struct pentry *add(struct pcache *pc, int32_t pid, int32_t tid)
{
    struct pentry **p = slot(pc, tid);
    if (*p) {
        (*p)->pid = pid;
        return *p;
    }
    struct pentry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->pid = pid;
    e->tid = tid;
    *p = e;
    pc->entries++;
    return e;
}

const struct pentry *pcache_get(struct pcache *pc, int32_t pid, int32_t tid)
{
    if (pid <= 0 || tid <= 0)
        return NULL;
    struct pentry **p = slot(pc, tid);
    if (*p)
        return *p;
    struct pentry *e = add(pc, pid, tid);
    if (!e)
        return NULL;
    read_proc(pc, e);
    if (!e->comm[0] && !e->netns) {
        pcache_exit(pc, tid);
        return NULL;
    }
    return e;
}

void pcache_exec(struct pcache *pc, int32_t pid, int32_t tid, const char *comm)
{
    struct pentry *e = add(pc, pid, tid);
    if (!e)
        return;
    if (!e->netns)
        read_proc(pc, e);
    snprintf(e->comm, sizeof e->comm, "%s", comm);
}

void pcache_fork(struct pcache *pc, int32_t ppid, int32_t ptid, int32_t pid, int32_t tid)
{
    if (tid == ptid)
        return;
    const struct pentry *pe = pcache_get(pc, ppid, ptid);
    struct pentry *e = add(pc, pid, tid);
    if (!e || !pe)
        return;
    if (!e->comm[0])
        memcpy(e->comm, pe->comm, sizeof e->comm);
    if (!e->netns) /* the NAMESPACES record of the child may come first */
        e->netns = pe->netns;
}

void pcache_exit(struct pcache *pc, int32_t tid)
{
    struct pentry **p = slot(pc, tid);
    if (*p) {
        struct pentry *e = *p;
        *p = e->next;
        free(e);
        pc->entries--;
    }
}

void pcache_netns(struct pcache *pc, int32_t pid, int32_t tid, uint64_t netns)
{
    struct pentry *e = add(pc, pid, tid);
    if (!e)
        return;
    if (!e->comm[0])
        read_proc(pc, e);
    e->netns = netns;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

unsigned long pcache_seed(struct pcache *pc)
{
    DIR *d = opendir(pc->proc);
    unsigned long n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!all_digits(de->d_name))
            continue;
        int32_t pid = (int32_t)atoi(de->d_name);
        char path[96];
        snprintf(path, sizeof path, "%s/%d/task", pc->proc, (int)pid);
        DIR *t = opendir(path);
        struct dirent *te;
        while (t && (te = readdir(t))) {
            if (!all_digits(te->d_name))
                continue;
            int32_t tid = (int32_t)atoi(te->d_name);
            if (pcache_get(pc, pid, tid))
                n++;
        }
        if (t)
            closedir(t);
    }
    if (d)
        closedir(d);
    return n;
}

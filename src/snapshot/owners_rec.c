/* SPDX-License-Identifier: MIT */
/* The owners side of a recording: `--record FILE` saves the netlink dump
 * to FILE and, when owners were read, the processes (with their models:
 * exe, command line, mapped markers, threads) and their socket fds to
 * FILE.owners, one tab-separated line each:
 *
 *   closer-owners 1
 *   proc PID UID NFDS NSOCKETS NEPOLL FDLIMIT COMM READ GO EXE CMDLINE LIBS WAITS NTHREADS
 *   fd INODE PROC FD POLLED
 *   dest FAMILY ADDR(hex, 16 bytes) PORT PROC SOCKETS LOOKS
 *
 * (dest: a program found by looking again at a client TIME_WAIT pile's
 * destination, snapshot/lookagain.c)
 * WAITS is "wchan=n,wchan=n"; strings escape \t, \n and \\ as the two
 * characters. A replay with this file analyses the same as the live run,
 * program names included, without root. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"
#include "snapshot/owners_rec.h"
#include "util/vec.h"

static void put_str(FILE *f, const char *s)
{
    fputc('\t', f);
    for (; *s; s++) {
        if (*s == '\t')
            fputs("\\t", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (*s == '\\')
            fputs("\\\\", f);
        else
            fputc(*s, f);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Which fds to keep: those of this snapshot's sockets (the /proc walk also
 * sees other namespaces' processes; a recording keeps only its own). */
static bool *fds_of_snapshot(const struct snapshot *s)
{
    uint64_t *inodes = malloc((s->nsocks + 1) * sizeof *inodes);
    bool *keep = calloc(s->nfds + 1, sizeof *keep);
    if (!inodes || !keep) {
        free(inodes);
        free(keep);
        return NULL;
    }
    for (size_t i = 0; i < s->nsocks; i++)
        inodes[i] = s->socks[i].inode;
    qsort(inodes, s->nsocks, sizeof *inodes, cmp_u64);
    for (size_t i = 0; i < s->nfds; i++)
        keep[i] = s->fds[i].inode &&
                  bsearch(&s->fds[i].inode, inodes, s->nsocks, sizeof *inodes, cmp_u64);
    free(inodes);
    return keep;
}

int owners_record(const struct snapshot *s, const char *path)
{
    bool *keep = fds_of_snapshot(s);
    uint32_t *newidx = calloc(s->nprocs + 1, sizeof *newidx); /* index + 1, 0 = not kept */
    FILE *f = keep && newidx ? fopen(path, "we") : NULL;
    if (!f) {
        int rc = keep && newidx ? -errno : -ENOMEM;
        free(keep);
        free(newidx);
        return rc;
    }
    uint32_t nkept = 0;
    for (size_t i = 0; i < s->nfds; i++)
        if (keep[i] && !newidx[s->fds[i].proc])
            newidx[s->fds[i].proc] = 1;
    for (size_t i = 0; i < s->ndest_owners; i++)
        newidx[s->dest_owners[i].proc] = 1;
    fprintf(f, "closer-owners 1\n");
    for (size_t i = 0; i < s->nprocs; i++) {
        if (!newidx[i])
            continue;
        newidx[i] = ++nkept;
        const struct proc_info *p = &s->procs[i];
        const struct proc_model *m = &p->model;
        fprintf(f, "proc\t%d\t%u\t%u\t%u\t%u\t%llu", (int)p->pid, (unsigned)p->uid, p->nfds,
                p->nsockets, p->nepoll, (unsigned long long)p->fd_limit);
        put_str(f, p->comm);
        fprintf(f, "\t%d\t%d", m->read, m->go);
        put_str(f, m->exe);
        put_str(f, m->cmdline);
        put_str(f, m->libs);
        fputc('\t', f);
        for (size_t w = 0; w < m->nwaits; w++)
            fprintf(f, "%s%s=%u", w ? "," : "", m->waits[w].wchan, m->waits[w].n);
        fprintf(f, "\t%u\n", m->nthreads);
    }
    for (size_t i = 0; i < s->nfds; i++) {
        const struct fd_ref *r = &s->fds[i];
        if (keep[i])
            fprintf(f, "fd\t%llu\t%u\t%d\t%d\n", (unsigned long long)r->inode,
                    newidx[r->proc] - 1, r->fd, r->polled);
    }
    for (size_t i = 0; i < s->ndest_owners; i++) {
        const struct dest_owner *d = &s->dest_owners[i];
        fprintf(f, "dest\t%u\t", d->family);
        for (int b = 0; b < 16; b++)
            fprintf(f, "%02x", d->dst[b]);
        fprintf(f, "\t%u\t%u\t%u\t%u\n", d->dport, newidx[d->proc] - 1, d->sockets,
                d->looks);
    }
    free(keep);
    free(newidx);
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    return rc;
}

/* Splits line at tabs in place (escapes undone); returns the field count. */
static size_t split(char *line, char **field, size_t max)
{
    size_t n = 0;
    char *out = line;
    field[n++] = out;
    for (char *p = line; *p && *p != '\n'; p++) {
        if (*p == '\t') {
            *out++ = 0;
            if (n == max)
                return n + 1; /* too many */
            field[n++] = out;
        } else if (*p == '\\' && p[1]) {
            p++;
            *out++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *out++ = *p;
        }
    }
    *out = 0;
    return n;
}

static int parse_waits(struct proc_model *m, char *text, const char *threads)
{
    for (char *tok = strtok(text, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strrchr(tok, '=');
        unsigned n;
        if (!eq || sscanf(eq + 1, "%u", &n) != 1 || m->nwaits == PROC_MAX_WAITS)
            return -1;
        *eq = 0;
        struct thread_wait *w = &m->waits[m->nwaits++];
        snprintf(w->wchan, sizeof w->wchan, "%s", tok);
        w->n = n;
    }
    return sscanf(threads, "%u", &m->nthreads) == 1 ? 0 : -1;
}

static int parse_proc(struct snapshot *s, size_t *cap, char **f, size_t n)
{
    if (n != 15 || vec_reserve((void **)&s->procs, cap, s->nprocs + 1, sizeof *s->procs, 16) < 0)
        return -1;
    struct proc_info *p = &s->procs[s->nprocs];
    memset(p, 0, sizeof *p);
    int pid, read, go;
    unsigned long long limit;
    if (sscanf(f[1], "%d", &pid) != 1 || pid <= 0 || sscanf(f[2], "%u", &p->uid) != 1 ||
        sscanf(f[3], "%u", &p->nfds) != 1 || sscanf(f[4], "%u", &p->nsockets) != 1 ||
        sscanf(f[5], "%u", &p->nepoll) != 1 || sscanf(f[6], "%llu", &limit) != 1 ||
        sscanf(f[8], "%d", &read) != 1 || sscanf(f[9], "%d", &go) != 1)
        return -1;
    p->pid = pid;
    p->fd_limit = limit;
    snprintf(p->comm, sizeof p->comm, "%s", f[7]);
    struct proc_model *m = &p->model;
    m->read = read != 0;
    m->go = go != 0;
    snprintf(m->exe, sizeof m->exe, "%s", f[10]);
    snprintf(m->cmdline, sizeof m->cmdline, "%s", f[11]);
    snprintf(m->libs, sizeof m->libs, "%s", f[12]);
    if (parse_waits(m, f[13], f[14]) < 0)
        return -1;
    s->nprocs++;
    return 0;
}

static int parse_fd(struct snapshot *s, size_t *cap, char **f, size_t n)
{
    unsigned long long inode;
    unsigned proc;
    int fd, polled;
    if (n != 5 || sscanf(f[1], "%llu", &inode) != 1 || sscanf(f[2], "%u", &proc) != 1 ||
        proc >= s->nprocs || sscanf(f[3], "%d", &fd) != 1 || sscanf(f[4], "%d", &polled) != 1 ||
        vec_reserve((void **)&s->fds, cap, s->nfds + 1, sizeof *s->fds, 64) < 0)
        return -1;
    s->fds[s->nfds++] = (struct fd_ref){.inode = inode, .pid = s->procs[proc].pid, .fd = fd,
                                        .proc = proc, .polled = polled != 0};
    return 0;
}

static int parse_dest(struct snapshot *s, size_t *cap, char **f, size_t n)
{
    struct dest_owner d = {0};
    unsigned family, port, proc;
    if (n != 7 || sscanf(f[1], "%u", &family) != 1 || strlen(f[2]) != 32 ||
        sscanf(f[3], "%u", &port) != 1 || port > 65535 || sscanf(f[4], "%u", &proc) != 1 ||
        proc >= s->nprocs || sscanf(f[5], "%u", &d.sockets) != 1 ||
        sscanf(f[6], "%u", &d.looks) != 1)
        return -1;
    for (int b = 0; b < 16; b++) {
        unsigned v;
        if (sscanf(f[2] + 2 * b, "%2x", &v) != 1)
            return -1;
        d.dst[b] = (uint8_t)v;
    }
    d.family = (uint8_t)family;
    d.dport = (uint16_t)port;
    d.proc = proc;
    d.pid = s->procs[proc].pid;
    if (vec_reserve((void **)&s->dest_owners, cap, s->ndest_owners + 1, sizeof d, 4) < 0)
        return -1;
    s->dest_owners[s->ndest_owners++] = d;
    return 0;
}

static int by_inode(const void *a, const void *b)
{
    const struct fd_ref *x = a, *y = b;
    if (x->inode != y->inode)
        return x->inode < y->inode ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

int owners_replay(struct snapshot *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 1 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    char line[2048];
    size_t pcap = 0, fcap = 0, dcap = 0, lineno = 0;
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *field[16];
        size_t n = split(line, field, 16);
        if (lineno == 1)
            rc = strcmp(line, "closer-owners 1") ? -1 : 0;
        else if (!strcmp(field[0], "proc"))
            rc = parse_proc(s, &pcap, field, n);
        else if (!strcmp(field[0], "fd"))
            rc = parse_fd(s, &fcap, field, n);
        else if (!strcmp(field[0], "dest"))
            rc = parse_dest(s, &dcap, field, n);
        else
            rc = -1;
    }
    fclose(f);
    if (rc || !lineno) {
        snprintf(err, errlen, "%s: not a closer owners recording (line %zu)", path, lineno);
        return -1;
    }
    if (s->nfds)
        qsort(s->fds, s->nfds, sizeof *s->fds, by_inode);
    s->owners_read = true;
    return 0;
}

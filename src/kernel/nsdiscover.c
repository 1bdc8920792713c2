/* SPDX-License-Identifier: MIT */
/* Discovery: one readlink of /proc/PID/ns/net per process, grouped by inode;
 * then /run/netns mounts; then the owner of each namespace from the cgroup
 * of its processes (a few per namespace: the host's are not read). */
#include "kernel/nsdiscover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/sysctl.h"
#include "util/json.h"

struct ns_pid {
    uint64_t inode;
    pid_t pid;
};

static int cmp_ns_pid(const void *a, const void *b)
{
    const struct ns_pid *x = a, *y = b;
    if (x->inode != y->inode)
        return x->inode < y->inode ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* "net:[4026531840]" → 4026531840; 0 when unreadable. */
static uint64_t ns_link_inode(const char *proc_root, pid_t pid)
{
    char path[96], link[64];
    snprintf(path, sizeof path, "%s/%d/ns/net", proc_root, (int)pid);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 5)
        return 0;
    link[n] = 0;
    if (strncmp(link, "net:[", 5))
        return 0;
    return strtoull(link + 5, NULL, 10);
}

static int collect_pids(const char *proc_root, struct ns_pid **out, size_t *n, uint32_t *denied)
{
    DIR *d = opendir(proc_root);
    if (!d)
        return -errno;
    size_t cap = 256;
    struct ns_pid *v = malloc(cap * sizeof *v);
    if (!v) {
        closedir(d);
        return -ENOMEM;
    }
    struct dirent *de;
    *n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
        uint64_t ino = ns_link_inode(proc_root, pid);
        if (!ino) {
            /* Gone meanwhile (ENOENT) is not hidden; EACCES is. Kernel
             * threads have a link too, so 0 here is a real refusal or exit. */
            char path[64];
            snprintf(path, sizeof path, "%s/%d", proc_root, (int)pid);
            if (access(path, F_OK) == 0)
                (*denied)++;
            continue;
        }
        if (*n == cap) {
            struct ns_pid *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(v);
                closedir(d);
                return -ENOMEM;
            }
            v = nv;
            cap *= 2;
        }
        v[(*n)++] = (struct ns_pid){ino, pid};
    }
    closedir(d);
    qsort(v, *n, sizeof *v, cmp_ns_pid);
    *out = v;
    return 0;
}

static void read_comm(const char *proc_root, pid_t pid, char *comm, size_t len)
{
    char path[96], buf[64];
    snprintf(path, sizeof path, "%s/%d/comm", proc_root, (int)pid);
    long n = proc_read_file(path, buf, sizeof buf);
    if (n <= 0) {
        comm[0] = 0;
        return;
    }
    /* Only the last newline is the kernel's: a name may hold one itself
     * (prctl(PR_SET_NAME) takes any bytes) and was cut there. The whole
     * name is kept, then made safe as the namespace's own name is. */
    size_t k = (size_t)n;
    if (k > 0 && buf[k - 1] == '\n')
        k--;
    if (k >= len)
        k = len - 1;
    memcpy(comm, buf, k);
    comm[k] = 0;
    ns_text_sanitize(comm);
}

/* The owner of a namespace: the first of its processes (up to a few) whose
 * cgroup names a container or pod; a pod's pause process is passed over
 * for a real container when one is there. */
static void read_owner(const char *proc_root, const struct ns_pid *p, size_t np,
                       struct netns_entry *e)
{
    char path[96], text[4096];
    for (size_t i = 0; i < np && i < 16; i++) {
        snprintf(path, sizeof path, "%s/%d/cgroup", proc_root, (int)p[i].pid);
        if (proc_read_file(path, text, sizeof text) <= 0)
            continue;
        struct ns_owner o;
        int found = ns_owner_parse_cgroup(text, &o);
        if (!found) {
            if (!e->owner.unit[0] && !e->owner.container[0] && o.unit[0])
                memcpy(e->owner.unit, o.unit, sizeof o.unit);
            continue;
        }
        char comm[16];
        read_comm(proc_root, p[i].pid, comm, sizeof comm);
        bool pause = !strcmp(comm, "pause");
        if (!e->owner.container[0] && !e->owner.pod[0]) {
            e->owner = o;
            if (!pause)
                return;
        } else if (!pause) {
            e->owner = o;
            return;
        }
    }
}

/* Start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat); UINT64_MAX when unreadable. */
static uint64_t start_time(const char *proc_root, pid_t pid)
{
    char path[96], buf[1024];
    snprintf(path, sizeof path, "%s/%d/stat", proc_root, (int)pid);
    long n = proc_read_file(path, buf, sizeof buf);
    const char *p = n > 0 ? strrchr(buf, ')') : NULL; /* comm may hold spaces and ')' */
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : UINT64_MAX;
}

/* The namespace's first process: the one started first (pids wrap, so the
 * lowest pid is not always the oldest). Looks at up to 256 of them. */
static pid_t oldest(const char *proc_root, const struct ns_pid *p, size_t np)
{
    pid_t best = p[0].pid;
    uint64_t best_t = np > 1 ? start_time(proc_root, best) : 0;
    for (size_t i = 1; i < np && i < 256; i++) {
        uint64_t t = start_time(proc_root, p[i].pid);
        if (t < best_t) {
            best_t = t;
            best = p[i].pid;
        }
    }
    return best;
}

static struct netns_entry *add_entry(struct netns_list *l, size_t *cap)
{
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct netns_entry *ni = realloc(l->items, nc * sizeof *ni);
        if (!ni)
            return NULL;
        l->items = ni;
        *cap = nc;
    }
    struct netns_entry *e = &l->items[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Namespaces kept by a bind mount under /run/netns (ip netns add): names the
 * ones already found and adds the ones with no process. A placeholder file
 * whose mount is gone is not on nsfs and is skipped. */
static int scan_run_netns(const char *run_netns, struct netns_list *l, size_t *cap, dev_t nsfs)
{
    DIR *d = opendir(run_netns);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[320];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", run_netns, de->d_name);
        if (stat(path, &st) < 0 || st.st_dev != nsfs || strlen(de->d_name) >= 64)
            continue;
        struct netns_entry *e = NULL;
        for (size_t i = 0; i < l->n && !e; i++)
            if (l->items[i].inode == (uint64_t)st.st_ino)
                e = &l->items[i];
        if (e && e->name[0])
            continue; /* two names for one namespace: the first (readdir order) */
        if (!e) {
            if (!(e = add_entry(l, cap))) {
                closedir(d);
                return -ENOMEM;
            }
            e->inode = (uint64_t)st.st_ino;
        }
        size_t nl = strnlen(de->d_name, sizeof e->name - 1); /* longer names were skipped */
        memcpy(e->name, de->d_name, nl);
        e->name[nl] = 0;
        ns_text_sanitize(e->name);
        if (!e->pid)
            snprintf(e->path, sizeof e->path, "%s", path);
        e->mounted = true;
    }
    closedir(d);
    return 0;
}

/* "\040" in a mountinfo path is a space (octal escapes for space, tab, \n, \\). */
static void unescape_mount_path(char *p)
{
    char *w = p;
    for (; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *w++ = *p;
        }
    }
    *w = 0;
}

/* Every network namespace bind-mounted anywhere (ip netns under /run/netns,
 * docker under /run/docker/netns, CNI plugins, unshare --net=FILE), from
 * mountinfo: "ID PARENT MAJ:MIN net:[INODE] MOUNTPOINT ... - nsfs ...". */
static int scan_mountinfo(const char *proc_root, struct netns_list *l, size_t *cap)
{
    char path[96];
    snprintf(path, sizeof path, "%s/self/mountinfo", proc_root);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char line[4096];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        char root[64], mnt[300];
        unsigned long long inode;
        if (!strstr(line, " - nsfs ") ||
            sscanf(line, "%*s %*s %*s %63s %299s", root, mnt) != 2 ||
            sscanf(root, "net:[%llu]", &inode) != 1)
            continue;
        unescape_mount_path(mnt);
        struct netns_entry *e = NULL;
        for (size_t i = 0; i < l->n && !e; i++)
            if (l->items[i].inode == inode)
                e = &l->items[i];
        if (e && e->name[0])
            continue; /* mounted twice: the first name */
        if (!e) {
            if (!(e = add_entry(l, cap))) {
                rc = -ENOMEM;
                break;
            }
            e->inode = inode;
            snprintf(e->path, sizeof e->path, "%s", mnt);
        }
        const char *base = strrchr(mnt, '/');
        base = base && base[1] ? base + 1 : mnt;
        size_t bl = strnlen(base, sizeof e->name - 1);
        memcpy(e->name, base, bl);
        e->name[bl] = 0;
        ns_text_sanitize(e->name);
        e->mounted = true;
    }
    fclose(f);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct netns_entry *x = a, *y = b;
    if (x->host != y->host)
        return x->host ? -1 : 1;
    return (x->inode > y->inode) - (x->inode < y->inode);
}

int nsdiscover(const char *proc_root, const char *run_netns, struct netns_list *out, char *err,
               size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct ns_pid *p = NULL;
    size_t np = 0, cap = 0;
    int rc = collect_pids(proc_root, &p, &np, &out->denied);
    if (rc < 0) {
        snprintf(err, errlen, "cannot list %s: %s", proc_root, strerror(-rc));
        return -1;
    }
    /* The host's namespace: pid 1's, or kthreadd's (kernel threads live in
     * the initial namespace) when pid 1 hides its links. */
    uint64_t host = ns_link_inode(proc_root, 1);
    if (!host)
        host = ns_link_inode(proc_root, 2);
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && p[j].inode == p[i].inode)
            j++;
        struct netns_entry *e = add_entry(out, &cap);
        if (!e)
            goto oom;
        e->inode = p[i].inode;
        e->nprocs = (uint32_t)(j - i);
        e->host = e->inode == host;
        e->pid = e->host ? p[i].pid : oldest(proc_root, p + i, j - i);
        snprintf(e->path, sizeof e->path, "%s/%d/ns/net", proc_root, (int)e->pid);
        read_comm(proc_root, e->pid, e->comm, sizeof e->comm);
        if (!e->host)
            read_owner(proc_root, p + i, j - i, e);
        i = j;
    }
    free(p);
    p = NULL;
    struct stat self;
    char selfpath[96];
    snprintf(selfpath, sizeof selfpath, "%s/self/ns/net", proc_root);
    if (scan_mountinfo(proc_root, out, &cap) < 0)
        goto oom;
    if (stat(selfpath, &self) == 0 && scan_run_netns(run_netns, out, &cap, self.st_dev) < 0)
        goto oom;
    if (out->n)
        qsort(out->items, out->n, sizeof *out->items, cmp_entry);
    return 0;
oom:
    free(p);
    nsdiscover_free(out);
    snprintf(err, errlen, "out of memory listing network namespaces");
    return -1;
}

void nsdiscover_free(struct netns_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void netns_entry_who(const struct netns_entry *e, char *buf, size_t len)
{
    const struct ns_owner *o = &e->owner;
    if (o->pod[0] && o->container[0])
        snprintf(buf, len, "pod %.36s, %s %.12s", o->pod, o->runtime[0] ? o->runtime : "container",
                 o->container);
    else if (o->pod[0])
        snprintf(buf, len, "pod %.36s", o->pod);
    else if (o->container[0])
        snprintf(buf, len, "%s %.12s", o->runtime[0] ? o->runtime : "container", o->container);
    else if (e->host)
        snprintf(buf, len, "host");
    else if (o->unit[0] && strcmp(o->unit, "init.scope"))
        snprintf(buf, len, "%s", o->unit);
    else if (e->comm[0])
        snprintf(buf, len, "%s", e->comm);
    else
        snprintf(buf, len, "%s", e->pid ? "?" : "no process");
}

void netns_entry_label(const struct netns_entry *e, char *buf, size_t len)
{
    char who[128];
    netns_entry_who(e, who, sizeof who);
    if (e->name[0])
        snprintf(buf, len, "%llu %s (%s)", (unsigned long long)e->inode, e->name, who);
    else
        snprintf(buf, len, "%llu (%s)", (unsigned long long)e->inode, who);
}

void netns_entry_json_fields(struct json *j, const struct netns_entry *e)
{
    json_uint(j, "inode", e->inode);
    json_str(j, "name", e->name[0] ? e->name : NULL);
    if (e->pid)
        json_int(j, "pid", e->pid);
    else
        json_null(j, "pid");
    json_uint(j, "processes", e->nprocs);
    json_bool(j, "host", e->host);
    json_str(j, "comm", e->comm[0] ? e->comm : NULL);
    json_str(j, "runtime", e->owner.runtime[0] ? e->owner.runtime : NULL);
    json_str(j, "container", e->owner.container[0] ? e->owner.container : NULL);
    json_str(j, "pod", e->owner.pod[0] ? e->owner.pod : NULL);
    json_str(j, "unit", e->owner.unit[0] ? e->owner.unit : NULL);
    char who[160];
    netns_entry_who(e, who, sizeof who);
    json_str(j, "owner", who);
}

/* SPDX-License-Identifier: MIT */
#include "export/metrics_netns.h"

#include <stdlib.h>
#include <string.h>

#include "export/prom.h"
#include "export/prom_merge.h"
#include "snapshot/twfold.h"

struct shown {
    const struct ns_snapshot *ns;
    char labels[256];
    char *text;
    size_t len;
};

static int by_sockets(const void *a, const void *b)
{
    const struct ns_snapshot *x = *(const struct ns_snapshot *const *)a;
    const struct ns_snapshot *y = *(const struct ns_snapshot *const *)b;
    size_t nx = snapshot_total(&x->snap), ny = snapshot_total(&y->snap);
    if (nx != ny)
        return nx > ny ? -1 : 1;
    return (x->ns->inode > y->ns->inode) - (x->ns->inode < y->ns->inode);
}

_Static_assert(sizeof(struct tcp_counters) % sizeof(long long) == 0,
               "tcp_counters is summed as an array of long long");

static void add_counter(long long *sum, long long v)
{
    if (v >= 0)
        *sum = *sum < 0 ? v : *sum + v;
}

/* TIME_WAIT a namespace folded (a big one: snapshot/multi.h) joins the
 * pool's fold. */
static int pool_fold(struct snapshot *out, const struct tw_fold *f)
{
    if (!f)
        return 0;
    if (!out->twf && !(out->twf = calloc(1, sizeof *out->twf)))
        return -1;
    return tw_fold_merge(out->twf, f) ? -1 : 0;
}

static void pool_free(struct snapshot *rest)
{
    free(rest->socks);
    if (rest->twf)
        tw_fold_free(rest->twf);
    free(rest->twf);
}

/* The namespaces past the top N pooled into one view: their sockets side by
 * side, their counters summed, no sysctls (a sum of settings means nothing). */
static int pool_rest(struct ns_snapshot *const *rest, size_t n, struct snapshot *out)
{
    memset(out, 0, sizeof *out);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += rest[i]->snap.nsocks;
    out->socks = malloc((total ? total : 1) * sizeof *out->socks);
    if (!out->socks)
        return -1;
    memset(&out->sys, 0xff, sizeof out->sys); /* every sysctl -1: absent */
    memset(&out->ctr, 0xff, sizeof out->ctr);
    for (size_t i = 0; i < n; i++) {
        const struct snapshot *s = &rest[i]->snap;
        if (pool_fold(out, s->twf))
            return -1;
        if (s->nsocks)
            memcpy(out->socks + out->nsocks, s->socks, s->nsocks * sizeof *s->socks);
        out->nsocks += s->nsocks;
        long long *dst = (long long *)&out->ctr;
        const long long *src = (const long long *)&s->ctr;
        for (size_t k = 0; k < sizeof out->ctr / sizeof(long long); k++)
            add_counter(&dst[k], src[k]);
        out->took_ms += s->took_ms;
        if (i == 0) {
            out->fds = s->fds;
            out->nfds = s->nfds;
            out->procs = s->procs;
            out->nprocs = s->nprocs;
            out->owners_read = s->owners_read;
            out->procs_denied = s->procs_denied;
            out->hidden_by = s->hidden_by;
            out->taken_at = s->taken_at;
        }
    }
    snapshot_reindex(out);
    return 0;
}

static int render(struct shown *sh, const struct snapshot *s, const struct metrics_opts *o,
                  const struct netns_findings_fn *fn)
{
    FILE *mem = open_memstream(&sh->text, &sh->len);
    if (!mem)
        return -1;
    struct metrics_opts mo = *o;
    if (fn)
        fn->get(fn->ctx, s, &mo);
    int rc = metrics_write(mem, s, &mo);
    if (fn)
        fn->done(fn->ctx, &mo);
    return fclose(mem) || rc ? -1 : 0;
}

static void ns_labels(const struct netns_entry *e, char *buf, size_t cap)
{
    char inode[24];
    snprintf(inode, sizeof inode, "%llu", (unsigned long long)e->inode);
    buf[0] = 0;
    prom_label_append(buf, cap, "netns", inode);
    if (e->owner.container[0])
        prom_label_append(buf, cap, "container", e->owner.container);
    if (e->owner.pod[0])
        prom_label_append(buf, cap, "pod", e->owner.pod);
}

static void write_info(FILE *out, const struct multi_snapshot *m, struct shown *sh, size_t nshown,
                       size_t pooled)
{
    struct prom p;
    prom_init(&p, out);
    prom_family(&p, "closer_netns_info", "gauge",
                "Network namespaces with their own series: name under /run/netns, owner (container "
                "runtime, pod, systemd unit, or the first process's command).");
    for (size_t i = 0; i < nshown && sh[i].ns; i++) {
        const struct netns_entry *e = sh[i].ns->ns;
        char inode[24], who[160], procs[16];
        snprintf(inode, sizeof inode, "%llu", (unsigned long long)e->inode);
        snprintf(procs, sizeof procs, "%u", e->nprocs);
        netns_entry_who(e, who, sizeof who);
        prom_sample(&p, "", 1, "netns", inode, "name", e->name, "owner", who, "runtime",
                    e->owner.runtime, "container", e->owner.container, "pod", e->owner.pod,
                    "unit", e->owner.unit, "comm", e->comm, NULL);
    }
    prom_family(&p, "closer_netns", "gauge",
                "Network namespaces found, by what the exporter did with them: shown (own series), "
                "pooled (summed into netns=\"other\"), unreadable (could not be entered).");
    size_t unreadable = 0;
    for (size_t i = 0; i < m->list.n; i++)
        unreadable += !m->items[i].ok;
    prom_sample(&p, "", (double)(m->list.n - unreadable - pooled), "status", "shown", NULL);
    prom_sample(&p, "", (double)pooled, "status", "pooled", NULL);
    prom_sample(&p, "", (double)unreadable, "status", "unreadable", NULL);
    prom_family(&p, "closer_netns_unreadable", "gauge",
                "1 for each network namespace that could not be entered, with the reason.");
    for (size_t i = 0; i < m->list.n; i++) {
        if (m->items[i].ok)
            continue;
        char inode[24];
        snprintf(inode, sizeof inode, "%llu", (unsigned long long)m->items[i].ns->inode);
        prom_sample(&p, "", 1, "netns", inode, "reason", m->items[i].error, NULL);
    }
    prom_family(&p, "closer_netns_scan_seconds", "gauge",
                "Time to find and read every network namespace (owners included).");
    prom_sample(&p, "", m->took_ms / 1e3, NULL);
}

int metrics_write_netns(FILE *out, const struct multi_snapshot *m, const struct metrics_opts *o,
                        unsigned top_netns, const struct netns_findings_fn *fn)
{
    size_t n = 0;
    struct ns_snapshot **ok = malloc((m->list.n + 1) * sizeof *ok);
    if (!ok)
        return -1;
    for (size_t i = 0; i < m->list.n; i++)
        if (m->items[i].ok)
            ok[n++] = &m->items[i];
    qsort(ok, n, sizeof *ok, by_sockets);
    size_t own = n < top_netns ? n : top_netns, pooled = n - own;
    struct shown *sh = calloc(own + 2, sizeof *sh);
    struct prom_part *parts = calloc(own + 2, sizeof *parts);
    struct snapshot rest = {0};
    int rc = sh && parts ? 0 : -1;
    for (size_t i = 0; i < own && !rc; i++) {
        sh[i].ns = ok[i];
        ns_labels(ok[i]->ns, sh[i].labels, sizeof sh[i].labels);
        rc = render(&sh[i], &ok[i]->snap, o, fn);
    }
    if (!rc && pooled) {
        rc = pool_rest(ok + own, pooled, &rest);
        snprintf(sh[own].labels, sizeof sh[own].labels, "netns=\"other\"");
        if (!rc)
            rc = render(&sh[own], &rest, o, fn);
    }
    size_t nparts = own + (pooled ? 1 : 0);
    for (size_t i = 0; i < nparts && !rc; i++)
        parts[i] = (struct prom_part){sh[i].text, sh[i].len, sh[i].labels};
    if (!rc)
        rc = prom_merge(out, parts, nparts);
    if (!rc)
        write_info(out, m, sh, own, pooled);
    for (size_t i = 0; sh && i < own + 1; i++)
        free(sh[i].text);
    pool_free(&rest);
    free(sh);
    free(parts);
    free(ok);
    return rc || ferror(out) ? -1 : 0;
}

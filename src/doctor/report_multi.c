/* SPDX-License-Identifier: MIT */
#include "doctor/multi.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json.h"

static int cmp_rank(const void *a, const void *b)
{
    const struct ns_report *x = a, *y = b;
    if (x->ns->ok != y->ns->ok)
        return x->ns->ok ? -1 : 1;
    if (x->worst != y->worst)
        return x->worst > y->worst ? -1 : 1;
    if (x->at_worst != y->at_worst)
        return x->at_worst > y->at_worst ? -1 : 1;
    size_t xs = x->ns->ok ? snapshot_total(&x->ns->snap) : 0;
    size_t ys = y->ns->ok ? snapshot_total(&y->ns->snap) : 0;
    if (xs != ys)
        return xs > ys ? -1 : 1;
    return (x->ns->ns->inode > y->ns->ns->inode) - (x->ns->ns->inode < y->ns->ns->inode);
}

int doctor_analyze_multi(const struct multi_snapshot *m, const struct doctor_opts *o,
                         struct doctor_multi *out)
{
    memset(out, 0, sizeof *out);
    out->items = calloc(m->list.n ? m->list.n : 1, sizeof *out->items);
    if (!out->items)
        return -1;
    out->procs_hidden = m->list.denied;
    for (size_t i = 0; i < m->list.n; i++) {
        struct ns_report *nr = &out->items[out->n++];
        nr->ns = &m->items[i];
        netns_entry_label(nr->ns->ns, nr->label, sizeof nr->label);
        if (!nr->ns->ok)
            continue;
        if (doctor_analyze(&nr->ns->snap, o, &nr->r) < 0) {
            doctor_multi_free(out);
            return -1;
        }
        nr->worst = doctor_worst(&nr->r);
        for (size_t k = 0; k < nr->r.n; k++)
            nr->at_worst += nr->r.items[k].severity == nr->worst;
        out->sockets += snapshot_total(&nr->ns->snap);
        out->entered++;
    }
    qsort(out->items, out->n, sizeof *out->items, cmp_rank);
    return 0;
}

void doctor_multi_free(struct doctor_multi *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].ns->ok)
            doctor_report_free(&d->items[i].r);
    free(d->items);
    d->items = NULL;
    d->n = 0;
}

int doctor_multi_exit_code(const struct doctor_multi *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].ns->ok && doctor_exit_code(&d->items[i].r))
            return 1;
    return 0;
}

static size_t count_above_info(const struct doctor_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->items[i].severity > SEV_INFO;
    return n;
}

void doctor_print_multi_text(FILE *out, const struct doctor_multi *d, const struct doctor_view *v)
{
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
    fprintf(out, "closer doctor — every network namespace: %zu found, %zu entered, %zu TCP socket%s, %s\n\n",
            d->n, d->entered, d->sockets, plural_s(d->sockets), when);
    fprintf(out, "%-4s %-9s %8s %-9s %s\n", "rank", "worst", "sockets", "findings", "network namespace (owner)");
    for (size_t i = 0; i < d->n; i++) {
        const struct ns_report *nr = &d->items[i];
        if (!nr->ns->ok) {
            fprintf(out, "%-4s %-9s %8s %-9s %s\n", "-", "not read", "-", "-", nr->label);
            fprintf(out, "%23s%s\n", "", nr->ns->error);
            continue;
        }
        char nf[16];
        snprintf(nf, sizeof nf, "%zu", count_above_info(&nr->r));
        fprintf(out, "%-4zu %-9s %8zu %-9s %s\n", i + 1, severity_name(nr->worst),
                snapshot_total(&nr->ns->snap), nf, nr->label);
    }
    fputc('\n', out);
    size_t shown = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct ns_report *nr = &d->items[i];
        if (!nr->ns->ok || (nr->worst == SEV_INFO && !v->verbose))
            continue;
        char tag[220];
        snprintf(tag, sizeof tag, "[netns %s]", nr->label);
        struct doctor_view nv = *v;
        nv.netns = nr->label;
        nv.tag = tag;
        fprintf(out, "──── %zu. netns %s ────\n", i + 1, nr->label);
        doctor_print_text(out, &nr->ns->snap, &nr->r, &nv);
        fputc('\n', out);
        shown++;
    }
    if (!shown)
        fprintf(out, "no namespace has a finding above info (--verbose shows each one's sysctl audit)\n");
    if (d->procs_hidden)
        fprintf(out, "not visible: the network namespace of %u process%s (permission denied; "
                     "reading %s needs root or CAP_SYS_PTRACE)\n", d->procs_hidden,
                d->procs_hidden == 1 ? "" : "es", d->procs_hidden == 1 ? "it" : "them");
    size_t failed = d->n - d->entered;
    if (failed)
        fprintf(out, "not read: %zu namespace%s (reasons above)\n", failed, failed == 1 ? "" : "s");
}

void doctor_print_multi_json(FILE *out, const struct doctor_multi *d, const struct doctor_view *v)
{
    (void)v;
    struct json j;
    enum severity worst = SEV_INFO;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", DOCTOR_NETNS_JSON_SCHEMA);
    json_double(&j, "taken_at", (double)time(NULL));
    json_uint(&j, "sockets", d->sockets);
    json_arr_begin(&j, "namespaces");
    for (size_t i = 0; i < d->n; i++) {
        const struct ns_report *nr = &d->items[i];
        json_obj_begin(&j, NULL);
        netns_entry_json_fields(&j, nr->ns->ns);
        if (nr->ns->ok) {
            const struct snapshot *s = &nr->ns->snap;
            json_uint(&j, "rank", i + 1);
            json_null(&j, "error");
            json_str(&j, "source", s->source == SNAP_NETLINK ? "netlink" : "proc");
            json_uint(&j, "sockets", snapshot_total(s));
            json_obj_begin(&j, "states");
            for (int st = 1; st < TS_MAX; st++)
                if (st != TS_NEW_SYN_RECV)
                    json_uint(&j, tcp_state_name(st), nr->r.counts[st]);
            json_obj_end(&j);
            json_str(&j, "worst", severity_name(nr->worst));
            json_uint(&j, "findings", nr->r.n);
            if (nr->worst > worst)
                worst = nr->worst;
        } else {
            json_null(&j, "rank");
            json_str(&j, "error", nr->ns->error);
        }
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_arr_begin(&j, "findings");
    for (size_t i = 0; i < d->n; i++) {
        const struct ns_report *nr = &d->items[i];
        for (size_t k = 0; nr->ns->ok && k < nr->r.n; k++) {
            json_obj_begin(&j, NULL);
            doctor_finding_json_fields(&j, &nr->r.items[k]);
            json_obj_begin(&j, "netns");
            netns_entry_json_fields(&j, nr->ns->ns);
            json_obj_end(&j);
            json_obj_end(&j);
        }
    }
    json_arr_end(&j);
    json_uint(&j, "not_read", d->n - d->entered);
    json_uint(&j, "processes_not_visible", d->procs_hidden);
    json_str(&j, "worst", severity_name(worst));
    json_int(&j, "exit_code", doctor_multi_exit_code(d));
    json_obj_end(&j);
    json_finish(&j);
}

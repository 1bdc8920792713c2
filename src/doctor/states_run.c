/* SPDX-License-Identifier: MIT */
#include "doctor/states_run.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "snapshot/multi.h"
#include "snapshot/ssfilter.h"
#include "util/json.h"

/* The FILTER words: state words narrow the state options, the rest
 * becomes the filter expression (view.filter.expr). */
static int apply_words(struct states_req *q, struct ssf **expr, char *err, size_t errlen)
{
    struct sock_filter *f = &q->view.filter;
    uint32_t words_states;
    if (!q->nwords)
        return 0;
    if (ssf_parse(q->nwords, q->words, &words_states, expr, err, errlen) < 0)
        return -1;
    f->expr = *expr;
    if (words_states)
        f->states = f->states ? f->states & words_states : words_states;
    if (!f->states && words_states) {
        snprintf(err, errlen, "the state options and words select no state");
        return -1;
    }
    return 0;
}

static int check_combos(const struct states_req *q, char *err, size_t errlen)
{
    const struct snapshot_opts *so = &q->snap;
    if ((q->view.info || q->view.memory) && (q->json || q->summary || so->replay || so->force_proc)) {
        snprintf(err, errlen, "-i/-m are read from the kernel for the table: not with %s",
                 q->json ? "--json" : q->summary ? "--summary" : so->replay ? "--replay" : "--proc");
        return -1;
    }
    if (q->all_netns && (q->netns || so->replay || so->record || so->force_proc)) {
        snprintf(err, errlen, "--all-netns does not go with %s",
                 q->netns ? "-N/--netns" : so->replay ? "--replay" : so->record ? "--record"
                                                                     : "--proc");
        return -1;
    }
    return 0;
}

/* The table of one namespace with its inode as a first column. */
static void table_with_netns(FILE *out, const struct ns_snapshot *ns,
                             const struct states_view_opts *vo, bool header)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return;
    struct states_view_opts o = *vo;
    o.header = header;
    states_print_table(mem, &ns->snap, &o);
    fclose(mem);
    char inode[24];
    snprintf(inode, sizeof inode, "%llu", (unsigned long long)ns->ns->inode);
    for (char *p = buf, *nl; p && p < buf + len; p = nl ? nl + 1 : NULL) {
        nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        fprintf(out, "%-11s %.*s\n", header && p == buf ? "Netns" : inode, (int)n, p);
    }
    free(buf);
}

/* One namespace's section of the --all-netns JSON. */
static void json_of_netns(FILE *out, const struct ns_snapshot *ns, const struct states_view_opts *vo,
                          bool summary, bool first)
{
    struct json j;
    json_init(&j, out, false);
    fprintf(out, "%s{\"netns\":", first ? "" : ",");
    json_obj_begin(&j, NULL);
    netns_entry_json_fields(&j, ns->ns);
    json_obj_end(&j);
    if (!ns->ok) {
        fputs(",\"error\":", out);
        json_init(&j, out, false);
        json_str(&j, NULL, ns->error);
        fputs(",\"states\":null}", out);
        return;
    }
    fputs(",\"error\":null,\"states\":", out);
    struct states_view_opts one = *vo;
    one.netns_inode = ns->ns->inode;
    one.netns_arg = ns->ns->name[0] ? ns->ns->name : NULL;
    states_print_json(out, &ns->snap, &one, summary);
    fputs("}", out);
}

/* A summary filtered by state alone only counts TIME_WAIT: they may be
 * folded as the dump is read (snapshot/twfold.h). */
static bool counts_only(const struct states_req *q)
{
    const struct states_view_opts *vo = &q->view;
    return q->summary && !vo->filter.family && !vo->filter.sport && !vo->filter.dport && !vo->filter.expr;
}

static int all_netns(const struct states_req *q, FILE *out, FILE *diag, char *err, size_t errlen)
{
    char label[200];
    struct multi_snapshot m;
    struct snapshot_opts so = q->snap;
    if (counts_only(q))
        so.fold_above = 1; /* in a big namespace only (snapshot/multi.h) */
    if (multi_snapshot_take(&m, &so, err, errlen) < 0)
        return -1;
    const struct states_view_opts *vo = &q->view;
    bool header = vo->header;
    if (q->json)
        fputs("{\"schema\":\"" STATES_NETNS_JSON_SCHEMA "\",\"namespaces\":[", out);
    for (size_t i = 0; i < m.list.n; i++) {
        const struct ns_snapshot *ns = &m.items[i];
        netns_entry_label(ns->ns, label, sizeof label);
        if (q->json) {
            json_of_netns(out, ns, vo, q->summary, i == 0);
        } else if (!ns->ok) {
            fprintf(diag, "closer states: netns %s not read: %s\n", label, ns->error);
        } else if (q->summary) {
            fprintf(out, "%snetns %s\n", i ? "\n" : "", label);
            states_print_summary(out, &ns->snap, vo);
        } else {
            table_with_netns(out, ns, vo, header);
            header = false;
        }
    }
    if (q->json)
        fputs("]}\n", out);
    multi_snapshot_free(&m);
    return 0;
}

static void notes(const struct states_req *q, const struct snapshot *s, FILE *diag)
{
    if (s->source_note[0] && !q->snap.force_proc)
        fprintf(diag, "closer states: note: %s\n", s->source_note);
    if (q->view.processes && s->procs_denied)
        fprintf(diag, "closer states: note: the fds of %u processes are not readable (%s): "
                      "their sockets show no owner\n", s->procs_denied,
                s->visibility_limit[0] ? s->visibility_limit : "permission denied");
}

static int one_netns(struct states_req *q, FILE *out, FILE *diag, char *err, size_t errlen)
{
    struct states_view_opts *vo = &q->view;
    if (q->netns && netns_enter(q->netns, err, errlen) < 0)
        return -1;
    if (counts_only(q))
        q->snap.fold_above = 1;
    struct snapshot *s = malloc(sizeof *s);
    if (!s || snapshot_take(s, &q->snap, err, errlen) < 0) {
        if (!s)
            snprintf(err, errlen, "out of memory");
        free(s);
        return -1;
    }
    notes(q, s, diag);
    if (!q->snap.replay) {
        int nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        vo->netns_inode = nsfd >= 0 ? netns_fd_inode(nsfd) : 0;
        if (nsfd >= 0)
            close(nsfd);
        vo->netns_arg = q->netns;
    }
    if (q->json)
        states_print_json(out, s, vo, q->summary);
    else if (q->summary)
        states_print_summary(out, s, vo);
    else
        states_print_table(out, s, vo);
    snapshot_free(s);
    free(s);
    return 0;
}

int states_run(struct states_req *q, FILE *out, FILE *diag, char *err, size_t errlen)
{
    struct ssf *expr = NULL;
    int rc = apply_words(q, &expr, err, errlen);
    if (!rc)
        rc = check_combos(q, err, errlen);
    if (!rc) {
        q->snap.detail = q->view.info || q->view.memory;
        q->snap.states = q->view.filter.states;
        q->snap.owners = q->view.processes;
        rc = q->all_netns ? all_netns(q, out, diag, err, errlen)
                          : one_netns(q, out, diag, err, errlen);
    }
    ssf_free(expr);
    q->view.filter.expr = NULL;
    return rc;
}

/* SPDX-License-Identifier: MIT */
#include "trace/summary.h"
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

static const char *const first_names[] = {"none", "local", "peer", "reset", "abort"};

const char *trace_first_name(int first)
{
    return first >= 0 && first < 5 ? first_names[first] : "?";
}

const char *trace_role_name(int role)
{
    return role == ROLE_ACCEPTED ? "accepted" : role == ROLE_OUTGOING ? "outgoing" : "unknown";
}

const char *trace_reason_name(const struct tp_format *f, int32_t reason, char *buf, size_t len)
{
    const char *n = f ? tp_reason_name(f, reason) : NULL;
    if (n)
        return n;
    snprintf(buf, len, "reason %d", (int)reason);
    return buf;
}

void trace_fmt_dur(char *buf, size_t len, uint64_t ns)
{
    if (ns < 1000000)
        snprintf(buf, len, "%lluus", (unsigned long long)(ns / 1000));
    else if (ns < 1000000000)
        snprintf(buf, len, "%.1fms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.2fs", (double)ns / 1e9);
}

static int groups_init(struct sgroups *gs)
{
    memset(gs, 0, sizeof *gs);
    gs->index = malloc(2 * SUM_MAX_GROUPS * sizeof *gs->index);
    if (!gs->index)
        return -1;
    memset(gs->index, 0xff, 2 * SUM_MAX_GROUPS * sizeof *gs->index);
    return 0;
}

static struct sgroup *group_get(struct sgroups *gs, uint64_t key)
{
    if (!gs->index)
        return NULL;
    uint32_t slots = 2 * SUM_MAX_GROUPS;
    uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) % slots;
    for (;; i = (i + 1) % slots) {
        uint32_t at = gs->index[i];
        if (at == UINT32_MAX)
            break;
        if (gs->g[at].key == key)
            return &gs->g[at];
    }
    if (gs->n >= SUM_MAX_GROUPS) {
        gs->overflow++;
        return NULL;
    }
    if (gs->n == gs->cap) {
        size_t cap = gs->cap ? gs->cap * 2 : 16;
        struct sgroup *ng = realloc(gs->g, cap * sizeof *ng);
        if (!ng)
            return NULL;
        gs->g = ng;
        gs->cap = cap;
    }
    struct sgroup *g = &gs->g[gs->n];
    memset(g, 0, sizeof *g);
    g->key = key;
    gs->index[i] = (uint32_t)gs->n++;
    return g;
}

static void lat_add(struct lat *l, uint64_t ns)
{
    uint64_t us64 = ns / 1000;
    uint32_t us = us64 > UINT32_MAX ? UINT32_MAX : (uint32_t)us64;
    l->seen++;
    if (us > l->max)
        l->max = us;
    if (l->n == LAT_KEEP) {
        l->rng ^= l->rng << 13, l->rng ^= l->rng >> 7, l->rng ^= l->rng << 17; /* xorshift64 */
        uint64_t k = l->rng % l->seen;
        if (k < LAT_KEEP)
            l->us[k] = us;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint32_t *nu = realloc(l->us, cap * sizeof *nu);
        if (!nu)
            return;
        l->us = nu;
        l->cap = cap;
        if (!l->rng)
            l->rng = 0x9E3779B97F4A7C15ull;
    }
    l->us[l->n++] = us;
}

static void group_add(struct sgroup *g, const struct trace_rec *r)
{
    g->closes++;
    g->by_first[r->first < 5 ? r->first : 0]++;
    g->tw_local += r->tw == TW_LOCAL;
    g->tw_peer += r->tw == TW_PEER;
    g->rst_sent += (r->rst & RST_SENT) != 0;
    g->rst_received += (r->rst & RST_RECEIVED) != 0;
    if ((r->rst & RST_SENT) && r->rst_reason >= 0)
        g->reasons[r->rst_reason < SUM_REASONS ? r->rst_reason : SUM_REASONS - 1]++;
    if (r->t_close_wait && r->t_last_ack >= r->t_close_wait)
        lat_add(&g->close_after_fin, r->t_last_ack - r->t_close_wait);
}

void summary_init(struct summary *s, const struct tp_format *rst_format)
{
    memset(s, 0, sizeof *s);
    s->rst_format = rst_format;
    groups_init(&s->ports);
    groups_init(&s->procs);
    groups_init(&s->port_procs);
}

void summary_add(struct summary *s, const struct trace_rec *r)
{
    s->closes++;
    s->by_first[r->first < 5 ? r->first : 0]++;
    /* The service port: the local one of an accepted connection, the
     * peer's of an outgoing one; unknown roles (opened before tracing)
     * by their local port. */
    uint16_t port = r->role == ROLE_OUTGOING ? r->rport : r->lport;
    struct sgroup *g = group_get(&s->ports, (uint64_t)r->role << 16 | port);
    if (g) {
        g->port = port;
        g->role = r->role;
        group_add(g, r);
    }
    int32_t pid = r->pid ? r->pid : r->owner_pid;
    g = group_get(&s->procs, (uint64_t)(uint32_t)pid);
    if (g) {
        g->pid = pid;
        if (!g->comm[0])
            memcpy(g->comm, r->pid ? r->comm : r->owner_comm, sizeof g->comm);
        group_add(g, r);
    }
    g = group_get(&s->port_procs, (uint64_t)r->role << 56 | (uint64_t)port << 32 | (uint32_t)pid);
    if (g) {
        g->port = port;
        g->role = r->role;
        g->pid = pid;
        if (!g->comm[0])
            memcpy(g->comm, r->pid ? r->comm : r->owner_comm, sizeof g->comm);
        group_add(g, r);
    }
}

void summary_nosock_rst(struct summary *s, int32_t reason)
{
    s->rst_nosock++;
    if (reason >= 0)
        s->nosock_reasons[reason < SUM_REASONS ? reason : SUM_REASONS - 1]++;
}

/* Into the connection's port and process groups as a reset sent, not as
 * a close (the close was counted with its record). */
void summary_after_close_rst(struct summary *s, const struct trace_rec *r)
{
    int32_t reason = r->rst_reason;
    s->rst_after_close++;
    if (reason >= 0)
        s->after_close_reasons[reason < SUM_REASONS ? reason : SUM_REASONS - 1]++;
    uint16_t port = r->role == ROLE_OUTGOING ? r->rport : r->lport;
    int32_t pid = r->pid ? r->pid : r->owner_pid;
    struct sgroup *gs[2] = {group_get(&s->ports, (uint64_t)r->role << 16 | port),
                            group_get(&s->procs, (uint64_t)(uint32_t)pid)};
    for (int k = 0; k < 2; k++) {
        if (!gs[k])
            continue;
        if (!gs[k]->closes && k == 0) {
            gs[k]->port = port;
            gs[k]->role = r->role;
        } else if (!gs[k]->closes) {
            gs[k]->pid = pid;
            memcpy(gs[k]->comm, r->pid ? r->comm : r->owner_comm, sizeof gs[k]->comm);
        }
        gs[k]->rst_sent++;
        if (reason >= 0)
            gs[k]->reasons[reason < SUM_REASONS ? reason : SUM_REASONS - 1]++;
    }
}

void summary_free(struct summary *s)
{
    struct sgroups *all[] = {&s->ports, &s->procs, &s->port_procs};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < all[k]->n; i++)
            free(all[k]->g[i].close_after_fin.us);
        free(all[k]->g);
        free(all[k]->index);
    }
    memset(s, 0, sizeof *s);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t summary_pct(const struct lat *l, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)l->n + 0.999999);
    if (rank < 1)
        rank = 1;
    return l->us[rank > l->n ? l->n - 1 : rank - 1];
}

static int cmp_groups(const void *a, const void *b)
{
    const struct sgroup *x = a, *y = b;
    return x->closes > y->closes ? -1 : x->closes < y->closes;
}

void summary_sort(struct summary *s)
{
    struct sgroups *all[] = {&s->ports, &s->procs, &s->port_procs};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < all[k]->n; i++) {
            struct lat *l = &all[k]->g[i].close_after_fin;
            if (l->n > 1)
                qsort(l->us, l->n, sizeof *l->us, cmp_u32);
        }
        if (all[k]->n < 2 || !all[k]->index)
            continue;
        qsort(all[k]->g, all[k]->n, sizeof *all[k]->g, cmp_groups);
        /* the index now points at the wrong slots: rebuild on demand */
        memset(all[k]->index, 0xff, 2 * SUM_MAX_GROUPS * sizeof *all[k]->index);
        size_t n = all[k]->n;
        all[k]->n = 0;
        for (size_t i = 0; i < n; i++) {
            struct sgroup copy = all[k]->g[i];
            struct sgroup *g = group_get(all[k], copy.key);
            if (g)
                *g = copy;
        }
    }
}

static void lat_text(const struct lat *l, char *buf, size_t len)
{
    if (!l->n) {
        snprintf(buf, len, "-");
        return;
    }
    char a[16], b[16], c[16], d[16];
    trace_fmt_dur(a, sizeof a, (uint64_t)summary_pct(l, 50) * 1000);
    trace_fmt_dur(b, sizeof b, (uint64_t)summary_pct(l, 90) * 1000);
    trace_fmt_dur(c, sizeof c, (uint64_t)summary_pct(l, 99) * 1000);
    trace_fmt_dur(d, sizeof d, (uint64_t)l->max * 1000);
    snprintf(buf, len, "%s %s %s %s (n=%llu)", a, b, c, d, (unsigned long long)l->seen);
}

static void reasons_text(const struct summary *s, const uint64_t *reasons, FILE *out)
{
    char buf[32];
    bool any = false;
    for (int i = 0; i < SUM_REASONS; i++)
        if (reasons[i]) {
            fprintf(out, "%s%s %llu", any ? ", " : " ", trace_reason_name(s->rst_format, i, buf, sizeof buf),
                    (unsigned long long)reasons[i]);
            any = true;
        }
}

static void group_row(const struct summary *s, const struct sgroup *g, const char *label, FILE *out)
{
    char lat[96];
    lat_text(&g->close_after_fin, lat, sizeof lat);
    fprintf(out, "  %-22s %7llu %6llu %6llu %6llu %6llu %8llu %7llu %7llu %6llu  %s\n", label,
            (unsigned long long)g->closes, (unsigned long long)g->by_first[FIRST_LOCAL],
            (unsigned long long)g->by_first[FIRST_PEER], (unsigned long long)g->by_first[FIRST_RESET],
            (unsigned long long)g->by_first[FIRST_ABORT], (unsigned long long)g->tw_local,
            (unsigned long long)g->tw_peer, (unsigned long long)g->rst_sent,
            (unsigned long long)g->rst_received, lat);
    if (g->rst_sent) {
        fprintf(out, "  %-22s RSTs sent by reason:", "");
        reasons_text(s, g->reasons, out);
        fputc('\n', out);
    }
}

/* Each cause in its backend's words, with what helps. */
static void losses_text(const struct trace_losses *w, FILE *out)
{
    if (w->ring_full)
        fprintf(out, "  lost, ring full: %llu (the reader fell behind: raise --buffer)\n",
                (unsigned long long)w->ring_full);
    if (w->skipped)
        fprintf(out, "  lost, BPF program skipped: %llu (another BPF program, closer's or another "
                     "tool's, ran on that CPU at the time: the kernel runs one at a time)\n",
                (unsigned long long)w->skipped);
    if (w->not_sampled)
        fprintf(out, "  lost, counted by the kernel but never sampled: %llu (perf sampling skips events "
                     "in softirq on an idle CPU: --backend bpf delivers them)\n",
                (unsigned long long)w->not_sampled);
    if (w->misordered)
        fprintf(out, "  events out of time order: %llu (held back too briefly; their records may be wrong)\n",
                (unsigned long long)w->misordered);
    if (w->end_unseen)
        fprintf(out, "  connections whose end no event showed (gone from the socket table): %llu, "
                     "counted above as closed, side unknown\n", (unsigned long long)w->end_unseen);
    if (w->ring_full || w->skipped || w->not_sampled)
        fprintf(out, "  (counts above are short by what was lost)\n");
}

static const char header[] =
    "%-24s %7s %6s %6s %6s %6s %8s %7s %7s %6s  %s\n";

void summary_print_text(struct summary *s, const struct summary_meta *m, FILE *out)
{
    summary_sort(s);
    fprintf(out, "\nclosed connections in %.1f s (%s): %llu  (local first %llu, peer first %llu, "
                 "reset %llu, abort %llu)\n",
            m->seconds, m->scope, (unsigned long long)s->closes, (unsigned long long)s->by_first[FIRST_LOCAL],
            (unsigned long long)s->by_first[FIRST_PEER], (unsigned long long)s->by_first[FIRST_RESET],
            (unsigned long long)s->by_first[FIRST_ABORT]);
    fprintf(out, "events: %llu, lost: %llu%s%s\n", (unsigned long long)m->events, (unsigned long long)m->lost,
            m->backend ? ", backend: " : "", m->backend ? m->backend : "");
    losses_text(&m->why, out);
    if (m->dropped_full)
        fprintf(out, "connections not tracked (table full, --max-conns): %llu\n",
                (unsigned long long)m->dropped_full);
    if (s->unattributed)
        fprintf(out, "left out, namespace unknown (no process touched them while traced; "
                     "--all-netns shows them): %llu\n", (unsigned long long)s->unattributed);
    if (!s->closes && !s->rst_nosock && !s->rst_after_close)
        return;
    fprintf(out, header, "\nby port", "closes", "local", "peer", "reset", "abort", "tw-here", "tw-peer",
            "rst-out", "rst-in", "close after FIN: p50 p90 p99 max");
    char label[64];
    for (size_t i = 0; i < s->ports.n; i++) {
        const struct sgroup *g = &s->ports.g[i];
        snprintf(label, sizeof label, ":%u %s", g->port, trace_role_name(g->role));
        group_row(s, g, label, out);
    }
    fprintf(out, header, "\nby process", "closes", "local", "peer", "reset", "abort", "tw-here", "tw-peer",
            "rst-out", "rst-in", "close after FIN: p50 p90 p99 max");
    for (size_t i = 0; i < s->procs.n; i++) {
        const struct sgroup *g = &s->procs.g[i];
        if (g->pid)
            snprintf(label, sizeof label, "%d %.15s", (int)g->pid, g->comm[0] ? g->comm : "?");
        else
            snprintf(label, sizeof label, "(no process)");
        group_row(s, g, label, out);
    }
    if (s->ports.overflow || s->procs.overflow)
        fprintf(out, "  (more than %d groups: %llu connections not grouped)\n", SUM_MAX_GROUPS,
                (unsigned long long)(s->ports.overflow + s->procs.overflow));
    if (s->rst_nosock) {
        fprintf(out, "RSTs sent for no socket: %llu:", (unsigned long long)s->rst_nosock);
        reasons_text(s, s->nosock_reasons, out);
        fputc('\n', out);
    }
    if (s->rst_after_close) {
        fprintf(out, "RSTs sent after the close (by the connection's minisock: data after close): %llu:",
                (unsigned long long)s->rst_after_close);
        reasons_text(s, s->after_close_reasons, out);
        fputc('\n', out);
    }
    if (s->close_wait_open) {
        char age[16];
        trace_fmt_dur(age, sizeof age, s->close_wait_oldest_ns);
        fprintf(out, "still in CLOSE_WAIT at the end (the program has not called close()): %llu, "
                     "oldest %s\n", (unsigned long long)s->close_wait_open, age);
    }
}

static void lat_json(struct json *j, const struct lat *l)
{
    json_obj_begin(j, "close_after_fin_us");
    json_uint(j, "count", l->seen);
    if (l->n) {
        json_uint(j, "p50", summary_pct(l, 50));
        json_uint(j, "p90", summary_pct(l, 90));
        json_uint(j, "p99", summary_pct(l, 99));
        json_uint(j, "max", l->max);
    }
    json_obj_end(j);
}

static void reasons_json(struct json *j, const struct summary *s, const uint64_t *reasons)
{
    char buf[32];
    json_obj_begin(j, "rst_reasons");
    for (int i = 0; i < SUM_REASONS; i++)
        if (reasons[i])
            json_uint(j, trace_reason_name(s->rst_format, i, buf, sizeof buf), reasons[i]);
    json_obj_end(j);
}

static void group_json(struct json *j, const struct summary *s, const struct sgroup *g)
{
    json_uint(j, "closes", g->closes);
    json_uint(j, "local_first", g->by_first[FIRST_LOCAL]);
    json_uint(j, "peer_first", g->by_first[FIRST_PEER]);
    json_uint(j, "reset", g->by_first[FIRST_RESET]);
    json_uint(j, "abort", g->by_first[FIRST_ABORT]);
    json_uint(j, "time_wait_here", g->tw_local);
    json_uint(j, "time_wait_peer", g->tw_peer);
    json_uint(j, "rst_sent", g->rst_sent);
    json_uint(j, "rst_received", g->rst_received);
    reasons_json(j, s, g->reasons);
    lat_json(j, &g->close_after_fin);
}

void summary_print_json(struct summary *s, const struct summary_meta *m, FILE *out)
{
    summary_sort(s);
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", "closer.trace/1"); /* schemas/closer.trace.schema.json */
    json_str(&j, "type", "summary");
    json_double(&j, "duration_s", m->seconds);
    json_str(&j, "scope", m->scope);
    json_uint(&j, "closes", s->closes);
    for (int f = FIRST_LOCAL; f <= FIRST_ABORT; f++)
        json_uint(&j, f == FIRST_LOCAL ? "local_first" : f == FIRST_PEER ? "peer_first" : first_names[f],
                  s->by_first[f]);
    json_uint(&j, "events", m->events);
    json_uint(&j, "lost_events", m->lost);
    if (m->backend) {
        json_str(&j, "backend", m->backend);
        json_uint(&j, "undelivered_events", m->why.skipped + m->why.not_sampled);
    }
    json_obj_begin(&j, "lost_by_cause");
    json_uint(&j, "ring_full", m->why.ring_full);
    json_uint(&j, "bpf_skipped", m->why.skipped);
    json_uint(&j, "not_sampled", m->why.not_sampled);
    json_obj_end(&j);
    json_uint(&j, "misordered_events", m->why.misordered);
    json_uint(&j, "end_unseen", m->why.end_unseen);
    json_uint(&j, "untracked", m->dropped_full);
    json_uint(&j, "unattributed", s->unattributed);
    json_uint(&j, "close_wait_open", s->close_wait_open);
    json_arr_begin(&j, "ports");
    for (size_t i = 0; i < s->ports.n; i++) {
        json_obj_begin(&j, NULL);
        json_uint(&j, "port", s->ports.g[i].port);
        json_str(&j, "role", trace_role_name(s->ports.g[i].role));
        group_json(&j, s, &s->ports.g[i]);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_arr_begin(&j, "processes");
    for (size_t i = 0; i < s->procs.n; i++) {
        json_obj_begin(&j, NULL);
        if (s->procs.g[i].pid) {
            json_int(&j, "pid", s->procs.g[i].pid);
            json_str(&j, "comm", s->procs.g[i].comm);
        } else {
            json_null(&j, "pid");
        }
        group_json(&j, s, &s->procs.g[i]);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_begin(&j, "rst_no_socket");
    json_uint(&j, "count", s->rst_nosock);
    reasons_json(&j, s, s->nosock_reasons);
    json_obj_end(&j);
    json_obj_begin(&j, "rst_after_close");
    json_uint(&j, "count", s->rst_after_close);
    reasons_json(&j, s, s->after_close_reasons);
    json_obj_end(&j);
    json_obj_end(&j);
    json_finish(&j);
}

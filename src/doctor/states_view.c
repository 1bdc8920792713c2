/* SPDX-License-Identifier: MIT */
#include "doctor/states_view.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/states_detail.h"
#include "doctor/states_rows.h"
#include "snapshot/twfold.h"
#include "util/json.h"
#include "util/textesc.h"

void states_count(const struct snapshot *s, const struct sock_filter *f, size_t counts[TS_MAX])
{
    memset(counts, 0, TS_MAX * sizeof counts[0]);
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!sock_filter_match(f, t) || t->state >= TS_MAX)
            continue;
        counts[t->state == TS_NEW_SYN_RECV ? TS_SYN_RECV : t->state]++;
    }
    /* Folded TIME_WAIT (a summary's snapshot): taken only with a filter of
     * states alone (cmd/states.c). */
    if (s->twf && (!f->states || (f->states & (1u << TS_TIME_WAIT))))
        counts[TS_TIME_WAIT] += s->twf->n;
}

/* "(in accept queue)", "(orphan)", "-" for sockets without an owner fd. */
static const char *states_ownerless_reason(const struct snapshot *s, const struct tcp_sock *t)
{
    if (t->timer == TT_TIMEWAIT || t->state == TS_TIME_WAIT)
        return "(timewait minisocket: no fd)";
    if (t->state == TS_SYN_RECV || t->state == TS_NEW_SYN_RECV)
        return "(handshake: no fd)";
    if (t->inode == 0) {
        if ((t->state == TS_ESTABLISHED || t->state == TS_CLOSE_WAIT) &&
            snapshot_is_listen_port(s, t->sport))
            return "(in accept queue: not accepted)";
        return "(orphan: closed by its process)";
    }
    if (!s->owners_read)
        return "";
    return "(owner not visible)";
}

/* Writes the owner column for t: "pid=1,comm=x,fd=3 pid=..." */
static void format_owners(char *buf, size_t len, const struct snapshot *s, const struct tcp_sock *t)
{
    const struct fd_ref *r;
    size_t n = snapshot_owners(s, t->inode, &r);
    if (!n) {
        snprintf(buf, len, "%s", states_ownerless_reason(s, t));
        return;
    }
    size_t off = 0;
    for (size_t i = 0; i < n && off + 1 < len; i++) {
        const struct proc_info *p = &s->procs[r[i].proc];
        char comm[TEXT_ESCAPED_SIZE(sizeof p->comm)];
        int w = snprintf(buf + off, len - off, "%spid=%d,comm=%s,fd=%d", i ? " " : "",
                         (int)r[i].pid, text_escape(comm, sizeof comm, p->comm, 0), r[i].fd);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static void format_timer(char *buf, size_t len, const struct tcp_sock *t)
{
    if (t->timer == TT_OFF)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%s,%.1fs", tcp_timer_name(t->timer), t->expires_ms / 1000.0);
}

/* The plain listing: rows formatted by hand into one large buffer
 * (states_rows.c), written when it fills; the listing's own buffer, a
 * small one on the stack when memory is short. */
static void print_rows_plain(FILE *out, const struct snapshot *s, const struct states_view_opts *o,
                             int lw, int pw)
{
    enum { ROWS_BUF = 1 << 18 };
    char small[16 * STATES_ROW_MAX];
    char *big = malloc(ROWS_BUF), *buf = big ? big : small;
    size_t cap = big ? ROWS_BUF : sizeof small, n = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!sock_filter_match(&o->filter, t))
            continue;
        if (n + STATES_ROW_MAX > cap) {
            /* A reader that went away (closer states | head) ends the listing. */
            if (fwrite(buf, 1, n, out) != n) {
                n = 0;
                break;
            }
            n = 0;
        }
        n += states_row_plain(buf + n, t, lw, pw);
    }
    if (n)
        fwrite(buf, 1, n, out);
    free(big);
}

void states_print_table(FILE *out, const struct snapshot *s, const struct states_view_opts *o)
{
    /* Widths from the data, as ss does, so IPv6 rows stay aligned. */
    int lw = 20, pw = 20;
    char a[64];
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!sock_filter_match(&o->filter, t))
            continue;
        int l = (int)states_addr(a, t->family, t->src, t->sport);
        int p = (int)states_addr(a, t->family, t->dst, t->dport);
        lw = l > lw ? l : lw;
        pw = p > pw ? p : pw;
    }
    if (o->header)
        fprintf(out, "%-11s %6s %6s %-*s %-*s %-16s%s\n", "State", "Recv-Q", "Send-Q", lw,
                "Local Address:Port", pw, "Peer Address:Port", "Timer",
                o->processes ? " Process" : "");
    if (!o->processes && !o->extended && !o->info && !o->memory && lw <= 64 && pw <= 64) {
        print_rows_plain(out, s, o, lw, pw);
        return;
    }
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (!sock_filter_match(&o->filter, t))
            continue;
        char l[64], p[64], tm[32], own[512] = "";
        tcp_addr_format(l, t->family, t->src, t->sport);
        if (t->state == TS_LISTEN)
            snprintf(p, sizeof p, t->family == AF_INET ? "0.0.0.0:*" : "[::]:*");
        else
            tcp_addr_format(p, t->family, t->dst, t->dport);
        format_timer(tm, sizeof tm, t);
        if (o->processes)
            format_owners(own, sizeof own, s, t);
        fprintf(out, "%-11s %6u %6u %-*s %-*s %-16s%s%s", tcp_state_label(t->state),
                t->rqueue, t->wqueue, lw, l, pw, p, tm, o->processes ? " " : "", own);
        if (o->extended)
            fprintf(out, " uid:%u ino:%llu", t->uid, (unsigned long long)t->inode);
        if (o->info || o->memory) { /* ss: a tab-led line under the socket */
            char d[1024];
            states_detail_text(d, sizeof d, diag_detail_find(s->details, s->ndetails, t), o->info,
                               o->memory, o->options || o->extended);
            fprintf(out, "\n\t%s", d);
        }
        /* A reader that went away (closer states | head) ends the listing. */
        if (putc('\n', out) == EOF)
            break;
    }
}

void states_print_summary(FILE *out, const struct snapshot *s, const struct states_view_opts *o)
{
    size_t c[TS_MAX], total = 0;
    states_count(s, &o->filter, c);
    fprintf(out, "%-12s %8s\n", "State", "Count");
    for (int st = 1; st < TS_MAX; st++) {
        if (st == TS_NEW_SYN_RECV || (!c[st] && o->filter.states &&
                                      !(o->filter.states & (1u << st))))
            continue;
        fprintf(out, "%-12s %8zu\n", tcp_state_label(st), c[st]);
        total += c[st];
    }
    fprintf(out, "%-12s %8zu\n", "Total", total);
}

static void json_socket(struct json *j, const struct snapshot *s, const struct tcp_sock *t,
                        bool processes)
{
    json_obj_begin(j, NULL);
    json_str(j, "state", tcp_state_name(t->state));
    json_uint(j, "recv_q", t->rqueue); /* bytes; LISTEN: accept queue */
    json_uint(j, "send_q", t->wqueue); /* bytes; LISTEN: backlog */
    json_str(j, "family", t->family == AF_INET ? "ipv4" : "ipv6");
    tcp_endpoint_json(j, "local", t->family, t->src, t->sport);
    if (t->state == TS_LISTEN)
        tcp_endpoint_json_null(j, "peer");
    else
        tcp_endpoint_json(j, "peer", t->family, t->dst, t->dport);
    json_str(j, "timer", t->timer == TT_OFF ? NULL : tcp_timer_name(t->timer));
    if (t->timer == TT_OFF)
        json_null(j, "expires_ms");
    else
        json_uint(j, "expires_ms", t->expires_ms);
    json_uint(j, "retrans", t->retrans);
    json_uint(j, "uid", t->uid);
    if (t->inode)
        json_uint(j, "inode", t->inode);
    else
        json_null(j, "inode");
    if (processes) {
        const struct fd_ref *r;
        size_t n = snapshot_owners(s, t->inode, &r);
        json_arr_begin(j, "owners");
        for (size_t i = 0; i < n; i++) {
            json_obj_begin(j, NULL);
            json_int(j, "pid", r[i].pid);
            json_str(j, "comm", s->procs[r[i].proc].comm);
            json_int(j, "fd", r[i].fd);
            json_bool(j, "in_epoll", r[i].polled);
            json_obj_end(j);
        }
        json_arr_end(j);
        const char *why = n ? "" : states_ownerless_reason(s, t);
        json_str(j, "no_owner", *why ? why : NULL);
    }
    json_obj_end(j);
}

void states_print_json(FILE *out, const struct snapshot *s, const struct states_view_opts *o,
                       bool summary_only)
{
    struct json j;
    size_t c[TS_MAX], total = 0;
    states_count(s, &o->filter, c);
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", STATES_JSON_SCHEMA);
    json_str(&j, "source", s->source == SNAP_NETLINK ? "netlink" : "proc");
    json_str(&j, "source_note", s->source_note[0] ? s->source_note : NULL);
    if (o->netns_inode) {
        json_obj_begin(&j, "netns");
        json_uint(&j, "inode", o->netns_inode);
        json_str(&j, "name", o->netns_arg);
        json_obj_end(&j);
    } else {
        json_null(&j, "netns");
    }
    json_obj_begin(&j, "summary");
    for (int st = 1; st < TS_MAX; st++) {
        if (st == TS_NEW_SYN_RECV)
            continue;
        json_uint(&j, tcp_state_name(st), c[st]);
        total += c[st];
    }
    json_obj_end(&j);
    json_uint(&j, "total", total);
    if (!summary_only) {
        json_arr_begin(&j, "sockets");
        for (size_t i = 0; i < s->nsocks; i++)
            if (sock_filter_match(&o->filter, &s->socks[i]))
                json_socket(&j, s, &s->socks[i], o->processes);
        json_arr_end(&j);
    }
    json_obj_end(&j);
    json_finish(&j);
}

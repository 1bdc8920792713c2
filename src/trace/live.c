/* SPDX-License-Identifier: MIT */
/* closer trace's run (trace/live.h): the session's records printed as they
 * end, as text columns or JSON lines, then the summary per port and per
 * process. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel/sock.h"
#include "trace/live.h"
#include "util/cli.h"
#include "util/json.h"
#include "util/textesc.h"

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

struct view {
    struct trace_session *s;
    bool json, stream, netns_col;
    FILE *out;
};

static void fmt_addr(char *buf, size_t len, int family, const uint8_t *a, uint16_t port)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, ip, sizeof ip);
    snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static const char *end_text(const struct trace_session *s, const struct trace_rec *r, char *buf, size_t len)
{
    char rb[32];
    if (r->rst & RST_SENT)
        snprintf(buf, len, "rst-out %s",
                 r->rst_reason >= 0 ? trace_reason_name(s->sum.rst_format, r->rst_reason, rb, sizeof rb) : "");
    else if (r->rst & RST_RECEIVED)
        snprintf(buf, len, "rst-in");
    else if (r->end_unseen)
        snprintf(buf, len, "end-unseen");
    else
        snprintf(buf, len, "%s", r->tw == TW_LOCAL ? "time-wait-here" : r->tw == TW_PEER ? "time-wait-peer" : "-");
    return buf;
}

static void print_json(struct view *v, const struct trace_rec *r)
{
    char buf[80], rb[32];
    struct json j;
    json_init(&j, v->out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", "closer.trace/1"); /* schemas/closer.trace.schema.json */
    json_str(&j, "type", "close");
    trace_fmt_time(v->s, r->t_end, buf, sizeof buf, true);
    json_str(&j, "time", buf);
    if (r->netns) {
        json_uint(&j, "netns", r->netns);
        const char *name = trace_netns_name(v->s, r->netns);
        if (name)
            json_str(&j, "netns_name", name); /* bytes of a file name: the writer keeps it UTF-8 */
    } else {
        json_null(&j, "netns");
    }
    tcp_endpoint_json(&j, "local", r->family == AF_INET6 ? AF_INET6 : AF_INET, r->laddr, r->lport);
    tcp_endpoint_json(&j, "peer", r->family == AF_INET6 ? AF_INET6 : AF_INET, r->raddr, r->rport);
    json_str(&j, "role", trace_role_name(r->role));
    json_str(&j, "first", trace_first_name(r->first));
    if (r->pid) {
        json_int(&j, "pid", r->pid);
        if (r->comm[0])
            json_str(&j, "comm", r->comm);
        else
            json_null(&j, "comm"); /* gone before closer could name it */
    } else {
        json_null(&j, "pid");
    }
    if (r->owner_pid) {
        json_int(&j, "owner_pid", r->owner_pid);
        json_str(&j, "owner_comm", r->owner_comm);
    }
    if (r->t_open)
        json_uint(&j, "lifetime_us", (r->t_end - r->t_open) / 1000);
    else
        json_null(&j, "lifetime_us");
    if (r->t_close_wait && r->t_last_ack)
        json_uint(&j, "close_wait_us", (r->t_last_ack - r->t_close_wait) / 1000);
    else if (r->t_close_wait)
        json_uint(&j, "close_wait_us", (r->t_end - r->t_close_wait) / 1000);
    /* null, not "none", where there is none (schemas/README.md) */
    json_str(&j, "time_wait", r->tw == TW_LOCAL ? "here" : r->tw == TW_PEER ? "peer" : NULL);
    json_str(&j, "rst", r->rst == (RST_SENT | RST_RECEIVED) ? "both" : r->rst & RST_SENT ? "sent"
                        : r->rst & RST_RECEIVED ? "received" : NULL);
    if ((r->rst & RST_SENT) && r->rst_reason >= 0)
        json_str(&j, "rst_reason", trace_reason_name(v->s->sum.rst_format, r->rst_reason, rb, sizeof rb));
    json_str(&j, "end_state", tcp_state_name(r->end_from));
    if (r->end_unseen)
        json_bool(&j, "end_unseen", true); /* gone from the socket table, no event showed its end */
    json_obj_end(&j);
    json_finish(&j);
}

static void print_line(void *ctx, const struct trace_rec *r)
{
    struct view *v = ctx;
    if (!v->stream)
        return;
    if (v->json) {
        print_json(v, r);
        return;
    }
    char t[32], l[64], p[64], life[16] = "-", cw[16] = "-", end[64], who[80] = "-";
    trace_fmt_time(v->s, r->t_end, t, sizeof t, false);
    fmt_addr(l, sizeof l, r->family, r->laddr, r->lport);
    fmt_addr(p, sizeof p, r->family, r->raddr, r->rport);
    if (r->t_open)
        trace_fmt_dur(life, sizeof life, r->t_end - r->t_open);
    if (r->t_close_wait)
        trace_fmt_dur(cw, sizeof cw, (r->t_last_ack ? r->t_last_ack : r->t_end) - r->t_close_wait);
    if (r->pid) {
        char comm[TEXT_ESCAPED_SIZE(15)];
        text_escape(comm, sizeof comm, r->comm[0] ? r->comm : "?", 0);
        snprintf(who, sizeof who, "%d/%s", (int)r->pid, comm);
    }
    if (v->netns_col) {
        const char *name = trace_netns_name(v->s, r->netns);
        if (name)
            fprintf(v->out, "%-16.16s ", name);
        else if (r->netns)
            fprintf(v->out, "%-16llu ", (unsigned long long)r->netns);
        else
            fprintf(v->out, "%-16s ", "?");
    }
    fprintf(v->out, "%-12s %-24s %-24s %-8s %-5s %-22s %9s %10s  %s\n", t, l, p, trace_role_name(r->role),
            trace_first_name(r->first), who, life, cw, end_text(v->s, r, end, sizeof end));
}

/* Lost events as they happen: a JSON line, or a line on stderr. */
static void report_lost(struct trace_session *s, bool json)
{
    uint64_t lost = trace_lost(s);
    if (lost == s->reported_lost)
        return;
    uint64_t n = lost - s->reported_lost;
    struct trace_losses w;
    trace_losses(s, &w);
    if (json)
        printf("{\"schema\":\"closer.trace/1\",\"type\":\"lost\",\"events\":%llu}\n", (unsigned long long)n);
    else if (s->backend == TRACE_BACKEND_PERF && w.not_sampled)
        fprintf(stderr, "closer trace: %llu events lost (so far: %llu counted by the kernel but never sampled, "
                        "%llu ring full; perf sampling: --backend bpf delivers them)\n",
                (unsigned long long)n, (unsigned long long)w.not_sampled, (unsigned long long)w.ring_full);
    else if (w.skipped)
        fprintf(stderr, "closer trace: %llu events lost (so far: %llu BPF programs skipped while another BPF "
                        "program ran on the CPU, %llu ring full)\n",
                (unsigned long long)n, (unsigned long long)w.skipped, (unsigned long long)w.ring_full);
    else
        fprintf(stderr, "closer trace: %llu events lost (ring full; --buffer)\n", (unsigned long long)n);
    s->reported_lost = lost;
}

/* The summary names processes (by process: pid and comm): rendered into
 * memory, then written with every terminal-driving byte escaped. */
static void summary_text_escaped(struct summary *sum, const struct summary_meta *m, FILE *out)
{
    char *text = NULL, *safe = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem) {
        summary_print_text(sum, m, mem);
        if (fclose(mem) == 0)
            safe = malloc(TEXT_ESCAPED_SIZE(len));
    }
    if (safe)
        fputs(text_escape(safe, TEXT_ESCAPED_SIZE(len), text, TEXT_KEEP_NEWLINE), out);
    else
        fprintf(stderr, "closer trace: out of memory for the summary\n");
    free(safe);
    free(text);
}

/* Records go out once per batch (trace_step), not per line: a 1 MiB
 * buffer flushed after each step, written by this thread alone (no stdio
 * lock per character). A terminal keeps stdio's line buffering. The
 * buffer is stdout's from here to the process's end: never freed. */
static void buffer_output(void)
{
    enum { OUT_BUF = 1 << 20 };
    char *buf;
    if (isatty(STDOUT_FILENO) || !(buf = malloc(OUT_BUF)))
        return;
    setvbuf(stdout, buf, _IOFBF, OUT_BUF);
    __fsetlocking(stdout, FSETLOCKING_BYCALLER);
}

/* The first output: a JSON start line (scripts wait for it), or the
 * column header. */
static void print_start(const struct trace_session *s, const struct trace_live_opts *lo, const char *scope)
{
    if (lo->json) {
        struct json j;
        json_init(&j, stdout, false);
        json_obj_begin(&j, NULL);
        json_str(&j, "schema", "closer.trace/1");
        json_str(&j, "type", "start");
        json_str(&j, "scope", scope);
        json_str(&j, "backend", trace_backend_name(s));
        json_bool(&j, "rst_reasons", s->have[TEV_SEND_RST] && s->fmt[TEV_SEND_RST].nreasons > 0);
        json_obj_end(&j);
        json_finish(&j);
    }
    if (lo->stream && lo->header && !lo->json && s->o.all_netns)
        printf("%-16s ", "NETNS");
    if (lo->stream && lo->header && !lo->json)
        printf("%-12s %-24s %-24s %-8s %-5s %-22s %9s %10s  %s\n", "TIME", "LOCAL", "PEER", "ROLE", "FIRST",
               "CLOSED BY", "LIFETIME", "CLOSE_WAIT", "END");
    fflush(stdout);
}

/* Steps the session until the duration ends, a signal, or the reader
 * leaves. The reader may leave while no connection ends (nothing written,
 * no SIGPIPE): stdout is polled at every step. */
static void run_until_stopped(struct trace_session *s, uint64_t duration_ms, bool json)
{
    uint64_t end = duration_ms ? s->start_ns + duration_ms * 1000000ull : 0;
    while (!stop_flag && !cli_stdout_gone()) {
        uint64_t now = trace_now_ns();
        if (end && now >= end)
            break;
        int wait = 100;
        if (end && (end - now) / 1000000 < (uint64_t)wait)
            wait = (int)((end - now) / 1000000) + 1;
        trace_step(s, wait);
        report_lost(s, json);
        fflush(stdout);
    }
}

static void print_summary(struct trace_session *s, bool json, const char *scope)
{
    struct summary_meta m = {(double)(trace_now_ns() - s->start_ns) / 1e9, trace_lost(s), s->tr.st.events,
                             s->tr.st.dropped_full, s->tr.st.rst_unmatched, scope, trace_backend_name(s), {0}};
    trace_losses(s, &m.why);
    if (json)
        summary_print_json(&s->sum, &m, stdout);
    else
        summary_text_escaped(&s->sum, &m, stdout);
}

int trace_live(const struct trace_opts *o, const struct trace_live_opts *lo, char *err, size_t errlen)
{
    struct trace_session s;
    buffer_output();
    struct view v = {&s, lo->json, lo->stream, o->all_netns, stdout};
    if (trace_open(&s, o, print_line, &v, err, errlen) < 0) {
        trace_close(&s);
        return -1;
    }
    if (s.backend_note[0])
        fprintf(stderr, "closer trace: BPF unavailable (%s): perf sampling instead, which some kernels "
                        "skip for events in softirq on an idle CPU (counted as lost)\n", s.backend_note);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cli_stdout_stops(&stop_flag); /* closer trace | head -1: detach, summary to nobody, exit 0 */
    char scope[128];
    trace_scope(&s, scope, sizeof scope);
    print_start(&s, lo, scope);
    run_until_stopped(&s, lo->duration_ms, lo->json);
    trace_finish(&s);
    report_lost(&s, lo->json);
    print_summary(&s, lo->json, scope);
    trace_close(&s);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* Human report: aligned, colour only when asked (a TTY). */
#include <string.h>
#include <time.h>

#include "doctor/doctor.h"
#include "util/textesc.h"

#define WRAP_COL 100
#define INDENT 19

static const char *sev_color(enum severity s, bool color)
{
    if (!color)
        return "";
    return s == SEV_CRITICAL ? "\033[1;31m" : s == SEV_WARNING ? "\033[1;33m" : "\033[36m";
}

/* Prints text word-wrapped, every line after the first indented. Titles,
 * peers, why and fix quote process names: escaped for the terminal. */
static void wrap(FILE *out, const char *label, const char *raw)
{
    char text[TEXT_ESCAPED_SIZE(sizeof ((struct finding *)0)->fix)];
    text_escape(text, sizeof text, raw, 0);
    fprintf(out, "%*s%-*s", 10, "", INDENT - 10, label);
    int col = INDENT;
    const char *p = text;
    while (*p) {
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        int len = (int)(p - w);
        if (col > INDENT && col + 1 + len > WRAP_COL) {
            fprintf(out, "\n%*s", INDENT, "");
            col = INDENT;
        } else if (col > INDENT) {
            fputc(' ', out);
            col++;
        }
        fwrite(w, 1, (size_t)len, out);
        col += len;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

static void numbers(FILE *out, const struct finding *f)
{
    char buf[1024];
    size_t off = 0;
#define PUT(...) off += (size_t)snprintf(buf + off, off < sizeof buf ? sizeof buf - off : 0, __VA_ARGS__)
    PUT("count=%llu", f->count);
    if (f->port >= 0)
        PUT(" port=%d", f->port);
    if (f->pid)
        PUT(" pid=%d comm=%s", (int)f->pid, f->comm);
    if (f->program)
        PUT(" program=%s%s%s", f->program, f->variant ? "/" : "", f->variant ? f->variant : "");
    if (f->runtime)
        PUT(" runtime=%s", f->runtime);
    if (f->protocol)
        PUT(" protocol=%s", f->protocol);
    if (f->peer_program)
        PUT(" peer=%s", f->peer_program);
    if (f->processes > 1)
        PUT(" processes=%u", f->processes);
    if (f->nfds) {
        PUT(" fds=");
        for (size_t i = 0; i < f->nfds; i++)
            PUT("%s%d", i ? "," : "", f->fds[i]);
        if (f->nfds == FINDING_MAX_FDS && f->count > f->nfds)
            PUT(",...");
    }
    if (f->dest[0])
        PUT(" dest=%s src=%s", f->dest, f->source);
    for (size_t i = 0; i < f->nfacts; i++) {
        double v = f->facts[i].value;
        if (v == (double)(long long)v)
            PUT(" %s=%lld", f->facts[i].key, (long long)v);
        else
            PUT(" %s=%.1f", f->facts[i].key, v);
    }
#undef PUT
    if (off >= sizeof buf)
        off = sizeof buf - 1;
    wrap(out, "numbers", buf);
}

static void header(FILE *out, const struct snapshot *s, const struct doctor_report *r,
                   const struct doctor_view *v)
{
    char when[32];
    time_t t = (time_t)s->taken_at;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
    char ns[TEXT_ESCAPED_SIZE(320)];
    fprintf(out, "closer doctor — network namespace %s, %zu TCP socket%s via %s, %s\n\n",
            v->netns ? text_escape(ns, sizeof ns, v->netns, 0) : "(current)", snapshot_total(s),
            snapshot_total(s) == 1 ? "" : "s",
            s->source == SNAP_NETLINK ? "netlink sock_diag" : "/proc/net/tcp", when);
    if (s->source_note[0])
        fprintf(out, "note: %s\n\n", s->source_note);
    static const int shown[] = {TS_ESTABLISHED, TS_TIME_WAIT, TS_CLOSE_WAIT, TS_LISTEN,
                                TS_SYN_RECV, TS_FIN_WAIT1, TS_FIN_WAIT2, TS_LAST_ACK,
                                TS_CLOSING, TS_SYN_SENT};
    fprintf(out, "sockets   ");
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        if (r->counts[shown[i]] || shown[i] <= TS_TIME_WAIT || shown[i] == TS_CLOSE_WAIT)
            fprintf(out, "%s %zu  ", tcp_state_label(shown[i]), r->counts[shown[i]]);
    fprintf(out, "\n");
    fprintf(out, "closes    TIME_WAIT: %zu server-side (this host closed accepted connections "
                 "first), %zu client-side (this host closed its outgoing connections first)",
            r->tw_server, r->tw_client);
    if (r->tw_server_gone)
        fprintf(out, ", of the server-side %zu on ports with no listener now", r->tw_server_gone);
    if (r->tw_other)
        fprintf(out, ", %zu other", r->tw_other);
    fprintf(out, "\n          CLOSE_WAIT: %zu in accept queues, %zu held by processes",
            r->close_wait_unaccepted, r->counts[TS_CLOSE_WAIT] - r->close_wait_unaccepted);
    if (r->close_wait_gone)
        fprintf(out, ", %zu closed during the look (no owner by then, gone when asked again)",
                r->close_wait_gone);
    if (s->confirm_s > 0)
        fprintf(out, "\n          second look after %.1f s: %zu transient (closed or new in "
                     "between), only those present at both looks are findings",
                s->confirm_s, r->close_wait_transient);
    fprintf(out, "\n\n");
}

/* Which processes of this namespace closer could not look into, and what
 * is missing (a capability, a user namespace, a security module). */
static void not_visible(FILE *out, const struct snapshot *s)
{
    fprintf(out, "not visible: the fds of %u process%s of this network namespace (", s->procs_denied,
            s->procs_denied == 1 ? "" : "es");
    for (uint32_t i = 0; i < s->procs_denied && i < PROCFD_MAX_DENIED_LISTED; i++) {
        char comm[TEXT_ESCAPED_SIZE(sizeof s->denied_list[i].comm)];
        fprintf(out, "%spid %d %s uid %u", i ? ", " : "", (int)s->denied_list[i].pid,
                text_escape(comm, sizeof comm, s->denied_list[i].comm, 0),
                (unsigned)s->denied_list[i].uid);
    }
    if (s->procs_denied > PROCFD_MAX_DENIED_LISTED)
        fprintf(out, ", ...");
    fprintf(out, "): %s", s->visibility_limit[0] ? s->visibility_limit : "permission denied");
    size_t hidden = 0;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        const struct fd_ref *ref;
        hidden += t->inode && t->state != TS_TIME_WAIT && !snapshot_owners(s, t->inode, &ref) &&
                  !snapshot_sock_gone(s, t);
    }
    if (hidden)
        fprintf(out, "; %zu socket%s here %s an owner closer cannot see\n", hidden,
                hidden == 1 ? "" : "s", hidden == 1 ? "has" : "have");
    else
        fprintf(out, "; every socket of this namespace has a visible owner\n");
}

void doctor_print_text(FILE *out, const struct snapshot *s, const struct doctor_report *r,
                       const struct doctor_view *v)
{
    header(out, s, r, v);
    const char *reset = v->color ? "\033[0m" : "";
    size_t per_sev[3] = {0};
    bool audit_title = false;
    for (size_t i = 0; i < r->n; i++) {
        const struct finding *f = &r->items[i];
        per_sev[f->severity]++;
        bool sysctl_info = f->severity == SEV_INFO && !strncmp(f->id, "sysctl-", 7);
        if (sysctl_info && !v->verbose) {
            if (!audit_title)
                fprintf(out, "sysctl audit (info; --verbose for the why and the fix)\n");
            audit_title = true;
            char title[TEXT_ESCAPED_SIZE(sizeof f->title)];
            fprintf(out, "  %-28s %s\n", f->id, text_escape(title, sizeof title, f->title, 0));
            continue;
        }
        fprintf(out, "%s%-9s%s %s%s%s\n", sev_color(f->severity, v->color),
                severity_name(f->severity), reset, f->id, v->tag ? "  " : "", v->tag ? v->tag : "");
        wrap(out, "", f->title);
        numbers(out, f);
        if (f->peers[0])
            wrap(out, "peers", f->peers);
        if (f->peer_on_host[0])
            wrap(out, "far end", f->peer_on_host);
        wrap(out, "why", f->why);
        wrap(out, "fix", f->fix);
        fputc('\n', out);
    }
    if (audit_title)
        fputc('\n', out);
    if (!s->owners_read)
        fprintf(out, "owners: not read\n");
    else if (s->procs_denied)
        not_visible(out, s);
    fprintf(out, "result: %zu critical, %zu warning, %zu info\n", per_sev[SEV_CRITICAL],
            per_sev[SEV_WARNING], per_sev[SEV_INFO]);
}

/* SPDX-License-Identifier: MIT */
#include "doctor/doctor.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "snapshot/twfold.h"
#include "util/vec.h"

const struct finding_kind finding_kinds[F_COUNT] = {
#define FINDING(name, id, severities, rule, meaning) [F_##name] = {id, severities, rule, meaning},
#include "doctor/findings.def"
#undef FINDING
};

enum finding_id finding_kind_find(const char *id)
{
    enum finding_id k = 0;
    while (k < F_COUNT && strcmp(finding_kinds[k].id, id) != 0)
        k++;
    return k;
}

static bool is_trace(enum finding_id k)
{
    return !strcmp(finding_kinds[k].rule, "rules_trace.c");
}

void finding_ids_print(FILE *out, bool trace, int indent, int width)
{
    int col = 0;
    for (enum finding_id k = 0; k < F_COUNT; k++) {
        if (is_trace(k) != trace)
            continue;
        int len = (int)strlen(finding_kinds[k].id);
        if (col && col + 1 + len > width) {
            fputc('\n', out);
            col = 0;
        }
        col += col ? fprintf(out, " %s", finding_kinds[k].id)
                   : fprintf(out, "%*s%s", indent, "", finding_kinds[k].id);
    }
    if (col)
        fputc('\n', out);
}

void finding_kinds_markdown(FILE *out)
{
    fprintf(out, "| id | severity | decided by | meaning |\n|---|---|---|---|\n");
    for (enum finding_id k = 0; k < F_COUNT; k++) {
        const struct finding_kind *f = &finding_kinds[k];
        fprintf(out, "| `%s` | ", f->id);
        const char *sep = "";
        for (int v = SEV_INFO; v <= SEV_CRITICAL; v++)
            if (f->severities & 1u << v) {
                fprintf(out, "%s%s", sep, severity_name((enum severity)v));
                sep = ", ";
            }
        fprintf(out, " | `src/doctor/%s`%s | %s |\n", f->rule,
                is_trace(k) ? " (`--trace`)" : "", f->meaning);
    }
}

struct doctor_opts doctor_default_opts(void)
{
    return (struct doctor_opts){
        .server_tw_warn = 100,
        .client_min_sockets = 100,
        .client_warn_pct = 50,
        .client_crit_pct = 90,
        .close_wait_warn = 3,
        .close_wait_crit = 100,
        .client_pool_warn = 50,
        .orphan_pile = 100,
        .syn_recv_pile = 128,
        .listen_near_pct = 80,
    };
}

const char *severity_name(enum severity s)
{
    static const char *const n[] = {"info", "warning", "critical"};
    return n[s];
}

struct finding *doctor_add(struct doctor_report *r, enum finding_id kind, enum severity sev)
{
    if (vec_reserve((void **)&r->items, &r->cap, r->n + 1, sizeof *r->items, 16) < 0)
        return NULL;
    struct finding *f = &r->items[r->n++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->id = finding_kinds[kind].id;
    f->seq = (unsigned)r->n;
    f->severity = sev;
    f->port = -1;
    return f;
}

void finding_fact(struct finding *f, const char *key, double value)
{
    if (f->nfacts < FINDING_MAX_FACTS)
        f->facts[f->nfacts++] = (struct fact){key, value};
}

double finding_fact_value(const struct finding *f, const char *key, double missing)
{
    for (size_t i = 0; i < f->nfacts; i++)
        if (!strcmp(f->facts[i].key, key))
            return f->facts[i].value;
    return missing;
}

/* Keeps the listed fds ascending: the lowest are the oldest, usually. */
void finding_add_fd(struct finding *f, int fd)
{
    if (f->nfds == FINDING_MAX_FDS)
        return;
    size_t i = f->nfds++;
    for (; i > 0 && f->fds[i - 1] > fd; i--)
        f->fds[i] = f->fds[i - 1];
    f->fds[i] = fd;
}

void finding_endpoint_set(struct finding_endpoint *e, int family, const uint8_t addr[16],
                          uint16_t port)
{
    memset(e, 0, sizeof *e);
    e->family = (uint8_t)family;
    e->port = port;
    memcpy(e->addr, addr, family == AF_INET ? 4 : 16);
}

bool finding_endpoint_eq(const struct finding_endpoint *a, const struct finding_endpoint *b)
{
    return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static int count_states(const struct snapshot *s, const struct doctor_opts *o,
                        struct doctor_report *r)
{
    (void)o;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        int st = t->state == TS_NEW_SYN_RECV ? TS_SYN_RECV : t->state;
        if (st < TS_MAX)
            r->counts[st]++;
    }
    if (s->twf)
        r->counts[TS_TIME_WAIT] += s->twf->n;
    return 0;
}

const struct doctor_rule doctor_rules[] = {
    {"doctor.c", count_states, 0, RP_COUNTS},
    {"rules_tw.c", rules_time_wait, RP_COUNTS, RP_TW_SIDES},
    {"rules_client.c", rules_client, 0, 0},
    {"rules_close_wait.c", rules_close_wait, 0, RP_CLOSE_WAIT},
    {"rules_listen.c", rules_listen, 0, 0},
    {"rules_orphans.c", rules_orphans, RP_COUNTS, 0},
    {"rules_sysctl.c", rules_sysctl, RP_COUNTS | RP_TW_SIDES, 0},
};
const size_t doctor_nrules = sizeof doctor_rules / sizeof doctor_rules[0];

const char *doctor_rules_order_error(const struct doctor_rule *rules, size_t n, char *buf,
                                     size_t len)
{
    unsigned filled = 0;
    for (size_t i = 0; i < n; i++) {
        if (rules[i].reads & ~filled) {
            snprintf(buf, len, "%s (rule %zu) reads parts 0x%x that no rule before it fills",
                     rules[i].file, i, rules[i].reads & ~filled);
            return buf;
        }
        filled |= rules[i].fills;
    }
    return NULL;
}

/* Critical first, then warnings, then info; within a severity the rules'
 * own order (biggest first) survives. */
static int by_severity(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

int doctor_analyze(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < doctor_nrules; i++)
        if (doctor_rules[i].run(s, o, r) < 0) {
            doctor_report_free(r);
            return -1;
        }
    if (r->n)
        qsort(r->items, r->n, sizeof *r->items, by_severity);
    return 0;
}

void doctor_report_free(struct doctor_report *r)
{
    free(r->items);
    r->items = NULL;
    r->n = r->cap = 0;
}

enum severity doctor_worst(const struct doctor_report *r)
{
    enum severity w = SEV_INFO;
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].severity > w)
            w = r->items[i].severity;
    return w;
}

int doctor_exit_code(const struct doctor_report *r)
{
    return doctor_worst(r) > SEV_INFO;
}

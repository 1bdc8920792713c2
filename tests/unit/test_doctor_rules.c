/* SPDX-License-Identifier: MIT */
/* The doctor's rules as a table (doctor_rules in src/doctor/doctor.c), over
 * hand-built and recorded snapshots:
 *  - each rule reads only the report parts it declares, which rules before
 *    it fill, and fills only what it declares;
 *  - every finding a rule makes has a severity its row of findings.def
 *    allows and comes from the rule that row names. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "doctor/rules_trace.h"
#include "test.h"

/* --- the rules over snapshots ------------------------------------------ */

static struct tcp_sock socks[4096];
static struct fd_ref fds[64];
static struct proc_info procs[4];

static struct tcp_sock *add(struct snapshot *s, int state, uint16_t sport, uint16_t dport)
{
    struct tcp_sock *t = &socks[s->nsocks++];
    memset(t, 0, sizeof *t);
    t->family = AF_INET;
    t->state = (uint8_t)state;
    t->sport = sport;
    t->dport = dport;
    t->src[0] = 10, t->src[3] = 1;
    t->dst[0] = 10, t->dst[3] = 2;
    return t;
}

/* A namespace with a bit of everything; variant 1 turns the sysctls the
 * audit warns about off (and tcp_tw_recycle on). */
static void everything(struct snapshot *s, int variant)
{
    memset(s, 0, sizeof *s);
    s->socks = socks;
    s->fds = fds;
    s->procs = procs;
    s->owners_read = true;
    s->sys = (struct sysctls){.fin_timeout = 60, .tw_reuse = 2, .max_tw_buckets = 2000,
                              .timestamps = 1, .syncookies = 1, .somaxconn = 4096,
                              .port_lo = 40000, .port_hi = 40999, .tw_recycle = -1};
    if (variant) {
        s->sys.timestamps = 0;
        s->sys.syncookies = 0;
        s->sys.tw_recycle = 1;
        s->sys.tw_reuse = 1;
        s->ctr.tw_overflow = 3;
    }
    s->nprocs = 3;
    procs[0] = (struct proc_info){.pid = 10, .comm = "web", .nfds = 9, .nepoll = 1};
    procs[1] = (struct proc_info){.pid = 20, .comm = "worker", .nfds = 5, .nepoll = 1};
    procs[2] = (struct proc_info){.pid = 30, .comm = "threads", .nfds = 8};
    add(s, TS_LISTEN, 8080, 0)->inode = 100;
    fds[s->nfds++] = (struct fd_ref){.inode = 100, .pid = 10, .fd = 3, .proc = 0};
    struct tcp_sock *l = add(s, TS_LISTEN, 9000, 0);
    l->rqueue = 10, l->wqueue = 10;
    for (int i = 0; i < 400; i++) /* server side, a high rate */
        add(s, TS_TIME_WAIT, 8080, (uint16_t)(30000 + i))->expires_ms = 59500;
    add(s, TS_LISTEN, 8443, 0);
    add(s, TS_TIME_WAIT, 8443, 33000)->expires_ms = 20000; /* one close */
    for (int i = 0; i < 950; i++) /* client side: 95 % of the range */
        add(s, TS_TIME_WAIT, (uint16_t)(40000 + i), 5432)->expires_ms = 30000;
    for (int i = 0; i < 4 + variant * 200; i++) /* unaccepted CLOSE_WAIT */
        add(s, TS_CLOSE_WAIT, 8080, (uint16_t)(50000 + i))->rqueue = 1;
    for (int i = 0; i < 5; i++) { /* owned, EOF unread, not polled */
        struct tcp_sock *t = add(s, TS_CLOSE_WAIT, 8080, (uint16_t)(51000 + i));
        t->inode = (uint64_t)(200 + i);
        t->rqueue = 1;
        fds[s->nfds++] = (struct fd_ref){.inode = t->inode, .pid = 10, .fd = 7 + i, .proc = 0};
    }
    for (int i = 0; i < 3; i++) { /* owned, in epoll: EOF delivered, no close() */
        struct tcp_sock *t = add(s, TS_CLOSE_WAIT, 8080, (uint16_t)(51500 + i));
        t->inode = (uint64_t)(300 + i);
        fds[s->nfds++] = (struct fd_ref){.inode = t->inode, .pid = 20, .fd = 20 + i, .proc = 1,
                                         .polled = true};
    }
    for (int i = 0; i < 3; i++) { /* EOF unread, no epoll at all: a thread each */
        struct tcp_sock *t = add(s, TS_CLOSE_WAIT, 8080, (uint16_t)(51600 + i));
        t->inode = (uint64_t)(400 + i);
        t->rqueue = 1;
        fds[s->nfds++] = (struct fd_ref){.inode = t->inode, .pid = 30, .fd = 5 + i, .proc = 2};
    }
    for (int i = 0; i < 2; i++) { /* outgoing, only the FIN unread: a client's pool */
        struct tcp_sock *t = add(s, TS_CLOSE_WAIT, (uint16_t)(40960 + i), 6379);
        t->inode = (uint64_t)(500 + i);
        t->rqueue = 1;
        fds[s->nfds++] = (struct fd_ref){.inode = t->inode, .pid = 10, .fd = 30 + i, .proc = 0};
    }
    add(s, TS_CLOSE_WAIT, 8080, 52000)->inode = 999; /* owner hidden */
    for (int i = 0; i < 130; i++)
        add(s, TS_SYN_RECV, 9000, (uint16_t)(20000 + i));
    for (int i = 0; i < 110; i++) {
        add(s, TS_FIN_WAIT2, 443, (uint16_t)(10000 + i));
        add(s, TS_LAST_ACK, 80, (uint16_t)(10000 + i));
    }
    snapshot_reindex(s);
}

static int replay(struct snapshot *s, const char *path)
{
    char err[256];
    struct snapshot_opts o = {.replay = path, .info_states = 1u << TS_ESTABLISHED |
                                                            1u << TS_CLOSE_WAIT};
    if (snapshot_take(s, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return -1;
    }
    s->sys.port_lo = 32768, s->sys.port_hi = 60999;
    s->sys.timestamps = 1, s->sys.max_tw_buckets = 262144;
    return 0;
}

/* fn(s, name) for each snapshot: the hand-built ones, then every recorded
 * dump under tests/data. */
static int each_snapshot(int (*fn)(const struct snapshot *s, const char *name))
{
    static struct snapshot hand;
    for (int v = 0; v < 2; v++) {
        everything(&hand, v);
        if (fn(&hand, v ? "everything, audit warnings" : "everything") < 0)
            return -1;
    }
    const char *dirs[] = {"tests/data", "tests/data/doctor"};
    int n = 0;
    for (size_t d = 0; d < 2; d++) {
        DIR *dir = opendir(dirs[d]);
        if (!dir)
            return -1;
        for (struct dirent *e; (e = readdir(dir));) {
            size_t len = strlen(e->d_name);
            if (len < 5 || (strcmp(e->d_name + len - 5, ".dump") && strcmp(e->d_name + len - 5, ".diag")))
                continue;
            char path[300];
            snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
            struct snapshot s;
            int rc = replay(&s, path) < 0 ? -1 : fn(&s, path);
            snapshot_free(&s);
            if (rc < 0) {
                closedir(dir);
                return -1;
            }
            n++;
        }
        closedir(dir);
    }
    return n >= 5 ? 0 : -1; /* the recordings were found */
}

static bool seen[F_COUNT];

static int severity_and_rule(const struct snapshot *s, const char *name)
{
    struct doctor_opts o = doctor_default_opts();
    struct doctor_report r = {0};
    for (size_t i = 0; i < doctor_nrules; i++) {
        size_t before = r.n;
        if (doctor_rules[i].run(s, &o, &r) < 0)
            return -1;
        for (size_t j = before; j < r.n; j++) {
            const struct finding *f = &r.items[j];
            const struct finding_kind *k = &finding_kinds[f->kind];
            seen[f->kind] = true;
            if (strcmp(f->id, k->id) || strcmp(k->rule, doctor_rules[i].file) ||
                !(k->severities & 1u << f->severity)) {
                fprintf(stderr, "%s: %s (%s) from %s: not as findings.def says\n", name, f->id,
                        severity_name(f->severity), doctor_rules[i].file);
                doctor_report_free(&r);
                return -1;
            }
        }
    }
    doctor_report_free(&r);
    return 0;
}

TEST(findings_keep_their_rows_severities_and_rules)
{
    memset(seen, 0, sizeof seen);
    CHECK(each_snapshot(severity_and_rule) == 0);
    /* The snapshots above reach every id outside --trace. */
    for (enum finding_id k = 0; k < F_COUNT; k++) {
        bool trace = !strcmp(finding_kinds[k].rule, "rules_trace.c");
        if (!trace && !seen[k])
            fprintf(stderr, "never made: %s\n", finding_kinds[k].id);
        CHECK(trace || seen[k]);
    }
    /* --trace: rules_trace.c's findings. */
    struct measured_close rows[] = {
        {.port = 9000, .accepted = true, .pid = 11, .comm = "py", .closes = 4, .peer_first = 4,
         .rst_received = 4, .fin_to_close_n = 4, .fin_to_close_p50_ms = 2000,
         .fin_to_close_p99_ms = 2000, .fin_to_close_max_ms = 2000},
    };
    struct measured_closes m = {.seconds = 5, .rows = rows, .n = 1, .lost_events = 1};
    struct doctor_report r = {0};
    CHECK_EQ_INT(rules_trace(&m, &r), 0);
    CHECK_EQ_INT(r.n, 4);
    for (size_t i = 0; i < r.n; i++) {
        const struct finding_kind *k = &finding_kinds[r.items[i].kind];
        CHECK_EQ_STR(k->rule, "rules_trace.c");
        CHECK(k->severities & 1u << r.items[i].severity);
    }
    doctor_report_free(&r);
}

/* --- the rules' order --------------------------------------------------- */

TEST(rules_read_only_what_earlier_rules_fill)
{
    char err[200];
    const char *e = doctor_rules_order_error(doctor_rules, doctor_nrules, err, sizeof err);
    if (e)
        fprintf(stderr, "%s\n", e);
    CHECK(e == NULL);
    /* The check itself: the sysctl audit before the TIME_WAIT rule is wrong. */
    struct doctor_rule swapped[16];
    CHECK(doctor_nrules <= 16);
    memcpy(swapped, doctor_rules, doctor_nrules * sizeof *swapped);
    size_t tw = 0, sysctl = 0;
    for (size_t i = 0; i < doctor_nrules; i++) {
        tw = !strcmp(swapped[i].file, "rules_tw.c") ? i : tw;
        sysctl = !strcmp(swapped[i].file, "rules_sysctl.c") ? i : sysctl;
    }
    CHECK(tw < sysctl);
    struct doctor_rule t = swapped[tw];
    swapped[tw] = swapped[sysctl];
    swapped[sysctl] = t;
    e = doctor_rules_order_error(swapped, doctor_nrules, err, sizeof err);
    CHECK(e && strstr(e, "rules_sysctl.c"));
}

/* The report's parts, as numbers to compare and disturb. */
static void parts(const struct doctor_report *r, unsigned mask, size_t *v, size_t *n)
{
    *n = 0;
    if (mask & RP_COUNTS)
        for (int i = 0; i < TS_MAX; i++)
            v[(*n)++] = r->counts[i];
    if (mask & RP_TW_SIDES) {
        v[(*n)++] = r->tw_server, v[(*n)++] = r->tw_client;
        v[(*n)++] = r->tw_other, v[(*n)++] = r->tw_server_gone;
    }
    if (mask & RP_CLOSE_WAIT) {
        v[(*n)++] = r->close_wait_owned, v[(*n)++] = r->close_wait_unaccepted;
        v[(*n)++] = r->close_wait_gone, v[(*n)++] = r->close_wait_transient;
    }
}

/* Big, odd numbers in every part a rule says it does not read. */
static void disturb(struct doctor_report *r, unsigned keep)
{
    if (!(keep & RP_COUNTS))
        for (int i = 0; i < TS_MAX; i++)
            r->counts[i] += 100003;
    if (!(keep & RP_TW_SIDES)) {
        r->tw_server += 7919, r->tw_client += 7927;
        r->tw_other += 7933, r->tw_server_gone += 7937;
    }
    if (!(keep & RP_CLOSE_WAIT)) {
        r->close_wait_owned += 7949, r->close_wait_unaccepted += 7951;
        r->close_wait_gone += 7963, r->close_wait_transient += 7993;
    }
}

static const unsigned all_parts = RP_COUNTS | RP_TW_SIDES | RP_CLOSE_WAIT;

static int declared_parts(const struct snapshot *s, const char *name)
{
    struct doctor_opts o = doctor_default_opts();
    for (size_t i = 0; i < doctor_nrules; i++) {
        const struct doctor_rule *rule = &doctor_rules[i];
        struct doctor_report a = {0}, b = {0};
        int rc = 0;
        for (size_t j = 0; j < i && !rc; j++)
            rc = doctor_rules[j].run(s, &o, &a) < 0 || doctor_rules[j].run(s, &o, &b) < 0;
        size_t va[64], vb[64], na, nb, before = a.n;
        parts(&a, all_parts & ~rule->fills, va, &na);
        disturb(&b, rule->reads);
        if (!rc)
            rc = rule->run(s, &o, &a) < 0 || rule->run(s, &o, &b) < 0;
        parts(&a, all_parts & ~rule->fills, vb, &nb);
        if (!rc && memcmp(va, vb, na * sizeof *va) != 0) {
            fprintf(stderr, "%s: %s changed a part it does not declare it fills\n", name, rule->file);
            rc = 1;
        }
        if (!rc && (a.n != b.n || (a.n > before && memcmp(a.items + before, b.items + before,
                                                          (a.n - before) * sizeof *a.items)))) {
            fprintf(stderr, "%s: %s reads a part it does not declare\n", name, rule->file);
            rc = 1;
        }
        doctor_report_free(&a);
        doctor_report_free(&b);
        if (rc)
            return -1;
    }
    return 0;
}

TEST(rules_read_and_fill_only_what_they_declare)
{
    CHECK(each_snapshot(declared_parts) == 0);
}

/* --- the words ----------------------------------------------------------- */

/* "1 connections", "the 1 epoll instances": a count of one with a plural
 * noun after it (a digit or '.' before the 1 makes it another number). */
static const char *one_with_plural(const char *text)
{
    static const char *const nouns[] = {
        "connections", "sockets", "closes", "requests", "processes", "threads",
        "instances", "events", "ports", "fds", "peers", "epoll instances",
    };
    for (const char *p = text; (p = strstr(p, "1 ")); p++) {
        if (p > text && ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.' || p[-1] == '-'))
            continue;
        for (size_t i = 0; i < sizeof nouns / sizeof nouns[0]; i++)
            if (!strncmp(p + 2, nouns[i], strlen(nouns[i])))
                return p;
    }
    return NULL;
}

static int singular_ones(const struct snapshot *s, const char *name)
{
    struct doctor_opts o = doctor_default_opts();
    struct doctor_report r;
    if (doctor_analyze(s, &o, &r) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < r.n && !rc; i++) {
        const struct finding *f = &r.items[i];
        const char *texts[] = {f->title, f->why, f->fix, f->peer_on_host};
        for (size_t t = 0; t < 4 && !rc; t++) {
            const char *bad = one_with_plural(texts[t]);
            if (bad) {
                fprintf(stderr, "%s: %s: \"%.40s\"\n", name, f->id, bad);
                rc = -1;
            }
        }
    }
    doctor_report_free(&r);
    return rc;
}

TEST(counts_of_one_are_singular)
{
    CHECK(each_snapshot(singular_ones) == 0);
}

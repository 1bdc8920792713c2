/* SPDX-License-Identifier: MIT */
/* Folding TIME_WAIT while the dump is read changes no finding: every
 * recorded dump is analysed twice, TIME_WAIT kept one by one and folded
 * from the first socket on (fold_above 1), and the reports must be the
 * same, word for word. No root needed. */
#include <arpa/inet.h>
#include <glob.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doctor/doctor.h"
#include "doctor/states_view.h"
#include "export/metrics.h"
#include "kernel/diagrec.h"
#include "snapshot/twfold.h"
#include "test.h"

static bool take(struct snapshot *s, const char *file, size_t fold_above)
{
    char err[256], owners[300];
    snprintf(owners, sizeof owners, "%s.owners", file);
    struct snapshot_opts o = {.replay = file, .owners = access(owners, R_OK) == 0,
                              .info_states = 1u << TS_ESTABLISHED | 1u << TS_CLOSE_WAIT,
                              .fold_above = fold_above};
    if (snapshot_take(s, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", file, err);
        return false;
    }
    return true;
}

static bool same_finding(const struct finding *a, const struct finding *b)
{
    bool same = a->kind == b->kind && a->severity == b->severity && a->count == b->count &&
                a->port == b->port && !strcmp(a->title, b->title) && !strcmp(a->why, b->why) &&
                !strcmp(a->fix, b->fix) && !strcmp(a->dest, b->dest) &&
                !strcmp(a->source, b->source) && a->nfacts == b->nfacts;
    for (size_t i = 0; same && i < a->nfacts; i++)
        same = !strcmp(a->facts[i].key, b->facts[i].key) && a->facts[i].value == b->facts[i].value;
    if (!same)
        fprintf(stderr, "  kept:   %s %s\n  folded: %s %s\n", a->id, a->title, b->id, b->title);
    return same;
}

static bool same_report(const struct doctor_report *a, const struct doctor_report *b)
{
    bool same = a->n == b->n && !memcmp(a->counts, b->counts, sizeof a->counts) &&
                a->tw_server == b->tw_server && a->tw_client == b->tw_client &&
                a->tw_other == b->tw_other && a->tw_server_gone == b->tw_server_gone;
    for (size_t i = 0; same && i < a->n; i++)
        same = same_finding(&a->items[i], &b->items[i]);
    return same;
}

/* Returns how many TIME_WAIT the folded analysis folded (-1: differs).
 * half: fold from the middle of the table on, so the records kept so far
 * (and their tcp_info) are compacted when folding starts. */
static long compare(const char *file, bool half)
{
    struct snapshot kept = {0}, folded = {0};
    struct doctor_report rk = {0}, rf = {0};
    struct doctor_opts d = doctor_default_opts();
    d.client_min_sockets = 1; /* every destination reported: more to compare */
    long n = -1;
    bool ok = take(&kept, file, 0);
    if (ok && take(&folded, file, half ? kept.nsocks / 2 + 1 : 1) && doctor_analyze(&kept, &d, &rk) == 0 &&
        doctor_analyze(&folded, &d, &rf) == 0 && snapshot_total(&kept) == snapshot_total(&folded))
        n = same_report(&rk, &rf) ? (long)(folded.twf ? folded.twf->n : 0) : -1;
    if (n < 0)
        fprintf(stderr, "%s: the folded analysis differs\n", file);
    doctor_report_free(&rk);
    doctor_report_free(&rf);
    snapshot_free(&kept);
    snapshot_free(&folded);
    return n;
}

TEST(folding_time_wait_changes_no_finding)
{
    glob_t g;
    long folded = 0;
    unsigned files = 0;
    CHECK(glob("tests/data/doctor/*.dump", 0, NULL, &g) == 0);
    CHECK(glob("tests/data/*.diag", GLOB_APPEND, NULL, &g) == 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        long n = compare(g.gl_pathv[i], false);
        CHECK(n >= 0);
        folded += n > 0 ? n : 0;
        CHECK(compare(g.gl_pathv[i], true) >= 0);
        files++;
    }
    globfree(&g);
    CHECK(files > 10);
    CHECK(folded > 0); /* the recordings hold TIME_WAIT to fold */
}

/* The exporter's text with the timing lines dropped, and the kernel's TCP
 * counters (closer_tcp_*_total): a replay reads them live from this host,
 * where other processes open and close connections between two takes. */
static char *metrics_text(const struct snapshot *s)
{
    char *buf = NULL, *out = malloc(1);
    size_t len = 0, n = 0;
    FILE *f = open_memstream(&buf, &len);
    struct metrics_opts mo = {.top_ports = 20, .top_destinations = 20, .top_processes = 20};
    if (!f || !out || metrics_write(f, s, &mo) < 0) {
        if (f)
            fclose(f);
        free(buf);
        free(out);
        return NULL;
    }
    fclose(f);
    out[0] = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "duration_seconds") || strstr(line, "_timestamp") ||
            (!strncmp(line, "closer_tcp_", 11) && strstr(line, "_total ")))
            continue;
        size_t l = strlen(line);
        char *grown = realloc(out, n + l + 2);
        if (!grown)
            break;
        out = grown;
        memcpy(out + n, line, l);
        n += l;
        out[n++] = '\n';
        out[n] = 0;
    }
    free(buf);
    return out;
}

TEST(folding_time_wait_changes_no_metric_nor_count)
{
    glob_t g;
    unsigned files = 0;
    CHECK(glob("tests/data/doctor/*.dump", 0, NULL, &g) == 0);
    CHECK(glob("tests/data/*.diag", GLOB_APPEND, NULL, &g) == 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct snapshot kept = {0}, folded = {0};
        if (!take(&kept, g.gl_pathv[i], 0) || !take(&folded, g.gl_pathv[i], 1)) {
            CHECK(!"replay");
            continue;
        }
        size_t ck[TS_MAX], cf[TS_MAX];
        struct sock_filter all = {0}, tw = {.states = 1u << TS_TIME_WAIT | 1u << TS_LISTEN};
        states_count(&kept, &all, ck);
        states_count(&folded, &all, cf);
        CHECK(!memcmp(ck, cf, sizeof ck)); /* states --summary */
        states_count(&kept, &tw, ck);
        states_count(&folded, &tw, cf);
        CHECK(!memcmp(ck, cf, sizeof ck));
        char *a = metrics_text(&kept), *b = metrics_text(&folded);
        CHECK(a && b);
        if (a && b && strcmp(a, b)) {
            fprintf(stderr, "%s: the folded metrics differ\n", g.gl_pathv[i]);
            CHECK(!"same metrics");
        }
        free(a);
        free(b);
        snapshot_free(&kept);
        snapshot_free(&folded);
        files++;
    }
    globfree(&g);
    CHECK(files > 10);
}

TEST(peer_port_classes)
{
    CHECK(tw_peer_class(32768, 60999, 40000) == TWP_EPHEMERAL);
    CHECK(tw_peer_class(32768, 60999, 8080) == TWP_HIGH);
    CHECK(tw_peer_class(32768, 60999, 80) == TWP_LOW);
    CHECK(tw_peer_class(-1, -1, 40000) == TWP_HIGH);
}

/* A port that listens only after TIME_WAIT of its own were folded: the
 * fold says it is inexact (snapshot_take then reads the table again). */
TEST(late_listener_makes_the_fold_inexact)
{
    struct tw_fold f = {0};
    uint8_t bits[8192] = {0};
    struct tw_fold_ctx c = {32768, 60999, bits};
    struct tcp_sock t = {.family = 2, .state = TS_TIME_WAIT, .sport = 40000, .dport = 80};
    CHECK(tw_fold_add(&f, &c, &t) == 0);
    CHECK(f.n == 1 && f.ndests == 1);
    tw_fold_check(&f, bits);
    CHECK(!f.inexact);
    bits[40000 >> 3] |= 1u << (40000 & 7);
    tw_fold_check(&f, bits);
    CHECK(f.inexact);
    tw_fold_free(&f);
}


/* A client TIME_WAIT to 10.(d >> 16).(d >> 8).d port 443 from 40000 + i. */
static void add_client_tw(struct tw_fold *f, const struct tw_fold_ctx *c, uint32_t d, unsigned i)
{
    struct tcp_sock t = {.family = 2, .state = TS_TIME_WAIT, .sport = (uint16_t)(40000 + i % 20000),
                         .dport = 443, .src = {127, 0, 0, 1}, .dst = {10, (uint8_t)(d >> 16), (uint8_t)(d >> 8), (uint8_t)d}};
    CHECK(tw_fold_add(f, c, &t) == 0);
}

static uint32_t dest_count(const struct tw_fold *f, uint32_t d)
{
    for (size_t i = 0; i < f->cap_dests; i++) {
        const struct tw_dest *x = &f->dests[i];
        if (x->used && x->dst[1] == (uint8_t)(d >> 16) && x->dst[2] == (uint8_t)(d >> 8) && x->dst[3] == (uint8_t)d)
            return x->n;
    }
    return 0;
}

static uint64_t kept_sum(const struct tw_fold *f, size_t *nused)
{
    uint64_t sum = 0;
    *nused = 0;
    for (size_t i = 0; i < f->cap_dests; i++)
        if (f->dests[i].used) {
            sum += f->dests[i].n;
            ++*nused;
        }
    return sum;
}

/* 20,000 peers with one TIME_WAIT each (a crawler) and two busy ones among
 * them: the table stays bounded, the busy ones keep their exact counts,
 * and nothing is lost: kept + other = every client TIME_WAIT. */
TEST(destinations_are_bounded_busy_ones_exact)
{
    struct tw_fold f = {0};
    uint8_t bits[8192] = {0};
    struct tw_fold_ctx c = {32768, 60999, bits};
    unsigned total = 0, busy = 0, quiet = 0;
    for (uint32_t d = 100; d < 20100; d++) {
        add_client_tw(&f, &c, d, total++);
        if (d % 40 == 0) /* 500 to peer 1, every 40th peer */
            add_client_tw(&f, &c, 1, total++), busy++;
        if (d % 400 == 0) /* 50 to peer 2 */
            add_client_tw(&f, &c, 2, total++), quiet++;
        CHECK(f.ndests <= TW_DEST_MAX);
    }
    size_t nused;
    CHECK(f.ndests <= TW_DEST_MAX && f.cap_dests <= 2 * TW_DEST_MAX);
    CHECK_EQ_INT(dest_count(&f, 1), busy);
    CHECK_EQ_INT(dest_count(&f, 2), quiet);
    CHECK(kept_sum(&f, &nused) + f.dests_other == total);
    CHECK_EQ_INT(nused, f.ndests);
    CHECK(f.dests_evicted > 10000);
    CHECK_EQ_INT(f.dests_evicted_max, 1);
    tw_fold_free(&f);
}

/* When the table is halved, every destination kept has at least as many
 * sockets as every one dropped, and exactly half stay (random counts, and
 * all counts equal: the quickselect's worst case for a two-way split). */
TEST(halving_keeps_the_largest_half)
{
    for (unsigned seed = 1; seed <= 4; seed++) {
        struct tw_fold f = {0};
        uint8_t bits[8192] = {0};
        struct tw_fold_ctx c = {32768, 60999, bits};
        static uint32_t want[TW_DEST_MAX];
        srand(seed);
        unsigned total = 0;
        for (uint32_t d = 0; d < TW_DEST_MAX; d++) {
            want[d] = seed == 4 ? 3 : 1 + (uint32_t)rand() % 60;
            for (uint32_t k = 0; k < want[d]; k++)
                add_client_tw(&f, &c, 1000 + d, total++);
        }
        CHECK_EQ_INT(f.ndests, TW_DEST_MAX);
        CHECK_EQ_INT(f.dests_evicted, 0);
        add_client_tw(&f, &c, 999999, total++); /* one more: the table halves */
        CHECK_EQ_INT(f.ndests, TW_DEST_MAX / 2 + 1);
        uint32_t min_kept = UINT32_MAX, max_dropped = 0;
        for (uint32_t d = 0; d < TW_DEST_MAX; d++) {
            uint32_t n = dest_count(&f, 1000 + d);
            if (n) {
                CHECK_EQ_INT(n, want[d]);
                min_kept = n < min_kept ? n : min_kept;
            } else {
                max_dropped = want[d] > max_dropped ? want[d] : max_dropped;
            }
        }
        CHECK(min_kept >= max_dropped);
        CHECK_EQ_INT(f.dests_evicted_max, max_dropped);
        CHECK_EQ_INT(dest_count(&f, 999999), 1);
        size_t nused;
        CHECK(kept_sum(&f, &nused) + f.dests_other == total);
        tw_fold_free(&f);
    }
}

/* Folding two namespaces' TIME_WAIT apart and merging them gives what
 * folding them together gives (exporter --all-netns pools namespaces). */
TEST(merged_folds_equal_one_fold)
{
    struct tw_fold a = {0}, b = {0}, both = {0};
    uint8_t bits[8192] = {0};
    bits[8080 >> 3] |= 1u << (8080 & 7);
    struct tw_fold_ctx c = {32768, 60999, bits};
    for (unsigned i = 0; i < 3000; i++) {
        struct tcp_sock t = {.family = 2, .state = TS_TIME_WAIT, .sport = (uint16_t)(i % 3 ? 8080 : 40000 + i),
                             .dport = (uint16_t)(i % 5 ? 50000 + i : 443), .expires_ms = i * 17 % 60000,
                             .src = {127, 0, 0, (uint8_t)(1 + i % 4)}, .dst = {10, 0, (uint8_t)(i >> 8), (uint8_t)i}};
        if (i % 7 == 0)
            t.sport = (uint16_t)(2000 + i % 11); /* neither listening nor ephemeral */
        CHECK(tw_fold_add(i % 2 ? &a : &b, &c, &t) == 0);
        CHECK(tw_fold_add(&both, &c, &t) == 0);
    }
    struct tw_fold m = {0};
    CHECK(tw_fold_merge(&m, &a) == 0 && tw_fold_merge(&m, &b) == 0);
    CHECK_EQ_INT(m.n, both.n);
    CHECK(!memcmp(m.count, both.count, 65536 * TWP_NCLASSES * sizeof *m.count));
    for (int k = 0; k < TWP_NCLASSES; k++)
        CHECK_EQ_INT(m.nages[k], both.nages[k]);
    CHECK_EQ_INT(m.ndests, both.ndests);
    for (size_t i = 0; i < both.cap_dests; i++) {
        const struct tw_dest *d = &both.dests[i];
        if (!d->used)
            continue;
        uint32_t d3 = (uint32_t)d->dst[2] << 8 | d->dst[3];
        CHECK_EQ_INT(dest_count(&m, d3), d->n);
    }
    const struct tw_local *lm = tw_fold_local(&m, 8080), *lb = tw_fold_local(&both, 8080);
    CHECK(lm && lb && lm->n == lb->n && lm->n == 4);
    for (uint16_t p = 2000; p < 2011; p++)
        CHECK((tw_fold_single(&m, p) != NULL) == (tw_fold_single(&both, p) != NULL));
    CHECK(!memcmp(m.unlisted, both.unlisted, sizeof m.unlisted));
    tw_fold_free(&a);
    tw_fold_free(&b);
    tw_fold_free(&both);
    tw_fold_free(&m);
}

struct diag_one {
    struct nlmsghdr h;
    struct inet_diag_msg m;
};

static void diag_one(struct diag_one *d, int state, uint16_t sport, uint16_t dport)
{
    memset(d, 0, sizeof *d);
    d->h.nlmsg_len = sizeof *d;
    d->h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    d->h.nlmsg_flags = NLM_F_MULTI;
    d->m.idiag_family = AF_INET;
    d->m.idiag_state = (uint8_t)state;
    d->m.id.idiag_sport = htons(sport);
    d->m.id.idiag_dport = htons(dport);
    d->m.idiag_expires = state == TS_TIME_WAIT ? 30000 : 0;
}

/* The same through snapshot_take: a recording where the listener of port
 * 8080 comes after TIME_WAIT on it (a dump per family, or a listener opened
 * during the dump) is read again without folding, and its TIME_WAIT is
 * still the server's. */
TEST(late_listener_is_read_again_unfolded)
{
    struct diag_one rec[3];
    diag_one(&rec[0], TS_TIME_WAIT, 8080, 40000);
    diag_one(&rec[1], TS_TIME_WAIT, 8080, 40001);
    diag_one(&rec[2], TS_LISTEN, 8080, 0);
    char path[] = "/tmp/closer-test-twfold-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    struct diagrec r = {0};
    CHECK(f && !diagrec_begin(&r, f) && !diagrec_chunk(&r, rec, sizeof rec) && !diagrec_end(&r));
    if (f)
        fclose(f);
    struct snapshot s;
    struct snapshot_opts o = {.replay = path, .fold_above = 1};
    char err[256] = "";
    CHECK_EQ_INT(snapshot_take(&s, &o, err, sizeof err), 0);
    unlink(path);
    CHECK(s.twf == NULL);
    CHECK_EQ_INT(s.nsocks, 3);
    CHECK_EQ_INT(snapshot_total(&s), 3);
    snapshot_free(&s);
}

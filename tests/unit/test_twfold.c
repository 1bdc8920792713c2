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

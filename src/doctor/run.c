/* SPDX-License-Identifier: MIT */
#include "doctor/run.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "doctor/multi.h"
#include "doctor/rules_trace.h"
#include "kernel/netns.h"
#include "snapshot/multi.h"

/* tcp_info for the states whose rules read idle times and segment counts;
 * the process model of whoever holds them. */
#define EVIDENCE_STATES                                                                          \
    (1u << TS_ESTABLISHED | 1u << TS_CLOSE_WAIT | 1u << TS_FIN_WAIT1 | 1u << TS_FIN_WAIT2 |      \
     1u << TS_LAST_ACK | 1u << TS_CLOSING)

static void pause_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static bool has_close_wait(const struct snapshot *s)
{
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].state == TS_CLOSE_WAIT)
            return true;
    return false;
}

/* --confirm over every namespace: when any has CLOSE_WAIT, all are taken
 * again confirm_ms later and each later snapshot is compared with the
 * earlier one of the same namespace (inode); the later ones are analysed. */
static int confirm_all(struct multi_snapshot *m, const struct snapshot_opts *so, uint64_t ms,
                       char *err, size_t errlen)
{
    bool any = false;
    for (size_t i = 0; i < m->list.n && !any; i++)
        any = m->items[i].ok && has_close_wait(&m->items[i].snap);
    if (!any || !ms)
        return 0;
    pause_ms(ms);
    struct multi_snapshot later;
    if (multi_snapshot_take(&later, so, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < later.list.n; i++) {
        struct ns_snapshot *n = &later.items[i];
        for (size_t j = 0; n->ok && j < m->list.n; j++) {
            const struct ns_snapshot *e = &m->items[j];
            if (e->ok && e->ns->inode == n->ns->inode &&
                snapshot_confirm(&n->snap, &e->snap, n->snap.taken_at - e->snap.taken_at) < 0) {
                snprintf(err, errlen, "out of memory");
                multi_snapshot_free(&later);
                return -1;
            }
        }
    }
    multi_snapshot_free(m);
    *m = later;
    return 0;
}

static int all_netns(const struct doctor_req *q, FILE *out, char *err, size_t errlen)
{
    struct multi_snapshot m;
    if (multi_snapshot_take(&m, &q->snap, err, errlen) < 0)
        return -1;
    if (confirm_all(&m, &q->snap, q->confirm_ms, err, errlen) < 0) {
        multi_snapshot_free(&m);
        return -1;
    }
    struct doctor_multi d;
    if (doctor_analyze_multi(&m, &q->opts, &d) < 0) {
        snprintf(err, errlen, "out of memory");
        multi_snapshot_free(&m);
        return -1;
    }
    if (q->json)
        doctor_print_multi_json(out, &d, &q->view);
    else
        doctor_print_multi_text(out, &d, &q->view);
    /* Nothing could be read at all: a runtime error, not a clean bill. */
    int rc = d.entered ? doctor_multi_exit_code(&d) : -1;
    if (!d.entered)
        snprintf(err, errlen, "no network namespace could be read");
    doctor_multi_free(&d);
    multi_snapshot_free(&m);
    return rc;
}

static void snapshot_drop(struct snapshot *s)
{
    snapshot_free(s);
    free(s);
}

/* The second look of --confirm: a CLOSE_WAIT that is there DUR later too
 * is a leak; one that came and went is a connection being closed. The
 * second snapshot is the one analysed (and recorded). On failure *first
 * is freed. */
static int look_again(struct snapshot **first, const struct snapshot_opts *so, uint64_t ms,
                      char *err, size_t errlen)
{
    pause_ms(ms);
    struct snapshot *later = malloc(sizeof *later);
    if (!later || snapshot_take(later, so, err, errlen) < 0) {
        if (!later)
            snprintf(err, errlen, "out of memory");
        free(later);
        snapshot_drop(*first);
        return -1;
    }
    int rc = snapshot_confirm(later, *first, later->taken_at - (*first)->taken_at);
    snapshot_drop(*first);
    *first = later;
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        snapshot_drop(later);
        return -1;
    }
    return 0;
}

/* The snapshot of one namespace, looked at again when --confirm asks. */
static struct snapshot *take(const struct doctor_req *q, char *err, size_t errlen)
{
    struct snapshot *s = malloc(sizeof *s);
    if (!s || snapshot_take(s, &q->snap, err, errlen) < 0) {
        if (!s)
            snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    if (q->confirm_ms && !q->snap.replay && has_close_wait(s) &&
        look_again(&s, &q->snap, q->confirm_ms, err, errlen) < 0)
        return NULL;
    return s;
}

static int one_netns(struct doctor_req *q, FILE *out, char *err, size_t errlen)
{
    q->snap.look_again_tw = q->opts.client_min_sockets;
    if (q->view.netns && netns_enter(q->view.netns, err, errlen) < 0)
        return -1;
    struct snapshot *s = take(q, err, errlen);
    if (!s)
        return -1;
    struct doctor_report r;
    if (doctor_analyze(s, &q->opts, &r) < 0 ||
        (q->opts.measured && rules_trace(q->opts.measured, &r) < 0)) {
        snprintf(err, errlen, "out of memory");
        snapshot_drop(s);
        return -1;
    }
    /* Under `ip netns exec NAME` the namespace has a name: its bind mount. */
    char here[64];
    if (!q->view.netns && !q->snap.replay && netns_self_name("/run/netns", here, sizeof here) == 0)
        q->view.netns = here;
    if (q->json)
        doctor_print_json(out, s, &r, &q->view);
    else
        doctor_print_text(out, s, &r, &q->view);
    int rc = doctor_exit_code(&r);
    if (q->view.netns == here)
        q->view.netns = NULL;
    doctor_report_free(&r);
    snapshot_drop(s);
    return rc;
}

int doctor_run(struct doctor_req *q, FILE *out, char *err, size_t errlen)
{
    q->snap.owners = true;
    q->snap.info_states = EVIDENCE_STATES;
    q->snap.model_states = EVIDENCE_STATES | 1u << TS_LISTEN;
    q->snap.fold_above = SNAPSHOT_FOLD_ABOVE;
    return q->all_netns ? all_netns(q, out, err, errlen) : one_netns(q, out, err, errlen);
}

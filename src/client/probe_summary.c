/* SPDX-License-Identifier: MIT */
/* What the prober's connections saw, summarized into a probe_result: the
 * request cap or lifetime limit, the close after Connection: close, the
 * idle timeout, and why a first exchange failed. */
#include "client/probe_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/h2conn.h"
#include "client/xport.h"

const char *probe_first_error(const struct pconn *c, char *buf, size_t len)
{
    const struct hconn *h = &c->hc;
    if ((c->end_how == HC_END_EARLY_CLOSE || c->end_how == HC_END_BAD_RESPONSE) && !h->have_head &&
        h2_looks_like_frames(h->first_raw, h->first_raw_len))
        return "the server answers HTTP/2 only: use --http2-prior-knowledge";
    switch (c->end_how) {
    case HC_END_REFUSED: return "connection refused";
    case HC_END_RESET:
        return "the server reset the connection (RST) before answering";
    case HC_END_EARLY_CLOSE:
        if (h->have_head)
            snprintf(buf, len, "the server closed the connection (FIN) in the middle of the response body");
        else if (h->first_bytes[0])
            snprintf(buf, len, "the server closed the connection (FIN) before a complete response "
                     "(it began '%s')", h->first_bytes);
        else
            snprintf(buf, len, "the server closed the connection (FIN) without answering");
        return buf;
    case HC_END_BAD_RESPONSE:
        /* A valid head is not "not HTTP": say what was wrong with it. */
        if (h->have_head)
            snprintf(buf, len, "the response body's chunked framing is malformed");
        else if (c->end_err == EMSGSIZE)
            snprintf(buf, len, "the response head does not end within 16 KiB: '%s'", h->first_bytes);
        else
            snprintf(buf, len, "the answer is not an HTTP/1.x response: '%s'", h->first_bytes);
        return buf;
    case HC_END_TIMEOUT:
        snprintf(buf, len, h->connect_ns ? "no response within %.0f s (the connection was accepted)"
                                         : "no answer to the connection attempt within %.0f s",
                 c->p->o->request_timeout_ms / 1000.0);
        return buf;
    case HC_END_EXTRA_BYTES: return "bytes after the response that no request asked for";
    case HC_END_TLS:
        snprintf(buf, len, "TLS: %s", xport_error(&h->x));
        return buf;
    default: return "the connection failed";
    }
}

/* A cap seen on one connection only is checked against the second one. */
static void confirm_cap(struct probe_result *r, const struct pconn *second)
{
    if (second->role != R_SECOND || second->st != P_DONE || !second->responses)
        return;
    const struct probe_busy *b = &r->second;
    r->second_ran = true;
    if (r->limit != PL_CAP)
        return;
    if (b->closed && (long)b->responses == r->cap)
        r->cap_confirmed = true;
    else
        r->limit = PL_RANDOM;
}

void probe_summarize_limit(struct probe_result *r, const struct pconn *fast, const struct pconn *paced,
                            const struct pconn *second)
{
    struct probe_busy *b[3] = {&r->fast, &r->paced, &r->second};
    const struct pconn *c[3] = {fast, paced, second};
    for (int i = 0; i < 3; i++) {
        b[i]->responses = c[i]->responses;
        b[i]->closed = c[i]->ended_by_server;
        b[i]->announced = !c[i]->keeps && c[i]->responses > 0;
        b[i]->stopped_at_max = !b[i]->closed && !b[i]->announced && c[i]->responses >= fast->p->o->max_requests;
        b[i]->fin = c[i]->obs;
        b[i]->age_s = b[i]->closed ? c[i]->obs.age_s : c[i]->end_age_s;
        if (b[i]->announced) {
            b[i]->closed = true; /* announced: the cap is this count, FIN or not */
            if (!c[i]->ended_by_server) /* the second one does not wait for the FIN */
                b[i]->age_s = c[i]->hc.connect_ns && c[i]->wait_start_ns
                                  ? probe_secs(c[i]->wait_start_ns - c[i]->hc.connect_ns) : c[i]->end_age_s;
            else
                b[i]->age_s -= c[i]->obs.after_s; /* age at the announcing response */
        }
    }
    r->limit_measured = true;
    const struct probe_busy *f = &r->fast, *s = &r->paced;
    if (!f->closed && !s->closed) {
        r->limit = PL_NONE;
    } else if (f->closed && s->closed) {
        double da = f->age_s > s->age_s ? f->age_s - s->age_s : s->age_s - f->age_s;
        if (f->responses == s->responses) {
            r->limit = PL_CAP, r->cap = (long)f->responses;
        } else if (da <= 0.5 || da <= 0.25 * (f->age_s > s->age_s ? f->age_s : s->age_s)) {
            r->limit = PL_LIFETIME, r->lifetime_s = (f->age_s + s->age_s) / 2;
        } else {
            r->limit = PL_UNKNOWN;
        }
    } else if (f->closed) {
        /* The paced one outlived the fast one's age: a count, not an age. */
        r->limit = s->age_s > f->age_s ? PL_CAP : PL_UNKNOWN;
        r->cap = (long)f->responses;
    } else {
        /* The fast one survived more requests than the paced one was
         * allowed: the paced one met an age limit. */
        r->limit = s->responses < f->responses ? PL_LIFETIME : PL_UNKNOWN;
        r->lifetime_s = s->age_s;
        r->cap = (long)s->responses;
    }
    if (r->limit == PL_CAP && f->closed && s->closed && f->responses == s->responses)
        r->cap_confirmed = true; /* two connections, one count */
    confirm_cap(r, second);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The Connection: close exchanges: the median by the FIN's delay (a FIN
 * never seen sorts last), the median exchange time, and how many had the
 * FIN queued with the response. The verdict rests on those, not on one
 * sample against a threshold. */
void probe_summarize_close(struct probe_result *r, const struct pconn *pc, unsigned n)
{
    const struct pconn *v[PROBE_CLOSE_SAMPLES];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        if (pc[i].responses && (pc[i].ended_by_server || pc[i].waited_out))
            v[k++] = &pc[i];
    for (unsigned i = 1; i < k; i++) /* insertion sort: three at most */
        for (unsigned j = i; j > 0; j--) {
            const struct probe_close_obs *a = &v[j - 1]->obs, *b = &v[j]->obs;
            bool later = (a->how == PC_NONE && b->how != PC_NONE) ||
                         (a->how != PC_NONE && b->how != PC_NONE && a->after_s > b->after_s);
            if (!later)
                break;
            const struct pconn *t = v[j - 1];
            v[j - 1] = v[j];
            v[j] = t;
        }
    r->close_samples = k;
    if (!k)
        return;
    r->close_measured = true;
    r->after_close = v[(k - 1) / 2]->obs;
    double rtt[PROBE_CLOSE_SAMPLES];
    for (unsigned i = 0; i < k; i++) {
        r->close_with_response += v[i]->obs.how == PC_FIN && v[i]->obs.with_response;
        rtt[i] = v[i]->obs.rtt_s;
    }
    qsort(rtt, k, sizeof rtt[0], cmp_double);
    r->close_rtt_s = rtt[(k - 1) / 2];
}

void probe_idle_spread(double *v, unsigned n, double *min, double *median, double *max)
{
    qsort(v, n, sizeof v[0], cmp_double);
    *min = v[0];
    *max = v[n - 1];
    *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void probe_summarize_idle(struct probe_result *r, const struct pconn *pc, unsigned n)
{
    double v[PROBE_MAX_IDLE];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!pc[i].keeps || !pc[i].responses)
            continue;
        r->idle[r->idle_n++] = pc[i].obs;
        if (pc[i].obs.how != PC_NONE && pc[i].ended_by_server) {
            v[k++] = pc[i].obs.after_s;
            r->idle_rst |= pc[i].obs.how == PC_RST;
        }
    }
    r->idle_closed = k;
    if (!k)
        return;
    probe_idle_spread(v, k, &r->idle_min, &r->idle_median, &r->idle_max);
    /* lighttpd's one-second timer: 2.0-3.6 s for a 2 s timeout. */
    r->idle_spread = r->idle_max - r->idle_min > 0.5 && r->idle_max - r->idle_min > 0.1 * r->idle_median;
    r->idle_early = r->hint_timeout_s > 0 && r->idle_min < r->hint_timeout_s - 0.5;
}

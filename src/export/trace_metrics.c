/* SPDX-License-Identifier: MIT */
#include "export/trace_metrics.h"
#include <string.h>

#include "export/prom.h"

/* seconds; +Inf is the count */
static const double bounds[TM_BUCKETS] = {0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60};
static const char *const role_names[] = {"unknown", "accepted", "outgoing"};
static const char *const side_names[TM_SIDES] = {"local", "peer", "reset", "abort"};

static struct tm_row *row(struct trace_metrics *t, int role, int port)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].port == port && t->rows[i].role == role)
            return &t->rows[i];
    if (t->n < TM_MAX_ROWS) {
        struct tm_row *r = &t->rows[t->n++];
        memset(r, 0, sizeof *r);
        r->port = port;
        r->role = role;
        return r;
    }
    struct tm_row *other = &t->rows[TM_MAX_ROWS]; /* one bucket for the rest */
    other->port = -1;
    other->role = 0;
    return other;
}

void tm_add(struct trace_metrics *t, const struct tm_close *c)
{
    int role = c->role >= 0 && c->role <= 2 ? c->role : 0;
    struct tm_row *r = row(t, role, c->port);
    r->side[c->side < TM_SIDES ? c->side : TM_ABORT]++;
    r->tw_here += c->tw_here;
    r->tw_peer += c->tw_peer;
    r->rst_sent += c->rst_sent;
    r->rst_received += c->rst_received;
    if (c->close_after_fin_s >= 0) {
        for (int b = 0; b < TM_BUCKETS; b++)
            if (c->close_after_fin_s <= bounds[b])
                r->buckets[b]++;
        r->lat_count++;
        r->lat_sum += c->close_after_fin_s;
    }
}

static size_t rows_used(const struct trace_metrics *t)
{
    return t->n + (t->rows[TM_MAX_ROWS].port == -1);
}

static const struct tm_row *nth(const struct trace_metrics *t, size_t i)
{
    return i < t->n ? &t->rows[i] : &t->rows[TM_MAX_ROWS];
}

void tm_write(FILE *out, const struct trace_metrics *t)
{
    struct prom p;
    prom_init(&p, out);
    char port[16], le[32];
    size_t n = rows_used(t);
#define PORT(r) (snprintf(port, sizeof port, "%d", (r)->port), (r)->port < 0 ? "other" : port)
    prom_family(&p, "closer_trace_closes_total", "counter",
                "Connections that ended while traced, by who sent the first FIN (local, peer) or "
                "reset/abort without one.");
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < TM_SIDES; s++)
            prom_sample(&p, "", (double)nth(t, i)->side[s], "port", PORT(nth(t, i)), "role",
                        role_names[nth(t, i)->role], "side", side_names[s], NULL);
    prom_family(&p, "closer_trace_time_wait_total", "counter",
                "Traced connections whose TIME_WAIT landed here or at the peer.");
    for (size_t i = 0; i < n; i++) {
        prom_sample(&p, "", (double)nth(t, i)->tw_here, "port", PORT(nth(t, i)), "role",
                    role_names[nth(t, i)->role], "where", "here", NULL);
        prom_sample(&p, "", (double)nth(t, i)->tw_peer, "port", PORT(nth(t, i)), "role",
                    role_names[nth(t, i)->role], "where", "peer", NULL);
    }
    prom_family(&p, "closer_trace_resets_total", "counter", "Traced connections with a RST sent or received.");
    for (size_t i = 0; i < n; i++) {
        prom_sample(&p, "", (double)nth(t, i)->rst_sent, "port", PORT(nth(t, i)), "role",
                    role_names[nth(t, i)->role], "direction", "sent", NULL);
        prom_sample(&p, "", (double)nth(t, i)->rst_received, "port", PORT(nth(t, i)), "role",
                    role_names[nth(t, i)->role], "direction", "received", NULL);
    }
    prom_family(&p, "closer_trace_close_after_fin_seconds", "histogram",
                "Time from the peer's FIN (CLOSE_WAIT) to this side's close() (LAST_ACK).");
    for (size_t i = 0; i < n; i++) {
        const struct tm_row *r = nth(t, i);
        for (int b = 0; b < TM_BUCKETS; b++) {
            snprintf(le, sizeof le, "%g", bounds[b]);
            prom_sample(&p, "_bucket", (double)r->buckets[b], "port", PORT(r), "role", role_names[r->role],
                        "le", le, NULL);
        }
        prom_sample(&p, "_bucket", (double)r->lat_count, "port", PORT(r), "role", role_names[r->role], "le",
                    "+Inf", NULL);
        prom_sample(&p, "_sum", r->lat_sum, "port", PORT(r), "role", role_names[r->role], NULL);
        prom_sample(&p, "_count", (double)r->lat_count, "port", PORT(r), "role", role_names[r->role], NULL);
    }
#undef PORT
    prom_family(&p, "closer_trace_events_total", "counter", "Tracepoint events read.");
    prom_sample(&p, "", (double)t->events, NULL);
    prom_family(&p, "closer_trace_lost_events_total", "counter",
                "Tracepoint events the kernel dropped (ring buffers full): counts above are short.");
    prom_sample(&p, "", (double)t->lost, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Lifetimes of the connections a server closed first, per port, from the
 * pairs (port, microseconds) a trace collected: the evidence that lets
 * doctor --trace decide a TIME_WAIT pile's cause when no connection is
 * left open on the port to read tcp_info from (tw_cause.c). */
#include <stdlib.h>

#include "doctor/rules_trace.h"

static int by_port_then_us(const void *a, const void *b)
{
    const struct life_sample *x = a, *y = b;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return (x->us > y->us) - (x->us < y->us);
}

/* Nearest rank over a sorted run. */
static double pct_ms(const struct life_sample *v, size_t n, unsigned p)
{
    size_t k = (n * p + 99) / 100;
    return v[k ? k - 1 : 0].us / 1000.0;
}

struct measured_life *measured_lives_build(struct life_sample *v, size_t n, size_t *nlives)
{
    *nlives = 0;
    qsort(v, n, sizeof *v, by_port_then_us);
    size_t ports = 0;
    for (size_t i = 0; i < n; i++)
        ports += i == 0 || v[i].port != v[i - 1].port;
    struct measured_life *out = calloc(ports ? ports : 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && v[j].port == v[i].port; j++)
            ;
        struct measured_life *l = &out[(*nlives)++];
        l->port = v[i].port;
        l->n = j - i;
        l->p10_ms = pct_ms(v + i, j - i, 10);
        l->p50_ms = pct_ms(v + i, j - i, 50);
        l->p90_ms = pct_ms(v + i, j - i, 90);
        l->max_ms = v[j - 1].us / 1000.0;
    }
    return out;
}

const struct measured_life *measured_life_of(const struct measured_closes *m, uint16_t port)
{
    for (size_t i = 0; m && i < m->nlives; i++)
        if (m->lives[i].port == port)
            return &m->lives[i];
    return NULL;
}

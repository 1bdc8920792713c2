/* SPDX-License-Identifier: MIT */
/* The kinds of finding (findings.def) and what the rules call to build
 * one: apart from doctor.c, which runs the rules, so that the rules call
 * down into this file and never back into their driver. */
#include "doctor/doctor.h"
#include <string.h>
#include <sys/socket.h>

#include "util/vec.h"

const struct finding_kind finding_kinds[F_COUNT] = {
#define FINDING(name, id, severities, rule, meaning) [F_##name] = {id, severities, rule, meaning},
#include "doctor/findings.def"
#undef FINDING
};

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

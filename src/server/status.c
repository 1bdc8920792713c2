/* SPDX-License-Identifier: MIT */
#include "server/status.h"

void srv_status_register(struct srv_status_set *set, struct srv_status *s)
{
    int n = atomic_load_explicit(&set->n, memory_order_relaxed);
    if (n == SRV_STATUS_MAX_BLOCKS)
        return;
    set->blocks[n] = s;
    atomic_store_explicit(&set->n, n + 1, memory_order_release); /* publishes blocks[n] */
}

struct totals {
    unsigned long long accepted, handled, requests, closed[CAUSE_MAX];
    long long active, reading, writing, waiting;
};

static struct totals sum(const struct srv_status_set *set)
{
    struct totals t = {0};
    int n = atomic_load_explicit(&set->n, memory_order_acquire);
#define R(f) atomic_load_explicit(&set->blocks[i]->f, memory_order_relaxed)
    for (int i = 0; i < n; i++) {
        t.accepted += R(accepted);
        t.handled += R(handled);
        t.requests += R(requests);
        t.active += R(active);
        t.reading += R(reading);
        t.writing += R(writing);
        t.waiting += R(waiting);
        for (int c = 0; c < CAUSE_MAX; c++)
            t.closed[c] += R(closed[c]);
    }
#undef R
    return t;
}

static const char *close_cause_name(enum close_cause c)
{
    static const char *const n[CAUSE_MAX] = {
        "client_closed", "keepalive_off", "client_asked_close", "http10", "idle_timeout",
        "request_cap",   "keepalive_time", "error", "timeout", "reset", "shutdown"};
    return c < CAUSE_MAX ? n[c] : "unknown";
}

#define LD(x) (t.x)

size_t srv_status_render(const struct srv_status_set *set, char *buf, size_t len, int json)
{
    struct totals t = sum(set);
    size_t off = 0;
#define PUT(...)                                                                      \
    do {                                                                              \
        int w_ = snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__);          \
        if (w_ > 0)                                                                   \
            off += (size_t)w_;                                                        \
    } while (0)
    if (json) {
        PUT("{\"active\":%lld,\"accepted\":%llu,\"handled\":%llu,\"requests\":%llu,"
            "\"reading\":%lld,\"writing\":%lld,\"waiting\":%lld,\"closed\":{",
            LD(active), LD(accepted), LD(handled), LD(requests), LD(reading), LD(writing),
            LD(waiting));
        for (int c = 0; c < CAUSE_MAX; c++)
            PUT("%s\"%s\":%llu", c ? "," : "", close_cause_name(c), LD(closed[c]));
        PUT("}}\n");
    } else {
        PUT("Active connections: %lld\nserver accepts handled requests\n %llu %llu %llu\n"
            "Reading: %lld Writing: %lld Waiting: %lld\n",
            LD(active), LD(accepted), LD(handled), LD(requests), LD(reading), LD(writing),
            LD(waiting));
        PUT("Closed by cause:");
        for (int c = 0; c < CAUSE_MAX; c++)
            PUT(" %s=%llu", close_cause_name(c), LD(closed[c]));
        PUT("\n");
    }
#undef PUT
    return off < len ? off : len;
}

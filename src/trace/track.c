/* SPDX-License-Identifier: MIT */
#include "trace/track.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void tracker_init(struct tracker *t, struct pcache *pc, size_t max_live,
                  void (*emit)(void *, const struct trace_rec *),
                  void (*nosock_rst)(void *, const struct tev *), void *ctx)
{
    memset(t, 0, sizeof *t);
    t->pc = pc;
    t->max_live = max_live;
    t->emit = emit;
    t->nosock_rst = nosock_rst;
    t->ctx = ctx;
}

static uint32_t bucket_of(uint64_t skaddr)
{
    uint64_t h = skaddr * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 48) % TRACK_BUCKETS;
}

static struct tnode **find(struct tracker *t, uint64_t skaddr)
{
    struct tnode **p = &t->buckets[bucket_of(skaddr)];
    while (*p && (*p)->r.skaddr != skaddr)
        p = &(*p)->next;
    return p;
}

static void unlink_node(struct tracker *t, struct tnode *n)
{
    struct tnode **p = &t->buckets[bucket_of(n->r.skaddr)];
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p) {
        *p = n->next;
        t->live--;
    }
    n->next = NULL;
}

static void set_addrs(struct trace_rec *r, const struct tev *ev)
{
    /* A listener's child is announced (SYN_RECV) before its peer address
     * is set: later events carry the full tuple, so take it every time. */
    if (ev->rport == 0 && r->rport != 0)
        return;
    r->family = ev->family;
    r->lport = ev->lport;
    r->rport = ev->rport;
    memcpy(r->laddr, ev->laddr, 16);
    memcpy(r->raddr, ev->raddr, 16);
}

/* The process behind an event, when the event ran in its context. */
static const struct pentry *proc_of(struct tracker *t, const struct tev *ev)
{
    if (ev->in_irq || ev->pid <= 0)
        return NULL;
    return pcache_get(t->pc, ev->pid, ev->tid);
}

static void take_closer(struct tracker *t, struct trace_rec *r, const struct tev *ev)
{
    if (ev->in_irq || ev->pid <= 0 || r->pid)
        return;
    const struct pentry *p = proc_of(t, ev);
    r->pid = ev->pid;
    if (p) {
        memcpy(r->comm, p->comm, sizeof r->comm);
        if (!r->netns)
            r->netns = p->netns;
    }
}

static void push_pending(struct tracker *t, struct tnode *n)
{
    if (t->npending == t->cap_pending) {
        size_t cap = t->cap_pending ? t->cap_pending * 2 : 1024;
        struct tnode **np = realloc(t->pending, cap * sizeof *np);
        if (!np) {
            unlink_node(t, n);
            free(n);
            t->st.dropped_full++;
            return;
        }
        t->pending = np;
        t->cap_pending = cap;
    }
    t->pending[t->npending++] = n;
}

static struct tnode *new_node(struct tracker *t, const struct tev *ev)
{
    if (t->live >= t->max_live) {
        t->st.dropped_full++;
        return NULL;
    }
    struct tnode *n = calloc(1, sizeof *n);
    if (!n) {
        t->st.dropped_full++;
        return NULL;
    }
    n->r.skaddr = ev->skaddr;
    n->r.rst_reason = -1;
    set_addrs(&n->r, ev);
    struct tnode **p = find(t, ev->skaddr);
    n->next = *p;
    *p = n;
    t->live++;
    return n;
}

/* The newest time a record has seen: where an unseen end is put. */
static uint64_t recon_last(const struct trace_rec *r)
{
    uint64_t t = r->t_open;
    const uint64_t more[] = {r->t_first, r->t_close_wait, r->t_last_ack};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if (more[i] > t)
            t = more[i];
    return t;
}

static void on_state(struct tracker *t, const struct tev *ev)
{
    if (ev->newstate == TS_LISTEN)
        return;
    struct tnode **slot = find(t, ev->skaddr);
    struct tnode *n = *slot;
    if (n && n->ended) {
        /* The socket's memory was reused: the old record keeps its place
         * in the pending list, off the table. */
        unlink_node(t, n);
        n = NULL;
    } else if (n && (ev->newstate == TS_SYN_SENT || ev->newstate == TS_SYN_RECV) && (n->r.t_open || n->r.first)) {
        /* a new connection on a live record: its end was among lost
         * events. Emitted as such, never dropped silently. */
        unlink_node(t, n);
        n->r.end_unseen = true;
        n->r.t_end = recon_last(&n->r);
        n->ended = true;
        push_pending(t, n);
        t->st.restarted++;
        n = NULL;
    }
    if (!n) {
        if (ev->newstate == TS_CLOSE && (ev->oldstate == TS_LISTEN || ev->oldstate == TS_CLOSE))
            return; /* a listener or an unconnected socket */
        n = new_node(t, ev);
        if (!n)
            return;
    }
    struct trace_rec *r = &n->r;
    set_addrs(r, ev);
    switch (ev->newstate) {
    case TS_SYN_SENT: {
        r->role = ROLE_OUTGOING;
        r->t_open = ev->time_ns;
        const struct pentry *p = proc_of(t, ev);
        if (p) {
            r->owner_pid = ev->pid;
            memcpy(r->owner_comm, p->comm, sizeof r->owner_comm);
            r->netns = p->netns;
        }
        break;
    }
    case TS_SYN_RECV:
        r->role = ROLE_ACCEPTED;
        r->t_open = ev->time_ns;
        break;
    case TS_FIN_WAIT1:
        if (!r->first) {
            r->first = FIRST_LOCAL;
            r->t_first = ev->time_ns;
            take_closer(t, r, ev);
        }
        break;
    case TS_CLOSE_WAIT:
        if (!r->first) {
            r->first = FIRST_PEER;
            r->t_first = ev->time_ns;
        }
        r->t_close_wait = ev->time_ns;
        break;
    case TS_LAST_ACK:
        r->t_last_ack = ev->time_ns;
        take_closer(t, r, ev);
        break;
    case TS_CLOSE:
        r->t_end = ev->time_ns;
        r->end_from = ev->oldstate;
        /* close() with unread data or SO_LINGER {1,0}: the abort itself is
         * in process context. A softirq CLOSE (timer, RST in) names no one. */
        if (!r->first || ev->oldstate == TS_CLOSE_WAIT)
            take_closer(t, r, ev);
        n->ended = true;
        push_pending(t, n);
        break;
    }
}

static void on_reset(struct tracker *t, const struct tev *ev)
{
    if (!ev->skaddr) {
        t->st.rst_nosock++;
        if (t->nosock_rst)
            t->nosock_rst(t->ctx, ev);
        return;
    }
    struct tnode *n = *find(t, ev->skaddr);
    if (!n) {
        /* a socket whose life began before tracing and that ends with this
         * reset: open its record now, the CLOSE follows */
        if (ev->kind == TEV_SEND_RST && ev->state == TS_TIME_WAIT) {
            t->st.rst_unmatched++;
            return;
        }
        n = new_node(t, ev);
        if (!n)
            return;
    }
    struct trace_rec *r = &n->r;
    if (ev->kind == TEV_SEND_RST) {
        r->rst |= RST_SENT;
        if (ev->reason >= 0)
            r->rst_reason = ev->reason;
        take_closer(t, r, ev);
    } else {
        r->rst |= RST_RECEIVED;
    }
    if (!r->first) {
        r->first = FIRST_RESET;
        r->t_first = ev->time_ns;
    }
}

void tracker_event(struct tracker *t, const struct tev *ev)
{
    t->st.events++;
    if (ev->kind == TEV_STATE)
        on_state(t, ev);
    else
        on_reset(t, ev);
}

static void finish(struct tracker *t, struct tnode *n)
{
    struct trace_rec *r = &n->r;
    if (r->end_unseen)
        goto emit; /* no end state: nothing to infer the sides from */
    /* A connection whose first FIN came before tracing began still tells
     * by the state it ends from. */
    if (!r->first && (r->end_from == TS_FIN_WAIT1 || r->end_from == TS_FIN_WAIT2 || r->end_from == TS_CLOSING))
        r->first = FIRST_LOCAL;
    else if (!r->first && (r->end_from == TS_LAST_ACK || r->end_from == TS_CLOSE_WAIT))
        r->first = FIRST_PEER;
    else if (!r->first)
        r->first = r->rst ? FIRST_RESET : FIRST_ABORT;
    if (!r->rst && (r->end_from == TS_FIN_WAIT1 || r->end_from == TS_FIN_WAIT2 ||
                    r->end_from == TS_CLOSING))
        r->tw = TW_LOCAL;
    else if (!r->rst && r->end_from == TS_LAST_ACK)
        r->tw = TW_PEER;
emit:
    t->st.finished++;
    if (t->emit)
        t->emit(t->ctx, r);
    unlink_node(t, n);
    free(n);
}

void tracker_flush(struct tracker *t, uint64_t cutoff_ns)
{
    size_t kept = 0;
    for (size_t i = 0; i < t->npending; i++) {
        struct tnode *n = t->pending[i];
        if (n->r.t_end <= cutoff_ns)
            finish(t, n);
        else
            t->pending[kept++] = n;
    }
    t->npending = kept;
}

void tracker_flush_all(struct tracker *t)
{
    for (size_t i = 0; i < t->npending; i++)
        finish(t, t->pending[i]);
    t->npending = 0;
}

void tracker_end_unseen(struct tracker *t, uint64_t skaddr, uint64_t t_end, uint64_t netns)
{
    struct tnode *n = *find(t, skaddr);
    if (!n || n->ended)
        return;
    n->r.end_unseen = true;
    n->r.t_end = t_end;
    if (!n->r.netns)
        n->r.netns = netns;
    n->ended = true;
    push_pending(t, n);
}

void tracker_each_open(struct tracker *t, void (*fn)(void *, const struct trace_rec *), void *ctx)
{
    for (unsigned b = 0; b < TRACK_BUCKETS; b++)
        for (struct tnode *n = t->buckets[b]; n; n = n->next)
            if (!n->ended)
                fn(ctx, &n->r);
}

void tracker_free(struct tracker *t)
{
    for (size_t i = 0; i < t->npending; i++) {
        unlink_node(t, t->pending[i]);
        free(t->pending[i]);
    }
    free(t->pending);
    for (unsigned b = 0; b < TRACK_BUCKETS; b++)
        while (t->buckets[b]) {
            struct tnode *n = t->buckets[b];
            t->buckets[b] = n->next;
            free(n);
        }
    memset(t, 0, sizeof *t);
}

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

static bool same_tuple(const struct trace_rec *r, const struct tev *ev)
{
    return r->family == ev->family && r->lport == ev->lport && r->rport == ev->rport &&
           !memcmp(r->laddr, ev->laddr, 16) && !memcmp(r->raddr, ev->raddr, 16);
}

static uint32_t tuple_slot(uint8_t family, uint16_t lport, uint16_t rport, const uint8_t *laddr,
                           const uint8_t *raddr)
{
    uint64_t h = 0xcbf29ce484222325ull ^ family;
    uint8_t key[36];
    memcpy(key, laddr, 16);
    memcpy(key + 16, raddr, 16);
    memcpy(key + 32, &lport, 2);
    memcpy(key + 34, &rport, 2);
    for (size_t i = 0; i < sizeof key; i++)
        h = (h ^ key[i]) * 0x100000001b3ull; /* FNV-1a */
    return (uint32_t)(h % TRACK_MINISOCKS);
}

/* A connection that ended into a minisock (TIME_WAIT, or FIN_WAIT2 when
 * its socket was orphaned before the peer's FIN), kept by tuple. */
static bool claim_deferred(struct tracker *t, const struct trace_rec *r);

static void remember_minisock(struct tracker *t, const struct trace_rec *r)
{
    if (t->ndeferred && claim_deferred(t, r))
        return; /* its minisock already reset the peer and is gone */
    if (!t->mini && !(t->mini = calloc(TRACK_MINISOCKS, sizeof *t->mini)))
        return;
    t->mini[tuple_slot(r->family, r->lport, r->rport, r->laddr, r->raddr)].r = *r;
}

static uint32_t reversed_slot(const struct trace_rec *r)
{
    return tuple_slot(r->family, r->rport, r->lport, r->raddr, r->laddr);
}

/* A record entering CLOSE_WAIT, findable by its tuple (the slot is only a
 * hint: whatever it holds is checked against the table). */
static void note_close_wait(struct tracker *t, const struct trace_rec *r)
{
    if (!t->close_wait && !(t->close_wait = calloc(TRACK_MINISOCKS, sizeof *t->close_wait)))
        return;
    t->close_wait[tuple_slot(r->family, r->lport, r->rport, r->laddr, r->raddr)] = r->skaddr;
}

static struct tnode **find(struct tracker *t, uint64_t skaddr);

/* The traced peer of x (reversed tuple) still in CLOSE_WAIT: the peer's
 * FIN that ends x is yet to come. */
static struct tnode *peer_in_close_wait(struct tracker *t, const struct trace_rec *x)
{
    if (!t->close_wait)
        return NULL;
    uint64_t sk = t->close_wait[reversed_slot(x)];
    struct tnode *y = sk ? *find(t, sk) : NULL;
    if (!y || y->ended || y->held || !y->r.t_close_wait || y->r.t_last_ack || y->r.family != x->family ||
        y->r.lport != x->rport || y->r.rport != x->lport || memcmp(y->r.laddr, x->raddr, 16) ||
        memcmp(y->r.raddr, x->laddr, 16))
        return NULL;
    return y;
}

static void push_pending(struct tracker *t, struct tnode *n);

/* y's FIN (or its end) at time: the record waiting for it ends then;
 * time 0 leaves its end at its CLOSE (y lost, or the trace ends). */
static void release_held(struct tracker *t, struct tnode *y, uint64_t time)
{
    struct tnode *x = y->held;
    if (!x)
        return;
    y->held = NULL;
    if (time > x->r.t_end)
        x->r.t_end = time;
    push_pending(t, x);
}

/* A minisock's reset to the session: with its connection r, or (NULL)
 * only the reset's tuple. */
static void report_minisock_rst(struct tracker *t, const struct trace_rec *conn, const struct tev *ev)
{
    struct trace_rec r;
    if (conn) {
        r = *conn;
    } else {
        t->st.rst_unmatched++;
        memset(&r, 0, sizeof r);
        r.family = ev->family;
        r.lport = ev->lport;
        r.rport = ev->rport;
        memcpy(r.laddr, ev->laddr, 16);
        memcpy(r.raddr, ev->raddr, 16);
    }
    t->st.rst_minisock++;
    r.skaddr = ev->skaddr;
    r.rst = RST_SENT;
    r.rst_reason = ev->reason;
    r.t_end = ev->time_ns;
    if (t->after_close_rst)
        t->after_close_rst(t->ctx, &r);
}

/* Holds in the order they began, so the ones past the minisock's own end
 * (tcp_fin_timeout, 60 s by default: a peer that never closes) are let go
 * without a walk of the table. */
static bool note_hold(struct tracker *t, uint64_t y_skaddr, uint64_t t_close)
{
    if (t->hold_head && t->hold_head * 2 >= t->nholds) { /* the spent half back */
        memmove(t->holds, t->holds + t->hold_head, (t->nholds - t->hold_head) * sizeof *t->holds);
        t->nholds -= t->hold_head;
        t->hold_head = 0;
    }
    if (t->nholds == t->cap_holds) {
        size_t cap = t->cap_holds ? t->cap_holds * 2 : 256;
        struct hold *nh = realloc(t->holds, cap * sizeof *nh);
        if (!nh)
            return false;
        t->holds = nh;
        t->cap_holds = cap;
    }
    t->holds[t->nholds++] = (struct hold){y_skaddr, t_close};
    return true;
}

static void expire_holds(struct tracker *t, uint64_t cutoff_ns)
{
    while (t->hold_head < t->nholds && t->holds[t->hold_head].t_close + TRACK_MINISOCK_NS <= cutoff_ns) {
        struct hold h = t->holds[t->hold_head++];
        struct tnode *y = *find(t, h.y_skaddr);
        if (y && y->held && y->held->r.t_end == h.t_close)
            release_held(t, y, 0); /* its end stays at the minisock */
    }
}

/* A reset sent by a TIME_WAIT/FIN_WAIT2 minisock: its tuple (from the
 * segment it answers) finds the connection; the minisock is gone after it.
 * Not found yet: the minisock is hashed (and can answer on another CPU)
 * just before the old socket's CLOSE is traced, so the reset waits for
 * that CLOSE as long as a record waits for its reset (tracker_flush). */
static void minisock_rst(struct tracker *t, const struct tev *ev)
{
    struct minisock *m = t->mini ? &t->mini[tuple_slot(ev->family, ev->lport, ev->rport, ev->laddr, ev->raddr)]
                                 : NULL;
    uint64_t after = m && ev->time_ns > m->r.t_end ? ev->time_ns - m->r.t_end : 0;
    if (m && m->r.t_end && same_tuple(&m->r, ev) && after <= TRACK_MINISOCK_NS) {
        struct trace_rec conn = m->r;
        memset(&m->r, 0, sizeof m->r);
        report_minisock_rst(t, &conn, ev);
    } else if (t->ndeferred < TRACK_DEFERRED) {
        t->deferred[t->ndeferred++] = *ev;
    } else {
        report_minisock_rst(t, NULL, ev);
    }
}

/* The CLOSE of r, into a minisock: a reset from it seen first is r's. */
static bool claim_deferred(struct tracker *t, const struct trace_rec *r)
{
    for (unsigned i = 0; i < t->ndeferred; i++)
        if (same_tuple(r, &t->deferred[i])) {
            struct tev ev = t->deferred[i];
            t->deferred[i] = t->deferred[--t->ndeferred];
            report_minisock_rst(t, r, &ev);
            return true;
        }
    return false;
}

/* Resets still unclaimed once no CLOSE can come for them (cutoff). */
static void expire_deferred(struct tracker *t, uint64_t cutoff_ns)
{
    for (unsigned i = 0; i < t->ndeferred;)
        if (t->deferred[i].time_ns <= cutoff_ns) {
            struct tev ev = t->deferred[i];
            t->deferred[i] = t->deferred[--t->ndeferred];
            report_minisock_rst(t, NULL, &ev);
        } else {
            i++;
        }
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
        release_held(t, n, 0);
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
        note_close_wait(t, r);
        break;
    case TS_LAST_ACK:
        r->t_last_ack = ev->time_ns;
        take_closer(t, r, ev);
        release_held(t, n, ev->time_ns); /* our FIN: the peer's minisock's end */
        break;
    case TS_CLOSE:
        r->t_end = ev->time_ns;
        r->end_from = ev->oldstate;
        /* close() with unread data or SO_LINGER {1,0}: the abort itself is
         * in process context. A softirq CLOSE (timer, RST in) names no one,
         * nor one after a reset received: it ran in process context only
         * because the reset waited in the socket's backlog for whatever
         * call held the lock (a send() to a closed peer). */
        if ((!r->first || ev->oldstate == TS_CLOSE_WAIT) && !(r->rst & RST_RECEIVED))
            take_closer(t, r, ev);
        /* now, not when emitted: the minisock may reset within the 20 ms a
         * record waits before it goes out (session.c step_read's flush).
         * Only FIN_WAIT2 and CLOSING hand over to one (tcp_time_wait);
         * FIN_WAIT1 -> CLOSE is an abort. */
        if (!r->rst && (ev->oldstate == TS_FIN_WAIT2 || ev->oldstate == TS_CLOSING))
            remember_minisock(t, r);
        release_held(t, n, ev->time_ns);
        n->ended = true;
        struct tnode *y = ev->oldstate == TS_FIN_WAIT2 && !r->rst ? peer_in_close_wait(t, r) : NULL;
        if (y && note_hold(t, y->r.skaddr, r->t_end)) { /* a FIN_WAIT2 minisock now:
                                                          wait for y's FIN, off the table */
            unlink_node(t, n);
            y->held = n;
            t->st.held++;
        } else {
            push_pending(t, n);
        }
        break;
    }
}

static void on_reset(struct tracker *t, const struct tev *ev)
{
    /* No socket, or a listener or request sock answering a segment of no
     * connection (a stray ACK): a reset, never a connection record. */
    bool listener = ev->kind == TEV_SEND_RST && (ev->state == TS_LISTEN || ev->state == TS_NEW_SYN_RECV);
    if (!ev->skaddr || listener) {
        t->st.rst_nosock++;
        t->st.rst_listener += listener;
        if (t->nosock_rst)
            t->nosock_rst(t->ctx, ev);
        return;
    }
    if (ev->kind == TEV_SEND_RST && ev->state == TS_TIME_WAIT) {
        minisock_rst(t, ev);
        return;
    }
    struct tnode *n = *find(t, ev->skaddr);
    if (!n) {
        /* a socket whose life began before tracing and that ends with this
         * reset: open its record now, the CLOSE follows */
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
    expire_deferred(t, cutoff_ns);
    if (cutoff_ns > TRACK_MINISOCK_NS)
        expire_holds(t, cutoff_ns);
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
    expire_deferred(t, UINT64_MAX);
    for (unsigned b = 0; b < TRACK_BUCKETS; b++)
        for (struct tnode *n = t->buckets[b]; n; n = n->next)
            release_held(t, n, 0);
    for (size_t i = 0; i < t->npending; i++)
        finish(t, t->pending[i]);
    t->npending = 0;
}

void tracker_end_unseen(struct tracker *t, uint64_t skaddr, uint64_t t_end, uint64_t netns)
{
    struct tnode *n = *find(t, skaddr);
    if (!n || n->ended)
        return;
    release_held(t, n, 0); /* a record waiting for this one's FIN waits no more */
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
    free(t->mini);
    free(t->close_wait);
    free(t->holds);
    for (unsigned b = 0; b < TRACK_BUCKETS; b++)
        while (t->buckets[b]) {
            struct tnode *n = t->buckets[b];
            t->buckets[b] = n->next;
            free(n->held);
            free(n);
        }
    memset(t, 0, sizeof *t);
}

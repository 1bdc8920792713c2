/* SPDX-License-Identifier: MIT */
#include "doctor/program.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void doc_evidence(const struct snapshot *s, uint32_t proc, struct cat_evidence *ev)
{
    const struct proc_info *p = &s->procs[proc];
    const struct proc_model *m = snapshot_model(s, proc);
    *ev = (struct cat_evidence){
        .comm = p->comm,
        .exe = m ? m->exe : "",
        .cmdline = m ? m->cmdline : "",
        .libs = m ? m->libs : "",
        .go = m && m->go,
        .epoll = p->nepoll,
    };
}

const struct cat_program *doc_server(const struct snapshot *s, uint32_t proc)
{
    struct cat_evidence ev;
    doc_evidence(s, proc, &ev);
    return catalog_server(&ev);
}

const struct cat_program *doc_client(const struct snapshot *s, uint32_t proc, enum cat_proto proto)
{
    struct cat_evidence ev;
    doc_evidence(s, proc, &ev);
    return catalog_client(&ev, proto);
}

static bool wildcard(int family, const uint8_t a[16])
{
    static const uint8_t zero[16];
    return !memcmp(a, zero, family == AF_INET ? 4 : 16);
}

/* A listening socket on port with an owner, preferring the address addr
 * (family 0: any); NULL when none. */
static const struct tcp_sock *doc_listener(const struct snapshot *s, uint16_t port, int family,
                                           const uint8_t addr[16])
{
    if (!snapshot_is_listen_port(s, port))
        return NULL;
    const struct tcp_sock *any = NULL;
    for (size_t i = 0; i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        const struct fd_ref *r;
        if (t->state != TS_LISTEN || t->sport != port || !snapshot_owners(s, t->inode, &r))
            continue;
        /* A dual-stack [::] listener takes IPv4 too. */
        if (!family || ((t->family == family || t->family == AF_INET6) &&
                        (wildcard(t->family, t->src) ||
                         (t->family == family && !memcmp(t->src, addr, 16)))))
            return t;
        if (!any)
            any = t;
    }
    return any;
}

struct doc_ports *doc_ports_build(const struct snapshot *s)
{
    struct doc_ports *x = calloc(1, sizeof *x);
    const struct fd_ref *r;
    for (size_t i = 0; x && i < s->nsocks; i++) {
        const struct tcp_sock *t = &s->socks[i];
        if (t->state == TS_LISTEN && !x->listener[t->sport] && snapshot_owners(s, t->inode, &r))
            x->listener[t->sport] = (uint32_t)i + 1;
        else if (t->state == TS_ESTABLISHED && !x->client[t->dport] &&
                 snapshot_conn_direction(s, t) == CONN_OUTGOING && snapshot_owners(s, t->inode, &r))
            x->client[t->dport] = (uint32_t)i + 1;
    }
    return x;
}

size_t doc_ports_listener_owners(const struct snapshot *s, const struct doc_ports *x,
                                 uint16_t port, const struct fd_ref **first)
{
    *first = NULL;
    return x->listener[port] ? snapshot_owners(s, s->socks[x->listener[port] - 1].inode, first)
                             : 0;
}

static void from_listener(const struct snapshot *s, const struct tcp_sock *l, const char *from,
                          struct doc_proto *out)
{
    const struct fd_ref *r;
    snapshot_owners(s, l->inode, &r);
    out->server = doc_server(s, r->proc);
    out->server_pid = r->pid;
    out->proto = out->server->proto;
    out->from = from;
}

static void from_port(uint16_t port, struct doc_proto *out)
{
    out->proto = catalog_proto_of_port(port);
    out->from = out->proto != P_NONE ? "port" : NULL;
}

void doc_proto_of_server(const struct snapshot *s, uint16_t port, struct doc_proto *out)
{
    doc_proto_of_listener(s, doc_listener(s, port, 0, NULL), port, out);
}

void doc_proto_of_listener(const struct snapshot *s, const struct tcp_sock *l, uint16_t port,
                           struct doc_proto *out)
{
    *out = (struct doc_proto){0};
    if (l)
        from_listener(s, l, "program", out);
    if (out->proto == P_NONE)
        from_port(port, out);
}

void doc_proto_of_dest(const struct snapshot *s, int family, const uint8_t dst[16], uint16_t dport,
                       struct doc_proto *out)
{
    *out = (struct doc_proto){0};
    /* The server is on this host when a listener owns the port and the
     * destination is one of this namespace's addresses (loopback, or the
     * address the listener is bound to). */
    const struct tcp_sock *l = doc_listener(s, dport, family, dst);
    if (l && (tcp_addr_is_loopback(family, dst) || wildcard(l->family, l->src) ||
              !memcmp(l->src, dst, 16)))
        from_listener(s, l, "peer", out);
    if (out->proto == P_NONE)
        from_port(dport, out);
}

void finding_program(struct finding *f, const struct cat_program *p)
{
    f->program = p->name;
    f->variant = *p->variant ? p->variant : NULL;
    f->runtime = catalog_runtime_name(p->runtime);
}

void finding_protocol(struct finding *f, const struct doc_proto *pr)
{
    if (pr->proto != P_NONE) {
        f->protocol = catalog_proto_name(pr->proto);
        f->protocol_from = pr->from;
    }
}

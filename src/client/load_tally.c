/* SPDX-License-Identifier: MIT */
/* What both load engines (load.c over HTTP/1, load_h2.c over HTTP/2)
 * count into a load_result: connections and TLS handshakes, how TLS
 * ended, one thread's counts merged into the run's; and the Ctrl-C flag
 * both read. Apart from load.c, which starts load_h2.c, so that the h2
 * engine never calls back into it. */
#include <string.h>

#include "client/load.h"
#include "client/xport.h"

volatile sig_atomic_t load_interrupted;

/* How a TLS connection ended, once it has: close_notify each way, the
 * server's FIN with or without its close_notify. */
void load_tls_ended(struct load_tls *s, const struct xport *x)
{
    const struct tls_info *i = xport_tls(x);
    if (!i || !i->done)
        return;
    s->server_close_notify += i->peer_close_notify;
    s->server_notify_with_fin += i->peer_close_notify && x->fin_with_notify;
    s->server_truncated += i->truncated;
    s->client_close_notify += i->sent_close_notify;
}

void load_tls_connected(struct load_result *r, const struct xport *x, uint64_t connect_us,
                        uint64_t handshake_us)
{
    r->connections++;
    hist_record(&r->connect, connect_us);
    const struct tls_info *i = xport_tls(x);
    if (!i)
        return;
    hist_record(&r->handshake, handshake_us);
    if (i->resumed) {
        r->tls.handshakes_resumed++;
        r->tls.cpu_resumed_ns += i->handshake_cpu_ns;
    } else {
        r->tls.handshakes_full++;
        r->tls.cpu_full_ns += i->handshake_cpu_ns;
    }
    if (!r->tls.version[0]) {
        memcpy(r->tls.version, i->version, sizeof r->tls.version);
        memcpy(r->tls.alpn, i->alpn, sizeof r->tls.alpn);
        memcpy(r->tls.cipher, i->cipher, sizeof r->tls.cipher);
    }
}

void load_tls_merge(struct load_tls *to, const struct load_tls *from)
{
    to->handshakes_full += from->handshakes_full;
    to->handshakes_resumed += from->handshakes_resumed;
    to->cpu_full_ns += from->cpu_full_ns;
    to->cpu_resumed_ns += from->cpu_resumed_ns;
    to->server_close_notify += from->server_close_notify;
    to->server_notify_with_fin += from->server_notify_with_fin;
    to->server_truncated += from->server_truncated;
    to->client_close_notify += from->client_close_notify;
    if (!to->version[0] && from->version[0]) {
        memcpy(to->version, from->version, sizeof to->version);
        memcpy(to->alpn, from->alpn, sizeof to->alpn);
        memcpy(to->cipher, from->cipher, sizeof to->cipher);
    }
    if (from->error[0])
        memcpy(to->error, from->error, sizeof to->error);
}

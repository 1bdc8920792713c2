/* SPDX-License-Identifier: MIT */
/* closer probe over https://: the session (version, ALPN, the handshake,
 * whether resumption works) and how each of the server's closes looked in
 * TLS's terms. A close_notify before the FIN is TLS's clean close; a FIN
 * without one is a truncation by RFC 8446 6.1 (clients that insist on it
 * report an error); what TIME_WAIT does still follows the FIN. */
#include <stdio.h>

#include "client/probe.h"
#include "util/json.h"

static const char *tls_close_name(enum probe_tls_close t)
{
    static const char *const n[] = {NULL, "close_notify_fin", "close_notify_only", "close_notify_rst",
                                    "fin_without_close_notify", "rst"};
    return n[t];
}

static const char *tls_close_text(enum probe_tls_close t)
{
    static const char *const n[] = {"-", "close_notify, then its FIN (a clean TLS close)",
                                    "close_notify, no FIN within 1 s (the client closed)",
                                    "close_notify, then a RST",
                                    "FIN without close_notify (a truncation by TLS's rules)",
                                    "RST without close_notify"};
    return n[t];
}

/* The idle closes: the first one seen (they agree, or the spread says so). */
static enum probe_tls_close idle_tls(const struct probe_result *r)
{
    for (unsigned i = 0; i < r->idle_n; i++)
        if (r->idle[i].tls != PT_NA)
            return r->idle[i].tls;
    return PT_NA;
}

static void resumption_text(FILE *out, const struct probe_result *r)
{
    fprintf(out, "  TLS session resumption       ");
    if (!r->tls_tickets)
        fprintf(out, "the server gave no session to resume: every new connection is a full handshake\n");
    else if (!r->tls_offered)
        fprintf(out, "not tried (no later connection)\n");
    else if (r->tls_resumed == r->tls_offered)
        fprintf(out, "works (%u of %u later connections resumed)\n", r->tls_resumed, r->tls_offered);
    else
        fprintf(out, "%s (%u of %u later connections resumed)\n",
                r->tls_resumed ? "partly" : "REFUSED", r->tls_resumed, r->tls_offered);
}

void probe_tls_text(FILE *out, const struct probe_result *r)
{
    if (!r->tls || !r->tls_first.done)
        return;
    const struct tls_info *i = &r->tls_first;
    fprintf(out, "  TLS                          %s %s, ALPN %s, handshake %.1f ms\n", i->version,
            i->cipher, i->alpn[0] ? i->alpn : "none", r->tls_handshake_ms);
    resumption_text(out, r);
    const struct { const char *what; enum probe_tls_close t; } c[] = {
        {"TLS close, Connection: close", r->close_measured ? r->after_close.tls : PT_NA},
        {"TLS close, idle timeout", idle_tls(r)},
        {"TLS close, request limit", r->limit_measured ? r->fast.fin.tls : PT_NA},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
        if (c[k].t != PT_NA)
            fprintf(out, "  %-28s %s\n", c[k].what, tls_close_text(c[k].t));
}

static void close_or_null(struct json *j, const char *key, enum probe_tls_close t)
{
    if (t == PT_NA)
        json_null(j, key);
    else
        json_str(j, key, tls_close_name(t));
}

void probe_tls_json(struct json *j, const struct probe_result *r)
{
    if (!r->tls || !r->tls_first.done) {
        json_null(j, "tls");
        return;
    }
    const struct tls_info *i = &r->tls_first;
    json_obj_begin(j, "tls");
    json_str(j, "version", i->version);
    json_str(j, "cipher", i->cipher);
    json_str(j, "alpn", i->alpn);
    json_double(j, "handshake_ms", r->tls_handshake_ms);
    json_obj_begin(j, "resumption");
    json_bool(j, "server_gave_session", r->tls_tickets);
    json_uint(j, "offered", r->tls_offered);
    json_uint(j, "resumed", r->tls_resumed);
    json_obj_end(j);
    json_obj_begin(j, "closes");
    close_or_null(j, "after_connection_close", r->close_measured ? r->after_close.tls : PT_NA);
    close_or_null(j, "idle", idle_tls(r));
    close_or_null(j, "limit", r->limit_measured ? r->fast.fin.tls : PT_NA);
    json_obj_end(j);
    json_obj_end(j);
}

/* SPDX-License-Identifier: MIT */
/* The TLS part of probe's report: the session, resumption (works, partly,
 * refused, no session given, not tried) and how each close looked in
 * TLS's terms, in text and JSON; nothing at all over plain TCP. */
#include <stdlib.h>

#include "client/probe.h"
#include "test.h"
#include "util/json.h"

static char *text(const struct probe_result *r)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    probe_tls_text(f, r);
    fclose(f);
    return b;
}

static char *json(const struct probe_result *r)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    struct json j;
    json_init(&j, f, false);
    json_obj_begin(&j, NULL);
    probe_tls_json(&j, r);
    json_obj_end(&j);
    json_finish(&j);
    fclose(f);
    return b;
}

static void tls_result(struct probe_result *r)
{
    memset(r, 0, sizeof *r);
    r->tls = true;
    r->tls_first.done = true;
    snprintf(r->tls_first.version, sizeof r->tls_first.version, "TLSv1.3");
    snprintf(r->tls_first.cipher, sizeof r->tls_first.cipher, "TLS_AES_256_GCM_SHA384");
    snprintf(r->tls_first.alpn, sizeof r->tls_first.alpn, "http/1.1");
    r->tls_handshake_ms = 1.25;
    r->tls_tickets = true;
    r->tls_offered = r->tls_resumed = 8;
}

static int has(char *s, const char *what)
{
    int ok = strstr(s, what) != NULL;
    if (!ok)
        printf("---- no '%s' in:\n%s\n", what, s);
    free(s);
    return ok;
}

TEST(plain_tcp_prints_nothing)
{
    struct probe_result r = {0};
    char *t = text(&r);
    CHECK_EQ_STR(t, "");
    free(t);
    CHECK(has(json(&r), "{\"tls\":null}"));
}

TEST(session_and_resumption)
{
    struct probe_result r;
    tls_result(&r);
    CHECK(has(text(&r), "TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN http/1.1, handshake 1.2 ms"));
    CHECK(has(text(&r), "works (8 of 8 later connections resumed)"));
    r.tls_resumed = 3;
    CHECK(has(text(&r), "partly (3 of 8"));
    r.tls_resumed = 0;
    CHECK(has(text(&r), "REFUSED (0 of 8"));
    r.tls_offered = 0;
    CHECK(has(text(&r), "not tried (no later connection)"));
    r.tls_tickets = false;
    r.tls_first.alpn[0] = 0;
    CHECK(has(text(&r), "ALPN none"));
    CHECK(has(text(&r), "the server gave no session to resume"));
    CHECK(has(json(&r), "\"resumption\":{\"server_gave_session\":false,\"offered\":0,\"resumed\":0}"));
}

TEST(closes_in_tls_terms)
{
    struct probe_result r;
    tls_result(&r);
    r.close_measured = r.limit_measured = true;
    r.after_close.tls = PT_NOTIFY_FIN;
    r.idle_n = 2;
    r.idle[1].tls = PT_TRUNCATED;
    r.fast.fin.tls = PT_NOTIFY_RST;
    CHECK(has(text(&r), "TLS close, Connection: close close_notify, then its FIN (a clean TLS close)"));
    CHECK(has(text(&r), "TLS close, idle timeout      FIN without close_notify"));
    CHECK(has(text(&r), "TLS close, request limit     close_notify, then a RST"));
    CHECK(has(json(&r), "\"closes\":{\"after_connection_close\":\"close_notify_fin\","
                         "\"idle\":\"fin_without_close_notify\",\"limit\":\"close_notify_rst\"}"));
    r.after_close.tls = PT_NOTIFY_ONLY;
    r.idle[1].tls = PT_RST;
    r.limit_measured = false;
    CHECK(has(text(&r), "close_notify, no FIN within 1 s"));
    CHECK(has(text(&r), "RST without close_notify"));
    CHECK(has(json(&r), "\"limit\":null"));
}

/* SPDX-License-Identifier: MIT */
/* closer probe's report: the measurements with their evidence, the
 * verdict (where TIME_WAIT accumulates for each client behaviour, with the
 * knob of the server that answered), and what the probe left behind. */
#include <string.h>

#include "client/probe.h"
#include "client/probe_h2.h"
#include "util/json.h"

/* After Connection: close, does the server close as it answers, so that
 * a client closing at once mostly meets its FIN (TIME_WAIT on the server)?
 * Yes when most of the exchanges had the FIN queued with the response, or
 * when the median FIN delay is within the median exchange time itself
 * (request sent to response complete): a FIN that close is part of the
 * answer, while a server that holds the connection (Node: seconds) is far
 * past it. Measured on three exchanges, no fixed threshold: on a loaded
 * machine both times grow together. */
static bool close_fin_first(const struct probe_result *r)
{
    return r->close_with_response * 2 > r->close_samples ||
           (r->after_close.how == PC_FIN && r->after_close.after_s <= r->close_rtt_s);
}

/* A server FIN this soon after the announcing response of a request cap
 * reaches a client closing at once about as early as the response: one
 * sample (the back-to-back connection), so a bound on its delay tells a
 * server that closes as it answers (nginx) from one that holds the
 * connection (Node: keepAliveTimeout + 1 s). A hot client races the
 * former; peeking for the FIN there said "late" for nginx. */
#define CAP_PROMPT_FIN_S 0.001

static bool cap_fin_late(const struct probe_result *r)
{
    return r->fast.announced && (r->fast.fin.how == PC_NONE || r->fast.fin.after_s > CAP_PROMPT_FIN_S);
}

static const char *close_name(enum probe_close c)
{
    return c == PC_FIN ? "fin" : c == PC_RST ? "rst" : "none";
}

static const char *limit_name(enum probe_limit l)
{
    static const char *const n[] = {"none", "cap", "lifetime", "unknown", "random"};
    return n[l];
}

/* Where TIME_WAIT lands when the server ends a connection this way. */
static const char *side_of(enum probe_close how)
{
    return how == PC_RST ? "NEITHER side (the server resets: no TIME_WAIT, but data in flight is lost)"
                         : "the SERVER";
}

static void ms_or_s(char *b, size_t n, double s)
{
    if (s < 1)
        snprintf(b, n, "%.1f ms", s * 1000);
    else
        snprintf(b, n, "%.2f s", s);
}

static void print_limit(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    const struct probe_busy *f = &r->fast, *p = &r->paced;
    char fin[32];
    ms_or_s(fin, sizeof fin, f->fin.after_s);
    switch (r->limit) {
    case PL_CAP:
        fprintf(out, "  request cap                  %ld requests per connection (%s; %s)\n", r->cap,
                f->announced ? "the last response said Connection: close" : "closed without announcing it",
                r->cap_confirmed ? "the same count on a second connection" : "seen on one connection only");
        if (f->announced && f->fin.how == PC_NONE)
            fprintf(out, "                               then no FIN from the server within %.1f s "
                    "(--close-wait)\n", o->close_wait_ms / 1000.0);
        else if (f->announced)
            fprintf(out, "                               then the server's %s %s after it\n",
                    f->fin.how == PC_RST ? "RST" : "FIN", fin);
        break;
    case PL_LIFETIME:
        fprintf(out, "  connection lifetime          %.2f s: the server closes connections by age, not "
                "count (%llu requests back to back, %llu paced, closed at %.2f s and %.2f s)\n",
                r->lifetime_s, (unsigned long long)f->responses, (unsigned long long)p->responses,
                f->age_s, p->age_s);
        break;
    case PL_NONE:
        fprintf(out, "  request cap                  none up to %llu requests back to back; none on a "
                "paced connection within %.1f s (%llu requests)\n",
                (unsigned long long)f->responses, p->age_s, (unsigned long long)p->responses);
        break;
    case PL_RANDOM:
        fprintf(out, "  request limit                not a per-connection cap: closed after %llu requests "
                "back to back, a second connection %s %llu: the server closes at random (or by a "
                "server-wide count)\n", (unsigned long long)f->responses,
                r->second.closed ? "after" : "still open after", (unsigned long long)r->second.responses);
        break;
    case PL_UNKNOWN:
        fprintf(out, "  request limit                unclear: back to back closed after %llu requests at "
                "%.2f s, paced after %llu at %.2f s\n", (unsigned long long)f->responses, f->age_s,
                (unsigned long long)p->responses, p->age_s);
        break;
    }
}

static void print_idle(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    if (!r->idle_closed) {
        fprintf(out, "  idle timeout                 none within %.1f s (%u idle connections; %s)\n",
                r->idle_n ? r->idle[0].after_s : 0, r->idle_n,
                r->deadline_hit ? "the probe's deadline: --deadline to wait longer" : "--max-wait");
        return;
    }
    fprintf(out, "  idle timeout                 %.2f s median (min %.2f, max %.2f; %u of %u idle "
            "connections closed, by %s)\n", r->idle_median, r->idle_min, r->idle_max, r->idle_closed,
            r->idle_n, r->idle_rst ? "RST" : "FIN");
    if (r->idle_spread)
        fprintf(out, "                               SPREAD: %.2f s between the first and last close "
                "(a coarse server timer, or load)\n", r->idle_max - r->idle_min);
    if (r->idle_early)
        fprintf(out, "                               EARLY: closed at %.2f s, before the advertised "
                "Keep-Alive timeout=%ld (worker pressure?)\n", r->idle_min, r->hint_timeout_s);
    (void)o;
}

static void print_after_close(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    char t[32];
    ms_or_s(t, sizeof t, r->after_close.after_s);
    if (!r->close_measured)
        fprintf(out, "  after Connection: close      not measured (no response)\n");
    else if (r->after_close.how == PC_NONE)
        fprintf(out, "  after Connection: close      no close within %.1f s: the server waits for the "
                "client's FIN\n", o->close_wait_ms / 1000.0);
    else
    {
        char rtt[32];
        ms_or_s(rtt, sizeof rtt, r->close_rtt_s);
        fprintf(out, "  after Connection: close      the server closes, with a %s %s after the response "
                "(median of %u; the exchange took %s; the FIN came with the response in %u)\n",
                r->after_close.how == PC_RST ? "RST" : "FIN", t, r->close_samples, rtt,
                r->close_with_response);
    }
}

/* "raise keepalive_requests", or, when the program has no such setting
 * ("(none in Varnish)"), what is left to do. */
static void raise_or(FILE *out, const char *setting, const char *otherwise)
{
    if (setting[0] == '(')
        fprintf(out, "    change: %s %s.\n", otherwise, setting);
    else
        fprintf(out, "    change: raise %s, or %s.\n", setting, otherwise);
}

static void verdict(FILE *out, const struct probe_result *r)
{
    const struct cat_program *k = r->prog;
    if (r->unsolicited_bytes) {
        fprintf(out, "\nverdict: the server sends bytes after its responses that no request asked for:\n"
                "  a client cannot match responses to requests on a kept connection (a body longer than\n"
                "  its Content-Length?). Fix the server's framing first; nothing else here can be trusted.\n");
        return;
    }
    fprintf(out, "\nverdict: where TIME_WAIT accumulates (%s%s%s)\n", probe_kind_name(k),
            r->origin ? ", in front of " : "", r->origin ? probe_kind_name(r->origin) : "");
    if (!r->keepalive_11) {
        fprintf(out, "  every client                  -> on %s: it closes after each response (no "
                "keep-alive).\n    change: %s.\n",
                r->close_measured ? side_of(r->after_close.how) : "the SERVER", probe_knob(k, "keepalive"));
        return;
    }
    fprintf(out, "  keep-alive client that closes -> on the CLIENT (it sends the first FIN).\n");
    if (r->idle_closed)
        fprintf(out, "  client idle > %.1f s           -> on %s (it closes idle connections).\n"
                "    change: a client pool idle timeout below %.1f s, or raise %s;\n"
                "    announcing the timeout %s %s.\n",
                r->idle_min, side_of(r->idle_rst ? PC_RST : PC_FIN), r->idle_min,
                probe_knob(k, "idle"),
                probe_knob(k, "hint")[0] == '(' ? "would let clients close first" :
                                                  "lets clients close first:",
                probe_knob(k, "hint"));
    if (r->idle_early)
        fprintf(out, "    the server closed at %.1f s, before the timeout=%ld it announces: a client that trusts\n"
                "    the announcement reuses connections already closed (errors on reuse, CLOSE_WAIT in its pool).\n",
                r->idle_min, r->hint_timeout_s);
    if (r->limit == PL_CAP) {
        const struct probe_busy *f = &r->fast;
        if (cap_fin_late(r))
            fprintf(out, "  > %ld requests per connection -> on the CLIENT for a client that honours "
                    "Connection: close at once\n    (the server's FIN came %s%.2f s later); on the server "
                    "for one that waits for the FIN.\n", r->cap, f->fin.how == PC_NONE ? "> " : "",
                    f->fin.after_s);
        else
            fprintf(out, "  > %ld requests per connection -> on %s, one close every %ld requests.\n",
                    r->cap, side_of(f->fin.how), r->cap);
        raise_or(out, probe_knob(k, "cap"), "let the client recycle its connections first");
    }
    if (r->limit == PL_RANDOM)
        fprintf(out, "  now and then                  -> on %s: it closes some connections at random, not at a\n"
                "    fixed count (raising a cap changes nothing); a client pool must retry a request that\n"
                "    meets such a close.\n", side_of(r->fast.fin.how));
    if (r->limit == PL_LIFETIME)
    {
        fprintf(out, "  connections older than %.1f s -> on the SERVER (a lifetime limit).\n",
                r->lifetime_s);
        raise_or(out, probe_knob(k, "lifetime"), "let the client recycle connections younger than that");
    }
    if (!r->close_measured)
        return;
    const struct probe_close_obs *c = &r->after_close;
    if (c->how == PC_NONE)
        fprintf(out, "  Connection: close / HTTP/1.0  -> on the CLIENT (the server waits for its FIN).\n");
    else if (c->how == PC_FIN && !close_fin_first(r))
        fprintf(out, "  Connection: close / HTTP/1.0  -> on the CLIENT for a client that closes at once "
                "(the server's FIN comes %.1f ms later, median of %u), else on the server.\n",
                c->after_s * 1000, r->close_samples);
    else
        fprintf(out, "  Connection: close / HTTP/1.0  -> on %s.\n", side_of(c->how));
    if (!r->keepalive_10)
        fprintf(out, "    HTTP/1.0 clients cannot keep connections here: each request costs a TIME_WAIT.\n");
}

static void left_behind(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    fprintf(out, "\nleft behind: %llu connections, %llu requests in %.1f s%s; the server closed first "
            "%llu times, this client %llu",
            (unsigned long long)r->connections, (unsigned long long)r->requests_sent, r->elapsed_s,
            r->deadline_hit ? " (deadline reached)" : "", (unsigned long long)r->server_closed_first,
            (unsigned long long)r->client_closed_first);
    if (r->tw_towards_delta >= 0)
        fprintf(out, ";\n  TIME_WAIT %+ld on this host towards %s", r->tw_towards_delta, o->t.text);
    if (r->tw_at_delta > 0)
        fprintf(out, ", %+ld at %s (the server, in this namespace)", r->tw_at_delta, o->t.text);
    else if (r->server_closed_first)
        fprintf(out, " (and up to %llu on the server's host, one per FIN it sent first)",
                (unsigned long long)r->server_closed_first);
    if (r->tw_all_delta > r->tw_towards_delta + (r->tw_at_delta > 0 ? r->tw_at_delta : 0))
        fprintf(out, ";\n  %+ld TIME_WAIT in this network namespace in all (others: a proxy's "
                "connections to its backends?)", r->tw_all_delta);
    fprintf(out, "\n");
}

/* The first answer was 4xx/5xx: say so, measure and advise nothing. */
static void error_answer_text(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    fprintf(out, "  server                       %s\n", r->server[0] ? r->server : "(no Server header)");
    fprintf(out, "\nthe site answers %d (%dxx) to GET %s: an error page, not the site.\n"
            "  Nothing more was measured and no advice is given from it. Check the URL (a TLS port\n"
            "  probed over http://? nginx answers 400 there), the Host (-H 'Host: NAME'), the path.\n",
            r->status, r->status / 100, o->t.path);
    left_behind(out, o, r);
}

void probe_print_text(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    fprintf(out, "closer probe %s://%s%s (status %d)\n\n", o->t.tls ? "https" : "http", o->t.text,
            o->t.path, r->status);
    if (r->error_answer) {
        error_answer_text(out, o, r);
        return;
    }
    fprintf(out, "  server                       %s (%s)\n", probe_kind_name(r->prog), r->kind_evidence);
    if (r->origin)
        fprintf(out, "  behind it                    %s: the origin; this client's connections end at %s,\n"
                "                               so %s's settings, not %s's, decide how they close\n",
                probe_kind_name(r->origin), probe_kind_name(r->prog), probe_kind_name(r->prog),
                probe_kind_name(r->origin));
    probe_tls_text(out, r);
    const char *no = r->unsolicited_bytes ? "unknown" : "NOT honoured";
    fprintf(out, "  HTTP/1.1 keep-alive          %s   (Connection: %s%s%s)\n",
            r->keepalive_11 ? "honoured" : no,
            r->connection_11[0] ? r->connection_11 : "-", r->keep_alive_11[0] ? ", Keep-Alive: " : "",
            r->keep_alive_11);
    fprintf(out, "  HTTP/1.0 + keep-alive        %s   (Connection: %s%s%s)\n",
            r->keepalive_10 ? "honoured" : no,
            r->connection_10[0] ? r->connection_10 : "-", r->keep_alive_10[0] ? ", Keep-Alive: " : "",
            r->keep_alive_10);
    if (r->hint_timeout_s >= 0 || r->hint_max >= 0) {
        fprintf(out, "  Keep-Alive hint             ");
        if (r->hint_timeout_s >= 0)
            fprintf(out, " timeout=%ld s", r->hint_timeout_s);
        if (r->hint_max >= 0)
            fprintf(out, " max=%ld", r->hint_max);
        fprintf(out, "\n");
    }
    if (r->unsolicited_bytes)
        fprintf(out, "  UNSOLICITED BYTES            %llu bytes after a response that no request asked "
                "for (not taken as the next answer)\n", (unsigned long long)r->unsolicited_bytes);
    if (!r->keepalive_11)
        fprintf(out, "  request cap                  - (no keep-alive)\n  idle timeout                 - (no keep-alive)\n");
    else {
        print_limit(out, o, r);
        print_idle(out, o, r);
    }
    print_after_close(out, o, r);
    verdict(out, r);
    if (r->h2)
        probe_h2_section(out, o, r->h2);
    left_behind(out, o, r);
}

/* JSON says null where the text says "none" (issue 15's contract). */
static const char *close_json(enum probe_close c) { return c == PC_NONE ? NULL : close_name(c); }

static void str_or_null(struct json *j, const char *key, const char *v)
{
    if (v && v[0])
        json_str(j, key, v);
    else
        json_null(j, key);
}

static void long_or_null(struct json *j, const char *key, long v)
{
    if (v >= 0)
        json_int(j, key, v);
    else
        json_null(j, key);
}

static void busy_json(struct json *j, const char *key, const struct probe_busy *b)
{
    json_obj_begin(j, key);
    json_uint(j, "responses", b->responses);
    json_bool(j, "server_closed", b->closed);
    json_bool(j, "announced", b->announced);
    json_bool(j, "stopped_at_max", b->stopped_at_max);
    json_double(j, "age_s", b->age_s);
    json_str(j, "close", b->closed ? close_json(b->fin.how) : NULL);
    if (b->announced && b->fin.how != PC_NONE)
        json_double(j, "fin_after_announce_s", b->fin.after_s);
    else
        json_null(j, "fin_after_announce_s");
    json_obj_end(j);
}

static void idle_json(struct json *j, const struct probe_result *r)
{
    if (r->idle_closed)
        json_double(j, "idle_timeout_s", r->idle_median);
    else
        json_null(j, "idle_timeout_s");
    json_obj_begin(j, "idle");
    json_uint(j, "samples", r->idle_n);
    json_uint(j, "closed", r->idle_closed);
    if (r->idle_closed) {
        json_double(j, "min_s", r->idle_min);
        json_double(j, "median_s", r->idle_median);
        json_double(j, "max_s", r->idle_max);
    } else {
        json_null(j, "min_s");
        json_null(j, "median_s");
        json_null(j, "max_s");
    }
    json_bool(j, "spread", r->idle_spread);
    json_bool(j, "before_advertised_timeout", r->idle_early);
    json_arr_begin(j, "connections");
    for (unsigned i = 0; i < r->idle_n; i++) {
        json_obj_begin(j, NULL);
        json_str(j, "close", close_json(r->idle[i].how));
        json_double(j, "after_s", r->idle[i].after_s);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_obj_end(j);
}

/* Where TIME_WAIT lands; NULL (JSON null) when nowhere: a reset leaves none. */
static const char *tw_side(enum probe_close how)
{
    return how == PC_RST ? NULL : "server";
}

static void verdict_json(struct json *j, const struct probe_result *r)
{
    const struct probe_close_obs *c = &r->after_close;
    bool cap_late = cap_fin_late(r);
    json_obj_begin(j, "time_wait_on");
    if (r->error_answer) { /* an error page: no verdict */
        static const char *const k[] = {"client_closes", "client_idle_too_long", "request_cap_reached",
                                        "lifetime_reached", "connection_close"};
        for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
            json_null(j, k[i]);
        json_obj_end(j);
        return;
    }
    json_str(j, "client_closes", r->keepalive_11 ? "client" : r->close_measured ? tw_side(c->how) : "server");
    json_str(j, "client_idle_too_long",
             r->keepalive_11 && r->idle_closed ? tw_side(r->idle_rst ? PC_RST : PC_FIN) : NULL);
    json_str(j, "request_cap_reached", !r->keepalive_11 || r->limit != PL_CAP ? NULL
                                       : cap_late ? "client" : tw_side(r->fast.fin.how));
    json_str(j, "lifetime_reached", r->keepalive_11 && r->limit == PL_LIFETIME ? "server" : NULL);
    json_str(j, "connection_close", !r->close_measured ? NULL : c->how == PC_NONE ? "client"
                                    : c->how == PC_FIN && !close_fin_first(r) ? "client"
                                    : tw_side(c->how));
    json_obj_end(j);
}

void probe_print_json(FILE *out, const struct probe_opts *o, const struct probe_result *r)
{
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", PROBE_JSON_SCHEMA);
    target_endpoint_json(&j, "target", &o->t.addr);
    json_str(&j, "host", o->t.host);
    json_str(&j, "path", o->t.path);
    long_or_null(&j, "status", r->status > 0 ? r->status : -1);
    json_bool(&j, "error_answer", r->error_answer);
    json_double(&j, "elapsed_s", r->elapsed_s);
    json_bool(&j, "deadline_hit", r->deadline_hit);
    json_obj_begin(&j, "server");
    str_or_null(&j, "header", r->server);
    json_str(&j, "kind", probe_kind_name(r->prog));
    str_or_null(&j, "evidence", r->kind_evidence);
    str_or_null(&j, "program", r->prog ? r->prog->name : NULL);
    str_or_null(&j, "variant", r->prog ? r->prog->variant : NULL);
    str_or_null(&j, "via", r->via);
    str_or_null(&j, "origin", r->origin ? r->origin->name : NULL);
    json_obj_end(&j);
    json_obj_begin(&j, "http11");
    json_bool(&j, "keepalive", r->keepalive_11);
    str_or_null(&j, "connection", r->connection_11);
    str_or_null(&j, "keep_alive", r->keep_alive_11);
    json_obj_end(&j);
    json_obj_begin(&j, "http10_keepalive");
    json_bool(&j, "keepalive", r->keepalive_10);
    str_or_null(&j, "connection", r->connection_10);
    str_or_null(&j, "keep_alive", r->keep_alive_10);
    json_obj_end(&j);
    long_or_null(&j, "keep_alive_hint_s", r->hint_timeout_s);
    long_or_null(&j, "keep_alive_hint_max", r->hint_max);
    json_uint(&j, "unsolicited_bytes", r->unsolicited_bytes);
    if (r->keepalive_11 && r->limit == PL_CAP)
        json_int(&j, "request_cap", r->cap);
    else
        json_null(&j, "request_cap");
    json_bool(&j, "request_cap_announced", r->limit == PL_CAP && r->fast.announced);
    json_obj_begin(&j, "limit");
    if (r->limit_measured) {
        json_str(&j, "kind", r->limit == PL_NONE ? NULL : limit_name(r->limit));
        if (r->limit == PL_LIFETIME)
            json_double(&j, "lifetime_s", r->lifetime_s);
        else
            json_null(&j, "lifetime_s");
        busy_json(&j, "back_to_back", &r->fast);
        busy_json(&j, "paced", &r->paced);
        if (r->second_ran)
            busy_json(&j, "second", &r->second);
        else
            json_null(&j, "second");
        json_bool(&j, "cap_confirmed", r->cap_confirmed);
    } else {
        json_null(&j, "kind");
    }
    json_obj_end(&j);
    idle_json(&j, r);
    json_obj_begin(&j, "after_connection_close");
    json_str(&j, "server_close", r->close_measured ? close_json(r->after_close.how) : NULL);
    if (r->close_measured && r->after_close.how != PC_NONE)
        json_double(&j, "after_s", r->after_close.after_s);
    else
        json_null(&j, "after_s");
    json_bool(&j, "server_waits_for_client", r->close_measured && r->after_close.how == PC_NONE);
    json_uint(&j, "samples", r->close_samples);
    json_uint(&j, "fin_with_response", r->close_with_response);
    if (r->close_samples)
        json_double(&j, "exchange_s", r->close_rtt_s);
    else
        json_null(&j, "exchange_s");
    json_obj_end(&j);
    verdict_json(&j, r);
    probe_tls_json(&j, r);
    if (r->h2)
        probe_h2_json(&j, o, r->h2);
    json_obj_begin(&j, "knobs");
    static const char *const knobs[] = {"idle", "cap", "lifetime", "keepalive", "hint"};
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
        str_or_null(&j, knobs[i], r->error_answer ? NULL : probe_knob(r->prog, knobs[i]));
    json_obj_end(&j);
    json_obj_begin(&j, "cost");
    json_uint(&j, "requests", r->requests_sent);
    json_uint(&j, "connections", r->connections);
    json_uint(&j, "server_closed_first", r->server_closed_first);
    json_uint(&j, "client_closed_first", r->client_closed_first);
    long_or_null(&j, "time_wait_here", r->tw_towards_delta);
    long_or_null(&j, "time_wait_at_target", r->tw_at_delta);
    long_or_null(&j, "time_wait_namespace", r->tw_all_delta);
    json_obj_end(&j);
    json_obj_end(&j);
    json_finish(&j);
}

/* SPDX-License-Identifier: MIT */
/* The scenarios' judgements (lab/judge.h) over what a real run observed:
 * tests/data/lab/lab.json, recorded as root with `closer lab run --all
 * --json` (tests/data/lab/README). Each scenario's observation is rebuilt
 * from its recorded measurements (and, where a figure is only in the
 * text, from its notes); its judgement must give back the same lines,
 * values and verdict. Then the edge cases a run can hit: nothing
 * observed, the expected state never seen, counters that went backwards. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "lab/judge.h"
#include "lab_rec.h"
#include "test.h"

static struct lab_result res;

static void fresh(void)
{
    memset(&res, 0, sizeof res);
    res.ok = true;
}

/* res as recorded: the same text, values, verdict and failures; what
 * differs is printed under the FAIL line. */
static bool as_recorded(const struct rec_scen *s)
{
    if (strcmp(res.measured, s->notes)) {
        printf("    %s measured:\n%s--- recorded:\n%s", s->name, res.measured, s->notes);
        return false;
    }
    if (res.ok != s->pass || strcmp(res.failures, s->failures)) {
        printf("    %s verdict %d (%s), recorded %d (%s)\n", s->name, res.ok, res.failures,
               s->pass, s->failures);
        return false;
    }
    if (res.nvalues != s->nvalues) {
        printf("    %s: %zu values, recorded %zu\n", s->name, res.nvalues, s->nvalues);
        return false;
    }
    for (size_t i = 0; i < s->nvalues; i++) {
        const struct lab_value *v = &res.values[i];
        const struct rec_value *w = &s->values[i];
        if (strcmp(v->name, w->name) || strcmp(v->unit, w->unit) ||
            fabs(v->value - w->value) > 1e-9 * fmax(1, fabs(w->value))) {
            printf("    %s value %zu: %s=%.15g %s, recorded %s=%.15g %s\n", s->name, i,
                   v->name, v->value, v->unit, w->name, w->value, w->unit);
            return false;
        }
    }
    return true;
}

static const struct rec_scen *recorded(const char *name)
{
    const struct rec_scen *s = rec_find(name);
    if (!s)
        test_fail(__FILE__, __LINE__, "%s not in " LAB_DATA "lab.json", name);
    return s;
}

static struct lab_traffic_obs traffic_of(const struct rec_scen *s, const char *prefix)
{
    char n[64];
    struct lab_traffic_obs o = {.load_rc = (int)rec_note_num(s, "closer load exit ")};
    snprintf(n, sizeof n, "%srequests", prefix);
    o.requests = (long)rec_num(s, n);
    snprintf(n, sizeof n, "%sconnections", prefix);
    o.conns = (long)rec_num(s, n);
    snprintf(n, sizeof n, "%sserver_time_wait", prefix);
    o.server_tw = (long)rec_num(s, n);
    snprintf(n, sizeof n, "%sclient_time_wait", prefix);
    o.client_tw = (long)rec_num(s, n);
    return o;
}

TEST(recorded_close_header_and_keepalive_off_put_time_wait_on_the_server)
{
    const char *names[] = {"close-header", "keepalive-off"};
    for (int i = 0; i < 2; i++) {
        const struct rec_scen *s = recorded(names[i]);
        CHECK(s);
        struct lab_traffic_obs o = traffic_of(s, "");
        fresh();
        lab_judge_traffic(&res, &o);
        lab_judge_tw_side(&res, &o, true);
        if (!as_recorded(s))
            return;
    }
}

TEST(recorded_close_policy_client_puts_time_wait_on_the_client)
{
    const struct rec_scen *s = recorded("close-policy-client");
    CHECK(s);
    struct lab_traffic_obs o = traffic_of(s, "");
    fresh();
    lab_measured(&res, "Connection: close traffic (as close-header), server close policy client:");
    lab_judge_traffic(&res, &o);
    lab_judge_tw_side(&res, &o, false);
    CHECK(as_recorded(s));
}

TEST(recorded_http10_runs_judge_each_half)
{
    const struct rec_scen *s = recorded("http10");
    CHECK(s);
    struct lab_traffic_obs a = traffic_of(s, "http10_plain_");
    struct lab_traffic_obs b = traffic_of(s, "http10_keepalive_");
    fresh();
    lab_http10_begin(&res, false);
    lab_judge_traffic(&res, &a);
    lab_judge_http10_plain(&res, &a);
    lab_http10_begin(&res, true);
    lab_judge_traffic(&res, &b);
    lab_judge_http10_keepalive(&res, &a, &b);
    CHECK(as_recorded(s));
}

TEST(recorded_client_closes_and_its_held_passive_close)
{
    const struct rec_scen *s = recorded("client-closes");
    CHECK(s);
    struct lab_traffic_obs o = traffic_of(s, "");
    struct lab_held_obs h = {
        .held = 3, .close_wait = (long)rec_num(s, "server_close_wait"),
        .last_ack = (long)rec_num(s, "server_last_ack_acks_dropped"),
        .fin_retransmits = (unsigned)rec_num(s, "server_fin_retransmits"),
        .last_ack_end = (long)rec_num(s, "server_last_ack_acks_allowed"),
        .tw_end = (long)rec_note_num(s, "server TIME_WAIT "),
        .client_tw_added = (long)rec_num(s, "client_time_wait_added")};
    fresh();
    lab_judge_traffic(&res, &o);
    lab_judge_tw_side(&res, &o, false);
    lab_judge_held_close(&res, &h);
    CHECK(as_recorded(s));
}

TEST(recorded_linger_zero_leaves_no_time_wait)
{
    const struct rec_scen *s = recorded("linger-zero");
    CHECK(s);
    struct lab_linger_obs o = {
        .requests = (int)rec_num(s, "requests"), .responses = (int)rec_num(s, "responses"),
        .econnreset = (int)rec_num(s, "client_econnreset"), .eof = (int)rec_num(s, "client_eof"),
        .resets_added = (long long)rec_num(s, "client_estab_resets_added"),
        .server_tw = (long)rec_num(s, "server_time_wait"),
        .client_tw = (long)rec_num(s, "client_time_wait")};
    fresh();
    lab_judge_linger_zero(&res, &o);
    CHECK(as_recorded(s));
}

TEST(recorded_idle_timeout_closes_at_the_timeout)
{
    const struct rec_scen *s = recorded("idle-timeout");
    CHECK(s);
    struct lab_idle_obs o = {
        .conns = (int)rec_num(s, "idle_connections"),
        .timeout_ms = (int)rec_num(s, "server_keepalive_timeout"),
        .closed = (int)rec_num(s, "server_closed"),
        .closed_min_ms = rec_num(s, "closed_after_min"),
        .closed_max_ms = rec_num(s, "closed_after_max"),
        .server_tw = (long)rec_num(s, "server_time_wait"),
        .client_tw = (long)rec_num(s, "client_time_wait")};
    fresh();
    lab_judge_idle_timeout(&res, &o);
    CHECK(as_recorded(s));
}

static struct lab_cap_run cap_of(const struct rec_scen *s, const char *cap)
{
    char n[64];
    struct lab_cap_run c;
    snprintf(n, sizeof n, "cap%s_requests", cap);
    c.requests = (long)rec_num(s, n);
    snprintf(n, sizeof n, "cap%s_request_rate", cap);
    c.seconds = c.requests / rec_num(s, n);
    snprintf(n, sizeof n, "cap%s_server_time_wait", cap);
    c.server_tw = (long)rec_num(s, n);
    return c;
}

TEST(recorded_request_cap_time_wait_rate_is_request_rate_over_cap)
{
    const struct rec_scen *s = recorded("request-cap");
    CHECK(s);
    struct lab_cap_run c100 = cap_of(s, "100"), c10k = cap_of(s, "10000");
    fresh();
    lab_judge_request_cap(&res, &c100, &c10k);
    CHECK(as_recorded(s));
}

static const struct {
    const char *fault, *finding;
} bugs[] = {
    {"listener-not-polled", "close-wait-unaccepted"},
    {"no-accept", "close-wait-unaccepted"},
    {"not-registered", "close-wait-not-polled"},
    {"no-close", "close-wait-not-closed"},
};

TEST(recorded_close_wait_bugs_each_named_by_doctor)
{
    const struct rec_scen *s = recorded("close-wait-bugs");
    CHECK(s);
    fresh();
    for (int i = 0; i < 4; i++) {
        char n[32], v[64];
        snprintf(n, sizeof n, "%s", bugs[i].fault);
        for (char *c = n; *c; c++)
            *c = *c == '-' ? '_' : *c;
        struct lab_bug_obs o = {.fault = bugs[i].fault, .finding = bugs[i].finding,
                                .port = (uint16_t)(8081 + i), .clients = 5,
                                .doctor_rc = (int)rec_note_num(s, "closer doctor (exit ")};
        snprintf(v, sizeof v, "%s_close_wait", n);
        o.close_wait = (long)rec_num(s, v);
        snprintf(v, sizeof v, "%s_doctor_count", n);
        o.named = (long)rec_num(s, v);
        lab_judge_bug(&res, &o);
    }
    CHECK(as_recorded(s));
}

TEST(recorded_port_exhaustion_three_steps)
{
    const struct rec_scen *s = recorded("port-exhaustion");
    CHECK(s);
    static const char *const step[3] = {"tw_reuse0_", "other_port_", "tw_reuse1_"};
    fresh();
    for (int i = 0; i < 3; i++) {
        char n[64];
        struct lab_load_counts c = {.rc = (int)rec_note_num(s, "(load exit ")};
        snprintf(n, sizeof n, "%srequests_ok", step[i]);
        c.requests = (long)rec_num(s, n);
        snprintf(n, sizeof n, "%seaddrnotavail", step[i]);
        c.eaddrnotavail = (long)rec_num(s, n);
        lab_judge_port_exhaustion(&res, i, &c);
    }
    CHECK(as_recorded(s));
}

TEST(recorded_tw_buckets_overflow_counted)
{
    const struct rec_scen *s = recorded("tw-buckets");
    CHECK(s);
    struct lab_buckets_obs o = {
        .load_rc = (int)rec_note_num(s, "(load exit "),
        .conns = (long)rec_num(s, "server_closed_connections"),
        .server_tw = (long)rec_num(s, "server_time_wait"),
        .overflow_added = (long long)rec_num(s, "tcp_time_wait_overflow_added")};
    fresh();
    lab_judge_tw_buckets(&res, &o);
    CHECK(as_recorded(s));
}

TEST(recorded_lost_last_ack_with_and_without_time_wait)
{
    const struct rec_scen *s = recorded("lost-last-ack");
    CHECK(s);
    struct lab_last_ack_obs o = {
        .server_last_ack = {.n = (long)rec_num(s, "server_last_ack"),
                            .retrans_max = (uint32_t)rec_num(s, "server_fin_retransmits")},
        .client_tw = {.n = (long)rec_num(s, "client_time_wait")},
        .acks_dropped = (long)rec_num(s, "client_acks_dropped"),
        .client_rsts = (long long)rec_num(s, "no_time_wait_client_rsts"),
        .server_error = strstr(s->notes, strerror(ECONNRESET)) ? ECONNRESET : 0};
    fresh();
    lab_judge_last_ack_with_tw(&res, &o);
    lab_judge_last_ack_without_tw(&res, &o);
    CHECK(as_recorded(s));
}

static uint32_t ms_of(double s) { return (uint32_t)lround(s * 1e3); }

TEST(recorded_tw_length_ignores_fin_timeout)
{
    const struct rec_scen *s = recorded("tw-length");
    CHECK(s);
    struct lab_tw_length_obs o = {
        .tw = {.n = (long)rec_num(s, "server_time_wait"),
               .exp_min = ms_of(rec_num(s, "server_time_wait_timer_min")),
               .exp_max = ms_of(rec_num(s, "server_time_wait_timer_max"))},
        .fin_wait2 = {.n = (long)rec_num(s, "client_orphan_fin_wait2"),
                      .exp_max = ms_of(rec_num(s, "client_orphan_fin_wait2_timer"))},
        .tw_later = {.n = (long)rec_num(s, "later_server_time_wait"),
                     .exp_min = ms_of(rec_num(s, "later_server_time_wait_timer_min"))},
        .fin_wait2_later = {.n = (long)rec_num(s, "later_client_orphan_fin_wait2")}};
    const char *later = strstr(s->notes, "6 s later");
    CHECK(later && strstr(later, ".."));
    o.tw_later.exp_max = ms_of(strtod(strstr(later, "..") + 2, NULL));
    fresh();
    lab_judge_tw_length(&res, &o);
    CHECK(as_recorded(s));
}

TEST(recorded_tw_reuse_server_changes_nothing)
{
    const struct rec_scen *s = recorded("tw-reuse-server");
    CHECK(s);
    fresh();
    for (int i = 0; i < 2; i++) {
        char c[64], m[64];
        snprintf(c, sizeof c, "tw_reuse%d_server_closed_connections", i);
        snprintf(m, sizeof m, "tw_reuse%d_new_server_time_wait", i);
        lab_judge_tw_reuse_server(&res, i, (long)rec_num(s, c), (long)rec_num(s, m),
                                  (int)rec_note_num(s, "(load exit "));
    }
    CHECK(as_recorded(s));
}

TEST(recorded_tw_memory_prices_a_time_wait_socket)
{
    const struct rec_scen *s = recorded("tw-memory");
    CHECK(s);
    struct lab_tw_memory_obs o = {
        .pile = 20000, .made = (int)rec_num(s, "connections"),
        .server_tw = (long)rec_num(s, "server_time_wait"),
        .tw_sock = {(long)rec_note_num(s, "slab object: "), (long)rec_num(s, "tw_sock_bytes")},
        .full_sock = {(long)rec_note_num(s, "TCP object: "), (long)rec_num(s, "full_sock_bytes")},
        .err = ""};
    fresh();
    lab_judge_tw_memory(&res, &o);
    CHECK(as_recorded(s));
}

static struct lab_dup_run dup_of(const struct rec_scen *s, const char *key, const char *name)
{
    char n[64];
    struct lab_dup_run d = {.name = name};
    snprintf(n, sizeof n, "%s_reconnect_errno", key);
    d.reconnect = -(int)rec_num(s, n);
    snprintf(n, sizeof n, "%s_old_arrived", key);
    d.arrived = (long)rec_num(s, n);
    snprintf(n, sizeof n, "%s_old_delivered", key);
    d.delivered = (long)rec_num(s, n);
    snprintf(n, sizeof n, "%s_paws_estab_added", key);
    d.paws = (long long)rec_num(s, n);
    return d;
}

TEST(recorded_old_duplicate_three_runs)
{
    const struct rec_scen *s = recorded("old-duplicate");
    CHECK(s);
    struct lab_dup_run tw = dup_of(s, "time_wait", "timestamps off, closed normally (TIME_WAIT)");
    struct lab_dup_run rst = dup_of(s, "no_time_wait",
                                    "timestamps off, SO_LINGER {1,0} (no TIME_WAIT)");
    struct lab_dup_run ts = dup_of(s, "timestamps", "timestamps on, closed normally (TIME_WAIT)");
    fresh();
    lab_judge_old_duplicate(&res, &tw, &rst, &ts);
    CHECK(as_recorded(s));
}

TEST(recorded_tw_reuse_clocks_paws_only_on_the_same_tuple)
{
    const struct rec_scen *s = recorded("tw-reuse-clocks");
    CHECK(s);
    struct lab_clocks_obs o = {
        .ip_a = "198.18.0.1", .ip_b = "198.18.0.3",
        .tsval_a = (uint32_t)rec_note_num(s, "198.18.0.1's SYN TSval "),
        .other = {.ms = rec_num(s, "new_port_connect"),
                  .paws = (long long)rec_num(s, "new_port_paws_rejected")},
        .same = {.ms = rec_num(s, "same_tuple_connect"),
                 .tsval = (uint32_t)rec_note_num(s, "198.18.0.3's "),
                 .paws = (long long)rec_num(s, "same_tuple_paws_rejected")},
        .recycle = rec_num(s, "tw_recycle_present") != 0};
    fresh();
    lab_judge_tw_reuse_clocks(&res, &o);
    CHECK(as_recorded(s));
}

/* Edge cases: what a broken run can hand a judgement. */

TEST(nothing_observed_fails_the_load_not_the_sides)
{
    struct lab_traffic_obs o = {0};
    fresh();
    lab_judge_traffic(&res, &o);
    lab_judge_tw_side(&res, &o, true);
    CHECK(!res.ok);
    CHECK_EQ_STR(res.failures, "closer load failed (exit 0)\n");
    CHECK_EQ_INT(res.nvalues, 4);
    CHECK(strstr(res.measured, "0 requests on 0 connections"));
}

TEST(time_wait_on_the_wrong_side_fails_both_expectations)
{
    struct lab_traffic_obs o = {.requests = 10, .conns = 10, .server_tw = 0, .client_tw = 10};
    fresh();
    lab_judge_tw_side(&res, &o, true);
    CHECK_EQ_STR(res.failures, "TIME_WAIT on the server: 0, expected one per connection (10)\n"
                               "TIME_WAIT on the client: 10, expected none\n");
}

TEST(http10_keepalive_that_opened_connections_fails)
{
    struct lab_traffic_obs a = {.requests = 50, .conns = 50, .server_tw = 50};
    struct lab_traffic_obs b = {.requests = 50, .conns = 50, .server_tw = 100};
    fresh();
    lab_judge_http10_plain(&res, &a);
    CHECK(res.ok);
    lab_judge_http10_keepalive(&res, &a, &b);
    CHECK_EQ_STR(res.failures, "HTTP/1.0 keep-alive: 50 connections for 50 requests, expected 1 "
                               "for 50\nHTTP/1.0 keep-alive added 50 server TIME_WAIT, expected "
                               "none\n");
}

TEST(close_wait_never_seen_fails_the_held_close)
{
    struct lab_held_obs o = {.held = 3};
    fresh();
    lab_judge_held_close(&res, &o);
    CHECK(!res.ok);
    CHECK(strstr(res.failures, "server CLOSE_WAIT 0, expected 3\n"));
    CHECK(strstr(res.failures, "server LAST_ACK 0, expected 3\n"));
    CHECK(strstr(res.failures, "client TIME_WAIT +0, expected +3\n"));
    CHECK(!strstr(res.failures, "server left with"));
}

TEST(idle_connections_never_closed_skip_the_timing_checks)
{
    struct lab_idle_obs o = {.conns = 5, .timeout_ms = 2000, .closed_min_ms = 1e9};
    fresh();
    lab_judge_idle_timeout(&res, &o);
    CHECK_EQ_STR(res.failures, "only 0 of 5 idle connections were closed by the server\n"
                               "TIME_WAIT server 0 client 0, expected 5 and 0\n");
}

TEST(idle_close_before_or_long_after_the_timeout_fails)
{
    struct lab_idle_obs o = {.conns = 2, .timeout_ms = 2000, .closed = 2, .closed_min_ms = 1985,
                             .closed_max_ms = 3600, .server_tw = 2};
    fresh();
    lab_judge_idle_timeout(&res, &o);
    CHECK_EQ_STR(res.failures, "closed after 1985 ms, before the 2000 ms timeout\n"
                               "closed after 3600 ms, long after the 2000 ms timeout\n");
}

TEST(request_cap_time_wait_that_went_backwards_fails)
{
    struct lab_cap_run c100 = {3000, 3.0, -5}, c10k = {3000, 0, 0};
    fresh();
    lab_judge_request_cap(&res, &c100, &c10k);
    CHECK_EQ_STR(res.failures, "cap 100: -5 TIME_WAIT for 3000 requests, expected 30 (+-4)\n");
    /* no duration: rates are 0, not a division by zero */
    CHECK(strstr(res.measured, "3000 requests in 0.0 s (0 req/s) -> 0 server TIME_WAIT = "
                               "0.00/s"));
}

TEST(doctor_silent_on_a_bug_fails_and_says_nothing)
{
    struct lab_bug_obs o = {.fault = "no-close", .finding = "close-wait-not-closed", .port = 8084,
                            .clients = 5, .close_wait = 5, .doctor_rc = 0, .named = -1};
    fresh();
    lab_judge_bug(&res, &o);
    CHECK(strstr(res.measured, "closer doctor (exit 0) reports nothing x-1"));
    CHECK_EQ_STR(res.failures, "no-close: doctor did not report close-wait-not-closed x5 (got -1)\n");
    CHECK_EQ_STR(res.values[0].name, "no_close_close_wait");
}

TEST(port_exhaustion_steps_fail_on_their_own_terms)
{
    struct lab_load_counts none = {0, 12, 0}, other = {0, 7, 1}, reuse = {0, 9, 0};
    fresh();
    lab_judge_port_exhaustion(&res, 0, &none);
    lab_judge_port_exhaustion(&res, 1, &other);
    lab_judge_port_exhaustion(&res, 2, &reuse);
    CHECK_EQ_STR(res.failures, "no EADDRNOTAVAIL with 10 ports and 12 connections\n"
                               "12 requests succeeded, expected at most 10 (ports)\n"
                               "to the second port: 7 ok, 1 EADDRNOTAVAIL\n"
                               "with tcp_tw_reuse=1: 9 ok, 0 EADDRNOTAVAIL\n");
}

TEST(overflow_counter_that_went_backwards_fails)
{
    struct lab_buckets_obs o = {.conns = 30, .server_tw = 5, .overflow_added = -3};
    fresh();
    lab_judge_tw_buckets(&res, &o);
    CHECK_EQ_STR(res.failures, "TCPTimeWaitOverflow +-3, expected 25\n");
}

TEST(last_ack_never_seen_and_no_reset_fail)
{
    struct lab_last_ack_obs o = {.acks_dropped = -1};
    fresh();
    lab_judge_last_ack_with_tw(&res, &o);
    lab_judge_last_ack_without_tw(&res, &o);
    CHECK(strstr(res.measured, "the server socket's error: none"));
    CHECK_EQ_STR(res.failures, "server LAST_ACK 0 retrans 0, expected 1 retransmitting\n"
                               "client TIME_WAIT 0 and -1 answered FINs, expected 1 and >= 2\n"
                               "server socket error 0, expected ECONNRESET\n"
                               "client sent 0 RST, expected >= 1\n");
}

TEST(tw_length_shortened_by_fin_timeout_would_fail)
{
    struct lab_tw_length_obs o = {
        .tw = {.n = 3, .exp_min = 4000, .exp_max = 5000},
        .fin_wait2 = {.n = 1, .exp_max = 60000},
        .fin_wait2_later = {.n = 1}};
    fresh();
    lab_judge_tw_length(&res, &o);
    CHECK_EQ_STR(res.failures, "TIME_WAIT timers 4000..5000 ms, expected near 60 s\n"
                               "TIME_WAIT gone after 6 s (0 left)\n"
                               "orphan FIN_WAIT_2 1 with 60000 ms left, expected 1 with <= 5 s\n"
                               "orphan FIN_WAIT_2 still there after 6 s\n");
}

TEST(tw_reuse_server_fewer_time_wait_than_connections_fails)
{
    fresh();
    lab_judge_tw_reuse_server(&res, 1, 100, 40, 0);
    CHECK_EQ_STR(res.failures, "tcp_tw_reuse=1: 40 TIME_WAIT for 100 connections\n");
    CHECK_EQ_STR(res.values[1].name, "tw_reuse1_new_server_time_wait");
}

TEST(tw_memory_short_pile_and_dear_time_wait_fail)
{
    struct lab_tw_memory_obs o = {.pile = 20000, .made = 100, .server_tw = 90,
                                  .tw_sock = {900, 1000}, .full_sock = {2368, 2520},
                                  .err = "connect: Cannot assign requested address"};
    fresh();
    lab_judge_tw_memory(&res, &o);
    CHECK_EQ_STR(res.failures, "only 100 of 20000 connections made: connect: Cannot assign "
                               "requested address\nTIME_WAIT 90 for 100 server-closed "
                               "connections\na TIME_WAIT socket costs 1000 bytes, not a "
                               "quarter of a full socket's 2520\n");
}

TEST(old_duplicate_without_time_wait_protection_fails)
{
    struct lab_dup_run tw = {.name = "a", .arrived = 0};
    struct lab_dup_run rst = {.name = "b", .reconnect = -EADDRNOTAVAIL, .arrived = 1,
                              .delivered = 4};
    struct lab_dup_run ts = {.name = "c", .arrived = 2};
    fresh();
    lab_judge_old_duplicate(&res, &tw, &rst, &ts);
    CHECK(strstr(res.failures, "TIME_WAIT let the same 4-tuple connect again (no error)\n"));
    CHECK(strstr(res.failures, "without TIME_WAIT the new connection failed (Cannot assign "
                               "requested address)\n"));
    CHECK(strstr(res.failures, "arrived 0, 1, 2 times, not once each\n"));
    CHECK(strstr(res.failures, "PAWSEstab +0, expected"));
    CHECK(strstr(res.failures, "bytes reached the new connection (4, 0)\n"));
    CHECK(strstr(res.measured, "b: the new connection on the same 4-tuple: connect() Cannot "
                               "assign requested address; the old duplicate arrived 1 time "));
    CHECK(strstr(res.measured, "c: the new connection on the same 4-tuple opened at once; the "
                               "old duplicate arrived 2 times,"));
}

TEST(clock_behind_without_paws_and_recycle_present_fail)
{
    struct lab_clocks_obs o = {.ip_a = "a", .ip_b = "b", .tsval_a = 1000,
                               .same = {.tsval = 400, .err = ECONNREFUSED},
                               .other = {.paws = 1}, .recycle = true};
    fresh();
    lab_judge_tw_reuse_clocks(&res, &o);
    CHECK(strstr(res.measured, "a's SYN TSval 1000, b's 400: 600 ms behind\n"));
    CHECK(strstr(res.measured, "tcp_tw_recycle: present\n"));
    CHECK(strstr(res.failures, "refused on a new port (Success, PAWS +1)\n"));
    CHECK(strstr(res.failures, "connect() failed: Connection refused\n"));
    CHECK(strstr(res.failures, "a SYN 600 ms behind"));
    CHECK(strstr(res.failures, "tcp_tw_recycle exists on this kernel\n"));
    /* a clock ahead needs no PAWS */
    o.same.tsval = 1600;
    o.same.err = 0;
    o.other.paws = 0;
    o.recycle = false;
    fresh();
    lab_judge_tw_reuse_clocks(&res, &o);
    CHECK(res.ok);
    CHECK(strstr(res.measured, "600 ms ahead"));
}

TEST(linger_zero_eof_instead_of_reset_fails)
{
    struct lab_linger_obs o = {.requests = 4, .responses = 3, .econnreset = 1, .eof = 3,
                               .resets_added = -2, .server_tw = 3};
    fresh();
    lab_judge_linger_zero(&res, &o);
    CHECK(strstr(res.measured, "client EstabResets +-2\n"));
    CHECK_EQ_STR(res.failures, "TIME_WAIT left: server 3, client 0\n"
                               "ECONNRESET seen 1 times of 4\n"
                               "only 3 responses of 4 arrived before the RST\n");
}

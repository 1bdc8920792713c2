/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "catalog/catalog.h"
#include "doctor/rules_trace.h"
#include "test.h"

static size_t count_id(const struct doctor_report *r, const char *id)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += !strcmp(r->items[i].id, id);
    return n;
}

TEST(slow_close_and_resets_only_above_their_thresholds)
{
    struct measured_close rows[3] = {
        {.port = 8080, .accepted = true, .pid = 10, .comm = "srv", .closes = 100, .local_first = 100},
        {.port = 9000, .accepted = true, .pid = 11, .comm = "py", .closes = 2, .peer_first = 2,
         .fin_to_close_n = 2, .fin_to_close_p50_ms = 2000, .fin_to_close_p99_ms = 2001,
         .fin_to_close_max_ms = 2001},
        {.port = 8081, .accepted = true, .pid = 12, .comm = "lz", .closes = 10, .reset = 10, .rst_sent = 10,
         .rst_reasons = "TCP_STATE 10"},
    };
    struct measured_closes m = {.seconds = 5, .rows = rows, .n = 3};
    struct doctor_report r = {0};
    CHECK_EQ_INT(rules_trace(&m, &r), 0);
    CHECK_EQ_INT(count_id(&r, "trace-who-closes"), 3);
    CHECK_EQ_INT(count_id(&r, "trace-slow-close"), 1);
    CHECK_EQ_INT(count_id(&r, "trace-resets"), 1);
    CHECK_EQ_INT(count_id(&r, "trace-lost-events"), 0);
    CHECK_EQ_INT(r.items[0].severity, SEV_WARNING); /* worst first */
    for (size_t i = 0; i < r.n; i++)
        if (!strcmp(r.items[i].id, "trace-slow-close"))
            CHECK_EQ_INT(r.items[i].pid, 11);
        else if (!strcmp(r.items[i].id, "trace-resets"))
            CHECK(strstr(r.items[i].why, "TCP_STATE 10") != NULL);
    doctor_report_free(&r);

    rows[1].fin_to_close_p99_ms = 999; /* below 1 s: no warning */
    rows[2].closes = 200;              /* 5 % resets: not a finding of its own */
    m.lost_events = 7;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(rules_trace(&m, &r), 0);
    CHECK_EQ_INT(count_id(&r, "trace-slow-close"), 0);
    CHECK_EQ_INT(count_id(&r, "trace-resets"), 0);
    CHECK_EQ_INT(count_id(&r, "trace-lost-events"), 1);
    doctor_report_free(&r);
}

/* A count of one reads in the singular: "1 connection", "1 trace event". */
TEST(counts_of_one_are_singular)
{
    struct measured_close rows[1] = {
        {.port = 9000, .accepted = true, .pid = 11, .comm = "py", .closes = 1, .peer_first = 1,
         .rst_received = 1, .fin_to_close_n = 1, .fin_to_close_p50_ms = 2000,
         .fin_to_close_p99_ms = 2000, .fin_to_close_max_ms = 2000},
    };
    struct measured_closes m = {.seconds = 5, .rows = rows, .n = 1, .lost_events = 1};
    struct doctor_report r = {0};
    CHECK_EQ_INT(rules_trace(&m, &r), 0);
    CHECK_EQ_INT(r.n, 4);
    for (size_t i = 0; i < r.n; i++) {
        const char *t = r.items[i].title;
        CHECK(!strstr(t, " 1 connections") && !strstr(t, " 1 trace events") &&
              !strstr(t, "1 of 1 connections"));
        CHECK(strstr(t, " 1 connection") || strstr(t, " 1 trace event") ||
              strstr(t, "1 of 1 connection"));
    }
    doctor_report_free(&r);
}

/* A client TIME_WAIT pile nobody holds: the trace names who closed first
 * towards that port; a finding that already names its program is kept. */
TEST(trace_names_the_closer_of_an_ownerless_client_pile)
{
    struct measured_close rows[2] = {
        {.port = 5432, .outgoing = true, .pid = 77, .comm = "pgbench", .closes = 900,
         .local_first = 900, .tw_here = 900},
        {.port = 5432, .outgoing = true, .pid = 78, .comm = "python3", .closes = 3, .peer_first = 3},
    };
    struct measured_closes m = {.seconds = 3, .rows = rows, .n = 2};
    struct doctor_report r = {0};
    struct finding *f = doctor_add(&r, F_CLIENT_PORT_PRESSURE, SEV_WARNING);
    uint8_t lo[16] = {127, 0, 0, 1};
    finding_endpoint_set(&f->dest_ep, 2 /* AF_INET */, lo, 5432);
    f->protocol = "postgresql";
    snprintf(f->fix, sizeof f->fix, "%s tcp_tw_reuse=0: no reuse.",
             catalog_knob(catalog_runtime_program(CR_NATIVE), P_POSTGRESQL, K_CLIENT_REUSE));
    struct finding *named = doctor_add(&r, F_CLIENT_PORT_PRESSURE, SEV_WARNING);
    finding_endpoint_set(&named->dest_ep, 2, lo, 5432);
    named->pid = 5;
    CHECK_EQ_INT(rules_trace(&m, &r), 0);
    for (size_t i = 0; i < r.n; i++) {
        const struct finding *x = &r.items[i];
        if (strcmp(x->id, "client-port-pressure"))
            continue;
        if (x->pid == 5)
            continue; /* kept */
        CHECK_EQ_INT(x->pid, 77);
        CHECK_EQ_STR(x->comm, "pgbench");
        CHECK_EQ_STR(x->program, "pgbench");
        CHECK(strstr(x->why, "The trace saw pid 77 (pgbench) close 900 connections to port 5432"));
        CHECK(strstr(x->fix, "pgbench -C opens a connection per transaction"));
        CHECK(strstr(x->fix, "tcp_tw_reuse=0: no reuse."));
    }
    doctor_report_free(&r);
}

/* SPDX-License-Identifier: MIT */
/* The scenarios' shared steps and result helpers (lab/registry.c) where
 * they need no namespace: named values, text that outgrows its buffer, and
 * a closer load whose client namespace cannot be entered (its events and
 * its script line are still recorded). */
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"
#include "test.h"

static struct lab_result res;
static struct lab_env env;

static void fresh(void)
{
    memset(&res, 0, sizeof res);
    res.ok = true;
}

TEST(values_take_the_prefix_and_snake_case)
{
    fresh();
    lab_value(&res, "no-accept_close_wait", 5, "sockets");
    snprintf(res.value_prefix, sizeof res.value_prefix, "http10_plain_");
    lab_value(&res, "requests", 50, "requests");
    CHECK_EQ_INT(res.nvalues, 2);
    CHECK_EQ_STR(res.values[0].name, "no_accept_close_wait");
    CHECK_EQ_STR(res.values[1].name, "http10_plain_requests");
    CHECK_EQ_STR(res.values[1].unit, "requests");
    CHECK(res.values[1].value == 50);
}

TEST(values_beyond_the_table_are_dropped)
{
    fresh();
    for (int i = 0; i < LAB_MAX_VALUES + 5; i++)
        lab_value(&res, "v", i, "events");
    CHECK_EQ_INT(res.nvalues, LAB_MAX_VALUES);
    CHECK(res.values[LAB_MAX_VALUES - 1].value == LAB_MAX_VALUES - 1);
}

TEST(measured_text_that_outgrows_its_buffer_stays_terminated)
{
    fresh();
    char line[500];
    memset(line, 'm', sizeof line - 1);
    line[sizeof line - 1] = 0;
    for (int i = 0; i < 10; i++) {
        lab_measured(&res, "%s", line);
        lab_expect(&res, false, "%s", line);
    }
    CHECK(!res.ok);
    CHECK_EQ_INT(strlen(res.measured), res.measured_len);
    CHECK(res.measured_len <= sizeof res.measured - 1);
    CHECK(res.measured[res.measured_len - 1] == '\n');
    CHECK_EQ_INT(strlen(res.failures), res.failures_len);
    CHECK(res.failures[res.failures_len - 1] == '\n');
}

TEST(load_marks_its_options_and_records_its_command)
{
    memset(&env, 0, sizeof env);
    env.nsfd[0] = env.nsfd[1] = env.home_fd = -1;
    snprintf(env.ns[LAB_CLIENT], sizeof env.ns[LAB_CLIENT], "lab-c");
    const char *args[] = {LAB_URL, "-n", "5", "--close-header", NULL};
    char out[64] = "stale";
    CHECK_EQ_INT(lab_load(&env, args, out, sizeof out), 126); /* no namespace to enter */
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(env.nmarks, 2);
    CHECK_EQ_STR(env.marks[0].label, "load -n 5 --close-header");
    CHECK_EQ_STR(env.marks[1].label, "load done");
    CHECK_EQ_STR(env.setup, "ip netns exec lab-c closer load --json http://198.18.0.2:8080/ -n 5 "
                            "--close-header || true  # exit 126 in the lab too\n");
}

TEST(every_scenario_states_its_claim_and_corrections_end_in_a_period)
{
    for (size_t i = 0; i < lab_nscenarios; i++) {
        const struct lab_scenario *sc = &lab_scenarios[i];
        CHECK(strlen(sc->claim) > 20 && sc->claim[strlen(sc->claim) - 1] == '.');
        CHECK(!sc->truth || sc->truth[strlen(sc->truth) - 1] == '.');
    }
}

/* SPDX-License-Identifier: MIT */
/* The scenarios' error convention (lab/lab.h) where no namespace is
 * needed: a scenario whose first harness step fails (here: its namespaces
 * cannot be entered) returns -1 with the reason in e->err, and has measured
 * nothing and judged nothing. The scenarios that start with a sysctl or a
 * listener of their own; those that start with closer serve wait 5 s for
 * it and are left to tests/lab.sh. */
#include <string.h>

#include "lab/scenarios.h"
#include "test.h"

static struct lab_env env;
static struct lab_result res;

static const char *const first_step_fails[] = {
    "port-exhaustion", "tw-buckets", "lost-last-ack", "tw-length", "tw-reuse-server",
    "tw-memory", "old-duplicate", "tw-reuse-clocks",
};

TEST(scenario_whose_namespace_cannot_be_entered_fails_with_the_reason)
{
    for (size_t i = 0; i < sizeof first_step_fails / sizeof first_step_fails[0]; i++) {
        const struct lab_scenario *sc = lab_find(first_step_fails[i]);
        CHECK(sc);
        memset(&env, 0, sizeof env);
        env.nsfd[0] = env.nsfd[1] = env.home_fd = -1;
        snprintf(env.ns[LAB_CLIENT], sizeof env.ns[LAB_CLIENT], "lab-c");
        snprintf(env.ns[LAB_SERVER], sizeof env.ns[LAB_SERVER], "lab-s");
        memset(&res, 0, sizeof res);
        res.ok = true;
        if (sc->run(&env, &res) != -1 || strncmp(env.err, "setns lab-", 10)) {
            printf("    %s: err '%s'\n", sc->name, env.err);
            CHECK(false);
        }
        CHECK(res.ok);
        CHECK_EQ_INT(res.measured_len + res.failures_len + res.nvalues, 0);
        CHECK_EQ_INT(env.npids, 0);
    }
}

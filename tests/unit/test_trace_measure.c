/* SPDX-License-Identifier: MIT */
/* closer doctor --trace's measurement (trace/measure.c) where no session
 * can open: -1 with the reason and an empty result, nothing to free. */
#include "test.h"
#include "doctor/rules_trace.h"
#include "trace/measure.h"

TEST(no_session_empty_result)
{
    struct measured_closes m;
    memset(&m, 0xa5, sizeof m);
    char err[512] = "";
    CHECK_EQ_INT(trace_measure("/nonexistent", 100, &m, err, sizeof err), -1);
    CHECK(err[0] != 0);
    CHECK(m.rows == NULL && m.n == 0 && m.lives == NULL);
}

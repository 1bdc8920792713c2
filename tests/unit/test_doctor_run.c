/* SPDX-License-Identifier: MIT */
/* closer doctor behind its options (doctor/run.c) over a recorded dump:
 * the report's exit status, text and JSON, the measured closes of --trace
 * taken in, errors in err. */
#include <stdlib.h>

#include "doctor/rules_trace.h"
#include "doctor/run.h"
#include "test.h"

#define DUMP "tests/data/closewait_requests.diag"

static int run(struct doctor_req *q, char **text, char *err, size_t errlen)
{
    size_t len = 0;
    FILE *out = open_memstream(text, &len);
    int rc = doctor_run(q, out, err, errlen);
    fclose(out);
    return rc;
}

static struct doctor_req replay(const char *path)
{
    return (struct doctor_req){.snap = {.replay = path}, .opts = doctor_default_opts()};
}

TEST(close_wait_leak_is_a_warning)
{
    struct doctor_req q = replay(DUMP);
    char *text = NULL, err[256] = "";
    CHECK_EQ_INT(run(&q, &text, err, sizeof err), 1);
    CHECK(strstr(text, "CLOSE_WAIT"));
    CHECK(q.view.netns == NULL); /* no name of a replay left behind */
    free(text);
}

TEST(json_report)
{
    struct doctor_req q = replay(DUMP);
    q.json = true;
    char *text = NULL, err[256] = "";
    CHECK_EQ_INT(run(&q, &text, err, sizeof err), 1);
    CHECK(!strncmp(text, "{\"schema\":\"closer.doctor/1\"", 27));
    CHECK(strstr(text, "\"sockets\":9"));
    free(text);
}

TEST(measured_closes_are_taken_in)
{
    struct doctor_req q = replay(DUMP);
    struct measured_closes m = {0};
    q.opts.measured = &m; /* a trace that saw nothing still runs its rules */
    char *text = NULL, err[256] = "";
    CHECK_EQ_INT(run(&q, &text, err, sizeof err), 1);
    free(text);
}

TEST(an_unreadable_dump_is_an_error)
{
    struct doctor_req q = replay("tests/data/no-such.dump");
    char *text = NULL, err[256] = "";
    CHECK_EQ_INT(run(&q, &text, err, sizeof err), -1);
    CHECK(err[0]);
    CHECK_EQ_STR(text, "");
    free(text);
}

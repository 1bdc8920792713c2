/* SPDX-License-Identifier: MIT */
/* closer top's run (export/top_run.c) in batch mode, this namespace, no
 * root: stdout goes to a file for the run, then its lines are counted and
 * read. Intervals of 100 ms; nothing asserts on time. */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "export/top_run.h"

static char out[1 << 16];

/* Runs top_run with stdout in a temporary file; out gets what it printed. */
static int run(const struct top_opts *o, char *err, size_t errlen)
{
    char path[] = "/tmp/closer-test-top-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
    if (fd < 0 || saved < 0)
        return -99;
    unlink(path);
    fflush(stdout);
    dup2(fd, STDOUT_FILENO);
    int rc = top_run(o, err, errlen);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    out[n > 0 ? n : 0] = 0;
    close(fd);
    return rc;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static struct top_opts batch(void)
{
    return (struct top_opts){.interval_ms = 100, .iterations = 2, .batch = true, .color = "never",
                             .view = {.sort_state = TS_TIME_WAIT}};
}

TEST(batch_prints_a_header_and_a_line_per_interval)
{
    struct top_opts o = batch();
    char err[256] = "x";
    CHECK_EQ_INT(run(&o, err, sizeof err), 0);
    CHECK_EQ_INT(lines(out), 3);
    CHECK(!strncmp(out, "time ", 5) && strstr(out, "time_wait") && strstr(out, "close_wait"));
}

TEST(json_is_one_object_per_interval_without_header)
{
    struct top_opts o = batch();
    o.json = true;
    o.batch = false; /* JSON alone means batch */
    char err[256];
    CHECK_EQ_INT(run(&o, err, sizeof err), 0);
    CHECK_EQ_INT(lines(out), 2);
    CHECK(!strncmp(out, "{\"schema\":\"closer.top/1\"", 24));
    /* the second has the changes per second, the first null */
    CHECK(strstr(out, "\"time_wait_change_per_s\":null") != NULL);
    CHECK(strstr(strchr(out, '\n'), "\"time_wait_change_per_s\":null") == NULL);
}

TEST(duration_becomes_iterations_unless_given)
{
    struct top_opts o = batch();
    o.iterations = 0;
    o.duration_ms = 250; /* 250 / 100: two intervals */
    char err[256];
    CHECK_EQ_INT(run(&o, err, sizeof err), 0);
    CHECK_EQ_INT(lines(out), 3);
    o = batch();
    o.iterations = 1;
    o.duration_ms = 60000; /* -n wins */
    CHECK_EQ_INT(run(&o, err, sizeof err), 0);
    CHECK_EQ_INT(lines(out), 2);
    o = batch();
    o.iterations = 0;
    o.duration_ms = 50; /* shorter than one interval: still one */
    CHECK_EQ_INT(run(&o, err, sizeof err), 0);
    CHECK_EQ_INT(lines(out), 2);
}

TEST(a_namespace_it_cannot_enter_prints_nothing)
{
    struct top_opts o = batch();
    o.netns = "/nonexistent";
    char err[256] = "";
    CHECK_EQ_INT(run(&o, err, sizeof err), -1);
    CHECK(strstr(err, "/nonexistent") != NULL);
    CHECK_EQ_STR(out, "");
}

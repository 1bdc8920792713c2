/* SPDX-License-Identifier: MIT */
/* The unit-test runner itself (tests/lib/test.c): a typo in a test name or
 * a registry over capacity must fail the binary, never look like a pass.
 * Each case runs test_run in a child whose output is captured. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static void noop(void) {}

TEST(noop_passes) {}

/* Runs fill extra registrations, then test_run(name) in a child; returns
 * its exit status (-1 if it did not exit) and its output in out. */
static int run_child(const char *name, int fill, char *out, size_t cap)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        for (int i = 0; i < fill; i++)
            test_register("filler", noop);
        char *argv[] = {"test_runner", (char *)name, NULL};
        exit(test_run(2, argv));
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(a_named_test_runs_alone)
{
    static char out[1 << 16];
    CHECK_EQ_INT(run_child("noop_passes", 0, out, sizeof out), 0);
    CHECK_EQ_STR(out, "PASS noop_passes\n");
}

TEST(unknown_test_name_fails)
{
    static char out[1 << 16];
    CHECK_EQ_INT(run_child("no_such_test", 0, out, sizeof out), 1);
    CHECK(strstr(out, "FAIL no_such_test: no such test") != NULL);
}

TEST(registration_over_capacity_fails)
{
    static char out[1 << 16];
    CHECK_EQ_INT(run_child("noop_passes", TEST_MAX, out, sizeof out), 1);
    CHECK(strstr(out, "FAIL registry:") != NULL);
    CHECK(strstr(out, "PASS noop_passes\n") != NULL);
}

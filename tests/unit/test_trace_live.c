/* SPDX-License-Identifier: MIT */
/* closer trace's run (trace/live.c) where no session can open, root or
 * not: a tracefs without the tracepoints (root) or no privilege (not root)
 * gives -1 with the reason, and nothing on stdout. */
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "trace/live.h"

TEST(no_session_no_output)
{
    char path[] = "/tmp/closer-test-live-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
    CHECK(fd >= 0 && saved >= 0);
    unlink(path);
    fflush(stdout);
    dup2(fd, STDOUT_FILENO);
    struct trace_opts o = {.tracefs = "/nonexistent"};
    struct trace_live_opts lo = {.duration_ms = 100, .json = true, .stream = true, .header = true};
    char err[512] = "";
    int rc = trace_live(&o, &lo, err, sizeof err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    CHECK_EQ_INT(rc, -1);
    CHECK(err[0] != 0);
    CHECK_EQ_INT(size, 0);
}

/* SPDX-License-Identifier: MIT */
/* Reading tracepoint formats from a tracefs directory (trace/tracefs.h):
 * the format files of a real kernel (tests/data/trace/tracefs), a missing
 * event, an unreadable path, a file larger than the first read, and
 * locating tracefs, which needs root only to mount one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "trace/decode.h"
#include "trace/tracefs.h"

#define TRACEFS "tests/data/trace/tracefs"

TEST(reads_the_three_tracepoints_of_a_real_kernel)
{
    static const char *const ev[3][2] = {
        {"sock", "inet_sock_set_state"}, {"tcp", "tcp_send_reset"}, {"tcp", "tcp_receive_reset"}};
    static const unsigned ids[3] = {2287, 2280, 2279};
    struct tp_format f;
    struct tp_layout l;
    char err[256] = "";
    for (int k = 0; k < 3; k++) {
        CHECK_EQ_INT(tracefs_read_format(TRACEFS, ev[k][0], ev[k][1], &f, err, sizeof err), 0);
        CHECK_EQ_STR(f.name, ev[k][1]);
        CHECK_EQ_INT(f.id, ids[k]);
        CHECK_EQ_INT(tev_layout(&f, k, &l, err, sizeof err), 0);
        CHECK_EQ_INT(l.id, ids[k]);
    }
    /* tcp_send_reset's print fmt names the reasons */
    CHECK_EQ_INT(tracefs_read_format(TRACEFS, "tcp", "tcp_send_reset", &f, err, sizeof err), 0);
    CHECK_EQ_STR(tp_reason_name(&f, 1), "NO_SOCKET");
    CHECK_EQ_STR(tp_reason_name(&f, 14), "TCP_STATE");
    CHECK_EQ_INT(tracefs_read_format(TRACEFS, "irq", "softirq_entry", &f, err, sizeof err), 0);
    CHECK_EQ_INT(f.id, 223);
    CHECK(tp_field(&f, "vec") != NULL);
}

/* Every format under tcp/ of that kernel parses, with its common fields. */
TEST(parses_every_tcp_format_of_a_real_kernel)
{
    static const char *const tcp[] = {
        "tcp_ao_handshake_failure", "tcp_bad_csum", "tcp_cong_state_set", "tcp_destroy_sock",
        "tcp_hash_ao_required", "tcp_hash_bad_header", "tcp_hash_md5_mismatch", "tcp_hash_md5_required",
        "tcp_hash_md5_unexpected", "tcp_probe", "tcp_rcv_space_adjust", "tcp_rcvbuf_grow",
        "tcp_receive_reset", "tcp_retransmit_skb", "tcp_retransmit_synack", "tcp_send_reset",
        "tcp_sendmsg_locked"};
    static struct tp_format f;
    char err[256] = "";
    for (size_t i = 0; i < sizeof tcp / sizeof tcp[0]; i++) {
        CHECK_EQ_INT(tracefs_read_format(TRACEFS, "tcp", tcp[i], &f, err, sizeof err), 0);
        CHECK_EQ_STR(f.name, tcp[i]);
        CHECK(f.id > 0);
        const struct tp_field *ct = tp_field(&f, "common_type");
        CHECK(ct && ct->offset == 0 && ct->size == 2);
        CHECK(f.nfields > 4);
    }
}

TEST(a_missing_event_is_named)
{
    struct tp_format f;
    char err[256] = "";
    CHECK_EQ_INT(tracefs_read_format(TRACEFS, "tcp", "tcp_no_such_event", &f, err, sizeof err), -1);
    CHECK(strstr(err, "this kernel lacks the tracepoint tcp:tcp_no_such_event (") == err);
    /* a tracefs path that is a file: not "missing", unreadable */
    CHECK_EQ_INT(tracefs_read_format(TRACEFS "/events/irq/softirq_entry/format", "a", "b", &f, err, sizeof err),
                 -1);
    CHECK(strstr(err, "cannot read ") == err);
    CHECK(strstr(err, "Not a directory") != NULL);
    /* a format path that is a directory reads as empty: no format */
    CHECK_EQ_INT(tracefs_read_format(TRACEFS "/..", "tracefs", "events", &f, err, sizeof err), -1);
}

/* text after a line of `pad` bytes the parser does not read */
static int write_file(const char *path, size_t pad, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("comment: ", f);
    for (size_t i = 0; i < pad; i++)
        fputc('x', f);
    fputs("\n", f);
    fputs(text, f);
    return fclose(f);
}

/* A format longer than the first 8 KiB read: its ID and fields after. */
TEST(reads_a_format_longer_than_one_read)
{
    char dir[] = "/tmp/closer-test-tracefs-XXXXXX", path[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/events", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/events/big", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/events/big/ev", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/events/big/ev/format", dir);
    CHECK(write_file(path, 40000, "name: ev\nID: 77\nformat:\n"
                                  "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                                  "\tfield:int x;\toffset:8;\tsize:4;\tsigned:1;\n\n"
                                  "print fmt: \"x=%d\", REC->x\n") == 0);
    struct tp_format f;
    char err[256] = "";
    int rc = tracefs_read_format(dir, "big", "ev", &f, err, sizeof err);
    unlink(path);
    snprintf(path, sizeof path, "%s/events/big/ev", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/events/big", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/events", dir);
    rmdir(path);
    rmdir(dir);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(f.id, 77);
    CHECK(tp_field(&f, "x") && tp_field(&f, "x")->is_signed);
}

TEST(a_given_directory_is_used_as_it_is)
{
    char out[64], err[64];
    CHECK_EQ_INT(tracefs_locate(TRACEFS, out, sizeof out, err, sizeof err), 0);
    CHECK_EQ_STR(out, TRACEFS);
    /* only a mount point closer made is removed */
    tracefs_done(TRACEFS);
    struct stat st;
    CHECK(stat(TRACEFS, &st) == 0);
    char tmp[] = "/tmp/closer-tracefs-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    tracefs_done(tmp); /* not mounted: left alone */
    CHECK(stat(tmp, &st) == 0);
    rmdir(tmp);
}

/* Where tracefs is: mounted, or a private mount made (root), or an error
 * saying why not (no root). In a child: a private mount namespace is the
 * calling process's for good. */
TEST(locates_tracefs_or_says_why_not)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char out[512] = "", err[512] = "", msg[1100];
        int rc = tracefs_locate(NULL, out, sizeof out, err, sizeof err);
        struct stat st;
        char ev[600];
        snprintf(ev, sizeof ev, "%s/events", out);
        int n = snprintf(msg, sizeof msg, "%d %d %s", rc, rc == 0 && stat(ev, &st) == 0, rc == 0 ? out : err);
        if (write(p[1], msg, (size_t)n) < 0)
            exit(2);
        if (rc == 0)
            tracefs_done(out);
        exit(0); /* exit, not _exit: the coverage counters are written */
    }
    close(p[1]);
    char msg[1100] = "";
    ssize_t n = read(p[0], msg, sizeof msg - 1);
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(n > 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int rc = 0, has_events = 0, off = 0;
    CHECK(sscanf(msg, "%d %d %n", &rc, &has_events, &off) == 2);
    if (rc == 0)
        CHECK(has_events);
    else
        CHECK(strstr(msg + off, "tracefs") != NULL);
}

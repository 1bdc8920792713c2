/* SPDX-License-Identifier: MIT */
/* FILE.owners: what is recorded comes back the same (bytes that need
 * escaping, non-UTF-8, a found destination owner), and a malformed file is
 * refused with a message, never half-loaded. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "snapshot/owners_rec.h"
#include "snapshot/snapshot.h"
#include "test.h"

static char path[] = "/tmp/closer-test-owners-XXXXXX";

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

TEST(record_then_replay_is_the_same)
{
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct tcp_sock sock = {.family = AF_INET, .state = TS_ESTABLISHED, .inode = 42};
    struct proc_info procs[2] = {{.pid = 7, .uid = 1000, .nfds = 3, .nsockets = 1, .nepoll = 1,
                                  .fd_limit = 1024},
                                 {.pid = 8}};
    snprintf(procs[0].comm, sizeof procs[0].comm, "a\tb\\c");
    procs[0].model.read = true;
    snprintf(procs[0].model.cmdline, sizeof procs[0].model.cmdline, "py \xff\xfe x\ny");
    snprintf(procs[0].model.libs, sizeof procs[0].model.libs, ";libpq;");
    proctask_count_wait(&procs[0].model, "do_epoll_wait");
    proctask_count_wait(&procs[0].model, "do_epoll_wait");
    struct fd_ref fds[2] = {{.inode = 42, .pid = 7, .fd = 5, .proc = 0, .polled = true},
                            {.inode = 99, .pid = 8, .fd = 3, .proc = 1}}; /* not this table's */
    struct dest_owner dest = {.family = AF_INET, .dst = {127, 0, 0, 1}, .dport = 8080, .pid = 7,
                              .proc = 0, .sockets = 4, .looks = 9};
    struct snapshot s = {.socks = &sock, .nsocks = 1, .procs = procs, .nprocs = 2, .fds = fds,
                         .nfds = 2, .dest_owners = &dest, .ndest_owners = 1};
    CHECK_EQ_INT(owners_record(&s, path), 0);
    struct snapshot r = {0};
    char err[256];
    CHECK_EQ_INT(owners_replay(&r, path, err, sizeof err), 0);
    CHECK_EQ_INT(r.nprocs, 1); /* only the owner of this table's socket */
    CHECK_EQ_INT(r.nfds, 1);
    CHECK_EQ_STR(r.procs[0].comm, "a\tb\\c");
    CHECK_EQ_STR(r.procs[0].model.cmdline, "py \xff\xfe x\ny");
    CHECK_EQ_STR(r.procs[0].model.libs, ";libpq;");
    CHECK_EQ_INT(r.procs[0].model.nthreads, 2);
    CHECK_EQ_STR(r.procs[0].model.waits[0].wchan, "do_epoll_wait");
    CHECK(r.fds[0].polled && r.fds[0].fd == 5 && r.fds[0].pid == 7);
    CHECK_EQ_INT(r.ndest_owners, 1);
    CHECK(r.dest_owners[0].dport == 8080 && r.dest_owners[0].sockets == 4 &&
          r.dest_owners[0].dst[0] == 127 && r.dest_owners[0].pid == 7);
    CHECK(r.owners_read);
    free(r.procs);
    free(r.fds);
    free(r.dest_owners);
}

TEST(malformed_files_are_refused)
{
    static const char *const bad[] = {
        "",
        "closer-owners 2\n",
        "closer-owners 1\nproc\t1\n",
        "closer-owners 1\nfd\t1\t0\t3\t0\n", /* no process 0 */
        "closer-owners 1\nproc\t-4\t0\t1\t1\t0\t1024\tx\t1\t0\te\tc\t\t\t0\n",
        "closer-owners 1\nproc\t4\t0\t1\t1\t0\t1024\tx\t1\t0\te\tc\t\tw=1,x\t1\n",
        "closer-owners 1\nproc\t4\t0\t1\t1\t0\t1024\tx\t1\t0\te\tc\t\t\t0\n"
        "dest\t2\t7f00\t80\t0\t1\t1\n", /* short address */
        "closer-owners 1\nproc\t4\t0\t1\t1\t0\t1024\tx\t1\t0\te\tc\t\t\t0\n"
        "dest\t2\t7f000001000000000000000000000000\t70000\t0\t1\t1\n",
        "closer-owners 1\nsomething else\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(bad[i]);
        struct snapshot r = {0};
        char err[256] = "";
        int rc = owners_replay(&r, path, err, sizeof err);
        if (rc != -1)
            fprintf(stderr, "case %zu accepted\n", i);
        CHECK_EQ_INT(rc, -1);
        CHECK(strstr(err, "not a closer owners recording") != NULL);
        free(r.procs);
        free(r.fds);
        free(r.dest_owners);
    }
    struct snapshot r = {0};
    char err[64];
    unlink(path);
    CHECK_EQ_INT(owners_replay(&r, path, err, sizeof err), 1); /* none: owners unknown */
}

/* SPDX-License-Identifier: MIT */
/* The --all-netns text report: counts of one are singular. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/multi.h"
#include "test.h"

TEST(counts_of_one_are_singular)
{
    static struct tcp_sock sock = {.family = AF_INET, .state = TS_LISTEN, .sport = 80};
    struct netns_entry e = {.inode = 4026532001, .pid = 1, .nprocs = 1, .comm = "init"};
    struct ns_snapshot ns = {.ns = &e, .ok = true};
    ns.snap.socks = &sock;
    ns.snap.nsocks = 1;
    struct ns_report nr = {.ns = &ns, .worst = SEV_WARNING, .label = "4026532001 (init)"};
    struct doctor_multi d = {.items = &nr, .n = 1, .sockets = 1, .entered = 1, .procs_hidden = 1};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(out);
    struct doctor_view v = {0};
    doctor_print_multi_text(out, &d, &v);
    fclose(out);
    bool ok = strstr(text, "1 found, 1 entered, 1 TCP socket, ") &&
              strstr(text, "the network namespace of 1 process (") &&
              !strstr(text, "1 TCP sockets") && !strstr(text, "1 processes");
    if (!ok)
        fprintf(stderr, "%s", text);
    free(text);
    CHECK(ok);
}

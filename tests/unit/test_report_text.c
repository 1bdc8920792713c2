/* SPDX-License-Identifier: MIT */
/* The text report's header: the namespace's name (escaped: /run/netns
 * names are bytes) and the socket count, singular when it is one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor/doctor.h"
#include "test.h"

static char *render(const struct snapshot *s, const char *netns)
{
    struct doctor_report r = {0};
    struct doctor_opts o = doctor_default_opts();
    if (doctor_analyze(s, &o, &r) < 0)
        abort();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        abort();
    struct doctor_view v = {.netns = netns};
    doctor_print_text(out, s, &r, &v);
    fclose(out);
    doctor_report_free(&r);
    return text;
}

TEST(header_names_the_namespace_and_counts_one_socket)
{
    static struct tcp_sock sock = {.family = AF_INET, .state = TS_LISTEN, .sport = 80};
    struct snapshot s = {.socks = &sock, .nsocks = 1};
    s.sys = (struct sysctls){.fin_timeout = 60, .tw_reuse = 2, .timestamps = 1, .syncookies = 1,
                             .port_lo = 32768, .port_hi = 60999, .tw_recycle = -1};
    snapshot_reindex(&s);
    char *text = render(&s, "blue\x1b[2J");
    bool ok = !strncmp(text, "closer doctor — network namespace blue\\x1b[2J, 1 TCP socket via ",
                       strlen("closer doctor — network namespace blue\\x1b[2J, 1 TCP socket via "));
    if (!ok)
        fprintf(stderr, "%.200s\n", text);
    free(text);
    CHECK(ok);
    text = render(&s, NULL);
    ok = strstr(text, "network namespace (current), 1 TCP socket via ") != NULL;
    free(text);
    CHECK(ok);
}

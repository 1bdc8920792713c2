/* SPDX-License-Identifier: MIT */
/* closer states: the TCP socket table, like `ss -tan`, with owners, timers
 * and the reason a socket has no owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd/cmd.h"
#include "doctor/states_run.h"
#include "util/cli.h"
#include "util/optab.h"
#include "util/parse.h"

/* Every option once: parsed, and printed by --help (man page and shell
 * completion are generated from that text). */
static const struct optab states_opts[] = {
    {"state", 0, "LIST", 'T', "only these states, comma-separated ss names:\n"
                              "established syn-sent syn-recv fin-wait-1 fin-wait-2\n"
                              "time-wait close-wait last-ack listening closing\n"
                              "unconnected; groups: all connected synchronized\n"
                              "bucket big"},
    {"sport", 0, "PORT", 'S', "local port (PORT or :PORT)"},
    {"dport", 0, "PORT", 'D', "peer port (PORT or :PORT)"},
    {"listening", 'l', NULL, 'l', "only listening sockets"},
    {NULL, '4', NULL, '4', "only IPv4 / only IPv6"},
    {NULL, '6', NULL, '6', NULL},
    {"processes", 'p', NULL, 'p', "show owning processes (pid, comm, fd)"},
    {"extended", 'e', NULL, 'e', "show uid and inode"},
    {"info", 'i', NULL, 'i', "tcp_info under each socket, as ss -i prints it\n"
                             "(congestion control, rtt, cwnd, bytes, ...)"},
    {"memory", 'm', NULL, 'm', "socket memory under each socket, as ss -m:\n"
                               "skmem:(r,rb,t,tb,f,w,o,bl,d)"},
    {"summary", 's', NULL, 's', "count per state"},
    {NULL, 't', NULL, 't', "accepted as in ss (TCP only, every state, numeric,\n"
                           "timers: closer always does these)"},
    {NULL, 'a', NULL, 'a', NULL},
    {NULL, 'n', NULL, 'n', NULL},
    {NULL, 'o', NULL, 'o', NULL},
    {"json", 0, NULL, 'j', "JSON output"},
    {"netns", 'N', "NS", 'N', "run inside network namespace NS: NAME (/run/netns/NAME),\n"
                              "a path (/proc/PID/ns/net), or pid:PID"},
    {"all-netns", 0, NULL, 'A', "every network namespace on the host: the table gets a\n"
                                "first column Netns (the namespace's inode); --summary\n"
                                "and --json give one section per namespace"},
    {"proc", 0, NULL, 'P', "read /proc/net/tcp{,6} instead of netlink"},
    {"record", 0, "FILE", 'r', "save the raw netlink dump to FILE"},
    {"replay", 0, "FILE", 'R', "read a recorded dump instead of the kernel"},
    {"no-header", 'H', NULL, 'H', "no header line"},
    {"help", 'h', NULL, 'h', "this text"},
    {0}};

static void usage(void)
{
    printf("usage: closer states [options] [state NAME]... [exclude NAME]... [FILTER]\n\n"
           "Lists TCP sockets (IPv4 and IPv6) from the kernel's socket table\n"
           "(netlink sock_diag; /proc/net/tcp{,6} when netlink is unavailable).\n"
           "Every state is shown by default (ss needs -a for that).\n\n"
           "FILTER is ss's filter language:\n"
           "  sport|dport [OP] :PORT     OP: = != < > <= >= (eq ne lt gt le ge)\n"
           "  src|dst ADDR[/PREFIX][:PORT], [V6]:PORT, :PORT\n"
           "  joined by and (&&), or (||), not (!), ( ); e.g.\n"
           "  closer states state time-wait '( dport = :443 or sport = :443 )'\n\n");
    optab_print(stdout, states_opts, 21);
    printf("\nexit status: 0 ok (also when the reader of stdout goes away),\n"
           "2 usage or runtime error\n");
}

/* "443" or ss's ":443". */
static int parse_port_arg(const char *arg, uint16_t *out)
{
    return parse_port(arg[0] == ':' ? arg + 1 : arg, out);
}

/* --state LIST: ss names, comma-separated, added to the filter. */
static int parse_state_list(const char *arg, uint32_t *states)
{
    char *list = strdup(arg), *save = NULL;
    int rc = list ? 0 : cli_bad_value("states", "--state", arg, "out of memory");
    for (char *tok = list ? strtok_r(list, ",", &save) : NULL; tok && !rc;
         tok = strtok_r(NULL, ",", &save)) {
        uint32_t m = tcp_state_parse(tok);
        if (!m)
            rc = cli_bad_value("states", "--state", tok, "an ss state name, e.g. time-wait");
        *states |= m;
    }
    free(list);
    return rc;
}

/* One option into q; returns 0, or the exit status when the command ends
 * here (--help, a bad value). */
static int take_option(int c, char **argv, struct states_req *q)
{
    struct states_view_opts *vo = &q->view;
    switch (c) {
    case 'T': return parse_state_list(optarg, &vo->filter.states);
    case 'S':
        if (parse_port_arg(optarg, &vo->filter.sport) < 0)
            return cli_bad_value("states", "--sport", optarg, "a port 1-65535");
        return 0;
    case 'D':
        if (parse_port_arg(optarg, &vo->filter.dport) < 0)
            return cli_bad_value("states", "--dport", optarg, "a port 1-65535");
        return 0;
    case '4': vo->filter.family = AF_INET; return 0;
    case '6': vo->filter.family = AF_INET6; return 0;
    case 'p': vo->processes = true; return 0;
    case 's': q->summary = true; return 0;
    case 'l': vo->filter.states |= 1u << TS_LISTEN; return 0;
    case 'e': vo->extended = true; return 0;
    case 'i': vo->info = true; return 0;
    case 'm': vo->memory = true; return 0;
    case 'o': vo->options = true; return 0; /* timers: always; with -i, ss's TCP options too */
    case 't': case 'a': case 'n': return 0; /* what closer always does */
    case 'j': q->json = true; return 0;
    case 'A': q->all_netns = true; return 0;
    case 'N': q->netns = optarg; return 0;
    case 'P': q->snap.force_proc = true; return 0;
    case 'r': q->snap.record = optarg; return 0;
    case 'R': q->snap.replay = optarg; return 0;
    case 'H': vo->header = false; return 0;
    default: return cli_bad_option("states", c, argv);
    }
}

int cmd_states(int argc, char **argv)
{
    struct states_req q = {.view = {.header = true}};
    struct optab_getopt g;
    char err[256];
    int c, rc;
    optab_build(states_opts, &g);
    cli_begin();
    while ((c = optab_next(&g, argc, argv)) != -1) {
        if (c == 'h') {
            usage();
            return 0;
        }
        if ((rc = take_option(c, argv, &q)))
            return rc;
    }
    q.nwords = argc - optind;
    q.words = argv + optind;
    /* One write per MB for tables of 100k sockets; the buffer is stdout's
     * until the process ends: never freed. */
    char *obuf = malloc(1 << 20);
    if (obuf)
        setvbuf(stdout, obuf, _IOFBF, 1 << 20);
    if (states_run(&q, stdout, stderr, err, sizeof err) < 0) {
        fprintf(stderr, "closer states: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

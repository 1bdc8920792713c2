/* SPDX-License-Identifier: MIT */
/* closer states: the TCP socket table, like `ss -tan`, with owners, timers
 * and the reason a socket has no owner. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "doctor/states_view.h"
#include "kernel/netns.h"
#include "doctor/multi.h"
#include "snapshot/multi.h"
#include "snapshot/snapshot.h"
#include "snapshot/ssfilter.h"
#include "util/json.h"
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

/* The table of one namespace with its inode as a first column. */
static void table_with_netns(const struct ns_snapshot *ns, const struct states_view_opts *vo,
                             bool header)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return;
    struct states_view_opts o = *vo;
    o.header = header;
    states_print_table(mem, &ns->snap, &o);
    fclose(mem);
    char inode[24];
    snprintf(inode, sizeof inode, "%llu", (unsigned long long)ns->ns->inode);
    for (char *p = buf, *nl; p && p < buf + len; p = nl ? nl + 1 : NULL) {
        nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        printf("%-11s %.*s\n", header && p == buf ? "Netns" : inode, (int)n, p);
    }
    free(buf);
}

static int states_all_netns(struct snapshot_opts *so, const struct states_view_opts *vo,
                            bool summary, bool json)
{
    char err[256], label[200];
    struct multi_snapshot m;
    if (multi_snapshot_take(&m, so, err, sizeof err) < 0) {
        fprintf(stderr, "closer states: %s\n", err);
        return EXIT_USAGE;
    }
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    bool header = vo->header;
    if (json)
        fputs("{\"schema\":\"" STATES_NETNS_JSON_SCHEMA "\",\"namespaces\":[", stdout);
    for (size_t i = 0; i < m.list.n; i++) {
        const struct ns_snapshot *ns = &m.items[i];
        netns_entry_label(ns->ns, label, sizeof label);
        if (json) {
            struct json j;
            json_init(&j, stdout, false);
            printf("%s{\"netns\":", i ? "," : "");
            json_obj_begin(&j, NULL);
            netns_entry_json_fields(&j, ns->ns);
            json_obj_end(&j);
            if (!ns->ok) {
                fputs(",\"error\":", stdout);
                json_init(&j, stdout, false);
                json_str(&j, NULL, ns->error);
                fputs(",\"states\":null}", stdout);
                continue;
            }
            fputs(",\"error\":null,\"states\":", stdout);
            struct states_view_opts one = *vo;
            one.netns_inode = ns->ns->inode;
            one.netns_arg = ns->ns->name[0] ? ns->ns->name : NULL;
            states_print_json(stdout, &ns->snap, &one, summary);
            fputs("}", stdout);
        } else if (!ns->ok) {
            fprintf(stderr, "closer states: netns %s not read: %s\n", label, ns->error);
        } else if (summary) {
            printf("%snetns %s\n", i ? "\n" : "", label);
            states_print_summary(stdout, &ns->snap, vo);
        } else {
            table_with_netns(ns, vo, header);
            header = false;
        }
    }
    if (json)
        fputs("]}\n", stdout);
    multi_snapshot_free(&m);
    return 0;
}

int cmd_states(int argc, char **argv)
{
    struct states_view_opts vo = {.header = true};
    struct snapshot_opts so = {0};
    bool summary = false, json = false, all = false;
    const char *netns = NULL;
    struct optab_getopt g;
    int c;
    optab_build(states_opts, &g);
    cli_begin();
    while ((c = optab_next(&g, argc, argv)) != -1) {
        switch (c) {
        case 'T': {
            char *list = strdup(optarg), *save = NULL;
            for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                uint32_t m = tcp_state_parse(tok);
                if (!m) {
                    int rc = cli_bad_value("states", "--state", tok,
                                           "an ss state name, e.g. time-wait");
                    free(list);
                    return rc;
                }
                vo.filter.states |= m;
            }
            free(list);
            break;
        }
        case 'S':
            if (parse_port_arg(optarg, &vo.filter.sport) < 0)
                return cli_bad_value("states", "--sport", optarg, "a port 1-65535");
            break;
        case 'D':
            if (parse_port_arg(optarg, &vo.filter.dport) < 0)
                return cli_bad_value("states", "--dport", optarg, "a port 1-65535");
            break;
        case '4': vo.filter.family = AF_INET; break;
        case '6': vo.filter.family = AF_INET6; break;
        case 'p': vo.processes = true; break;
        case 's': summary = true; break;
        case 'l': vo.filter.states |= 1u << TS_LISTEN; break;
        case 'e': vo.extended = true; break;
        case 'i': vo.info = true; break;
        case 'm': vo.memory = true; break;
        case 'o': vo.options = true; break; /* timers: always; with -i, ss's TCP options too */
        case 't': case 'a': case 'n': break; /* what closer always does */
        case 'j': json = true; break;
        case 'A': all = true; break;
        case 'N': netns = optarg; break;
        case 'P': so.force_proc = true; break;
        case 'r': so.record = optarg; break;
        case 'R': so.replay = optarg; break;
        case 'H': vo.header = false; break;
        case 'h': usage(); return 0;
        default: return cli_bad_option("states", c, argv);
        }
    }
    char err[256];
    struct ssf *expr = NULL;
    if (optind < argc) {
        uint32_t words_states;
        if (ssf_parse(argc - optind, argv + optind, &words_states, &expr, err, sizeof err) < 0) {
            fprintf(stderr, "closer states: %s\n", err);
            return EXIT_USAGE;
        }
        if (words_states)
            vo.filter.states = vo.filter.states ? vo.filter.states & words_states : words_states;
        if (!vo.filter.states && words_states) {
            fprintf(stderr, "closer states: the state options and words select no state\n");
            ssf_free(expr);
            return EXIT_USAGE;
        }
        vo.filter.expr = expr;
    }
    if ((vo.info || vo.memory) && (json || summary || so.replay || so.force_proc)) {
        fprintf(stderr, "closer states: -i/-m are read from the kernel for the table: not with %s\n",
                json ? "--json" : summary ? "--summary" : so.replay ? "--replay" : "--proc");
        ssf_free(expr);
        return EXIT_USAGE;
    }
    so.detail = vo.info || vo.memory;
    if (all && (netns || so.replay || so.record || so.force_proc)) {
        fprintf(stderr, "closer states: --all-netns does not go with %s\n",
                netns ? "-N/--netns" : so.replay ? "--replay" : so.record ? "--record" : "--proc");
        ssf_free(expr);
        return EXIT_USAGE;
    }
    if (all) {
        so.states = vo.filter.states;
        so.owners = vo.processes;
        int rc = states_all_netns(&so, &vo, summary, json);
        ssf_free(expr);
        return rc;
    }
    if (netns && netns_enter(netns, err, sizeof err) < 0) {
        fprintf(stderr, "closer states: %s\n", err);
        ssf_free(expr);
        return EXIT_USAGE;
    }
    so.states = vo.filter.states;
    so.owners = vo.processes;
    /* A summary filtered by state alone only counts TIME_WAIT: fold them. */
    if (summary && !vo.filter.family && !vo.filter.sport && !vo.filter.dport && !vo.filter.expr)
        so.fold_above = 1;
    struct snapshot *s = malloc(sizeof *s);
    if (!s || snapshot_take(s, &so, err, sizeof err) < 0) {
        fprintf(stderr, "closer states: %s\n", s ? err : "out of memory");
        free(s);
        ssf_free(expr);
        return EXIT_USAGE;
    }
    if (s->source_note[0] && !so.force_proc)
        fprintf(stderr, "closer states: note: %s\n", s->source_note);
    if (vo.processes && s->procs_denied)
        fprintf(stderr, "closer states: note: the fds of %u processes are not readable (%s): "
                        "their sockets show no owner\n", s->procs_denied,
                s->visibility_limit[0] ? s->visibility_limit : "permission denied");
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    if (!so.replay) {
        int nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        vo.netns_inode = nsfd >= 0 ? netns_fd_inode(nsfd) : 0;
        if (nsfd >= 0)
            close(nsfd);
        vo.netns_arg = netns;
    }
    if (json)
        states_print_json(stdout, s, &vo, summary);
    else if (summary)
        states_print_summary(stdout, s, &vo);
    else
        states_print_table(stdout, s, &vo);
    snapshot_free(s);
    free(s);
    ssf_free(expr);
    return 0;
}

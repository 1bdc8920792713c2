/* closer probe URL: how does this server treat connections? */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client/probe.h"
#include "cmd/cmd.h"
#include "kernel/netns.h"
#include "util/cli.h"
#include "util/parse.h"

static void usage(void)
{
    printf("usage: closer probe URL [options]\n\n"
           "Measures, with real exchanges: whether HTTP/1.1 keep-alive and HTTP/1.0 +\n"
           "Connection: keep-alive are honoured (and the Connection / Keep-Alive headers\n"
           "sent), the keep-alive request cap, the idle timeout, who closes after a\n"
           "Connection: close exchange (FIN or RST, how fast), and where TIME_WAIT will\n"
           "accumulate for each client behaviour.\n\n"
           "      --max-requests N   bound for the request cap search (10000)\n"
           "      --max-wait DUR     bound for the idle timeout wait (120s)\n"
           "      --close-wait DUR   wait for the server's FIN after Connection: close (2s)\n"
           "      --json             JSON output\n"
           "  -N, --netns NS         run inside network namespace NS: NAME (/run/netns/NAME),\n"
           "                         a path (/proc/PID/ns/net), or pid:PID\n"
           "  -h, --help\n\n"
           "exit status: 0 measured, 2 usage error or server unreachable\n");
}

int cmd_probe(int argc, char **argv)
{
    enum { O_MAXREQ = 256, O_MAXWAIT, O_CLOSEWAIT, O_JSON };
    static const struct option lo[] = {{"max-requests", 1, 0, O_MAXREQ}, {"max-wait", 1, 0, O_MAXWAIT},
                                       {"close-wait", 1, 0, O_CLOSEWAIT}, {"json", 0, 0, O_JSON},
                                       {"netns", 1, 0, 'N'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    struct probe_opts o = {.max_requests = 10000, .max_wait_ms = 120000, .close_wait_ms = 2000};
    bool json = false;
    const char *netns = NULL;
    int ch;
    cli_begin();
    while ((ch = getopt_long(argc, argv, ":N:h", lo, NULL)) != -1) {
        switch (ch) {
        case O_MAXREQ:
            if (parse_u64(optarg, 1, 10000000, &o.max_requests) < 0)
                return cli_bad_value("probe", "--max-requests", optarg, "a positive count");
            break;
        case O_MAXWAIT:
            if (parse_duration_ms(optarg, &o.max_wait_ms) < 0 || !o.max_wait_ms)
                return cli_bad_value("probe", "--max-wait", optarg, "a duration");
            break;
        case O_CLOSEWAIT:
            if (parse_duration_ms(optarg, &o.close_wait_ms) < 0 || !o.close_wait_ms)
                return cli_bad_value("probe", "--close-wait", optarg, "a duration");
            break;
        case O_JSON: json = true; break;
        case 'N': netns = optarg; break;
        case 'h': usage(); return 0;
        default: return cli_bad_option("probe", ch, argv);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "closer probe: give exactly one URL\nTry 'closer probe --help'.\n");
        return EXIT_USAGE;
    }
    char err[512];
    if (netns && netns_enter(netns, err, sizeof err) < 0) {
        fprintf(stderr, "closer probe: %s\n", err);
        return EXIT_USAGE;
    }
    if (target_parse(argv[optind], &o.t, err, sizeof err) < 0) {
        fprintf(stderr, "closer probe: %s\n", err);
        return EXIT_USAGE;
    }
    o.progress = !json && isatty(STDERR_FILENO);
    struct probe_result r;
    if (probe_run(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "closer probe: %s\n", err);
        return EXIT_USAGE;
    }
    if (json)
        probe_print_json(stdout, &o, &r);
    else
        probe_print_text(stdout, &o, &r);
    return 0;
}

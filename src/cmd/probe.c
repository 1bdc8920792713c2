/* SPDX-License-Identifier: MIT */
/* closer probe URL: how does this server treat connections? */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/probe_main.h"
#include "cmd/cmd.h"
#include "util/cli.h"
#include "util/parse.h"

static void usage(void)
{
    printf("usage: closer probe URL [options]\n\n"
           "Measures, with real exchanges, all within one deadline: whether HTTP/1.1\n"
           "keep-alive and HTTP/1.0 + Connection: keep-alive are honoured (and the\n"
           "Connection / Keep-Alive headers sent), the request cap or connection lifetime\n"
           "limit, the idle timeout (several idle connections in parallel), who closes\n"
           "after a Connection: close exchange (FIN or RST, how fast), which server this\n"
           "is, where TIME_WAIT will accumulate for each client behaviour and the\n"
           "server's knob for each, and what the probe itself left behind. Over TLS also\n"
           "the version, ALPN, whether session resumption works and how the server's\n"
           "closes look (close_notify before the FIN, or not).\n\n"
           "      --deadline DUR     the whole probe (60s); an idle timeout longer than\n"
           "                         this is reported as 'none within'\n"
           "      --max-requests N   per connection in the cap search (1024)\n"
           "      --max-wait DUR     bound for the idle timeout wait (the deadline)\n"
           "      --close-wait DUR   wait for the server's FIN after an announced close (10s)\n"
           "      --idle-samples N   idle connections sampled in parallel (4, 1..16)\n"
           "      --timeout DUR      per request (10s)\n"
           "  -H, --header 'K: V'    add a request header (repeatable); Host and Authorization\n"
           "                         replace closer's own ('Host:' drops it)\n"
           "      --json             JSON output\n"
           "  https:// (TLS, with OpenSSL):\n"
           "  -k, --insecure         do not verify the server's certificate and name\n"
           "      --cacert FILE      verify with the CA certificates in FILE (PEM)\n"
           "  HTTP/2 (GOAWAY, the stream cap, the idle timeout, who closes TCP after):\n"
           "      --http2-prior-knowledge  speak HTTP/2 at once (h2c), as curl spells it\n"
           "      --http2            offer h2 by ALPN (https://: the default there, as curl)\n"
           "      --http1.1          https:// without the HTTP/2 probe\n"
           "  -N, --netns NS         run inside network namespace NS: NAME (/run/netns/NAME),\n"
           "                         a path (/proc/PID/ns/net), or pid:PID\n"
           "  -h, --help\n\n"
           "Durations use nginx's syntax: 500ms, 10s, 2m30s. Progress goes to stderr on a TTY.\n"
           "exit status: 0 measured, 2 usage error or no HTTP exchange possible, 3 the first\n"
           "answer was an error status (4xx/5xx): nothing more measured, no advice\n");
}

enum {
    O_MAXREQ = 256, O_MAXWAIT, O_CLOSEWAIT, O_JSON, O_DEADLINE, O_SAMPLES, O_TIMEOUT, O_CACERT,
    O_H2PK, O_H2, O_H11,
};

/* What the options give beside struct probe_opts. */
struct probe_cli {
    bool json;
    const char *netns;
};

static int duration_opt(const char *opt, const char *arg, uint64_t *out, uint64_t min, uint64_t max,
                        const char *what)
{
    if (parse_duration_ms(arg, out) < 0 || *out < min || *out > max)
        return cli_bad_value("probe", opt, arg, what);
    return 0;
}

static int header_opt(const char *arg, struct probe_opts *o)
{
    const char *why;
    if (o->nheaders == 32)
        return cli_bad_value("probe", "-H", arg, "at most 32 headers");
    if ((why = target_header_error(arg)))
        return cli_bad_value("probe", "-H", arg, why);
    if (!strncasecmp(arg, "Connection:", 11))
        return cli_bad_value("probe", "-H", arg, "probe sets Connection itself, per measurement");
    o->headers[o->nheaders++] = arg;
    return 0;
}

/* One option into o or cli: 0, an exit code, or -1 after --help. */
static int parse_opt(int ch, char **argv, struct probe_opts *o, struct probe_cli *cli)
{
    uint64_t v;
    switch (ch) {
    case O_MAXREQ:
        if (parse_u64(optarg, 1, 10000000, &o->max_requests) < 0)
            return cli_bad_value("probe", "--max-requests", optarg, "a count, 1 to 10000000");
        return 0;
    case O_MAXWAIT:
        return duration_opt("--max-wait", optarg, &o->max_wait_ms, 1, UINT64_MAX, "a duration > 0 like 30s");
    case O_CLOSEWAIT:
        return duration_opt("--close-wait", optarg, &o->close_wait_ms, 1, UINT64_MAX, "a duration > 0 like 2s");
    case O_DEADLINE:
        return duration_opt("--deadline", optarg, &o->deadline_ms, 1000, 86400000, "a duration from 1s to 1d");
    case O_TIMEOUT:
        return duration_opt("--timeout", optarg, &o->request_timeout_ms, 1, UINT64_MAX,
                            "a duration > 0 like 10s");
    case O_SAMPLES:
        if (parse_u64(optarg, 1, PROBE_MAX_IDLE, &v) < 0)
            return cli_bad_value("probe", "--idle-samples", optarg, "1 to 16");
        o->idle_samples = (unsigned)v;
        return 0;
    case 'H': return header_opt(optarg, o);
    case O_JSON: cli->json = true; return 0;
    case 'k': o->tls_cfg.insecure = true; return 0;
    case O_CACERT:
        if (access(optarg, R_OK) < 0)
            return cli_bad_value("probe", "--cacert", optarg, "a readable PEM file");
        o->tls_cfg.cacert = optarg;
        return 0;
    case O_H2PK: o->http2_prior = true; return 0;
    case O_H2: o->http2 = true; return 0;
    case O_H11: o->http1_only = true; return 0;
    case 'N': cli->netns = optarg; return 0;
    case 'h': usage(); return -1;
    default: return cli_bad_option("probe", ch, argv);
    }
}

int cmd_probe(int argc, char **argv)
{
    static const struct option lo[] = {{"max-requests", 1, 0, O_MAXREQ}, {"max-wait", 1, 0, O_MAXWAIT},
                                       {"close-wait", 1, 0, O_CLOSEWAIT}, {"json", 0, 0, O_JSON},
                                       {"deadline", 1, 0, O_DEADLINE}, {"idle-samples", 1, 0, O_SAMPLES},
                                       {"timeout", 1, 0, O_TIMEOUT}, {"insecure", 0, 0, 'k'},
                                       {"cacert", 1, 0, O_CACERT}, {"header", 1, 0, 'H'},
                                       {"http2-prior-knowledge", 0, 0, O_H2PK},
                                       {"http2", 0, 0, O_H2}, {"http1.1", 0, 0, O_H11},
                                       {"netns", 1, 0, 'N'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    /* 1024 requests: above the common caps (nginx and lighttpd 1000, which
     * lighttpd and Apache enforce as N+1; Apache 100). A higher cap costs
     * that many requests to see: --max-requests. */
    struct probe_opts o = {.max_requests = 1024, .close_wait_ms = 10000, .deadline_ms = 60000,
                           .idle_samples = 4, .request_timeout_ms = 10000};
    struct probe_cli cli = {0};
    int ch, rc;
    cli_begin();
    while ((ch = getopt_long(argc, argv, ":H:N:kh", lo, NULL)) != -1)
        if ((rc = parse_opt(ch, argv, &o, &cli)))
            return rc < 0 ? 0 : rc;
    if (optind != argc - 1) {
        fprintf(stderr, "closer probe: give exactly one URL\nTry 'closer probe --help'.\n");
        return EXIT_USAGE;
    }
    o.progress = isatty(STDERR_FILENO);
    char err[512];
    rc = probe_main(&o, argv[optind], cli.netns, cli.json, stdout, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "closer probe: %s\n", err);
        return EXIT_USAGE;
    }
    return cli_finish_stdout(rc ? PROBE_EXIT_ERROR_ANSWER : 0);
}

/* SPDX-License-Identifier: MIT */
/* closer probe URL: how does this server treat connections? */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/probe.h"
#include "client/probe_h2.h"
#include "cmd/cmd.h"
#include "kernel/netns.h"
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

static int probe_h2_main(const struct probe_opts *o, bool json)
{
    static struct probe_h2_result r;
    char err[512];
    if (probe_h2_run(o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "closer probe: %s\n", err);
        return EXIT_USAGE;
    }
    if (json)
        probe_h2_print_json(stdout, o, &r);
    else
        probe_h2_print_text(stdout, o, &r);
    return cli_finish_stdout(r.status >= 400 ? PROBE_EXIT_ERROR_ANSWER : 0);
}

int cmd_probe(int argc, char **argv)
{
    enum { O_MAXREQ = 256, O_MAXWAIT, O_CLOSEWAIT, O_JSON, O_DEADLINE, O_SAMPLES, O_TIMEOUT, O_CACERT, O_H2PK, O_H2, O_H11 };
    const char *why;
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
    bool json = false;
    uint64_t v;
    const char *netns = NULL;
    int ch;
    cli_begin();
    while ((ch = getopt_long(argc, argv, ":H:N:kh", lo, NULL)) != -1) {
        switch (ch) {
        case O_MAXREQ:
            if (parse_u64(optarg, 1, 10000000, &o.max_requests) < 0)
                return cli_bad_value("probe", "--max-requests", optarg, "a count, 1 to 10000000");
            break;
        case O_MAXWAIT:
            if (parse_duration_ms(optarg, &o.max_wait_ms) < 0 || !o.max_wait_ms)
                return cli_bad_value("probe", "--max-wait", optarg, "a duration > 0 like 30s");
            break;
        case O_CLOSEWAIT:
            if (parse_duration_ms(optarg, &o.close_wait_ms) < 0 || !o.close_wait_ms)
                return cli_bad_value("probe", "--close-wait", optarg, "a duration > 0 like 2s");
            break;
        case O_DEADLINE:
            if (parse_duration_ms(optarg, &o.deadline_ms) < 0 || o.deadline_ms < 1000 ||
                o.deadline_ms > 86400000)
                return cli_bad_value("probe", "--deadline", optarg, "a duration from 1s to 1d");
            break;
        case O_TIMEOUT:
            if (parse_duration_ms(optarg, &o.request_timeout_ms) < 0 || !o.request_timeout_ms)
                return cli_bad_value("probe", "--timeout", optarg, "a duration > 0 like 10s");
            break;
        case O_SAMPLES:
            if (parse_u64(optarg, 1, PROBE_MAX_IDLE, &v) < 0)
                return cli_bad_value("probe", "--idle-samples", optarg, "1 to 16");
            o.idle_samples = (unsigned)v;
            break;
        case 'H':
            if (o.nheaders == 32)
                return cli_bad_value("probe", "-H", optarg, "at most 32 headers");
            if ((why = target_header_error(optarg)))
                return cli_bad_value("probe", "-H", optarg, why);
            if (!strncasecmp(optarg, "Connection:", 11))
                return cli_bad_value("probe", "-H", optarg,
                                     "probe sets Connection itself, per measurement");
            o.headers[o.nheaders++] = optarg;
            break;
        case O_JSON: json = true; break;
        case 'k': o.tls_cfg.insecure = true; break;
        case O_CACERT:
            if (access(optarg, R_OK) < 0)
                return cli_bad_value("probe", "--cacert", optarg, "a readable PEM file");
            o.tls_cfg.cacert = optarg;
            break;
        case O_H2PK: o.http2_prior = true; break;
        case O_H2: o.http2 = true; break;
        case O_H11: o.http1_only = true; break;
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
    target_note_proxy(stderr, "probe", &o.t);
    if (target_pick_address(&o.t, (unsigned)o.request_timeout_ms, err, sizeof err) < 0) {
        fprintf(stderr, "closer probe: %s\n", err);
        return EXIT_USAGE;
    }
    o.progress = isatty(STDERR_FILENO);
    if (o.http2 && !o.http2_prior && !o.t.tls) {
        fprintf(stderr, "closer probe: --http2 offers h2 by ALPN, over TLS (https://); for h2c on "
                "http:// use --http2-prior-knowledge\n");
        return EXIT_USAGE;
    }
    if (o.http2_prior)
        return probe_h2_main(&o, json);
    /* https://: h2 offered by ALPN (h2,http/1.1, as curl) on connections of
     * its own, measured beside the HTTP/1 probe, within its deadline. */
    static struct probe_h2_job h2;
    if (o.t.tls && !o.http1_only)
        probe_h2_begin(&h2, &o);
    o.tls_cfg.alpn = "http/1.1";
    struct probe_result r;
    int rc = probe_run(&o, &r, err, sizeof err);
    r.h2 = o.t.tls && !o.http1_only ? probe_h2_finish(&h2) : NULL;
    if (rc < 0) {
        fprintf(stderr, "closer probe: %s\n", err);
        return EXIT_USAGE;
    }
    if (json)
        probe_print_json(stdout, &o, &r);
    else
        probe_print_text(stdout, &o, &r);
    return cli_finish_stdout(r.error_answer ? PROBE_EXIT_ERROR_ANSWER : 0);
}

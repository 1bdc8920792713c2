/* SPDX-License-Identifier: MIT */
/* closer probe URL: how does this server treat connections? */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/probe_main.h"
#include "cmd/cmd.h"
#include "util/cli.h"
#include "util/optab.h"
#include "util/parse.h"

enum {
    O_MAXREQ = 256, O_MAXWAIT, O_CLOSEWAIT, O_JSON, O_DEADLINE, O_SAMPLES, O_TIMEOUT, O_CACERT,
    O_H2PK, O_H2, O_H11,
};

/* Every option once: parsed, and printed by --help (the man page and the
 * shell completion are generated from that text). */
static const struct optab probe_optab[] = {
    {"deadline", 0, "DUR", O_DEADLINE, "the whole probe (60s); an idle timeout longer than\n"
        "this is reported as 'none within'"},
    {"max-requests", 0, "N", O_MAXREQ, "per connection in the cap search (1024)"},
    {"max-wait", 0, "DUR", O_MAXWAIT, "bound for the idle timeout wait (the deadline)"},
    {"close-wait", 0, "DUR", O_CLOSEWAIT, "wait for the server's FIN after an announced close (10s)"},
    {"idle-samples", 0, "N", O_SAMPLES, "idle connections sampled in parallel (4, 1..16)"},
    {"timeout", 0, "DUR", O_TIMEOUT, "per request (10s)"},
    {"header", 'H', "'K: V'", 'H', "add a request header (repeatable); Host and Authorization\n"
        "replace closer's own ('Host:' drops it)"},
    {"json", 0, NULL, O_JSON, "JSON output"},
    {NULL, 0, NULL, 0, "https:// (TLS, with OpenSSL):"},
    {"insecure", 'k', NULL, 'k', "do not verify the server's certificate and name"},
    {"cacert", 0, "FILE", O_CACERT, "verify with the CA certificates in FILE (PEM)"},
    {NULL, 0, NULL, 0, "HTTP/2 (GOAWAY, the stream cap, the idle timeout, who closes TCP after):"},
    {"http2-prior-knowledge", 0, NULL, O_H2PK, "speak HTTP/2 at once (h2c), as curl spells it"},
    {"http2", 0, NULL, O_H2, "offer h2 by ALPN (https://: the default there, as curl)"},
    {"http1.1", 0, NULL, O_H11, "https:// without the HTTP/2 probe"},
    {"netns", 'N', "NS", 'N', "run inside network namespace NS: NAME (/run/netns/NAME),\n"
        "a path (/proc/PID/ns/net), or pid:PID"},
    {"help", 'h', NULL, 'h', ""},

    {0}};

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
           "closes look (close_notify before the FIN, or not).\n\n");
    optab_print(stdout, probe_optab, 25);
    printf("\nDurations use nginx's syntax: 500ms, 10s, 2m30s. Progress goes to stderr on a TTY.\n"
           "exit status: 0 measured, 2 usage error or no HTTP exchange possible, 3 the first\n"
           "answer was an error status (4xx/5xx): nothing more measured, no advice\n");
}

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
    /* 1024 requests: above the common caps (nginx and lighttpd 1000, which
     * lighttpd and Apache enforce as N+1; Apache 100). A higher cap costs
     * that many requests to see: --max-requests. */
    struct probe_opts o = {.max_requests = 1024, .close_wait_ms = 10000, .deadline_ms = 60000,
                           .idle_samples = 4, .request_timeout_ms = 10000};
    struct probe_cli cli = {0};
    struct optab_getopt g;
    int ch, rc;
    optab_build(probe_optab, &g);
    cli_begin();
    while ((ch = optab_next(&g, argc, argv)) != -1)
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

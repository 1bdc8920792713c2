/* SPDX-License-Identifier: MIT */
/* closer load URL: drive a server with any closing pattern and measure. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/load_job.h"
#include "client/load_report.h"
#include "client/target.h"
#include "cmd/cmd.h"
#include "util/cli.h"
#include "util/optab.h"
#include "util/parse.h"

enum { O_RATE = 256, O_METHOD, O_BODY, O_TIMEOUT, O_KA, O_CLOSEH, O_H10, O_RPC, O_IDLE,
       O_CCLOSE, O_BIND, O_JSON, O_CLOSEWAIT, O_CACERT, O_NOSESS, O_H2PK, O_H2 };

/* Every option once: parsed, and printed by --help (man page and shell
 * completion are generated from that text). */
static const struct optab load_opts_tab[] = {
    {"connections", 'c', "N", 'c', "concurrent connections (10)"},
    {"threads", 't', "N", 't', "threads, one event loop each (1)"},
    {"duration", 'd', "DUR", 'd', "run this long (e.g. 10s)"},
    {"requests", 'n', "N", 'n', "or send this many requests"},
    {"rate", 0, "R", O_RATE, "open loop: R requests/s in total, latency measured from\n"
                             "the intended send time (no coordinated omission)"},
    {"header", 'H', "'K: V'", 'H', "add a request header (repeatable); Host, Connection and\n"
                                   "Authorization replace closer's own ('Host:' drops it)"},
    {"method", 0, "M", O_METHOD, "request method (GET)"},
    {"body", 0, "FILE", O_BODY, "request body from FILE"},
    {"timeout", 0, "DUR", O_TIMEOUT, "per request (10s)"},
    {NULL, 0, NULL, 0, "closing patterns:"},
    {"keepalive", 0, "on|off", O_KA, "off: a new connection per request, the client closes"},
    {"close-header", 0, NULL, O_CLOSEH, "send Connection: close (the server closes)"},
    {"http1.0", 0, NULL, O_H10, "HTTP/1.0 requests (add --keepalive on for\n"
                                "Connection: keep-alive)"},
    {"requests-per-conn", 0, "N", O_RPC, "the client closes after N requests"},
    {"idle", 0, "DUR", O_IDLE, "pause between requests on a connection (with a unit:\n"
                               "500ms, 2s, 1m30s)"},
    {"close-wait", 0, "DUR", O_CLOSEWAIT, "after a response announcing the server's close\n"
                                          "(Connection: close, HTTP/1.0), wait up to DUR for its\n"
                                          "FIN before closing (0 = close at once, as wrk: default)"},
    {"client-close", 0, NULL, O_CCLOSE, "the same as --close-wait 0"},
    {"bind-range", 0, "ADDRS", O_BIND, "source addresses: A-B, CIDR or one address"},
    {NULL, 0, NULL, 0, "https:// (TLS, with OpenSSL):"},
    {"insecure", 'k', NULL, 'k', "do not verify the server's certificate and name"},
    {"cacert", 0, "FILE", O_CACERT, "verify with the CA certificates in FILE (PEM)"},
    {"no-sessionid", 0, NULL, O_NOSESS, "never resume a TLS session: a full handshake per\n"
                                        "connection (default: resume, as browsers do)"},
    {NULL, 0, NULL, 0, "HTTP/2:"},
    {"http2-prior-knowledge", 0, NULL, O_H2PK, "speak HTTP/2 at once (h2c), as curl spells it"},
    {"http2", 0, NULL, O_H2, "offer h2 by ALPN (https:// URLs)"},
    {"streams", 'm', "N", 'm', "streams in flight per HTTP/2 connection (1), as h2load -m;\n"
                               "GOAWAYs and who closed TCP after them are reported"},
    {"json", 0, NULL, O_JSON, "JSON report"},
    {"netns", 'N', "NS", 'N', "run inside network namespace NS: NAME (/run/netns/NAME),\n"
                              "a path (/proc/PID/ns/net), or pid:PID"},
    {"help", 'h', NULL, 'h', ""},
    {0}};

static void usage(void)
{
    printf("usage: closer load URL (-d DURATION | -n REQUESTS) [options]\n\n"
           "A wrk-class load generator that can produce every closing pattern.\n\n");
    optab_print(stdout, load_opts_tab, 26);
    printf("\nDurations use nginx's syntax: 500ms, 10s, 2m30s, 1h (a bare number is seconds).\n"
           "Ctrl-C prints the partial report. exit status: 0 ok, 1 no request succeeded,\n"
           "2 usage or runtime error\n");
}

/* A duration that must carry its unit: --idle was a bare count of
 * milliseconds once, so a bare number now would silently mean 1000x more. */
static bool has_unit(const char *s)
{
    size_t n = strlen(s);
    return n && ((s[n - 1] | 0x20) >= 'a' && (s[n - 1] | 0x20) <= 'z');
}

/* The options with a number or a duration; 0, the exit status of a bad
 * value, or -1 when ch is not one of them. */
static int take_number(int ch, struct load_opts *o)
{
    uint64_t v;
    switch (ch) {
    case 'c':
        if (parse_u64(optarg, 1, 100000, &v) < 0)
            return cli_bad_value("load", "-c", optarg, "1..100000");
        o->connections = (unsigned)v;
        return 0;
    case 't':
        if (parse_u64(optarg, 1, 256, &v) < 0)
            return cli_bad_value("load", "-t", optarg, "1..256");
        o->threads = (unsigned)v;
        return 0;
    case 'd':
        if (parse_duration_ms(optarg, &o->duration_ms) < 0 || !o->duration_ms)
            return cli_bad_value("load", "-d", optarg, "a duration > 0 like 10s or 2m30s");
        return 0;
    case 'n':
        if (parse_u64(optarg, 1, UINT64_MAX >> 2, &o->requests) < 0)
            return cli_bad_value("load", "-n", optarg, "a positive count");
        return 0;
    case O_RATE:
        if (parse_decimal(optarg, 0, 1e8, &o->rate) < 0 || o->rate < 0.001)
            return cli_bad_value("load", "--rate", optarg, "requests per second, 0.001 to 100000000");
        return 0;
    case O_TIMEOUT:
        if (parse_duration_ms(optarg, &o->timeout_ms) < 0 || !o->timeout_ms)
            return cli_bad_value("load", "--timeout", optarg, "a duration > 0 like 10s");
        return 0;
    case O_RPC:
        if (parse_u64(optarg, 1, UINT64_MAX >> 2, &o->requests_per_conn) < 0)
            return cli_bad_value("load", "--requests-per-conn", optarg, "a positive count");
        return 0;
    case O_IDLE:
        if (!has_unit(optarg) || parse_duration_ms(optarg, &o->idle_ms) < 0 || o->idle_ms > 3600000)
            return cli_bad_value("load", "--idle", optarg,
                                 "a duration with a unit, up to 1h, like 1500ms or 2s");
        return 0;
    case O_CLOSEWAIT:
        if (parse_duration_ms(optarg, &o->close_wait_ms) < 0 || o->close_wait_ms > 600000)
            return cli_bad_value("load", "--close-wait", optarg, "a duration up to 10m, like 1s");
        return 0;
    case 'm':
        if (parse_u64(optarg, 1, 1000, &v) < 0)
            return cli_bad_value("load", "-m", optarg, "1..1000 streams per connection");
        o->streams = (unsigned)v;
        return 0;
    default: return -1;
    }
}

/* The request's shape (-H, --method) and the source addresses. */
static int take_request(int ch, struct load_opts *o)
{
    const char *why;
    long n;
    switch (ch) {
    case 'H':
        if (o->nheaders == 32)
            return cli_bad_value("load", "-H", optarg, "at most 32 headers");
        if ((why = target_header_error(optarg)))
            return cli_bad_value("load", "-H", optarg, why);
        o->headers[o->nheaders++] = optarg;
        return 0;
    case O_METHOD:
        if ((why = target_method_error(optarg)))
            return cli_bad_value("load", "--method", optarg, why);
        o->method = optarg;
        return 0;
    case O_BIND:
        if ((n = source_range_parse(optarg, o->sources, LOAD_MAX_SOURCES)) <= 0)
            return cli_bad_value("load", "--bind-range", optarg, "A-B, CIDR or an address");
        o->nsources = (size_t)n;
        return 0;
    case O_CACERT:
        if (access(optarg, R_OK) < 0)
            return cli_bad_value("load", "--cacert", optarg, "a readable PEM file");
        o->tls_cfg.cacert = optarg;
        return 0;
    default: return -1;
    }
}

/* Every other option: flags and plain values. */
static int take_option(int ch, char **argv, struct load_job *j, bool *json)
{
    struct load_opts *o = &j->o;
    int rc = take_number(ch, o);
    if (rc < 0)
        rc = take_request(ch, o);
    if (rc >= 0)
        return rc;
    switch (ch) {
    case O_BODY: j->body_file = optarg; return 0;
    case O_KA:
        if (strcmp(optarg, "on") && strcmp(optarg, "off"))
            return cli_bad_value("load", "--keepalive", optarg, "on or off");
        o->keepalive = !strcmp(optarg, "on");
        j->keepalive_given = true;
        return 0;
    case O_CLOSEH: o->close_header = true; return 0;
    case O_H10: o->http10 = true; return 0;
    case O_CCLOSE: o->close_wait_ms = 0; return 0;
    case O_JSON: *json = true; return 0;
    case 'k': o->tls_cfg.insecure = true; return 0;
    case O_NOSESS: o->tls_cfg.no_resume = true; return 0;
    case O_H2PK: o->http2_prior = true; return 0;
    case O_H2: o->http2 = true; return 0;
    case 'N': j->netns = optarg; return 0;
    default: return cli_bad_option("load", ch, argv);
    }
}

/* One URL, and a bound: -d or -n. */
static int check_bounds(int argc, const struct load_opts *o)
{
    if (optind != argc - 1) {
        fprintf(stderr, "closer load: give exactly one URL\nTry 'closer load --help'.\n");
        return EXIT_USAGE;
    }
    if (!o->duration_ms == !o->requests) {
        fprintf(stderr, "closer load: give -d DURATION or -n REQUESTS (one of them: a run is always bounded)\n");
        return EXIT_USAGE;
    }
    return 0;
}

static int run_and_report(struct load_job *j, bool json)
{
    char err[512];
    j->o.progress = !json && isatty(STDERR_FILENO);
    if (load_job_run(j, stderr, err, sizeof err) < 0) {
        fprintf(stderr, "closer load: %s\n", err);
        return EXIT_USAGE;
    }
    if (json)
        load_print_json(stdout, &j->o, &j->r);
    else
        load_print_text(stdout, &j->o, &j->r);
    return j->r.requests ? 0 : 1;
}

int cmd_load(int argc, char **argv)
{
    struct load_job *j = calloc(1, sizeof *j); /* half a megabyte: --bind-range's room */
    struct optab_getopt g;
    bool json = false;
    int ch, rc = 0;
    if (!j) {
        fprintf(stderr, "closer load: out of memory\n");
        return EXIT_USAGE;
    }
    j->o = (struct load_opts){.connections = 10, .threads = 1, .timeout_ms = 10000,
                              .method = "GET", .keepalive = true};
    optab_build(load_opts_tab, &g);
    cli_begin();
    while (!rc && (ch = optab_next(&g, argc, argv)) != -1) {
        if (ch == 'h') {
            usage();
            free(j);
            return 0;
        }
        rc = take_option(ch, argv, j, &json);
    }
    if (!rc && !(rc = check_bounds(argc, &j->o))) {
        j->url = argv[optind];
        rc = run_and_report(j, json);
    }
    free(j);
    return rc;
}

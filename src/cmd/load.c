/* SPDX-License-Identifier: MIT */
/* closer load URL: drive a server with any closing pattern and measure. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "client/load.h"
#include "client/load_report.h"
#include "client/target.h"
#include "cmd/cmd.h"
#include "kernel/netns.h"
#include "util/cli.h"
#include "util/parse.h"

static void usage(void)
{
    printf(
        "usage: closer load URL (-d DURATION | -n REQUESTS) [options]\n\n"
        "A wrk-class load generator that can produce every closing pattern.\n\n"
        "  -c, --connections N     concurrent connections (10)\n"
        "  -t, --threads N         threads, one event loop each (1)\n"
        "  -d, --duration DUR      run this long (e.g. 10s)\n"
        "  -n, --requests N        or send this many requests\n"
        "      --rate R            open loop: R requests/s in total, latency measured from\n"
        "                          the intended send time (no coordinated omission)\n"
        "  -H, --header 'K: V'     add a request header (repeatable); Host, Connection and\n"
        "                          Authorization replace closer's own ('Host:' drops it)\n"
        "      --method M          request method (GET)\n"
        "      --body FILE         request body from FILE\n"
        "      --timeout DUR       per request (10s)\n"
        "  closing patterns:\n"
        "      --keepalive on|off  off: a new connection per request, the client closes\n"
        "      --close-header      send Connection: close (the server closes)\n"
        "      --http1.0           HTTP/1.0 requests (add --keepalive on for\n"
        "                          Connection: keep-alive)\n"
        "      --requests-per-conn N  the client closes after N requests\n"
        "      --idle DUR          pause between requests on a connection (with a unit:\n"
        "                          500ms, 2s, 1m30s)\n"
        "      --close-wait DUR    after a response announcing the server's close\n"
        "                          (Connection: close, HTTP/1.0), wait up to DUR for its\n"
        "                          FIN before closing (0 = close at once, as wrk: default)\n"
        "      --client-close      the same as --close-wait 0\n"
        "      --bind-range ADDRS  source addresses: A-B, CIDR or one address\n"
        "  https:// (TLS, with OpenSSL):\n"
        "  -k, --insecure          do not verify the server's certificate and name\n"
        "      --cacert FILE       verify with the CA certificates in FILE (PEM)\n"
        "      --no-sessionid      never resume a TLS session: a full handshake per\n"
        "                          connection (default: resume, as browsers do)\n"
        "  HTTP/2:\n"
        "      --http2-prior-knowledge  speak HTTP/2 at once (h2c), as curl spells it\n"
        "      --http2             offer h2 by ALPN (https:// URLs)\n"
        "  -m, --streams N         streams in flight per HTTP/2 connection (1), as h2load -m;\n"
        "                          GOAWAYs and who closed TCP after them are reported\n"
        "      --json              JSON report\n"
        "  -N, --netns NS          run inside network namespace NS: NAME (/run/netns/NAME),\n"
        "                          a path (/proc/PID/ns/net), or pid:PID\n"
        "  -h, --help\n\n"
        "Durations use nginx's syntax: 500ms, 10s, 2m30s, 1h (a bare number is seconds).\n"
        "Ctrl-C prints the partial report. exit status: 0 ok, 1 no request succeeded,\n"
        "2 usage or runtime error\n");
}

static void on_sigint(int sig)
{
    (void)sig;
    load_interrupted = 1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

enum { O_RATE = 256, O_METHOD, O_BODY, O_TIMEOUT, O_KA, O_CLOSEH, O_H10, O_RPC, O_IDLE,
       O_CCLOSE, O_BIND, O_JSON, O_CLOSEWAIT, O_CACERT, O_NOSESS, O_H2PK, O_H2 };

/* A duration that must carry its unit: --idle was a bare count of
 * milliseconds once, so a bare number now would silently mean 1000x more. */
static bool has_unit(const char *s)
{
    size_t n = strlen(s);
    return n && ((s[n - 1] | 0x20) >= 'a' && (s[n - 1] | 0x20) <= 'z');
}

/* One fd per connection plus each thread's loop and a few for stdio and
 * the report. Raise the soft limit toward the hard one (as h2o does) or
 * say so: past it, connects failed with EMFILE, counted as "other" errors
 * of a run with fewer connections than asked. */
static int fd_room(unsigned connections, unsigned threads)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)connections + (rlim_t)threads * 4 + 32;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return 0;
    }
    fprintf(stderr, "closer load: %u connections need about %llu file descriptors; the limit is %llu "
            "(raise it: ulimit -n)\n", connections, (unsigned long long)need,
            (unsigned long long)(rl.rlim_max == RLIM_INFINITY ? rl.rlim_cur : rl.rlim_max));
    return -1;
}

/* HTTP/2 runs closed loop, keep-alive, without a body: the HTTP/1 closing
 * patterns have no HTTP/2 meaning (the GOAWAY is HTTP/2's). */
static bool h2_conflict(const struct load_opts *o, const char *body_file)
{
    const char *what = !(o->http2_prior || o->http2) ? (o->streams ? "-m" : NULL)
                       : o->http2 && !o->http2_prior && !o->tls ? "--http2 over http:// (ALPN needs "
                                                                  "https://; h2c is --http2-prior-knowledge)"
                       : o->rate > 0 ? "--rate" : !o->keepalive ? "--keepalive off"
                       : o->close_header ? "--close-header" : o->http10 ? "--http1.0"
                       : o->idle_ms ? "--idle" : body_file ? "--body" : NULL;
    if (!what)
        return false;
    if (!(o->http2_prior || o->http2))
        fprintf(stderr, "closer load: -m is for HTTP/2 (--http2-prior-knowledge or --http2)\n");
    else
        fprintf(stderr, "closer load: not with HTTP/2: %s\n", what);
    return true;
}

int cmd_load(int argc, char **argv)
{
    static const struct option lo[] = {
        {"connections", 1, 0, 'c'}, {"threads", 1, 0, 't'}, {"duration", 1, 0, 'd'},
        {"requests", 1, 0, 'n'}, {"rate", 1, 0, O_RATE}, {"header", 1, 0, 'H'},
        {"method", 1, 0, O_METHOD}, {"body", 1, 0, O_BODY}, {"timeout", 1, 0, O_TIMEOUT},
        {"keepalive", 1, 0, O_KA}, {"close-header", 0, 0, O_CLOSEH}, {"http1.0", 0, 0, O_H10},
        {"requests-per-conn", 1, 0, O_RPC}, {"idle", 1, 0, O_IDLE},
        {"client-close", 0, 0, O_CCLOSE}, {"bind-range", 1, 0, O_BIND}, {"json", 0, 0, O_JSON},
        {"close-wait", 1, 0, O_CLOSEWAIT}, {"insecure", 0, 0, 'k'}, {"cacert", 1, 0, O_CACERT},
        {"no-sessionid", 0, 0, O_NOSESS},
        {"close-wait", 1, 0, O_CLOSEWAIT}, {"http2-prior-knowledge", 0, 0, O_H2PK},
        {"http2", 0, 0, O_H2}, {"streams", 1, 0, 'm'},
        {"netns", 1, 0, 'N'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    static struct load_opts o;
    memset(&o, 0, sizeof o);
    o.connections = 10;
    o.threads = 1;
    o.timeout_ms = 10000;
    o.method = "GET";
    o.keepalive = true;
    bool json = false, ka_given = false;
    const char *why;
    const char *body_file = NULL, *netns = NULL;
    uint64_t v;
    int ch;
    cli_begin();
    while ((ch = getopt_long(argc, argv, ":c:t:d:n:H:N:km:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (parse_u64(optarg, 1, 100000, &v) < 0)
                return cli_bad_value("load", "-c", optarg, "1..100000");
            o.connections = (unsigned)v;
            break;
        case 't':
            if (parse_u64(optarg, 1, 256, &v) < 0)
                return cli_bad_value("load", "-t", optarg, "1..256");
            o.threads = (unsigned)v;
            break;
        case 'd':
            if (parse_duration_ms(optarg, &o.duration_ms) < 0 || !o.duration_ms)
                return cli_bad_value("load", "-d", optarg, "a duration > 0 like 10s or 2m30s");
            break;
        case 'n':
            if (parse_u64(optarg, 1, UINT64_MAX >> 2, &o.requests) < 0)
                return cli_bad_value("load", "-n", optarg, "a positive count");
            break;
        case O_RATE:
            if (parse_decimal(optarg, 0, 1e8, &o.rate) < 0 || o.rate < 0.001)
                return cli_bad_value("load", "--rate", optarg, "requests per second, 0.001 to 100000000");
            break;
        case 'H':
            if (o.nheaders == 32)
                return cli_bad_value("load", "-H", optarg, "at most 32 headers");
            if ((why = target_header_error(optarg)))
                return cli_bad_value("load", "-H", optarg, why);
            o.headers[o.nheaders++] = optarg;
            break;
        case O_METHOD:
            if ((why = target_method_error(optarg)))
                return cli_bad_value("load", "--method", optarg, why);
            o.method = optarg;
            break;
        case O_BODY: body_file = optarg; break;
        case O_TIMEOUT:
            if (parse_duration_ms(optarg, &o.timeout_ms) < 0 || !o.timeout_ms)
                return cli_bad_value("load", "--timeout", optarg, "a duration > 0 like 10s");
            break;
        case O_KA:
            if (strcmp(optarg, "on") && strcmp(optarg, "off"))
                return cli_bad_value("load", "--keepalive", optarg, "on or off");
            o.keepalive = !strcmp(optarg, "on");
            ka_given = true;
            break;
        case O_CLOSEH: o.close_header = true; break;
        case O_H10: o.http10 = true; break;
        case O_RPC:
            if (parse_u64(optarg, 1, UINT64_MAX >> 2, &o.requests_per_conn) < 0)
                return cli_bad_value("load", "--requests-per-conn", optarg, "a positive count");
            break;
        case O_IDLE:
            if (!has_unit(optarg) || parse_duration_ms(optarg, &o.idle_ms) < 0 ||
                o.idle_ms > 3600000)
                return cli_bad_value("load", "--idle", optarg,
                                     "a duration with a unit, up to 1h, like 1500ms or 2s");
            break;
        case O_CCLOSE: o.close_wait_ms = 0; break;
        case O_CLOSEWAIT:
            if (parse_duration_ms(optarg, &o.close_wait_ms) < 0 || o.close_wait_ms > 600000)
                return cli_bad_value("load", "--close-wait", optarg, "a duration up to 10m, like 1s");
            break;
        case O_BIND: {
            long n = source_range_parse(optarg, o.sources, LOAD_MAX_SOURCES);
            if (n <= 0)
                return cli_bad_value("load", "--bind-range", optarg, "A-B, CIDR or an address");
            o.nsources = (size_t)n;
            break;
        }
        case O_JSON: json = true; break;
        case 'k': o.tls_cfg.insecure = true; break;
        case O_CACERT:
            if (access(optarg, R_OK) < 0)
                return cli_bad_value("load", "--cacert", optarg, "a readable PEM file");
            o.tls_cfg.cacert = optarg;
            break;
        case O_NOSESS: o.tls_cfg.no_resume = true; break;
        case O_H2PK: o.http2_prior = true; break;
        case O_H2: o.http2 = true; break;
        case 'm':
            if (parse_u64(optarg, 1, 1000, &v) < 0)
                return cli_bad_value("load", "-m", optarg, "1..1000 streams per connection");
            o.streams = (unsigned)v;
            break;
        case 'N': netns = optarg; break;
        case 'h': usage(); return 0;
        default: return cli_bad_option("load", ch, argv);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "closer load: give exactly one URL\nTry 'closer load --help'.\n");
        return EXIT_USAGE;
    }
    if (!o.duration_ms == !o.requests) {
        fprintf(stderr, "closer load: give -d DURATION or -n REQUESTS (one of them: a run is always bounded)\n");
        return EXIT_USAGE;
    }
    o.http10_keepalive = o.http10 && ka_given && o.keepalive;
    if (fd_room(o.connections, o.threads) < 0)
        return EXIT_USAGE;
    char err[512];
    /* Before the threads: they inherit the namespace. */
    if (netns && netns_enter(netns, err, sizeof err) < 0) {
        fprintf(stderr, "closer load: %s\n", err);
        return EXIT_USAGE;
    }
    struct target t;
    if (target_parse(argv[optind], &t, err, sizeof err) < 0) {
        fprintf(stderr, "closer load: %s\n", err);
        return EXIT_USAGE;
    }
    target_note_proxy(stderr, "load", &t);
    if (target_pick_address(&t, (unsigned)o.timeout_ms, err, sizeof err) < 0) {
        fprintf(stderr, "closer load: %s\n", err);
        return EXIT_USAGE;
    }
    o.target = t;
    o.dst = t.addr;
    o.dst_len = t.len;
    o.tls = t.tls;
    o.tls_cfg.alpn = o.http2 || o.http2_prior ? "h2" : "http/1.1";
    if (h2_conflict(&o, body_file))
        return EXIT_USAGE;
    snprintf(o.tls_name, sizeof o.tls_name, "%s", t.name);
    snprintf(o.url_host, sizeof o.url_host, "%s", t.host);
    snprintf(o.url_path, sizeof o.url_path, "%s", t.path);
    snprintf(o.target_text, sizeof o.target_text, "%s", t.text);
    char *body = NULL;
    if (body_file && !(body = read_file(body_file, &o.body_len))) {
        fprintf(stderr, "closer load: --body %s: cannot read\n", body_file);
        return EXIT_USAGE;
    }
    o.body = body;
    o.progress = !json && isatty(STDERR_FILENO);
    struct sigaction sa = {.sa_handler = on_sigint};
    sigaction(SIGINT, &sa, NULL);
    load_interrupted = 0;
    static struct load_result r;
    long tw_towards, tw_at, tw_all;
    load_count_time_wait(&t, &tw_towards, &tw_at, &tw_all);
    int rc = load_run(&o, &r, err, sizeof err);
    free(body);
    if (rc < 0) {
        fprintf(stderr, "closer load: %s\n", err);
        return EXIT_USAGE;
    }
    r.tw_towards_before = tw_towards;
    r.tw_at_before = tw_at;
    load_count_time_wait(&t, &r.tw_towards_after, &r.tw_at_after, &tw_all);
    if (json)
        load_print_json(stdout, &o, &r);
    else
        load_print_text(stdout, &o, &r);
    return r.requests ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* closer serve: an epoll HTTP/1.1 server with nginx's closing knobs. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "kernel/netns.h"
#include "server/server.h"
#include "util/cli.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/optab.h"
#include "util/parse.h"

static int duration(const char *opt, const char *arg, uint64_t *out)
{
    if (parse_duration_ms(arg, out) < 0)
        return cli_bad_value("serve", opt, arg, "a duration like 5s or 250ms");
    return 0;
}

static int choice(const char *opt, const char *arg, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(arg, names[i])) {
            *out = i;
            return 0;
        }
    return cli_bad_value("serve", opt, arg, "see --help for the choices");
}

/* A bare flag: on when given alone, or --flag=on|off (a config file's
 * "linger_zero off;"). */
static int flag(const char *opt, const char *arg, bool *out)
{
    static const char *const onoff[] = {"off", "on"};
    int v = 1;
    int rc = arg ? choice(opt, arg, onoff, 2, &v) : 0;
    *out = v;
    return rc;
}

enum {
    O_BACKLOG = 256, O_ROOT, O_RETURN, O_STATUS, O_KA, O_KA_TIMEOUT, O_KA_REQ, O_KA_TIME,
    O_HDR_TO, O_BODY_TO, O_SEND_TO, O_LINGER, O_LINGER_TIME, O_LINGER_TO, O_RESET_TO,
    O_POLICY, O_LINGER_ZERO, O_MAXCONN, O_MAXBODY, O_FAULT, O_ACCESS, O_CONFIG, O_REUSEPORT,
    O_USER,
};

/* Every option once: parsed, printed by --help (man page and shell
 * completion are generated from that text) and, by its long name, a
 * --config directive. The bare flags (OPTAB_OPTIONAL, no arg) also take
 * =on|off, which a config file's "linger_zero off;" becomes. */
static const struct optab serve_tab[] = {
    {"listen", 'l', "ADDR:PORT", 'l', "listen here (repeat for more; v4 or [v6])"},
    {"backlog", 0, "N", O_BACKLOG, "listen() backlog (511)"},
    {"workers", 'w', "N", 'w', "event loops with SO_REUSEPORT (default: cores)"},
    {"root", 0, "DIR", O_ROOT, "serve files from DIR (index.html, MIME, 304)"},
    {"user", 0, "NAME[:GROUP]", O_USER, "run as root: become NAME after binding, before\n"
                                        "serving (default nobody; --user root keeps root)"},
    {"return", 0, "CODE TEXT", O_RETURN, "answer every request with CODE and body TEXT"},
    {"status", 0, "PATH", O_STATUS, "counters like nginx stub_status (PATH.json: JSON)"},
    {"keepalive", 0, "on|off", O_KA, "keep-alive at all (on)"},
    {"keepalive-timeout", 0, "DUR", O_KA_TIMEOUT, "idle keep-alive timeout (75s; 0 = off)"},
    {"keepalive-requests", 0, "N", O_KA_REQ, "requests per connection (1000)"},
    {"keepalive-time", 0, "DUR", O_KA_TIME, "max connection age for keep-alive (1h)"},
    {"client-header-timeout", 0, "DUR", O_HDR_TO | OPTAB_BRIEF, "(60s)"},
    {"client-body-timeout", 0, "DUR", O_BODY_TO | OPTAB_SAME_LINE, "(60s)"},
    {"send-timeout", 0, "DUR", O_SEND_TO, "between two successful writes (60s)"},
    {"lingering-close", 0, "on|off|always", O_LINGER | OPTAB_BRIEF, "(on)"},
    {"lingering-time", 0, "DUR", O_LINGER_TIME | OPTAB_BRIEF, "(30s)"},
    {"lingering-timeout", 0, "DUR", O_LINGER_TO | OPTAB_SAME_LINE, "(5s)"},
    {"reset-timedout-connection", 0, NULL, O_RESET_TO | OPTAB_OPTIONAL,
     "close timed-out connections with RST\n"
     "(this and the other bare flags also take =on|off)"},
    {"close-policy", 0, "server|client", O_POLICY,
     "who sends the first FIN after the last\n"
     "response: server (default) or client (the server\n"
     "waits up to lingering-time for the client's FIN,\n"
     "so TIME_WAIT lands on the client)"},
    {"linger-zero", 0, NULL, O_LINGER_ZERO | OPTAB_OPTIONAL,
     "close with SO_LINGER {1,0}: RST, no TIME_WAIT"},
    {"max-connections", 0, "N", O_MAXCONN, "stop accepting above N (65536)"},
    {"max-body", 0, "SIZE", O_MAXBODY, "request body limit, 413 above (1m)"},
    {"access-log", 0, NULL, O_ACCESS | OPTAB_OPTIONAL, "one line per request on stdout"},
    {"reuseport", 0, NULL, O_REUSEPORT | OPTAB_OPTIONAL,
     "share a port another process already serves\n"
     "(SO_REUSEPORT); without it such a port is refused"},
    {"verbose", 'v', NULL, 'v' | OPTAB_OPTIONAL, "log more"},
    {"netns", 'N', "NS", 'N', "listen inside network namespace NS: NAME\n"
                              "(/run/netns/NAME), a path, or pid:PID"},
    {"config", 0, "FILE", O_CONFIG, "directives with the options' names, nginx style\n"
                                    "(keepalive_timeout 5s; return 200 \"ok\";), read\n"
                                    "first: the command line overrides them"},
    {"fault", 0, "MODE", O_FAULT, "TEST ONLY: reproduce a CLOSE_WAIT bug on purpose:\n"
                                  "listener-not-polled, no-accept, not-registered,\n"
                                  "no-close"},
    {"help", 'h', NULL, 'h', ""},
    {0}};

static void usage(void)
{
    printf("usage: closer serve --listen ADDR:PORT [options]\n\n"
           "An epoll HTTP/1.1 server that gets closing right (nginx's knobs, nginx's defaults).\n\n");
    optab_print(stdout, serve_tab, 32);
    printf("\nSIGTERM / SIGQUIT / SIGINT: graceful stop (stop accepting, finish responses, close\n"
           "idle connections). exit status: 0 after a graceful stop, 2 usage or startup error\n");
}

/* What the command line gives: the server's configuration, and -N, entered
 * by cmd_serve before any worker thread exists (they inherit it). */
struct serve_cli {
    struct srv_config c;
    const char *netns;
};

static int count_opt(const char *opt, const char *arg, uint64_t min, uint64_t max, const char *what,
                     uint64_t *out)
{
    return parse_u64(arg, min, max, out) < 0 ? cli_bad_value("serve", opt, arg, what) : 0;
}

/* --return CODE TEXT: the text is the next word. */
static int return_opt(int argc, char **argv, struct srv_config *c)
{
    uint64_t u;
    if (parse_u64(optarg, 200, 599, &u) < 0 || optind >= argc)
        return cli_bad_value("serve", "--return", optarg, "CODE (200-599) then TEXT");
    c->return_code = (int)u;
    c->return_body = argv[optind++];
    return 0;
}

static int listen_opt(const char *arg, struct srv_config *c)
{
    if (c->nlisten == SRV_MAX_LISTEN)
        return cli_bad_value("serve", "--listen", arg, "at most 8 addresses");
    if (parse_hostport(arg, &c->listen[c->nlisten], &c->listen_len[c->nlisten]) < 0)
        return cli_bad_value("serve", "--listen", arg, "ADDR:PORT, [V6]:PORT or PORT");
    c->nlisten++;
    return 0;
}

/* The options that take a value: addresses, counts, sizes, paths. */
static int value_opt(int ch, int argc, char **argv, struct srv_config *c)
{
    uint64_t u = 0;
    int rc;
    switch (ch) {
    case 'l': return listen_opt(optarg, c);
    case O_BACKLOG:
        rc = count_opt("--backlog", optarg, 1, 1 << 20, "1..1048576", &u);
        c->backlog = rc ? c->backlog : (int)u;
        return rc;
    case 'w':
        rc = count_opt("--workers", optarg, 1, 256, "1..256", &u);
        c->workers = rc ? c->workers : (int)u;
        return rc;
    case O_ROOT: c->root = optarg; return 0;
    case O_USER: c->user = optarg; return 0;
    case O_RETURN: return return_opt(argc, argv, c);
    case O_STATUS:
        if (optarg[0] != '/')
            return cli_bad_value("serve", "--status", optarg, "a path starting with /");
        c->status_path = optarg;
        return 0;
    case O_KA_REQ:
        return count_opt("--keepalive-requests", optarg, 0, UINT64_MAX >> 1, "a count", &c->keepalive_requests);
    case O_MAXCONN:
        return count_opt("--max-connections", optarg, 1, 10000000, "a count", &c->max_connections);
    default: /* O_MAXBODY */
        if (parse_size(optarg, &c->max_body) < 0)
            return cli_bad_value("serve", "--max-body", optarg, "a size like 1m");
        return 0;
    }
}

/* The closing knobs: durations, choices and on|off flags. */
static int knob_opt(int ch, struct srv_config *c)
{
    static const char *const onoff[] = {"off", "on"};
    static const char *const linger[] = {"off", "on", "always"};
    static const char *const policy[] = {"server", "client"};
    static const char *const faults[] = {"none", "listener-not-polled", "no-accept",
                                         "not-registered", "no-close"};
    int rc, v = 0;
    switch (ch) {
    case O_KA: rc = choice("--keepalive", optarg, onoff, 2, &v); c->keepalive = v; return rc;
    case O_KA_TIMEOUT: return duration("--keepalive-timeout", optarg, &c->keepalive_timeout);
    case O_KA_TIME: return duration("--keepalive-time", optarg, &c->keepalive_time);
    case O_HDR_TO: return duration("--client-header-timeout", optarg, &c->client_header_timeout);
    case O_BODY_TO: return duration("--client-body-timeout", optarg, &c->client_body_timeout);
    case O_SEND_TO: return duration("--send-timeout", optarg, &c->send_timeout);
    case O_LINGER: rc = choice("--lingering-close", optarg, linger, 3, &v); c->lingering_close = v; return rc;
    case O_LINGER_TIME: return duration("--lingering-time", optarg, &c->lingering_time);
    case O_LINGER_TO: return duration("--lingering-timeout", optarg, &c->lingering_timeout);
    case O_RESET_TO: return flag("--reset-timedout-connection", optarg, &c->reset_timedout_connection);
    case O_POLICY: rc = choice("--close-policy", optarg, policy, 2, &v); c->close_policy = v; return rc;
    case O_LINGER_ZERO: return flag("--linger-zero", optarg, &c->linger_zero);
    case O_FAULT: rc = choice("--fault", optarg, faults, 5, &v); c->fault = v; return rc;
    case O_ACCESS: return flag("--access-log", optarg, &c->access_log);
    default: /* O_REUSEPORT */ return flag("--reuseport", optarg, &c->reuseport);
    }
}

/* One option: 0, an exit code, or -1 after --help. */
static int parse_opt(int ch, int argc, char **argv, struct serve_cli *x)
{
    switch (ch) {
    case 'l': case O_BACKLOG: case 'w': case O_ROOT: case O_USER: case O_RETURN: case O_STATUS:
    case O_KA_REQ: case O_MAXCONN: case O_MAXBODY:
        return value_opt(ch, argc, argv, &x->c);
    case O_KA: case O_KA_TIMEOUT: case O_KA_TIME: case O_HDR_TO: case O_BODY_TO: case O_SEND_TO:
    case O_LINGER: case O_LINGER_TIME: case O_LINGER_TO: case O_RESET_TO: case O_POLICY:
    case O_LINGER_ZERO: case O_FAULT: case O_ACCESS: case O_REUSEPORT:
        return knob_opt(ch, &x->c);
    case 'v': {
        bool on;
        int rc = flag("--verbose", optarg, &on);
        if (!rc && on)
            log_threshold = LOG_INFO;
        return rc;
    }
    case O_CONFIG: return 0; /* read before the command line, in cmd_serve */
    case 'N': x->netns = optarg; return 0;
    case 'h': usage(); return -1;
    default: return cli_bad_option("serve", ch, argv);
    }
}

/* Parses options into x. from_file: one directive of a --config file (the
 * final checks wait for the command line). */
static int parse_opts(int argc, char **argv, struct serve_cli *x, bool from_file)
{
    struct optab_getopt g;
    int ch, rc = 0;
    if (optab_build(serve_tab, &g) < 0) { /* a misdeclared row: every serve test fails */
        fprintf(stderr, "closer serve: the option table is malformed\n");
        return EXIT_USAGE;
    }
    cli_begin();
    while (!rc && (ch = optab_next(&g, argc, argv)) != -1)
        rc = parse_opt(ch, argc, argv, x);
    if (rc)
        return rc;
    if (optind < argc) {
        fprintf(stderr, "closer serve: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (from_file)
        return 0;
    if (!x->c.nlisten) {
        fprintf(stderr, "closer serve: --listen ADDR:PORT is required\n");
        return EXIT_USAGE;
    }
    if (!x->c.root && !x->c.return_code) {
        fprintf(stderr, "closer serve: give --root DIR or --return CODE TEXT\n");
        return EXIT_USAGE;
    }
    return 0;
}

struct conf_ctx {
    struct serve_cli *x;
    const char *path;
};

static const struct optab *find_opt(const char *name)
{
    for (const struct optab *o = serve_tab; o->id || o->help; o++)
        if (o->name && !strcmp(o->name, name))
            return o;
    return NULL;
}

/* One directive: "keepalive_timeout 5s;" is parsed as --keepalive-timeout 5s,
 * "linger_zero on;" as --linger-zero=on. */
static int apply_directive(int line, int n, char **w, void *arg)
{
    struct conf_ctx *x = arg;
    char opt[64];
    int len = snprintf(opt, sizeof opt, "--%s", w[0]);
    const struct optab *o = NULL;
    if ((size_t)len < sizeof opt && !strchr(w[0], '-')) {
        for (char *p = opt + 2; *p; p++)
            if (*p == '_')
                *p = '-';
        o = find_opt(opt + 2);
    }
    if (!o || !strcmp(o->name, "help") || !strcmp(o->name, "config")) {
        fprintf(stderr, "closer serve: %s:%d: unknown directive '%s'\n", x->path, line, w[0]);
        return EXIT_USAGE;
    }
    char *av[CONF_MAX_WORDS + 1] = {"serve", opt};
    int ac = n + 1;
    for (int i = 1; i < n; i++)
        av[i + 1] = w[i];
    if (o->id & OPTAB_OPTIONAL) { /* a flag: "linger_zero on;" */
        if (n != 2 || strlen(opt) + 1 + strlen(w[1]) >= sizeof opt) {
            fprintf(stderr, "closer serve: %s:%d: %s takes on or off\n", x->path, line, w[0]);
            return EXIT_USAGE;
        }
        strcat(strcat(opt, "="), w[1]);
        ac = 2;
    }
    if (parse_opts(ac, av, x->x, true)) {
        fprintf(stderr, "closer serve: %s:%d: in directive '%s'\n", x->path, line, w[0]);
        return EXIT_USAGE;
    }
    return 0;
}

/* --config FILE anywhere on the command line: its directives come first. */
static int read_config(int argc, char **argv, struct serve_cli *x, char **text)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
    }
    if (!path)
        return 0;
    if (!(*text = conf_read_file(path))) {
        fprintf(stderr, "closer serve: --config %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    char err[160];
    struct conf_ctx cx = {x, path};
    int rc = conf_parse(*text, apply_directive, &cx, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "closer serve: %s:%s\n", path, err);
    return rc ? EXIT_USAGE : 0;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_cli x = {0};
    srv_config_defaults(&x.c);
    char *text = NULL; /* the config's words stay referenced by x.c */
    int rc = read_config(argc, argv, &x, &text);
    if (!rc)
        rc = parse_opts(argc, argv, &x, false);
    if (rc) {
        free(text);
        return rc < 0 ? 0 : rc;
    }
    char err[256];
    if (x.netns && netns_enter(x.netns, err, sizeof err) < 0) {
        fprintf(stderr, "closer serve: %s\n", err);
        free(text);
        return EXIT_USAGE;
    }
    if (x.c.access_log)
        setvbuf(stdout, NULL, _IOLBF, 0); /* each line as its request is handled, as nginx */
    rc = srv_run(&x.c, err, sizeof err) < 0 ? EXIT_USAGE : 0;
    if (rc)
        fprintf(stderr, "closer serve: %s\n", err);
    free(text);
    return rc;
}

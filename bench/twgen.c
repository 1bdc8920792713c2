/* SPDX-License-Identifier: MIT */
/* twgen: fills the current network namespace with N TIME_WAIT sockets, fast.
 * Run it inside a private namespace (ip netns exec NS twgen ...); it raises
 * that namespace's net.ipv4.tcp_max_tw_buckets when it is too low.
 *
 *   twgen --count N [--side server|client] [--port P] [--sources K] [--jobs J]
 *
 * server: the server closes first, so TIME_WAIT sits on port P of the
 *         listeners 127.0.0.1:P .. 127.0.0.J:P (one per worker, so a worker
 *         only ever accepts its own connections). Clients bind explicit,
 *         never reused (source ip, port) pairs from 127.1.x.y, so no SYN ever
 *         lands on an existing TIME_WAIT (which would recycle it). twgen then
 *         keeps the listeners open until killed: doctor recognises
 *         server-side TIME_WAIT by its local port being a listening port.
 * client: the clients close first: TIME_WAIT on ephemeral ports of K source
 *         addresses per worker; twgen exits when done.
 *
 * Each worker (default: one per CPU, at most 8) works in batches of BATCH
 * connections, so fds stay far below RLIMIT_NOFILE: a TIME_WAIT socket holds
 * no fd. Blocking connect() is enough: on loopback the handshake completes
 * inside connect() while the batch fits in the listen backlog.
 *
 * N is checked against the namespace's own count (/proc/net/sockstat "tw",
 * before and after) and the TcpExt TCPTimeWaitOverflow counter; what is
 * missing is made again in up to MAX_ROUNDS rounds. Prints "created N
 * time-wait (SIDE side, J workers, M connections in R rounds) in S s".
 * Exit 0 all present, 1 failure or fewer present (bucket overflow,
 * tcp_tw_reuse recycling), 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 512
#define MAX_JOBS 8
#define PORT_LO 1025
#define PORT_HI 65000
#define SOURCES_PER_JOB 1000 /* disjoint source address ranges per worker */
#define SOURCES_PER_ROUND 100 /* ... and per top-up round within it */
#define MAX_ROUNDS 4
#define MAX_TW_BUCKETS "/proc/sys/net/ipv4/tcp_max_tw_buckets"

struct plan {
    long count;      /* TIME_WAIT sockets this worker makes */
    int port;
    int server_side; /* 1: the accepted side closes first */
    unsigned sources;
    unsigned job;    /* worker index: listener 127.0.0.(job+1), sources */
    unsigned round;  /* top-up round: fresh source addresses, fresh 4-tuples */
};

/* First source address index of this worker in this round. */
static unsigned source_base(const struct plan *p)
{
    return p->job * SOURCES_PER_JOB + p->round * SOURCES_PER_ROUND;
}

static const char usage[] =
    "usage: twgen --count N [--side server|client] [--port P] [--sources K] [--jobs J]\n"
    "Fills the current network namespace with N TIME_WAIT sockets.\n"
    "  -n, --count N      TIME_WAIT sockets to make (required)\n"
    "  -s, --side SIDE    server (default): the accepting side closes first, TIME_WAIT\n"
    "                     on listening port P; client: the connecting side closes first\n"
    "  -p, --port P       listening port (default 8080)\n"
    "  -k, --sources K    client side: source addresses per worker (default 16;\n"
    "                     ~28k ports each)\n"
    "  -j, --jobs J       worker processes (default: CPUs, at most 8)\n"
    "exit status: 0 all present, 1 failure or fewer present, 2 usage\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
    fprintf(stderr, "twgen: %s: %s\n", what, strerror(errno));
    return 1;
}

/* 127.1.0.1 + i, skipping .0 and .255 host bytes. */
static in_addr_t source_addr(unsigned i)
{
    unsigned host = 1 + (i / 254) * 256 + (i % 254);
    return htonl((127u << 24) | (1u << 16) | host);
}

static struct sockaddr_in listen_addr(unsigned job, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl((127u << 24) | (job + 1));
    return sa;
}

static long parse_count(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return (errno || end == s || *end || v <= 0 || v > max) ? -1 : v;
}

/* TIME_WAIT sockets of this namespace: "TCP: inuse X orphan Y tw Z ..." in
 * /proc/net/sockstat (per namespace on 6.x kernels), -1 if unreadable. */
static long sockstat_tw(void)
{
    FILE *f = fopen("/proc/net/sockstat", "r");
    char line[256];
    long tw = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "TCP: inuse %*d orphan %*d tw %ld", &tw) == 1)
            break;
    if (f)
        fclose(f);
    return tw;
}

/* TcpExt TCPTimeWaitOverflow: a header line of names, then a line of values. */
static long tw_overflows(void)
{
    FILE *f = fopen("/proc/net/netstat", "r");
    char names[8192], values[8192];
    long result = -1;
    while (f && fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
        if (strncmp(names, "TcpExt:", 7) != 0)
            continue;
        char *ns, *vs, *n = strtok_r(names, " \n", &ns), *v = strtok_r(values, " \n", &vs);
        for (; n && v; n = strtok_r(NULL, " \n", &ns), v = strtok_r(NULL, " \n", &vs))
            if (strcmp(n, "TCPTimeWaitOverflow") == 0)
                result = atol(v);
    }
    if (f)
        fclose(f);
    return result;
}

/* Beyond tcp_max_tw_buckets the kernel drops TIME_WAIT silently (counted in
 * TCPTimeWaitOverflow): make room for what is there plus what we add. */
static void raise_tw_buckets(long needed)
{
    FILE *f = fopen(MAX_TW_BUCKETS, "r");
    long cur = 0;
    if (!f || fscanf(f, "%ld", &cur) != 1)
        cur = 0;
    if (f)
        fclose(f);
    if (cur >= needed)
        return;
    f = fopen(MAX_TW_BUCKETS, "w");
    if (!f || fprintf(f, "%ld\n", needed) < 0 || fclose(f) != 0)
        fprintf(stderr, "twgen: cannot raise %s to %ld (is %ld): %s\n", MAX_TW_BUCKETS, needed,
                cur, strerror(errno));
}

static int raise_fd_limit(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur >= want)
        return 0;
    rl.rlim_cur = want;
    if (rl.rlim_max < want)
        rl.rlim_max = want;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

/* One batch: n connections made, accepted, closed in the planned order. */
static int run_batch(const struct plan *p, int listener, int n, long made, unsigned *src,
                     unsigned *sport)
{
    int cl[BATCH], sv[BATCH], one = 1;
    struct sockaddr_in dst = listen_addr(p->job, p->port);
    for (int i = 0; i < n; i++) {
        struct sockaddr_in ca = {.sin_family = AF_INET};
        if ((cl[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0)
            return fail("socket");
        if (p->server_side) {
            /* Explicit, never repeated (ip, port): a fresh 4-tuple. */
            if (*sport > PORT_HI)
                *sport = PORT_LO, (*src)++;
            ca.sin_addr.s_addr = source_addr(source_base(p) + *src);
            ca.sin_port = htons((uint16_t)(*sport)++);
        } else {
            /* connect() picks the port; rotating sources multiplies the range. */
            unsigned k = (unsigned)((made + i) % p->sources);
            ca.sin_addr.s_addr = source_addr(source_base(p) + k);
            setsockopt(cl[i], IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        }
        if (bind(cl[i], (struct sockaddr *)&ca, sizeof ca) < 0)
            return fail("bind");
        if (connect(cl[i], (struct sockaddr *)&dst, sizeof dst) < 0)
            return fail("connect (ephemeral ports exhausted? raise --sources)");
    }
    for (int i = 0; i < n; i++)
        if ((sv[i] = accept(listener, NULL, NULL)) < 0)
            return fail("accept");
    /* Pair by pair: the second close follows the first within microseconds.
     * Closing a whole batch first left the peer's delayed ACK of the FIN
     * (ATO >= 40 ms) time to fire from a timer on the other CPU and arrive
     * after our FIN: the fresh TIME_WAIT saw an older timestamp (PAWS),
     * answered with an ACK, the closed peer with a RST, and it died. */
    int *first = p->server_side ? sv : cl, *second = p->server_side ? cl : sv;
    char b;
    for (int i = 0; i < n; i++) {
        close(first[i]);
        while (read(second[i], &b, 1) > 0) /* EOF: the FIN is already here */
            ;
        close(second[i]);
    }
    return 0;
}

static int run_worker(const struct plan *p, int listener)
{
    unsigned src = 0, sport = PORT_LO;
    if (p->server_side && p->count / (PORT_HI - PORT_LO + 1) >= SOURCES_PER_ROUND) {
        fprintf(stderr, "twgen: --count too large for one worker's source range; add --jobs\n");
        return 1;
    }
    for (long made = 0; made < p->count;) {
        int n = p->count - made < BATCH ? (int)(p->count - made) : BATCH;
        if (run_batch(p, listener, n, made, &src, &sport) != 0)
            return 1;
        made += n;
    }
    return 0;
}

static int open_listener(unsigned job, int port)
{
    struct sockaddr_in sa = listen_addr(job, port);
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0)
        return -1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 4 * BATCH) < 0) {
        close(l);
        return -1;
    }
    return l;
}

/* Forks one worker per listener; 0 when every worker made its share. */
static int run_workers(struct plan base, const int *listeners, unsigned jobs)
{
    pid_t pids[MAX_JOBS];
    pid_t parent = getpid();
    for (unsigned j = 0; j < jobs; j++) {
        struct plan p = base;
        p.job = j;
        p.count = base.count / jobs + (j < base.count % jobs);
        if ((pids[j] = fork()) < 0)
            return fail("fork");
        if (pids[j] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(1);
            _exit(run_worker(&p, listeners[j]));
        }
    }
    int rc = 0, status;
    for (unsigned j = 0; j < jobs; j++)
        if (waitpid(pids[j], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = 1;
    return rc;
}

static int parse_args(int argc, char **argv, struct plan *p, unsigned *jobs)
{
    static const struct option opts[] = {
        {"count", 1, 0, 'n'}, {"side", 1, 0, 's'}, {"port", 1, 0, 'p'}, {"sources", 1, 0, 'k'},
        {"jobs", 1, 0, 'j'},  {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    long n = sysconf(_SC_NPROCESSORS_ONLN), v;
    *jobs = n < 1 ? 1 : n > MAX_JOBS ? MAX_JOBS : (unsigned)n;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:s:p:k:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': if ((p->count = parse_count(optarg, 10000000)) < 0) goto bad; break;
        case 'p': if ((v = parse_count(optarg, 65535)) < 0) goto bad; p->port = (int)v; break;
        case 'k': if ((v = parse_count(optarg, SOURCES_PER_ROUND)) < 0) goto bad; p->sources = (unsigned)v; break;
        case 'j': if ((v = parse_count(optarg, MAX_JOBS)) < 0) goto bad; *jobs = (unsigned)v; break;
        case 's':
            if (strcmp(optarg, "server") != 0 && strcmp(optarg, "client") != 0)
                goto bad;
            p->server_side = strcmp(optarg, "server") == 0;
            break;
        case 'h': fputs(usage, stdout); return 0;
        case ':': fprintf(stderr, "twgen: %s needs a value\n", argv[optind - 1]); return 2;
        default: fprintf(stderr, "twgen: unknown option %s\n%s", argv[optind - 1], usage); return 2;
        }
    }
    if (optind < argc || p->count <= 0) {
        fprintf(stderr, "twgen: --count N (> 0) is required\n%s", usage);
        return 2;
    }
    return -1;
bad:
    fprintf(stderr, "twgen: bad value '%s' for %s\n", optarg, argv[optind - 1]);
    return 2;
}

int main(int argc, char **argv)
{
    struct plan plan = {.port = 8080, .server_side = 1, .sources = 16};
    unsigned jobs;
    int rc = parse_args(argc, argv, &plan, &jobs);
    if (rc >= 0)
        return rc;
    if (raise_fd_limit(2 * BATCH + 64) < 0)
        return fail("setrlimit(RLIMIT_NOFILE)");
    long tw_before = sockstat_tw(), overflow_before = tw_overflows();
    raise_tw_buckets((tw_before > 0 ? tw_before : 0) + plan.count + 1024);
    int listeners[MAX_JOBS];
    for (unsigned j = 0; j < jobs; j++)
        if ((listeners[j] = open_listener(j, plan.port)) < 0)
            return fail("listen");
    /* Guard: whatever still goes missing (tcp_tw_reuse recycling on the
     * client side, a late ACK killing a fresh TIME_WAIT, see run_batch) is
     * made again with fresh 4-tuples. */
    double t0 = now();
    long present = 0, overflow = 0, made = 0;
    unsigned round;
    for (round = 0; round < MAX_ROUNDS && present < plan.count && overflow == 0; round++) {
        struct plan p = plan;
        p.round = round;
        p.count = plan.count - present;
        if (run_workers(p, listeners, jobs) != 0)
            return 1;
        made += p.count;
        present = sockstat_tw() - tw_before;
        overflow = tw_overflows() - overflow_before;
    }
    double took = now() - t0;
    const char *side = plan.server_side ? "server" : "client";
    printf("created %ld time-wait (%s side, %u workers, %ld connections in %u rounds) in %.2f s; "
           "TCPTimeWaitOverflow +%ld\n",
           present, side, jobs, made, round, took, overflow);
    fflush(stdout);
    if (present < plan.count || overflow > 0) {
        fprintf(stderr, "twgen: only %ld of %ld TIME_WAIT present (tcp_max_tw_buckets? "
                        "tcp_tw_reuse recycling?)\n", present, plan.count);
        return 1;
    }
    if (plan.server_side) /* keep the listeners: see the top comment */
        pause();
    return 0;
}

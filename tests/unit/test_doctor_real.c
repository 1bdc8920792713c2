/* SPDX-License-Identifier: MIT */
/* The doctor's rules on socket tables recorded from real programs (by
 * tests/integration/doctor_real_tw.sh with RECORD_DIR: `closer doctor
 * --record` in the test's namespace, tcp_info included), replayed without
 * root. The sysctls of a replay are this host's, so each test sets the
 * namespace's own. */
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"
#include "test.h"

#define DATA "tests/data/doctor/"

static struct snapshot snap;
static struct doctor_report rep;

static void replay(const char *file, long port_lo, long port_hi, long tw_reuse)
{
    char err[256];
    snapshot_free(&snap);
    struct snapshot_opts o = {.replay = file, .info_states = 1u << TS_ESTABLISHED};
    if (snapshot_take(&snap, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    snap.sys.port_lo = port_lo;
    snap.sys.port_hi = port_hi;
    snap.sys.tw_reuse = tw_reuse;
    snap.sys.timestamps = 1;
    snap.sys.max_tw_buckets = 262144;
    snap.ctr.tw_overflow = 0;
    doctor_report_free(&rep);
    struct doctor_opts d = doctor_default_opts();
    if (doctor_analyze(&snap, &d, &rep) < 0)
        abort();
}

static const struct finding *find(const char *id, int port)
{
    for (size_t i = 0; i < rep.n; i++)
        if (!strcmp(rep.items[i].id, id) && (port < 0 || rep.items[i].port == port))
            return &rep.items[i];
    return NULL;
}

static double fact(const struct finding *f, const char *key)
{
    return finding_fact_value(f, key, -12345);
}

/* ab -n 2000 -c 10 against nginx (HTTP/1.0): 2000 closes in a fraction of
 * a second; the 1 s peak is the burst, not 33/s. */
TEST(ab_burst_against_nginx_reads_as_a_peak)
{
    replay(DATA "ab_burst_nginx.dump", 32768, 60999, 2);
    const struct finding *f = find("server-time-wait", 8081);
    CHECK(f);
    CHECK_EQ_INT(f->count, 2000);
    CHECK(fact(f, "peak_closes_per_s_1s") == 2000);
    CHECK(fact(f, "closes_span_s") < 1);
    CHECK(fact(f, "listener") == 1);
    CHECK(strstr(f->title, "peak 2000 closes in 1 s"));
    CHECK_EQ_INT(rep.tw_server, 2000);
    CHECK_EQ_INT(rep.tw_server_gone, 0);
}

/* The same nginx stopped: nothing listens on 8081, the TIME_WAIT stays. */
TEST(stopped_nginx_time_wait_is_not_silent)
{
    replay(DATA "nginx_stopped_tw.dump", 32768, 60999, 2);
    const struct finding *f = find("server-time-wait", 8081);
    CHECK(f);
    CHECK_EQ_INT(f->count, 2000);
    CHECK(fact(f, "listener") == 0);
    CHECK(strstr(f->title, "no listener now"));
    CHECK_EQ_INT(rep.tw_server_gone, 2000);
    CHECK_EQ_INT(rep.tw_other, 0);
}

/* nginx proxying to 127.0.0.1:9000 without upstream keep-alive in a
 * 1000-port range, tcp_tw_reuse=0: the range is full. */
TEST(nginx_proxy_fills_the_port_range)
{
    replay(DATA "nginx_proxy_no_upstream_keepalive.dump", 40000, 40999, 0);
    const struct finding *f = find("client-port-pressure", -1);
    CHECK(f);
    CHECK_EQ_STR(f->dest, "127.0.0.1:9000");
    CHECK(fact(f, "range_used_pct") >= 99);
    CHECK_EQ_INT(f->severity, SEV_CRITICAL);
    CHECK(!find("server-time-wait", 9000) || find("server-time-wait", 9000)->count < 10);
    /* With tcp_tw_reuse=1 connect() survives by taking over TIME_WAIT. */
    replay(DATA "nginx_proxy_no_upstream_keepalive.dump", 40000, 40999, 1);
    f = find("client-port-pressure", -1);
    CHECK(f && !strstr(f->title, "fails now"));
}

/* nginx keepalive_requests 20 under wrk -c16: busy connections, several
 * requests each, closed by the server -> request cap, at most 20. */
TEST(nginx_request_cap_under_wrk)
{
    replay(DATA "nginx_keepalive_requests_20_wrk.dump", 32768, 60999, 2);
    const struct finding *f = find("server-time-wait", 8083);
    CHECK(f);
    CHECK_EQ_STR(f->cause, "request cap");
    CHECK(fact(f, "sampled_connections") >= 3);
    CHECK(fact(f, "max_requests_per_connection") <= 20);
    CHECK(fact(f, "max_requests_per_connection") >= 10);
    CHECK(strstr(f->fix, "keepalive_requests"));
}

/* nginx keepalive_timeout 3s, Node http.Agent keep-alive pools idling:
 * six closed at 3 s, six idle -> idle timeout. */
TEST(nginx_idle_timeout_with_node_agents)
{
    replay(DATA "nginx_keepalive_timeout_3s_node_agent.dump", 32768, 60999, 2);
    const struct finding *f = find("server-time-wait", 8084);
    CHECK(f);
    CHECK_EQ_INT(f->count, 6);
    CHECK_EQ_STR(f->cause, "idle timeout");
    CHECK(fact(f, "idle_connections") == 6);
    CHECK(fact(f, "max_idle_s") >= 1 && fact(f, "max_idle_s") < 3);
    CHECK(strstr(f->fix, "keepalive_timeout"));
}

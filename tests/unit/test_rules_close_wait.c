/* SPDX-License-Identifier: MIT */
/* CLOSE_WAIT classes on dumps recorded from real programs
 * (tests/integration/doctor_real_closewait.sh with RECORD_DIR=tests/data):
 * the netlink part, tcp_info included, is the kernel's; owners and process
 * models are built here by hand, as a recording holds none. */
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"
#include "test.h"

static struct snapshot snap;
static struct doctor_report rep;

enum { P_SERVER, P_CLIENT };

/* Which process owns t: the listener's port belongs to the server, every
 * other socket with an inode to the client (the only other program). */
static int owner_of(const struct tcp_sock *t, int listen_port)
{
    if (!t->inode)
        return -1;
    return t->sport == listen_port ? P_SERVER : P_CLIENT;
}

static int by_inode(const void *a, const void *b)
{
    const struct fd_ref *x = a, *y = b;
    return (x->inode > y->inode) - (x->inode < y->inode);
}

/* Replays tests/data/closewait_NAME.diag and gives its sockets owners. */
static int load(const char *name, int listen_port, const struct proc_info *server,
                const struct proc_info *client)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "tests/data/closewait_%s.diag", name);
    snapshot_free(&snap);
    struct snapshot_opts o = {.replay = path, .info_states = 1u << TS_CLOSE_WAIT |
                                                            1u << TS_ESTABLISHED};
    if (snapshot_take(&snap, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snap.procs = calloc(2, sizeof *snap.procs);
    snap.fds = calloc(snap.nsocks + 1, sizeof *snap.fds);
    snap.procs[P_SERVER] = *server;
    snap.procs[P_CLIENT] = *client;
    snap.nprocs = 2;
    for (size_t i = 0; i < snap.nsocks; i++) {
        int p = owner_of(&snap.socks[i], listen_port);
        if (p < 0)
            continue;
        snap.fds[snap.nfds++] = (struct fd_ref){.inode = snap.socks[i].inode,
                                                .pid = snap.procs[p].pid,
                                                .fd = 10 + (int)snap.nfds, .proc = (uint32_t)p};
    }
    qsort(snap.fds, snap.nfds, sizeof *snap.fds, by_inode);
    snap.owners_read = true;
    doctor_report_free(&rep);
    struct doctor_opts d = doctor_default_opts();
    return doctor_analyze(&snap, &d, &rep);
}

static const struct finding *find(const char *id)
{
    for (size_t i = 0; i < rep.n; i++)
        if (!strcmp(rep.items[i].id, id))
            return &rep.items[i];
    return NULL;
}

static size_t close_wait_findings(void)
{
    size_t n = 0;
    for (size_t i = 0; i < rep.n; i++)
        n += !strncmp(rep.items[i].id, "close-wait", 10);
    return n;
}

static double fact(const struct finding *f, const char *key)
{
    return finding_fact_value(f, key, -1);
}

/* A process as /proc shows it: comm, epoll instances, the command line and
 * the mapped libraries the catalogue looks for; go: a Go build id. */
static struct proc_info proc(pid_t pid, const char *comm, uint32_t nepoll, const char *cmdline,
                             const char *libs, bool go)
{
    struct proc_info p = {.pid = pid, .nfds = 12, .nepoll = nepoll, .fd_limit = 1024};
    snprintf(p.comm, sizeof p.comm, "%s", comm);
    p.model = (struct proc_model){.read = true, .go = go};
    snprintf(p.model.cmdline, sizeof p.model.cmdline, "%s", cmdline);
    snprintf(p.model.libs, sizeof p.model.libs, "%s", libs);
    proctask_count_wait(&p.model, nepoll ? "do_epoll_wait" : "poll_schedule_timeout");
    return p;
}

/* asyncio read the EOF and dropped the fd from epoll: recv_q 0 decides,
 * not the missing registration (the first wrong verdict). */
TEST(asyncio_eof_read_is_not_closed)
{
    struct proc_info srv = proc(100, "python3", 1, "/usr/bin/python3 srv.py", ";_asyncio;", false);
    struct proc_info cli = proc(200, "curl", 0, "curl http://x/", "", false);
    CHECK_EQ_INT(load("asyncio", 8001, &srv, &cli), 0);
    const struct finding *f = find("close-wait-not-closed");
    CHECK(f);
    CHECK_EQ_INT(close_wait_findings(), 1);
    CHECK_EQ_INT(f->count, 3);
    CHECK_EQ_INT(f->pid, 100);
    CHECK_EQ_STR(f->program, "python-asyncio");
    CHECK_EQ_STR(f->runtime, "python");
    CHECK(strstr(f->fix, "writer.close()"));
    CHECK(!strstr(f->fix, "epoll_ctl"));
    CHECK(strstr(f->peers, "127.0.0.1:"));
    /* the curl ends are on this host, orphaned in FIN_WAIT2 */
    CHECK(strstr(f->peer_on_host, "3 of 3 on this host"));
    CHECK(strstr(f->peer_on_host, "FIN_WAIT2, orphaned"));
    /* tcp_info came through the recording */
    CHECK(fact(f, "age_max_s") >= 0 && fact(f, "age_max_s") < 60);
}

/* The same sockets owned by Node: the fix is Node's. */
TEST(node_half_open_fix_names_socket_end)
{
    struct proc_info srv = proc(100, "node", 3, "node app.js", "", false);
    struct proc_info cli = proc(200, "curl", 0, "curl http://x/", "", false);
    CHECK_EQ_INT(load("node_halfopen", 8004, &srv, &cli), 0);
    const struct finding *f = find("close-wait-not-closed");
    CHECK(f);
    CHECK_EQ_INT(f->count, 3);
    CHECK_EQ_STR(f->runtime, "node");
    CHECK(strstr(f->fix, "socket.end()"));
    CHECK(strstr(f->fix, "allowHalfOpen"));
}

/* EOF unread and no epoll at all: a thread per connection, blocked. */
TEST(threading_server_is_blocked_thread)
{
    struct proc_info srv = proc(100, "python3", 0, "/usr/bin/python3 app.py", "", false);
    for (int i = 0; i < 3; i++)
        proctask_count_wait(&srv.model, "hrtimer_nanosleep");
    struct proc_info cli = proc(200, "curl", 0, "curl http://x/", "", false);
    CHECK_EQ_INT(load("threading", 8002, &srv, &cli), 0);
    const struct finding *f = find("close-wait-blocked-thread");
    CHECK(f);
    CHECK_EQ_INT(close_wait_findings(), 1);
    CHECK_EQ_INT(f->count, 3);
    CHECK_EQ_INT(f->recv_q, 3);
    CHECK(strstr(f->why, "4 threads: 3 in sleep (hrtimer_nanosleep)"));
    CHECK(strstr(f->fix, "StreamRequestHandler.timeout"));
    CHECK(!strstr(f->fix, "EPOLLIN"));
}

/* The same sockets in a process with an event loop: not polled. */
TEST(event_loop_with_unread_eof_is_not_polled)
{
    struct proc_info srv = proc(100, "node", 2, "node app.js", "", false);
    struct proc_info cli = proc(200, "curl", 0, "curl http://x/", "", false);
    CHECK_EQ_INT(load("threading", 8002, &srv, &cli), 0);
    const struct finding *f = find("close-wait-not-polled");
    CHECK(f);
    CHECK_EQ_INT(close_wait_findings(), 1);
    CHECK(strstr(f->fix, "socket.setTimeout()"));
}

/* A JVM keeps epoll instances (NIO) yet serves a request per worker
 * thread: with workers blocked outside epoll_wait, it is blocked-thread. */
TEST(jvm_workers_blocked_is_blocked_thread)
{
    struct proc_info srv = proc(100, "java", 2, "java -jar app.jar", ";libjvm;", false);
    for (int i = 0; i < 12; i++)
        proctask_count_wait(&srv.model, "futex_wait_queue");
    struct proc_info cli = proc(200, "curl", 0, "curl http://x/", "", false);
    CHECK_EQ_INT(load("threading", 8002, &srv, &cli), 0);
    const struct finding *f = find("close-wait-blocked-thread");
    CHECK(f);
    CHECK(strstr(f->why, "12 in a lock or queue (futex) (futex_wait_queue)"));
    CHECK(strstr(f->fix, "JDBC socketTimeout"));
    /* the same JVM with all its threads in epoll_wait: not polled */
    struct proc_info idle = proc(100, "java", 2, "java -jar app.jar", ";libjvm;", false);
    for (int i = 0; i < 12; i++)
        proctask_count_wait(&idle.model, "do_epoll_wait");
    CHECK_EQ_INT(load("threading", 8002, &idle, &cli), 0);
    CHECK(find("close-wait-not-polled"));
}

/* requests.Session against nginx: outgoing, only the FIN unread. */
TEST(requests_pool_is_client_pool)
{
    struct proc_info ngx = proc(100, "nginx", 1, "nginx: worker process", "", false);
    struct proc_info cli = proc(200, "python3", 0, "/usr/bin/python3 app.py", "", false);
    CHECK_EQ_INT(load("requests", 8080, &ngx, &cli), 0);
    const struct finding *f = find("close-wait-client-pool");
    CHECK(f);
    CHECK_EQ_INT(close_wait_findings(), 1);
    CHECK_EQ_INT(f->count, 4);
    CHECK_EQ_INT(f->pid, 200);
    CHECK_EQ_INT(f->severity, SEV_INFO); /* a few, bounded: a client setting */
    CHECK_EQ_INT(f->port, -1);
    CHECK_EQ_STR(f->dest, "127.0.0.1:8080");
    CHECK(strstr(f->peers, "127.0.0.1:8080 (the server; 4 connections)"));
    CHECK(strstr(f->peer_on_host, "served by pid 100, nginx"));
    /* nginx's keepalive_timeout was 1 s: the FIN came 1 s after the reply */
    CHECK(fact(f, "idle_before_fin_max_s") >= 0.9 && fact(f, "idle_before_fin_max_s") <= 1.3);
    CHECK(strstr(f->fix, "pool_maxsize"));
}

TEST(client_pool_fix_per_runtime)
{
    struct proc_info ngx = proc(100, "nginx", 1, "nginx: worker process", "", false);
    struct proc_info jvm = proc(200, "java", 2, "java -jar app.jar", ";libjvm;", false);
    CHECK_EQ_INT(load("requests", 8080, &ngx, &jvm), 0);
    const struct finding *f = find("close-wait-client-pool");
    /* the peer is nginx: an HTTP client's knob (HttpURLConnection's
     * KeepAliveCache), not a JDBC pool's (doctor_prog_gojvm.sh) */
    CHECK(f && strstr(f->fix, "http.keepAlive.time.server"));
    CHECK(f && !strstr(f->fix, "HikariCP"));
    struct proc_info go = proc(200, "api", 4, "./api", "", true);
    CHECK_EQ_INT(load("requests", 8080, &ngx, &go), 0);
    f = find("close-wait-client-pool");
    CHECK(f && strstr(f->fix, "IdleConnTimeout"));
}

/* Go keeps every fd in its netpoller's epoll set: an outgoing CLOSE_WAIT
 * there is a response body never closed, not an idle pooled connection. */
TEST(go_client_polled_is_not_closed_body)
{
    struct proc_info ngx = proc(100, "nginx", 1, "nginx: worker process", "", false);
    struct proc_info go = proc(200, "api", 4, "./api", "", true);
    CHECK_EQ_INT(load("requests", 8080, &ngx, &go), 0);
    for (size_t i = 0; i < snap.nfds; i++)
        snap.fds[i].polled = snap.fds[i].proc == P_CLIENT;
    doctor_report_free(&rep);
    struct doctor_opts d = doctor_default_opts();
    CHECK_EQ_INT(doctor_analyze(&snap, &d, &rep), 0);
    const struct finding *f = find("close-wait-not-closed");
    CHECK(f);
    CHECK(!find("close-wait-client-pool"));
    CHECK_EQ_INT(f->port, -1);
    CHECK(strstr(f->title, "outgoing connections"));
    CHECK(strstr(f->fix, "resp.Body.Close()"));
}

/* A pool that grows between the two looks of --confirm is a warning. */
TEST(client_pool_growing_warns)
{
    struct proc_info ngx = proc(100, "nginx", 1, "nginx: worker process", "", false);
    struct proc_info cli = proc(200, "python3", 0, "/usr/bin/python3 app.py", "", false);
    CHECK_EQ_INT(load("requests", 8080, &ngx, &cli), 0);
    /* the first look had only the first two of the four */
    struct snapshot early = snap;
    struct tcp_sock two[2];
    size_t k = 0;
    for (size_t i = 0; i < snap.nsocks && k < 2; i++)
        if (snap.socks[i].state == TS_CLOSE_WAIT)
            two[k++] = snap.socks[i];
    early.socks = two;
    early.nsocks = k;
    CHECK_EQ_INT(snapshot_confirm(&snap, &early, 1.0), 0);
    doctor_report_free(&rep);
    struct doctor_opts d = doctor_default_opts();
    CHECK_EQ_INT(doctor_analyze(&snap, &d, &rep), 0);
    const struct finding *f = find("close-wait-client-pool");
    CHECK(f);
    CHECK_EQ_INT(f->count, 2);
    CHECK_EQ_INT(f->severity, SEV_WARNING);
    CHECK_EQ_INT(fact(f, "new_since_first_look"), 2);
    CHECK(strstr(f->why, "Growing"));
    CHECK_EQ_INT(rep.close_wait_transient, 2);
}

/* Node's http.Agent closed at the server's FIN: nothing to report. */
TEST(node_agent_leaves_nothing)
{
    struct proc_info ngx = proc(100, "nginx", 1, "nginx: worker process", "", false);
    struct proc_info cli = proc(200, "node", 3, "node app.js", "", false);
    CHECK_EQ_INT(load("node_agent", 8080, &ngx, &cli), 0);
    CHECK_EQ_INT(close_wait_findings(), 0);
}

/* Sockets without an owner that were gone at the second look closed
 * meanwhile: counted, never "owner hidden". */
TEST(gone_is_not_hidden)
{
    struct proc_info srv = proc(100, "python3", 1, "/usr/bin/python3 srv.py", ";_asyncio;", false);
    struct proc_info cli = proc(200, "curl", 0, "curl http://x/", "", false);
    CHECK_EQ_INT(load("asyncio", 8001, &srv, &cli), 0);
    /* drop the server's owners: all three CLOSE_WAIT look ownerless */
    size_t keep = 0;
    uint64_t gone[3];
    size_t ng = 0;
    for (size_t i = 0; i < snap.nsocks; i++)
        if (snap.socks[i].state == TS_CLOSE_WAIT)
            gone[ng++] = snap.socks[i].inode;
    for (size_t i = 0; i < snap.nfds; i++)
        if (snap.fds[i].proc != P_SERVER)
            snap.fds[keep++] = snap.fds[i];
    snap.nfds = keep;
    /* two of them were gone when asked again; one is really hidden */
    snap.gone = malloc(2 * sizeof *snap.gone);
    snap.gone[0] = gone[0] < gone[1] ? gone[0] : gone[1];
    snap.gone[1] = gone[0] < gone[1] ? gone[1] : gone[0];
    snap.ngone = 2;
    doctor_report_free(&rep);
    struct doctor_opts d = doctor_default_opts();
    CHECK_EQ_INT(doctor_analyze(&snap, &d, &rep), 0);
    CHECK_EQ_INT(rep.close_wait_gone, 2);
    const struct finding *f = find("close-wait-owner-hidden");
    CHECK(f);
    CHECK_EQ_INT(f->count, 1);
    snapshot_free(&snap);
    doctor_report_free(&rep);
}

static void reanalyze(void)
{
    doctor_report_free(&rep);
    struct doctor_opts d = doctor_default_opts();
    CHECK_EQ_INT(doctor_analyze(&snap, &d, &rep), 0);
}

/* A server that says goodbye before its FIN (PostgreSQL's FATAL on
 * idle_session_timeout) leaves the same bytes unread on every pooled
 * connection: still the client pool, never "a thread per connection" for
 * a one-thread client's outgoing sockets; the server's program names the
 * protocol and both knobs. */
TEST(goodbye_before_fin_is_still_the_pool)
{
    struct proc_info pg = proc(100, "postgres", 0, "postgres: app app idle", "", false);
    struct proc_info cli = proc(200, "python3", 0, "/usr/bin/python3 pool.py", ";libpq;", false);
    CHECK_EQ_INT(load("requests", 8080, &pg, &cli), 0);
    for (size_t i = 0; i < snap.nsocks; i++)
        if (snap.socks[i].state == TS_CLOSE_WAIT)
            snap.socks[i].rqueue = 117;
    reanalyze();
    const struct finding *f = find("close-wait-client-pool");
    CHECK(f);
    CHECK(!find("close-wait-blocked-thread"));
    CHECK_EQ_INT(f->count, 4);
    CHECK_EQ_STR(f->program, "psycopg2");
    CHECK_EQ_STR(f->protocol, "postgresql");
    CHECK_EQ_STR(f->protocol_from, "peer");
    CHECK_EQ_STR(f->peer_program, "postgres");
    CHECK(strstr(f->why, "the same 116 unread bytes and the FIN (recv_q 117 each)"));
    /* the goodbye came with the FIN: the silence is counted from the last
     * request, not from those bytes (nginx's 1 s here) */
    CHECK(fact(f, "idle_before_fin_max_s") >= 0.9);
    CHECK(strstr(f->why, "ErrorResponse"));
    CHECK(strstr(f->fix, "pool_recycle"));
    CHECK(strstr(f->fix, "idle_session_timeout"));
    CHECK(strstr(f->peers, "(the server; 4 connections)"));
}

/* One process, one server: sockets whose FIN came with the last data
 * (recv_q 0) join the pool their siblings prove, never a second class. */
TEST(one_pool_is_not_split_by_packet_timing)
{
    struct proc_info ngx = proc(100, "nginx", 1, "nginx: worker process", "", false);
    struct proc_info cli = proc(200, "python3", 0, "/usr/bin/python3 app.py", "", false);
    CHECK_EQ_INT(load("requests", 8080, &ngx, &cli), 0);
    int zeroed = 0;
    for (size_t i = 0; i < snap.nsocks && zeroed < 2; i++)
        if (snap.socks[i].state == TS_CLOSE_WAIT)
            snap.socks[i].rqueue = 0, zeroed++;
    reanalyze();
    CHECK_EQ_INT(close_wait_findings(), 1);
    const struct finding *f = find("close-wait-client-pool");
    CHECK(f && f->count == 4);
    CHECK(strstr(f->why, "recv_q 0 to 1"));
}

/* A forking server: each blocked child holds one CLOSE_WAIT and the
 * listener they share. One finding for the listener, not one per child. */
TEST(children_sharing_a_listener_are_one_finding)
{
    struct proc_info srv = proc(100, "python3", 0, "/usr/bin/python3 fork.py", "", false);
    struct proc_info cli = proc(200, "curl", 0, "curl http://x/", "", false);
    CHECK_EQ_INT(load("threading", 8002, &srv, &cli), 0);
    struct proc_info *procs = calloc(5, sizeof *procs);
    memcpy(procs, snap.procs, 2 * sizeof *procs);
    free(snap.procs);
    snap.procs = procs;
    struct fd_ref *fds = calloc(snap.nfds + 8, sizeof *fds);
    memcpy(fds, snap.fds, snap.nfds * sizeof *fds);
    free(snap.fds);
    snap.fds = fds;
    /* children 101..103 of pid 100: one accepted socket each, and the
     * listener (inherited) */
    uint64_t listener = 0;
    for (size_t i = 0; i < snap.nsocks; i++)
        if (snap.socks[i].state == TS_LISTEN && snap.socks[i].sport == 8002)
            listener = snap.socks[i].inode;
    CHECK(listener);
    int child = 0;
    for (size_t i = 0; i < snap.nfds; i++) {
        const struct tcp_sock *t = NULL;
        for (size_t k = 0; k < snap.nsocks; k++)
            if (snap.socks[k].inode == snap.fds[i].inode)
                t = &snap.socks[k];
        if (t && t->state == TS_CLOSE_WAIT && child < 3) {
            snap.procs[2 + child] = proc(101 + child, "python3", 0, "/usr/bin/python3 fork.py",
                                         "", false);
            snap.fds[i].pid = 101 + child;
            snap.fds[i].proc = (uint32_t)(2 + child);
            snap.fds[snap.nfds + (size_t)child] =
                (struct fd_ref){.inode = listener, .pid = 101 + child, .fd = 3,
                                .proc = (uint32_t)(2 + child)};
            child++;
        }
    }
    snap.nfds += (size_t)child;
    snap.nprocs = 5;
    qsort(snap.fds, snap.nfds, sizeof *snap.fds, by_inode);
    reanalyze();
    CHECK_EQ_INT(child, 3);
    CHECK_EQ_INT(close_wait_findings(), 1);
    const struct finding *f = find("close-wait-blocked-thread");
    CHECK(f);
    CHECK_EQ_INT(f->count, 3);
    CHECK_EQ_INT(f->processes, 3);
    CHECK_EQ_INT(f->pid, 100); /* the listener's first owner */
    CHECK_EQ_INT(f->severity, SEV_WARNING);
    CHECK(strstr(f->title, "3 processes sharing the listener of pid 100"));
    CHECK(strstr(f->fix, "StreamRequestHandler.timeout"));
}

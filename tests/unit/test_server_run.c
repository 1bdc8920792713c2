/* SPDX-License-Identifier: MIT */
/* closer serve's whole server (srv_run: workers, site, static files, status
 * page, graceful stop) on 127.0.0.1, without root. The server runs in a
 * thread; the test is a plain blocking HTTP client over loopback and stops
 * the server with SIGTERM aimed at that thread (srv_run reads it from its
 * signalfd). The port is chosen by the kernel: a probe socket bound to port
 * 0 with SO_REUSEPORT names it and the server's listeners share it, so no
 * other process can take it between the two. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/privs.h"
#include "server/server.h"
#include "server/status.h"
#include "test.h"

struct running {
    struct srv_config cfg;
    int probe;       /* holds the port for the server's SO_REUSEPORT listeners */
    int port;
    pthread_t th;
    int rc;
    char err[256];
};

static void *serve(void *arg)
{
    struct running *r = arg;
    r->rc = srv_run(&r->cfg, r->err, sizeof r->err);
    return NULL;
}

static int probe_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void config(struct running *r, const char *root)
{
    memset(r, 0, sizeof *r);
    srv_config_defaults(&r->cfg);
    r->probe = probe_port(&r->port);
    struct sockaddr_in *a = (struct sockaddr_in *)&r->cfg.listen[0];
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    r->cfg.listen_len[0] = sizeof *a;
    r->cfg.nlisten = 1;
    r->cfg.reuseport = true;
    r->cfg.workers = 2;
    r->cfg.root = root;
    r->cfg.status_path = "/status";
    /* As root, srv_run would become nobody for the whole test process:
     * "root" is the one user it keeps (nginx's "user root;"). */
    r->cfg.user = geteuid() == 0 ? "root" : NULL;
}

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {10, 0}; /* a hang fails the test instead of the run */
    for (int tries = 0; tries < 1000; tries++) { /* until the server listens */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        close(fd);
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return -1;
}

static bool start(struct running *r)
{
    if (r->probe < 0 || pthread_create(&r->th, NULL, serve, r) != 0)
        return false;
    int fd = dial(r->port);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

static int stop(struct running *r)
{
    pthread_kill(r->th, SIGTERM);
    pthread_join(r->th, NULL);
    close(r->probe);
    return r->rc;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w, n -= (size_t)w;
    }
    return true;
}

/* Reads until the server closes; a NUL-terminated copy (free it). */
static char *read_to_eof(int fd)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while ((got = recv(fd, buf + n, cap - n - 1, 0)) > 0) {
        n += (size_t)got;
        if (cap - n < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    return buf;
}

/* One exchange on a new connection: req, then everything until EOF. */
static char *ask(int port, const char *req)
{
    int fd = dial(port);
    if (fd < 0)
        return strdup("(no connection)");
    send_all(fd, req, strlen(req));
    char *a = read_to_eof(fd);
    close(fd);
    return a;
}

static char *get(int port, const char *method, const char *target, const char *extra)
{
    char req[1024];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n", method,
             target, extra ? extra : "");
    return ask(port, req);
}

static bool starts(const char *a, const char *prefix)
{
    if (strncmp(a, prefix, strlen(prefix))) {
        printf("# answer: %.200s\n", a);
        return false;
    }
    return true;
}

static const char *body_of(const char *a)
{
    const char *b = strstr(a, "\r\n\r\n");
    return b ? b + 4 : "";
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char root[] = "/tmp/closer-srvrun-XXXXXX";

/* The site: index, a text file, a directory with and without an index, a
 * symlink leading out, a FIFO, names that decode to "..". */
static bool make_root(void)
{
    strcpy(root, "/tmp/closer-srvrun-XXXXXX");
    if (!mkdtemp(root))
        return false;
    char p[512];
    put_file(root, "index.html", "<p>home</p>\n");
    put_file(root, "a.txt", "alpha\n");
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0755);
    put_file(root, "sub/index.html", "<p>sub</p>\n");
    snprintf(p, sizeof p, "%s/empty", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/out", root);
    if (symlink("/etc/hostname", p) < 0)
        return false;
    snprintf(p, sizeof p, "%s/fifo", root);
    return mkfifo(p, 0644) == 0;
}

static void remove_root(void)
{
    static const char *const names[] = {"index.html", "a.txt", "sub/index.html", "sub",
                                        "empty", "out", "fifo"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, names[i]);
        if (remove(p) < 0)
            printf("# cannot remove %s: %s\n", p, strerror(errno));
    }
    rmdir(root);
}

/* Each target and the status line it gets, and a piece of its body. */
struct want {
    const char *method, *target, *status, *body;
};

static const struct want site[] = {
    {"GET", "/", "HTTP/1.1 200 ", "<p>home</p>"},
    {"GET", "/a.txt", "HTTP/1.1 200 ", "alpha"},
    {"GET", "/a.txt?x=1", "HTTP/1.1 200 ", "alpha"},
    {"GET", "/a.txt#frag", "HTTP/1.1 400 ", "400 Bad Request"},
    {"GET", "/./a.txt", "HTTP/1.1 200 ", "alpha"},
    {"GET", "/%61.txt", "HTTP/1.1 200 ", "alpha"},
    {"GET", "http://t/a.txt", "HTTP/1.1 200 ", "alpha"},
    {"GET", "http://t", "HTTP/1.1 200 ", "<p>home</p>"},
    {"GET", "/sub", "HTTP/1.1 200 ", "<p>sub</p>"},
    {"GET", "/sub/", "HTTP/1.1 200 ", "<p>sub</p>"},
    {"GET", "/empty/", "HTTP/1.1 404 ", "404 Not Found"},
    {"GET", "/empty", "HTTP/1.1 404 ", "404 Not Found"},
    {"GET", "/missing", "HTTP/1.1 404 ", "404 Not Found"},
    {"GET", "/a.txt/x", "HTTP/1.1 404 ", "404 Not Found"},
    {"GET", "/fifo", "HTTP/1.1 404 ", "404 Not Found"},
    {"GET", "/out", "HTTP/1.1 403 ", "403 Forbidden"},
    {"GET", "/../etc/passwd", "HTTP/1.1 403 ", "403 Forbidden"},
    {"GET", "/%2e%2e/etc/passwd", "HTTP/1.1 403 ", "403 Forbidden"},
    {"GET", "/bad%zz", "HTTP/1.1 400 ", "400 Bad Request"},
    {"GET", "/nul%00", "HTTP/1.1 400 ", "400 Bad Request"},
    {"GET", "/cut%4", "HTTP/1.1 400 ", "400 Bad Request"},
    {"GET", "*", "HTTP/1.1 400 ", "400 Bad Request"},
    {"DELETE", "/a.txt", "HTTP/1.1 405 ", "405 Method Not Allowed"},
    {"GET", "/status", "HTTP/1.1 200 ", "Active connections: "},
    {"GET", "/status.json", "HTTP/1.1 200 ", "{\"active\":"},
};

/* A server over a fresh root; false (and nothing left behind) when it
 * could not start. */
static bool site_up(struct running *r)
{
    if (!make_root())
        return false;
    config(r, root);
    if (start(r))
        return true;
    remove_root();
    return false;
}

/* Stops the server and removes the root: 0 when srv_run returned 0. */
static int site_down(struct running *r)
{
    int rc = stop(r);
    remove_root();
    return rc;
}

static bool site_answers(int port)
{
    for (size_t i = 0; i < sizeof site / sizeof site[0]; i++) {
        char *a = get(port, site[i].method, site[i].target, NULL);
        bool ok = starts(a, site[i].status) && strstr(body_of(a), site[i].body);
        if (!ok)
            printf("# %s %s: %.200s\n", site[i].method, site[i].target, a);
        free(a);
        if (!ok)
            return false;
    }
    return true;
}

TEST(static_files_status_page_and_errors)
{
    struct running r;
    CHECK(site_up(&r));
    bool ok = site_answers(r.port);
    CHECK_EQ_INT(site_down(&r), 0);
    CHECK(ok);
}

static bool head_only(int port)
{
    char *a = get(port, "HEAD", "/a.txt", NULL);
    bool ok = starts(a, "HTTP/1.1 200 ") && strstr(a, "Content-Length: 6\r\n") &&
              strstr(a, "Last-Modified: ") && !*body_of(a);
    free(a);
    return ok;
}

TEST(head_has_the_length_and_no_body)
{
    struct running r;
    CHECK(site_up(&r));
    bool ok = head_only(r.port);
    CHECK_EQ_INT(site_down(&r), 0);
    CHECK(ok);
}

static bool status_for_since(int port, const char *since, const char *status)
{
    char extra[128];
    snprintf(extra, sizeof extra, "If-Modified-Since: %s\r\n", since);
    char *a = get(port, "GET", "/a.txt", extra);
    bool ok = starts(a, status) && (strcmp(status, "HTTP/1.1 304 ") || !*body_of(a));
    free(a);
    return ok;
}

TEST(if_modified_since_answers_304_only_when_unchanged)
{
    struct running r;
    CHECK(site_up(&r));
    bool ok = status_for_since(r.port, "Fri, 01 Jan 2100 00:00:00 GMT", "HTTP/1.1 304 ") &&
              status_for_since(r.port, "Thu, 01 Jan 1970 00:00:00 GMT", "HTTP/1.1 200 ") &&
              status_for_since(r.port, "yesterday", "HTTP/1.1 200 ");
    CHECK_EQ_INT(site_down(&r), 0);
    CHECK(ok);
}

/* Pipelined on one keep-alive connection: answered in order; the status
 * page counts the requests of every worker. */
static bool pipelined(int port)
{
    int fd = dial(port);
    const char *req = "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /status.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (fd < 0 || !send_all(fd, req, strlen(req)))
        return false;
    char *a = read_to_eof(fd);
    close(fd);
    const char *first = strstr(a, "HTTP/1.1 200 "), *second = strstr(a, "HTTP/1.1 404 ");
    const char *third = second ? strstr(second, "HTTP/1.1 200 ") : NULL;
    bool ok = first && second && third && first < second && strstr(third, "\"requests\":") &&
              strstr(third, "\"closed\":{");
    if (!ok)
        printf("# answers: %.400s\n", a);
    free(a);
    return ok;
}

TEST(pipelined_requests_and_counters)
{
    struct running r;
    CHECK(site_up(&r));
    bool ok = pipelined(r.port);
    CHECK_EQ_INT(site_down(&r), 0);
    CHECK(ok);
}

/* SIGTERM with a client idle on keep-alive: its connection is closed and
 * srv_run returns 0. */
TEST(graceful_stop_closes_idle_connections)
{
    struct running r;
    config(&r, NULL);
    CHECK(start(&r));
    int fd = dial(r.port);
    CHECK(fd >= 0);
    const char *req = "GET /status HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK(send_all(fd, req, strlen(req)));
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    CHECK(n > 0);
    CHECK_EQ_INT(stop(&r), 0);
    /* What is left of the answer, then EOF (not a timeout). */
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        ;
    CHECK_EQ_INT(n, 0);
    close(fd);
}

TEST(fixed_answer_and_no_root)
{
    struct running r;
    config(&r, NULL);
    r.cfg.return_code = 418;
    r.cfg.return_body = "teapot\n";
    r.cfg.status_path = NULL;
    r.cfg.access_log = true;
    r.cfg.workers = 1;
    CHECK(start(&r));
    char *a = get(r.port, "GET", "/anything", NULL);
    CHECK(starts(a, "HTTP/1.1 418 "));
    CHECK_EQ_STR(body_of(a), "teapot\n");
    free(a);
    CHECK_EQ_INT(stop(&r), 0);
    config(&r, NULL);
    r.cfg.workers = 1;
    CHECK(start(&r));
    a = get(r.port, "GET", "/", NULL);
    CHECK(starts(a, "HTTP/1.1 404 "));
    free(a);
    CHECK_EQ_INT(stop(&r), 0);
}

TEST(refuses_a_missing_root_and_a_taken_port)
{
    struct running r;
    config(&r, "/nonexistent/closer-root");
    CHECK_EQ_INT(srv_run(&r.cfg, r.err, sizeof r.err), -1);
    CHECK(strstr(r.err, "--root /nonexistent/closer-root"));
    close(r.probe);
    /* A port someone listens on without SO_REUSEPORT: refused, not shared. */
    config(&r, NULL);
    close(r.probe);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    ((struct sockaddr_in *)&r.cfg.listen[0])->sin_port = a.sin_port;
    r.cfg.reuseport = false;
    CHECK_EQ_INT(srv_run(&r.cfg, r.err, sizeof r.err), -1);
    CHECK(strstr(r.err, "another server has it"));
    close(fd);
}

TEST(status_text_and_json_sum_registered_blocks)
{
    struct srv_status a = {0}, b = {0};
    struct srv_status_set set = {0}, none = {0};
    srv_status_register(&set, &a);
    srv_status_register(&set, &b);
    srv_add(&a.requests, 3);
    srv_add(&b.requests, 4);
    srv_add(&b.closed[CAUSE_IDLE_TIMEOUT], 2);
    srv_gauge(&a.active, 1);
    char buf[1024];
    srv_status_render(&set, buf, sizeof buf, 0);
    CHECK(strstr(buf, "Active connections: 1\n"));
    CHECK(strstr(buf, " 0 0 7\n"));
    CHECK(strstr(buf, " idle_timeout=2 "));
    srv_status_render(&set, buf, sizeof buf, 1);
    CHECK(strstr(buf, "\"requests\":7,"));
    CHECK(strstr(buf, "\"idle_timeout\":2,"));
    /* Truncated to the buffer, never past it. */
    CHECK_EQ_INT(srv_status_render(&set, buf, 10, 1), 10);
    /* Another run's set sees none of these blocks. */
    srv_status_render(&none, buf, sizeof buf, 1);
    CHECK(strstr(buf, "\"requests\":0,"));
    CHECK_EQ_STR(srv_fault_name(FAULT_NO_CLOSE), "no-close");
}

/* Unknown users and groups are refused only when there is something to
 * drop (root); "root" itself is kept, as nginx's "user root;". Nothing here
 * drops the test process's privileges. */
TEST(drop_privileges_resolves_or_refuses)
{
    char err[256] = "";
    if (geteuid() != 0) {
        CHECK_EQ_INT(srv_drop_privileges("nosuchuser-closer", err, sizeof err), 0);
        CHECK_EQ_INT(srv_drop_privileges(NULL, err, sizeof err), 0);
        printf("# SKIP root-only part: not root, nothing to drop\n");
        return;
    }
    CHECK_EQ_INT(srv_drop_privileges("nosuchuser-closer", err, sizeof err), -1);
    CHECK(strstr(err, "no such user"));
    CHECK_EQ_INT(srv_drop_privileges("root:nosuchgroup-closer", err, sizeof err), -1);
    CHECK(strstr(err, "no such group"));
    CHECK_EQ_INT(srv_drop_privileges(":wheel", err, sizeof err), -1);
    CHECK(strstr(err, "NAME or NAME:GROUP"));
    CHECK_EQ_INT(srv_drop_privileges("root:root", err, sizeof err), 0);
    CHECK_EQ_INT(geteuid(), 0);
}

/* The real drop, in a child so the test process stays root. */
TEST(drop_privileges_as_root_for_good)
{
    if (geteuid() != 0) {
        printf("# SKIP: dropping privileges needs root\n");
        return;
    }
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char err[256];
        int rc = srv_drop_privileges(NULL, err, sizeof err);
        _exit(rc == 0 && geteuid() != 0 && getuid() != 0 && setuid(0) < 0 ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(root_access_check_warns_only_when_unsearchable)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    srv_check_root_access(fd, "/"); /* searchable: silent */
    close(fd);
    srv_check_root_access(-1, "/closed"); /* the warning path */
}

/* The server thread reads SIGTERM from its signalfd; blocked in the main
 * thread too (before any thread starts) so a stray one never reaches the
 * default action. */
__attribute__((constructor)) static void block_sigterm(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

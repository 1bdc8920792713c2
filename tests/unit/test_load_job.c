/* SPDX-License-Identifier: MIT */
/* closer load behind its options (client/load_job.c): a run against a
 * loopback server thread counts its TIME_WAIT before and after and sends
 * the --body; the checks before a run answer in err, without a run. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/load_job.h"
#include "test.h"

struct one_conn {
    int ls;
    unsigned short port;
    unsigned bodies; /* requests that carried the test's body */
    pthread_t thread;
};

/* One connection, answered once per read (closed loop: one request in
 * flight), until the client closes it. */
static void *answer_each_read(void *arg)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct one_conn *s = arg;
    int fd = accept(s->ls, NULL, NULL);
    char buf[4096];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0) {
        s->bodies += memmem(buf, (size_t)n, "&other=thing", 12) != NULL;
        (void)!write(fd, ok, sizeof ok - 1);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int serve_one(struct one_conn *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    s->bodies = 0;
    s->ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->ls < 0 || bind(s->ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->ls, 4) < 0 ||
        getsockname(s->ls, (struct sockaddr *)&a, &al) < 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, answer_each_read, s) ? -1 : 0;
}

static struct load_job *job(const char *url, uint64_t requests)
{
    struct load_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->o = (struct load_opts){.connections = 1, .threads = 1, .timeout_ms = 10000,
                              .method = "POST", .keepalive = true, .requests = requests};
    j->url = url;
    return j;
}

TEST(a_run_with_a_body)
{
    struct one_conn s;
    CHECK(serve_one(&s) == 0);
    char url[64], err[256] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%u/up", s.port);
    char body[] = "/tmp/closer-test-body-XXXXXX";
    int fd = mkstemp(body);
    CHECK(fd >= 0);
    (void)!write(fd, "field=value&other=thing", 23); /* one segment with the head */
    close(fd);
    struct load_job *j = job(url, 3);
    CHECK(j);
    j->body_file = body;
    int rc = load_job_run(j, stderr, err, sizeof err);
    pthread_join(s.thread, NULL);
    close(s.ls);
    unlink(body);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(j->r.requests, 3);
    CHECK_EQ_STR(j->o.url_path, "/up");
    CHECK(j->o.body == NULL); /* freed after the run */
    CHECK_EQ_INT(j->o.body_len, 23);
    CHECK_EQ_INT(s.bodies, 3);
    free(j);
}

static void expect_error(struct load_job *j, const char *want)
{
    char err[512] = "";
    if (load_job_run(j, stderr, err, sizeof err) != -1 || !strstr(err, want))
        test_fail(__FILE__, __LINE__, "err '%s', expected '%s' in it", err, want);
    free(j);
}

TEST(errors_before_a_run)
{
    struct load_job *j = job("http://127.0.0.1:1/", 1);
    CHECK(j);
    j->o.streams = 2;
    expect_error(j, "-m is for HTTP/2");
    CHECK((j = job("http://127.0.0.1:1/", 1)));
    j->o.http2_prior = true;
    j->o.rate = 5;
    expect_error(j, "not with HTTP/2: --rate");
    CHECK((j = job("http://127.0.0.1:1/", 1)));
    j->body_file = "tests/data/no-such-body";
    expect_error(j, "--body tests/data/no-such-body: cannot read");
    CHECK((j = job("ftp://x/", 1)));
    expect_error(j, "");
    CHECK((j = job("http://127.0.0.1:1/", 1)));
    j->netns = "/nonexistent/netns";
    expect_error(j, "");
}

TEST(http10_keepalive_only_when_asked)
{
    struct load_job *j = job("http://127.0.0.1:1/", 1);
    CHECK(j);
    j->o.http10 = true;
    j->o.streams = 2; /* stops it before any connection */
    char err[256];
    CHECK_EQ_INT(load_job_run(j, stderr, err, sizeof err), -1);
    CHECK(!j->o.http10_keepalive);
    j->keepalive_given = true;
    CHECK_EQ_INT(load_job_run(j, stderr, err, sizeof err), -1);
    CHECK(j->o.http10_keepalive);
    free(j);
}

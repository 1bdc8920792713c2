/* SPDX-License-Identifier: MIT */
/* Accepting at the connection cap (server/accept.c) over a loopback
 * listener on port 0, no root: the engine and its clients share one
 * thread, so what is accepted and what is closed does not depend on
 * timing. With reclaiming on (the exporter) a connection is closed only
 * for a newcomer that was accepted: never when the newcomer alone reaches
 * the cap, never a newcomer whose request has not arrived yet. Without
 * reclaiming (serve) the newcomer waits in the accept queue, as nginx's
 * worker_connections has it. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "srv_harness.h"
#include "test.h"

/* The harness's socketpair client is not used here: clients dial the
 * listener instead. */
__attribute__((unused)) static void socketpair_client_unused(void)
{
    (void)h_connect, (void)h_send, (void)h_count;
}

#define GET "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
#define MAX_CLIENTS 8

struct capped {
    struct harness h;
    int port;
    int fds[MAX_CLIENTS]; /* the clients' ends, in the order they connected */
    int n;
};

/* A listener on 127.0.0.1, port 0, watched by the engine at cap conns. */
static bool cap_start(struct capped *c, uint64_t cap, bool reclaim)
{
    memset(c, 0, sizeof *c);
    h_init(&c->h);
    c->h.cfg.max_connections = cap;
    c->h.x.reclaim_at_cap = reclaim;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 16) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) < 0 || srv_listen(&c->h.x, lfd) < 0) {
        if (lfd >= 0)
            close(lfd);
        return false;
    }
    c->port = ntohs(a.sin_port);
    return true;
}

static void cap_stop(struct capped *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->fds[i] >= 0)
            close(c->fds[i]);
    h_free(&c->h); /* closes the listener too */
}

/* Steps the loop until the engine has accepted `accepted` connections in
 * all (bounded), then until nothing changes. */
static void settle(struct capped *c, unsigned long long accepted)
{
    for (int i = 0; i < 100000 && atomic_load(&c->h.status.accepted) < accepted; i++)
        h_step(&c->h);
    h_pump(&c->h);
}

/* A new client (a blocking connect: on loopback the connection is in the
 * listener's queue when it returns) that sends req, if any; its index. */
static int dial(struct capped *c, const char *req)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || c->n == MAX_CLIENTS || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        (req && send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    c->fds[c->n] = fd;
    return c->n++;
}

enum heard { NOTHING, ANSWER, CLOSED };

/* What client i has received so far, without waiting: an answer (read
 * whole), nothing, or the server's close (a FIN or a RST) with nothing
 * before it. */
static enum heard heard(struct capped *c, int i)
{
    char buf[4096];
    ssize_t n = recv(c->fds[i], buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n > 0) {
        buf[n] = 0;
        return strncmp(buf, "HTTP/1.1 200 ", 13) ? CLOSED : ANSWER;
    }
    return n < 0 && errno == EAGAIN ? NOTHING : CLOSED;
}

static unsigned long long closed_total(const struct capped *c)
{
    unsigned long long n = 0;
    for (int k = 0; k < CAUSE_MAX; k++)
        n += atomic_load(&c->h.status.closed[k]);
    return n;
}

/* Cap 3, three keep-alive scrapers answered one after another: the third
 * fills the cap, and nobody waits behind it, so all three stay open. */
TEST(reclaim_keeps_idle_connections_up_to_the_cap)
{
    struct capped c;
    CHECK(cap_start(&c, 3, true));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(dial(&c, GET), i);
        settle(&c, (unsigned long long)i + 1);
        CHECK_EQ_INT(heard(&c, i), ANSWER);
    }
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(heard(&c, i), NOTHING); /* still open */
    CHECK_EQ_INT(closed_total(&c), 0);
    CHECK_EQ_INT(c.h.x.active, 3);
    cap_stop(&c);
}

/* Cap 1: a scraper whose request has not arrived yet is not closed to
 * make room for a connection that does not exist; its request, when it
 * comes, is answered. */
TEST(reclaim_spares_a_newcomer_still_silent)
{
    struct capped c;
    CHECK(cap_start(&c, 1, true));
    CHECK_EQ_INT(dial(&c, NULL), 0);
    settle(&c, 1);
    CHECK_EQ_INT(heard(&c, 0), NOTHING);
    CHECK_EQ_INT(closed_total(&c), 0);
    CHECK(send(c.fds[0], GET, strlen(GET), MSG_NOSIGNAL) == (ssize_t)strlen(GET));
    h_pump(&c.h);
    CHECK_EQ_INT(heard(&c, 0), ANSWER);
    cap_stop(&c);
}

/* Cap 2, full: the oldest still sending its head, then an idle one. Each
 * newcomer accepted closes exactly one, the oldest reclaimable, and is
 * answered; the cause says which kind it was. */
TEST(reclaim_closes_the_oldest_once_per_newcomer)
{
    struct capped c;
    CHECK(cap_start(&c, 2, true));
    CHECK_EQ_INT(dial(&c, NULL), 0);
    settle(&c, 1);
    CHECK_EQ_INT(dial(&c, GET), 1);
    settle(&c, 2);
    CHECK_EQ_INT(heard(&c, 1), ANSWER);
    CHECK_EQ_INT(closed_total(&c), 0);

    CHECK_EQ_INT(dial(&c, GET), 2);
    settle(&c, 3);
    CHECK_EQ_INT(heard(&c, 2), ANSWER);
    CHECK_EQ_INT(heard(&c, 0), CLOSED);
    CHECK_EQ_INT(heard(&c, 1), NOTHING);
    CHECK_EQ_INT(atomic_load(&c.h.status.closed[CAUSE_TIMEOUT]), 1);
    CHECK_EQ_INT(closed_total(&c), 1);

    CHECK_EQ_INT(dial(&c, GET), 3);
    settle(&c, 4);
    CHECK_EQ_INT(heard(&c, 3), ANSWER);
    CHECK_EQ_INT(heard(&c, 1), CLOSED);
    CHECK_EQ_INT(heard(&c, 2), NOTHING);
    CHECK_EQ_INT(atomic_load(&c.h.status.closed[CAUSE_IDLE_TIMEOUT]), 1);
    CHECK_EQ_INT(closed_total(&c), 2);
    CHECK_EQ_INT(c.h.x.active, 2);
    cap_stop(&c);
}

static void stop_on_answer(struct loop *l, int fd, void *data, unsigned events)
{
    (void)fd, (void)data, (void)events;
    loop_stop(l);
}

/* Without reclaiming (serve): at the cap the newcomer stays in the accept
 * queue and nobody is closed; once a connection goes it is accepted and
 * answered (the listener comes back within the 100 ms retry). */
TEST(without_reclaim_the_newcomer_waits_its_turn)
{
    struct capped c;
    CHECK(cap_start(&c, 1, false));
    CHECK_EQ_INT(dial(&c, GET), 0);
    settle(&c, 1);
    CHECK_EQ_INT(heard(&c, 0), ANSWER);
    CHECK_EQ_INT(dial(&c, GET), 1);
    h_pump(&c.h);
    CHECK_EQ_INT(heard(&c, 1), NOTHING);
    CHECK_EQ_INT(heard(&c, 0), NOTHING);
    CHECK_EQ_INT(atomic_load(&c.h.status.accepted), 1);
    CHECK_EQ_INT(closed_total(&c), 0);

    close(c.fds[0]);
    c.fds[0] = -1;
    /* Run until the waiting client is readable; the guard only ends a
     * hang (the tick timer stops the loop after 10 s). */
    CHECK(loop_add(c.h.loop, c.fds[1], LOOP_READ, stop_on_answer, NULL) == 0);
    loop_timer_arm(c.h.loop, &c.h.tick, 10000);
    loop_run(c.h.loop);
    loop_del(c.h.loop, c.fds[1]);
    CHECK_EQ_INT(heard(&c, 1), ANSWER);
    CHECK_EQ_INT(atomic_load(&c.h.status.closed[CAUSE_CLIENT_CLOSED]), 1);
    CHECK_EQ_INT(closed_total(&c), 1);
    cap_stop(&c);
}

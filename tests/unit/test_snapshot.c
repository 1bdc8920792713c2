/* The snapshot's pure parts: view filters, and replays of mutated
 * recordings (a state byte past 31, a bogus netlink error) that once hit
 * undefined behaviour. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "snapshot/snapshot.h"
#include "test.h"

TEST(filter_matches_known_states)
{
    struct tcp_sock t = {.family = 2, .state = TS_TIME_WAIT, .sport = 80, .dport = 4000};
    struct sock_filter f = {.states = 1u << TS_TIME_WAIT};
    CHECK(sock_filter_match(&f, &t));
    f.states = 1u << TS_ESTABLISHED;
    CHECK(!sock_filter_match(&f, &t));
    f = (struct sock_filter){.sport = 80};
    CHECK(sock_filter_match(&f, &t));
    f.dport = 4001;
    CHECK(!sock_filter_match(&f, &t));
    t.state = TS_NEW_SYN_RECV; /* shown as SYN_RECV */
    f = (struct sock_filter){.states = 1u << TS_SYN_RECV};
    CHECK(sock_filter_match(&f, &t));
}

/* 40 & 31 == 8 (CLOSE_WAIT): a shift the CPU masks would match it. */
TEST(filter_rejects_state_bytes_past_the_mask)
{
    struct sock_filter f = {.states = 0xffffffffu};
    for (int st = 32; st < 256; st++) {
        struct tcp_sock t = {.family = 2, .state = (uint8_t)st};
        CHECK(!sock_filter_match(&f, &t));
    }
    struct sock_filter any = {0};
    struct tcp_sock t = {.family = 2, .state = 200};
    CHECK(sock_filter_match(&any, &t)); /* no state filter: shown as "?" */
}

/* Writes one recording chunk holding a netlink error with this value. */
static int write_error_recording(char *path, int error)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    struct {
        uint32_t chunk;
        uint32_t len;
        uint16_t type, flags;
        uint32_t seq, pid;
        int32_t error;
        uint8_t orig[16];
    } rec = {.chunk = 36, .len = 36, .type = 2 /* NLMSG_ERROR */, .error = error};
    ssize_t n = write(fd, &rec, sizeof rec);
    close(fd);
    return n == (ssize_t)sizeof rec ? 0 : -1;
}

TEST(replay_with_int_min_error_fails_cleanly)
{
    static const int bogus[] = {-2147483647 - 1, 7};
    for (size_t i = 0; i < 2; i++) {
        char path[] = "/tmp/closer-test-snap-XXXXXX";
        CHECK_EQ_INT(write_error_recording(path, bogus[i]), 0);
        struct snapshot s;
        struct snapshot_opts o = {.replay = path};
        char err[256] = "";
        int rc = snapshot_take(&s, &o, err, sizeof err);
        unlink(path);
        CHECK_EQ_INT(rc, -1);
        CHECK(strstr(err, "Bad message") != NULL);
        snapshot_free(&s);
    }
}

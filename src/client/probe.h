/* closer probe: how a server treats connections, measured. Each question
 * is answered by real exchanges on the shared event loop: keep-alive for
 * HTTP/1.1 and HTTP/1.0, the request cap, the idle timeout (one timeout's
 * wait on an idle connection, not a search), and who closes after
 * Connection: close, how fast, FIN or RST.
 *
 * Error convention: probe_run returns 0, or -1 with a message in err when
 * the server cannot be reached at all. */
#ifndef CLOSER_CLIENT_PROBE_H
#define CLOSER_CLIENT_PROBE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/target.h"

struct probe_opts {
    struct target t;
    uint64_t max_requests;   /* request cap search bound (10000) */
    uint64_t max_wait_ms;    /* idle timeout bound (120 s) */
    uint64_t close_wait_ms;  /* how long to wait for the server's FIN after Connection: close */
    bool progress;
};

enum probe_close { PC_FIN, PC_RST, PC_NONE };

struct probe_result {
    int status;
    char connection_11[64], keep_alive_11[64], connection_10[64], keep_alive_10[64];
    bool keepalive_11, keepalive_10;
    long cap;                /* responses on one connection before the server closed; -1 = none up to max */
    bool cap_announced;      /* the last one carried Connection: close */
    double idle_timeout_s;   /* -1: no close within max_wait */
    long keep_alive_hint_s;  /* Keep-Alive: timeout=N the server sent, -1 none */
    enum probe_close close_after_close; /* after a Connection: close exchange */
    double close_after_s;
    bool server_waits_for_client; /* no FIN within close_wait: the client must close */
};

int probe_run(const struct probe_opts *o, struct probe_result *r, char *err, size_t errlen);
void probe_print_text(FILE *out, const struct probe_opts *o, const struct probe_result *r);
void probe_print_json(FILE *out, const struct probe_opts *o, const struct probe_result *r);

#endif

/* SPDX-License-Identifier: MIT */
/* The prober's connections and run, shared by probe.c (which drives them)
 * and probe_summary.c (which turns what they saw into a probe_result).
 * Private to client/probe*.c. */
#ifndef CLOSER_CLIENT_PROBE_CONN_H
#define CLOSER_CLIENT_PROBE_CONN_H
#include <stdbool.h>
#include <stdint.h>

#include "client/hconn.h"
#include "client/probe.h"
#include "loop/loop.h"

#define PACE_MS 100 /* the paced connection of the limit search */

enum role { R_KA11, R_KA10, R_CLOSE, R_IDLE, R_FAST, R_PACED, R_SECOND };
/* Where each connection lives in probe.pc. */
enum { I_KA11, I_KA10, I_CLOSE, I_FAST = I_CLOSE + PROBE_CLOSE_SAMPLES, I_PACED, I_SECOND, I_IDLE };
/* PENDING: not connected yet (a staggered start); SENDING: a request is
 * in flight; WAIT: the server's close is awaited (idle, or after an
 * announced close); DONE: nothing more. */
enum pstate { P_PENDING, P_SENDING, P_WAIT, P_DONE };

/* Idle samples start this far apart, so a server's coarse timer shows as
 * a spread (lighttpd checks idle connections once a second). */
#define IDLE_STAGGER_MS 250

struct probe;
struct pconn {
    struct hconn hc;
    struct probe *p;
    enum role role;
    enum pstate st;
    int minor;
    char *req;                /* malloc'd by prepare */
    size_t req_len;
    uint64_t responses, wait_start_ns;
    uint64_t sent_ns;         /* when the request in flight was sent */
    bool keeps, ended_by_server;
    enum hconn_end end_how;   /* how it ended, when it did */
    int end_err;              /* and the errno hconn gave */
    struct timer timer;       /* pace, or the bound of a wait */
    struct probe_close_obs obs;
    double end_age_s;         /* age when it ended, whoever ended it */
    bool waited_out;          /* a close wait ended without the server's close */
};

struct probe {
    const struct probe_opts *o;
    struct probe_result *r;
    struct loop *loop;
    struct pconn *pc;
    unsigned npc;
    uint64_t t0_ns, deadline_ns;
    struct tls_ctx *tls;
    struct timer tick;
    bool stop;
    uint64_t second_max;      /* the second back-to-back connection stops here */
};

static inline double probe_secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* Why the first exchange failed, for the error message (into buf). */
const char *probe_first_error(const struct pconn *c, char *buf, size_t len);
/* The request cap or lifetime limit from the fast, paced and second
 * connections; the close after Connection: close from its n samples; the
 * idle timeout from its n samples. */
void probe_summarize_limit(struct probe_result *r, const struct pconn *fast, const struct pconn *paced,
                           const struct pconn *second);
void probe_summarize_close(struct probe_result *r, const struct pconn *pc, unsigned n);
void probe_summarize_idle(struct probe_result *r, const struct pconn *pc, unsigned n);

#endif

/* SPDX-License-Identifier: MIT */
/* Why a server closes first, from the ESTABLISHED connections still on the
 * port: their tcp_info says how many requests each carried (data_segs_in)
 * and how long each has been idle (last_data_recv / last_data_sent). The
 * TIME_WAIT pile itself has no tcp_info and no owner: only the connections
 * that are still open can tell keep-alive off from a request cap or an idle
 * timeout. Pure functions of the snapshot. */
#ifndef CLOSER_DOCTOR_TW_CAUSE_H
#define CLOSER_DOCTOR_TW_CAUSE_H
#include <stddef.h>
#include <stdint.h>

#include "doctor/doctor.h"

/* Which side sent the first FIN of a TIME_WAIT socket (rules_tw.c). */
enum tw_side { TW_SERVER, TW_SERVER_GONE, TW_CLIENT, TW_OTHER };

enum tw_cause { TW_CAUSE_UNDECIDED, TW_CAUSE_NO_KEEPALIVE, TW_CAUSE_REQUEST_CAP,
                TW_CAUSE_IDLE_TIMEOUT };

/* Connections needed before a verdict: fewer is "thin evidence". */
#define TW_CAUSE_MIN_SAMPLES 3
/* Answered, then no data either way for this long: an idle keep-alive
 * connection (well above a round trip, below the 1 s idle timeouts some
 * servers use: uvicorn --timeout-keep-alive 1 closes before 1 s). */
#define TW_IDLE_MS 200
/* A FIN this long after the last response closed an idle connection. */
#define TW_CLOSE_IDLE_MS 300

struct tw_evidence {
    enum tw_cause cause;
    unsigned estab;       /* accepted ESTABLISHED connections on the port */
    unsigned sampled;     /* of which tcp_info was read, not queued */
    unsigned queued;      /* first request unread by the server: no evidence */
    unsigned single;      /* carried at most one request (data_segs_in <= 1) */
    unsigned busy;        /* received data within the last TW_IDLE_MS */
    unsigned idle;        /* answered, then nothing either way for TW_IDLE_MS */
    unsigned near_ceiling;/* multi-request connections in the top quarter below max */
    uint32_t max_segs_in, min_multi_segs_in;
    uint32_t max_idle_ms, median_idle_ms;
    unsigned tw, peak_1s;
    /* Connections the server is closing right now (FIN_WAIT1/2, CLOSING on
     * the port, tcp_info read): under steady load without keep-alive few
     * are ESTABLISHED at any moment, but these say what each carried. */
    unsigned closing, closing_single, closing_idle;
    uint32_t closing_max_segs_in;
    bool from_closing; /* the verdict came from them */
    /* doctor --trace: the lifetimes of the connections the server closed
     * first while traced (SYN to its FIN), and how many the peer closed
     * first; from_trace: they decided what the snapshot could not. */
    bool traced, from_trace;
    unsigned long long traced_here, traced_peer, lived_n;
    double lived_p10_ms, lived_p50_ms, lived_p90_ms, lived_max_ms;
};

/* A verdict left undecided by the snapshot, from what doctor --trace
 * measured on the port: most closes by the server, and all of them a few
 * ms after the SYN (well under TW_IDLE_MS): no keep-alive, each
 * connection closed once answered; lifetimes all alike and above
 * TW_CLOSE_IDLE_MS: an idle timeout of about that. m may be NULL. */
struct measured_closes;
void tw_cause_from_trace(const struct measured_closes *m, uint16_t port, struct tw_evidence *ev);
/* The why of a verdict from_trace; the trace's numbers when undecided. */
void tw_cause_trace_why(const struct tw_evidence *ev, char *buf, size_t len);
void tw_cause_trace_note(const struct tw_evidence *ev, char *buf, size_t len);

/* ESTABLISHED and closing (FIN_WAIT1/2, CLOSING) sockets grouped by local port (built once, so that many
 * ports cost one pass over the table). */
struct tw_estab_index {
    uint32_t *start; /* 65537 offsets into idx */
    uint32_t *idx;   /* socket indexes */
};
int tw_estab_index_build(const struct snapshot *s, struct tw_estab_index *x);
void tw_estab_index_free(struct tw_estab_index *x);

/* Gathers the evidence for port and decides. */
void tw_cause_gather(const struct snapshot *s, const struct tw_estab_index *x, uint16_t port,
                     unsigned peak_1s, unsigned tw, struct tw_evidence *ev);
/* "no keep-alive", "request cap", "idle timeout", "undecided". */
const char *tw_cause_name(enum tw_cause c);
/* The evidence behind the verdict, and the fix for that cause, as text. */
void tw_cause_why(const struct tw_evidence *ev, char *buf, size_t len);
/* The fix names the knob of the listener's program (catalogue), for its
 * protocol. */
struct cat_program;
void tw_cause_fix(const struct tw_evidence *ev, const struct cat_program *prog, int proto,
                  char *buf, size_t len);
/* Evidence as facts, and the cause as the finding's cause. */
void tw_cause_facts(const struct tw_evidence *ev, struct finding *f);

#endif

/* SPDX-License-Identifier: MIT */
/* The scenarios' judgements: what each scenario observed, as a struct, and
 * the pure function that turns it into measured lines, values and
 * expectations (lab/lab.h's struct lab_result). The I/O that fills each
 * struct (namespaces, processes, nft, the socket tables) stays in the
 * scenario's own file beside its judgement; unit tests feed the judgements
 * recorded observations (tests/data/lab/) without root. Scenarios that
 * measure in steps have one judgement per step, called where the step
 * ends, so a harness failure half-way keeps what was already measured.
 * Also here: the pure parsers the scenarios read kernel text and frames
 * with. Nothing here does I/O or fails. */
#ifndef CLOSER_LAB_JUDGE_H
#define CLOSER_LAB_JUDGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/lab.h"

/* scen_close.c: one closer load run against closer serve. */
struct lab_traffic_obs {
    int load_rc;                 /* closer load's exit status */
    long requests, conns;        /* from its JSON */
    long server_tw, client_tw;   /* TIME_WAIT on port 8080 after it */
};
void lab_judge_traffic(struct lab_result *r, const struct lab_traffic_obs *o);
/* One TIME_WAIT per connection on server_side's host, none on the other. */
void lab_judge_tw_side(struct lab_result *r, const struct lab_traffic_obs *o, bool server_side);
/* http10 names each of its two runs before it starts (and its values). */
void lab_http10_begin(struct lab_result *r, bool keepalive);
void lab_judge_http10_plain(struct lab_result *r, const struct lab_traffic_obs *plain);
void lab_judge_http10_keepalive(struct lab_result *r, const struct lab_traffic_obs *plain,
                                const struct lab_traffic_obs *ka);

/* client-closes' second half: clients close while serve is stopped. */
struct lab_held_obs {
    int held;                    /* connections */
    long close_wait;             /* server, clients closed, serve stopped */
    long last_ack;               /* server, serve resumed, client ACKs dropped */
    unsigned fin_retransmits;
    long last_ack_end, tw_end;   /* server, ACKs allowed again */
    long client_tw_added;
};
void lab_judge_held_close(struct lab_result *r, const struct lab_held_obs *o);

struct lab_linger_obs {
    int requests, responses, econnreset, eof;
    long long resets_added;      /* client Tcp EstabResets */
    long server_tw, client_tw;
};
void lab_judge_linger_zero(struct lab_result *r, const struct lab_linger_obs *o);

/* scen_keepalive.c */
struct lab_idle_obs {
    int conns, timeout_ms;
    int closed;                  /* connections the server closed (EOF) */
    double closed_min_ms, closed_max_ms; /* idle time until that EOF */
    long server_tw, client_tw;
};
void lab_judge_idle_timeout(struct lab_result *r, const struct lab_idle_obs *o);

struct lab_cap_run {
    long requests;
    double seconds;
    long server_tw;              /* TIME_WAIT the run created */
};
void lab_judge_request_cap(struct lab_result *r, const struct lab_cap_run *cap100,
                           const struct lab_cap_run *cap10k);

/* scen_fault.c: one serve --fault, its CLOSE_WAIT and what doctor said. */
struct lab_bug_obs {
    const char *fault, *finding;
    uint16_t port;
    int clients;
    long close_wait;
    int doctor_rc;
    long named;                  /* doctor's count for finding, -1: not reported */
};
void lab_judge_bug(struct lab_result *r, const struct lab_bug_obs *o);
/* The count closer doctor --json gives for finding id, -1 if not reported. */
long lab_finding_count(const char *json, const char *id);

/* scen_kernel.c */
struct lab_load_counts {
    int rc;
    long requests, eaddrnotavail;
};
/* step 0: tcp_tw_reuse=0 to :8080; 1: the other port; 2: tcp_tw_reuse=1. */
void lab_judge_port_exhaustion(struct lab_result *r, int step, const struct lab_load_counts *c);

struct lab_buckets_obs {
    int load_rc;
    long conns, server_tw;
    long long overflow_added;    /* TCPTimeWaitOverflow */
};
void lab_judge_tw_buckets(struct lab_result *r, const struct lab_buckets_obs *o);

struct lab_last_ack_obs {
    struct lab_count server_last_ack, client_tw;
    long acks_dropped;
    long long client_rsts;       /* without TIME_WAIT */
    int server_error;            /* SO_ERROR then */
};
void lab_judge_last_ack_with_tw(struct lab_result *r, const struct lab_last_ack_obs *o);
void lab_judge_last_ack_without_tw(struct lab_result *r, const struct lab_last_ack_obs *o);

struct lab_tw_length_obs {
    struct lab_count tw, fin_wait2;             /* just after the close */
    struct lab_count tw_later, fin_wait2_later; /* 6 s later */
};
void lab_judge_tw_length(struct lab_result *r, const struct lab_tw_length_obs *o);

/* One tw-reuse-server run with server tcp_tw_reuse = reuse. */
void lab_judge_tw_reuse_server(struct lab_result *r, int reuse, long conns, long made,
                               int load_rc);

/* scen_twcost.c */
struct lab_slab_price {
    long objsize, per_object;    /* bytes; per_object with its share of the slab */
};
/* cache's row of /proc/slabinfo text; -1 if absent or unreadable. */
int lab_slab_price(const char *slabinfo, const char *cache, long pagesize,
                   struct lab_slab_price *p);
/* "TCP: ... tw N" of /proc/net/sockstat text; -1 if absent. */
long lab_sockstat_tw(const char *sockstat);
struct lab_tw_memory_obs {
    int pile, made;              /* connections wanted, made */
    long server_tw;
    struct lab_slab_price tw_sock, full_sock;
    const char *err;             /* why fewer were made */
};
void lab_judge_tw_memory(struct lab_result *r, const struct lab_tw_memory_obs *o);

/* scen_olddup.c */
struct lab_dup_run {
    const char *name;
    bool rst;           /* close with SO_LINGER {1,0}: no TIME_WAIT */
    int reconnect;      /* 0, or -errno of the new connect() */
    long delivered;     /* bytes of the old duplicate the new connection read */
    long arrived;       /* old segments seen at the server */
    long long paws;     /* TcpExtPAWSEstab added at the server */
};
void lab_judge_old_duplicate(struct lab_result *r, const struct lab_dup_run *tw,
                             const struct lab_dup_run *rst, const struct lab_dup_run *ts);
/* An Ethernet frame carrying a TCP segment from port whose payload starts
 * with "OLD!". */
bool lab_frame_is_old(const unsigned char *b, size_t len, uint16_t port);
/* Recomputes the TCP checksum of the IPv4 segment in an Ethernet frame. */
void lab_frame_tcp_checksum(unsigned char *b);

/* scen_clocks.c */
struct lab_attempt {
    double ms;
    int err;
    uint32_t tsval;     /* of its SYN */
    long long paws;     /* the server's PAWSTimewait added */
};
struct lab_clocks_obs {
    const char *ip_a, *ip_b;     /* the two clients (b behind a's NAT address) */
    uint32_t tsval_a;            /* a's first SYN */
    struct lab_attempt other, same; /* b: a new port, then a's 4-tuple */
    bool recycle;                /* tcp_tw_recycle exists */
};
void lab_judge_tw_reuse_clocks(struct lab_result *r, const struct lab_clocks_obs *o);
/* The TSval of a SYN (no ACK) from port in an Ethernet frame; 0 if the
 * frame is none or has no timestamp option. */
uint32_t lab_syn_tsval(const unsigned char *b, size_t len, uint16_t port);

/* "packets N" of an nft counter listing; -1 if absent. */
long lab_nft_packets(const char *listing);
#endif

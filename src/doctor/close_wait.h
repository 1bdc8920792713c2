/* SPDX-License-Identifier: MIT */
/* CLOSE_WAIT classes (private to src/doctor/): the evidence gathered per
 * group of sockets in rules_close_wait.c, and the words: the evidence and
 * the class of a group in close_wait_advice.c, which calls down into the
 * title and why per class and runtime (close_wait_text.c) and the fix
 * (close_wait_fix.c). */
#ifndef CLOSER_DOCTOR_CLOSE_WAIT_H
#define CLOSER_DOCTOR_CLOSE_WAIT_H
#include "doctor/doctor.h"
#include "doctor/program.h"

enum cw_class {
    CW_UNACCEPTED,     /* inode 0, in a listener's accept queue */
    CW_NOT_POLLED,     /* event loop, fd in no epoll set, EOF unread */
    CW_NOT_CLOSED,     /* EOF read (recv_q 0) or delivered to a registered fd; no close() */
    CW_HIDDEN,         /* owned by a process closer cannot see */
    CW_BLOCKED_THREAD, /* EOF unread, no event loop: a thread per connection, blocked */
    CW_CLIENT_POOL,    /* outgoing, only the FIN unread: idle in a client's pool */
    CW_NCLASSES
};

#define CW_MAX_PEERS FINDING_MAX_PEERS
#define CW_MAX_PIDS 64

struct cw_group {
    enum cw_class cls;
    pid_t pid;
    int port;              /* local listening port, -1 for outgoing */
    uint32_t proc;         /* index into snapshot procs when pid != 0 */
    uint8_t family;        /* client pool: the server's address */
    uint8_t peer_addr[16];
    uint16_t peer_port;
    uint8_t local_addr[16]; /* of the first socket */
    unsigned long long n, recv_q;
    unsigned long long fresh; /* --confirm: new since the first look (not persisted) */
    int fds[FINDING_MAX_FDS];
    size_t nfds;
    /* tcp_info: age since the FIN (last_ack_recv) and the idle time before
     * it (last_data_recv - last_ack_recv), min and max over the group. */
    unsigned with_info;
    uint32_t age_min_ms, age_max_ms, idle_min_ms, idle_max_ms;
    unsigned long long segs_in;  /* data segments received, summed */
    struct finding_endpoint peers[CW_MAX_PEERS];
    size_t npeers;
    bool more_peers;       /* distinct peers beyond the CW_MAX_PEERS listed */
    /* The other end on this host: how many were found, and the first. */
    unsigned peer_local;
    const struct tcp_sock *peer_sock;
    unsigned long long pool_estab; /* client pool: ESTABLISHED to the same server, same process */
    unsigned long long rq_min, rq_max; /* recv_q per socket: the same on all = one goodbye */
    /* Processes holding the group's sockets: children that share the
     * listener are one group under the listener's first owner. */
    pid_t pids[CW_MAX_PIDS];
    uint32_t pid_procs[CW_MAX_PIDS]; /* their indexes into snapshot procs */
    unsigned npids;
    bool more_pids;
    bool pool_evidence; /* outgoing: some socket has the EOF unread or idled before the FIN */
    /* Filled by cw_describe from the catalogue. */
    const struct cat_program *prog;
    struct doc_proto proto;
    const char *server_knob; /* client pool: the server's idle-close knob, or NULL */
};

enum finding_id cw_class_id(enum cw_class c);
/* Title, why and fix of f for group g (numbers and facts are set by the
 * rule). */
void cw_describe(struct finding *f, struct cw_group *g, const struct snapshot *s,
                 const struct doc_ports *ports);

/* Title, why and fix per class (close_wait_text.c); age is the sentence
 * about the FINs' age ("" without tcp_info), m the owner's model or NULL;
 * g->prog and g->proto are set. */
void cw_text_unaccepted(struct finding *f, const struct cw_group *g, const struct snapshot *s,
                        const char *age);
void cw_text_hidden(struct finding *f, const struct cw_group *g, const struct snapshot *s,
                    const char *age);
void cw_text_not_closed(struct finding *f, const struct cw_group *g, const char *age);
void cw_text_not_polled(struct finding *f, const struct cw_group *g, const char *age);
void cw_text_blocked(struct finding *f, const struct cw_group *g, const struct proc_model *m,
                     const struct snapshot *s, const char *age);
/* f->fix for class cls: the catalogue's knob for the group's program and
 * protocol, then the class's closing sentence (close_wait_fix.c). */
void cw_fix(struct finding *f, enum cw_class cls, const struct cw_group *g);
void cw_text_pool(struct finding *f, const struct cw_group *g, const char *age);

#endif

/* SPDX-License-Identifier: MIT */
/* The doctor's bridge to the catalogue (src/catalog/): which program a
 * process of the snapshot is, the protocol of a port's connections and who
 * is at the other end — from /proc and the socket table, never guessed from
 * one example. Pure functions of the snapshot. */
#ifndef CLOSER_DOCTOR_PROGRAM_H
#define CLOSER_DOCTOR_PROGRAM_H
#include "catalog/catalog.h"
#include "doctor/doctor.h"

/* What the catalogue needs to know of process proc. */
void doc_evidence(const struct snapshot *s, uint32_t proc, struct cat_evidence *ev);
/* proc as a server / as a client speaking proto. Never NULL. */
const struct cat_program *doc_server(const struct snapshot *s, uint32_t proc);
const struct cat_program *doc_client(const struct snapshot *s, uint32_t proc, enum cat_proto proto);

/* Per port, built in one pass over the table: an owned listener, and an
 * owned outgoing ESTABLISHED connection to it from this host (the
 * server's client on the same host: nginx in front of php-fpm). Socket
 * index + 1, 0 = none. 512 KiB: built once by the rules that ask per
 * port or per socket. */
struct doc_ports {
    uint32_t listener[65536], client[65536];
};
struct doc_ports *doc_ports_build(const struct snapshot *s); /* NULL: out of memory */
/* The owners of the indexed listener on port (0 when none). */
size_t doc_ports_listener_owners(const struct snapshot *s, const struct doc_ports *x,
                                 uint16_t port, const struct fd_ref **first);

/* The protocol of connections to a server port of this host or a peer: the
 * listener's program on this host when there is one (from "program" for
 * its own findings, "peer" for a client's), else the port ("port"). */
struct doc_proto {
    enum cat_proto proto;
    const char *from;                 /* "program", "peer", "port", or NULL */
    const struct cat_program *server; /* the listener's program, or NULL */
    pid_t server_pid;
};
void doc_proto_of_server(const struct snapshot *s, uint16_t port, struct doc_proto *out);
/* The same when the caller has found the listener (l may be NULL). */
void doc_proto_of_listener(const struct snapshot *s, const struct tcp_sock *l, uint16_t port,
                           struct doc_proto *out);
void doc_proto_of_dest(const struct snapshot *s, int family, const uint8_t dst[16], uint16_t dport,
                       struct doc_proto *out);

/* Sets the finding's program, runtime and protocol fields. */
void finding_program(struct finding *f, const struct cat_program *p);
void finding_protocol(struct finding *f, const struct doc_proto *pr);

#endif

/* SPDX-License-Identifier: MIT */
/* The lab's own small socket engine, for claims that need a socket held in
 * a state no HTTP program would hold it in (an orphan, a half-close, a
 * never-closed peer). Sockets are created inside a lab namespace and stay
 * there. Error convention: -1 with a message in e->err. Every call below
 * is on the env's tape (lab/tape.h): a scenario closes its sockets with
 * wire_close, never close(), so that a replay (whose fds are the recorded
 * numbers) touches no file of its own process; what it does on them by
 * itself (a frame sent on the tap) goes in a lab_step. */
#ifndef CLOSER_LAB_WIRE_H
#define CLOSER_LAB_WIRE_H
#include <stdbool.h>
#include <stdint.h>

#include "lab/env.h"

/* A listener on ip:port inside h. */
int wire_listen(struct lab_env *e, enum lab_host h, const char *ip, uint16_t port);
/* A blocking connect from h to ip:port (2 s timeouts set). */
int wire_connect(struct lab_env *e, enum lab_host h, const char *ip, uint16_t port);
/* accept() with a 2 s wait. */
int wire_accept(struct lab_env *e, int lfd);
/* Sends req, reads one HTTP response (headers and a Content-Length body).
 * Returns the response length, -1 on error (errno kept). */
int wire_http(struct lab_env *e, int fd, const char *req, char *buf, int cap);
/* Reads until EOF or error within ms: 0 = EOF, an errno value, or -2 on
 * timeout. */
int wire_wait_end(struct lab_env *e, int fd, int ms);
void wire_close(struct lab_env *e, int fd);
/* close() with SO_LINGER {1,0}: RST, no TIME_WAIT. */
void wire_close_rst(struct lab_env *e, int fd);
/* shutdown(SHUT_WR): our FIN, the fd kept. */
void wire_shutdown(struct lab_env *e, int fd);
/* The socket's pending error (SO_ERROR), 0 if none. */
int wire_error(struct lab_env *e, int fd);
/* nftables in the client namespace: drop (on) or stop dropping (off) every
 * pure ACK the client sends to port — the last ACK of a close. Switch it on
 * only after the handshake: its last ACK is pure too. */
int wire_drop_acks(struct lab_env *e, uint16_t port, bool on);
/* Packets dropped by that rule since it was last switched on; -1 unknown. */
long wire_dropped_acks(struct lab_env *e);
/* A packet socket on the client's end of the veth (ETH_P_ALL: the frames
 * it sends too, Ethernet header first); sending on it puts a frame on the
 * wire as is. */
int wire_tap(struct lab_env *e);
#endif

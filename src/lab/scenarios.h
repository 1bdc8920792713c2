/* SPDX-License-Identifier: MIT */
/* Scenario functions and their registry rows, one group per file. */
#ifndef CLOSER_LAB_SCENARIOS_H
#define CLOSER_LAB_SCENARIOS_H
#include "lab/lab.h"

int lab_sc_close_header(struct lab_env *e, struct lab_result *r);
int lab_sc_keepalive_off(struct lab_env *e, struct lab_result *r);
int lab_sc_http10(struct lab_env *e, struct lab_result *r);
int lab_sc_client_closes(struct lab_env *e, struct lab_result *r);
int lab_sc_close_policy_client(struct lab_env *e, struct lab_result *r);
int lab_sc_linger_zero(struct lab_env *e, struct lab_result *r);
int lab_sc_idle_timeout(struct lab_env *e, struct lab_result *r);
int lab_sc_request_cap(struct lab_env *e, struct lab_result *r);
int lab_sc_close_wait_bugs(struct lab_env *e, struct lab_result *r);
int lab_sc_port_exhaustion(struct lab_env *e, struct lab_result *r);
int lab_sc_tw_buckets(struct lab_env *e, struct lab_result *r);
int lab_sc_lost_last_ack(struct lab_env *e, struct lab_result *r);
int lab_sc_tw_length(struct lab_env *e, struct lab_result *r);
int lab_sc_tw_reuse_server(struct lab_env *e, struct lab_result *r);
int lab_sc_tw_memory(struct lab_env *e, struct lab_result *r);
int lab_sc_old_duplicate(struct lab_env *e, struct lab_result *r);
int lab_sc_tw_reuse_clocks(struct lab_env *e, struct lab_result *r);

#define LAB_SCENARIOS_CLOSE                                                                  \
    {"close-header", "A client that sends 'Connection: close' makes the server close first: "  \
     "TIME_WAIT lands on the server, none on the client.", NULL, lab_sc_close_header},         \
    {"keepalive-off", "With keep-alive off on the server, a client that wants keep-alive "     \
     "still gets closed by the server: TIME_WAIT on the server.", NULL, lab_sc_keepalive_off},  \
    {"http10", "HTTP/1.0 without 'Connection: keep-alive' opens a new connection per "         \
     "request; with it, one connection is reused.", NULL, lab_sc_http10},                      \
    {"client-closes", "When everything is keep-alive and the client closes, TIME_WAIT is on "  \
     "the client; the server goes through CLOSE_WAIT and LAST_ACK and keeps no TIME_WAIT.",    \
     NULL, lab_sc_client_closes},                                                              \
    {"close-policy-client", "A server that waits for the client's FIN after the last "         \
     "response (close policy 'client') moves TIME_WAIT from the server to the client.", NULL,  \
     lab_sc_close_policy_client},                                                              \
    {"linger-zero", "Closing with SO_LINGER {1,0} leaves no TIME_WAIT anywhere: the peer "     \
     "gets a RST (ECONNRESET).", NULL, lab_sc_linger_zero},

#define LAB_SCENARIOS_KEEPALIVE                                                              \
    {"idle-timeout", "When the keep-alive idle timeout expires, the server closes the idle "   \
     "connection: TIME_WAIT on the server, at the timeout.", NULL, lab_sc_idle_timeout},       \
    {"request-cap", "At a fixed request rate, the server's TIME_WAIT creation rate is the "    \
     "request rate divided by keepalive_requests (100 vs 10,000).", NULL, lab_sc_request_cap},

#define LAB_SCENARIOS_FAULT                                                                  \
    {"close-wait-bugs", "CLOSE_WAIT piles up only when the application does not close; the "   \
     "four bugs (listener not polled, no accept, fd not registered, no close) each leave "     \
     "CLOSE_WAIT and closer doctor names each one.", NULL, lab_sc_close_wait_bugs},

#define LAB_SCENARIOS_KERNEL                                                                 \
    {"port-exhaustion", "Short connections from one client to one server ip:port run out of "  \
     "ephemeral ports (EADDRNOTAVAIL) because of client TIME_WAIT; tcp_tw_reuse=1 fixes it; "  \
     "a second server port works without it.", NULL, lab_sc_port_exhaustion},                  \
    {"tw-buckets", "tcp_max_tw_buckets caps TIME_WAIT; the connections above the cap skip "    \
     "TIME_WAIT and are counted in TCPTimeWaitOverflow.", NULL, lab_sc_tw_buckets},            \
    {"lost-last-ack", "If the last ACK is lost, the passive closer sits in LAST_ACK and "      \
     "retransmits its FIN, and TIME_WAIT on the active side answers it; without TIME_WAIT "    \
     "the retransmitted FIN gets a RST (connection reset by peer).", NULL,                     \
     lab_sc_lost_last_ack},                                                                    \
    {"tw-length", "Setting tcp_fin_timeout shortens TIME_WAIT (it is 60 or 120 s, or "         \
     "tcp_fin_timeout).",                                                                      \
     "TIME_WAIT is 60 s on Linux whatever tcp_fin_timeout says; tcp_fin_timeout does not "     \
     "shorten TIME_WAIT. It only bounds an orphaned FIN_WAIT_2.", lab_sc_tw_length},            \
    {"tw-reuse-server", "tcp_tw_reuse reduces TIME_WAIT on a server.",                         \
     "tcp_tw_reuse changes nothing for server-side TIME_WAIT: it only lets outgoing "          \
     "connect() reuse a TIME_WAIT port.", lab_sc_tw_reuse_server},                          \
    {"tw-memory", "A TIME_WAIT socket costs a few hundred bytes of kernel memory, a fraction "  \
     "of a full socket: 100,000 of them are some tens of MB.", NULL, lab_sc_tw_memory},        \
    {"old-duplicate", "TIME_WAIT (2MSL) exists so that an old duplicate segment of a closed "    \
     "connection cannot be taken as data by a new connection on the same 4-tuple; without it "  \
     "the old segment corrupts the new connection.",                                           \
     "With timestamps off, TIME_WAIT stops the new connection itself (connect() from the same " \
     "port: EADDRNOTAVAIL). With timestamps on, Linux reuses the TIME_WAIT at once for a "      \
     "client that bind()s its port (tcp_tw_reuse governs automatic ports only) and PAWS "      \
     "rejects the old duplicate (PAWSEstab). Without TIME_WAIT (SO_LINGER {1,0}) the new "      \
     "connection opens at once and the old duplicate reaches it, yet not one byte of it is "   \
     "read: its sequence number, from an ISN that advances with the clock, is outside the "    \
     "new window.",                                                                            \
     lab_sc_old_duplicate},                                                                    \
    {"tw-reuse-clocks", "With tcp_tw_reuse and timestamps, a server rejects clients whose "     \
     "clocks differ (behind one NAT address).",                                                 \
     "That was tcp_tw_recycle (a timestamp kept per peer address, older SYNs dropped from any " \
     "port), removed in Linux 4.12 and absent here. tcp_tw_reuse acts on outgoing connect() "  \
     "only: a client whose clock differs gets in on every port; only its SYN on the very "     \
     "4-tuple of a server TIME_WAIT holding a newer timestamp is refused by PAWS "              \
     "(PAWSTimewait), and its connect() still succeeded, in milliseconds.",                    \
     lab_sc_tw_reuse_clocks},
#endif

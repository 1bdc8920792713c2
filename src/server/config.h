/* SPDX-License-Identifier: MIT */
/* closer serve's configuration: nginx's closing knobs with nginx's names,
 * defaults and meaning (durations in ms). */
#ifndef CLOSER_SERVER_CONFIG_H
#define CLOSER_SERVER_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SRV_MAX_LISTEN 8

enum lingering_mode { LINGER_OFF, LINGER_ON, LINGER_ALWAYS };
enum close_policy { CLOSE_POLICY_SERVER, CLOSE_POLICY_CLIENT };
enum srv_fault {
    FAULT_NONE,
    FAULT_LISTENER_NOT_POLLED, /* listener never added to epoll */
    FAULT_NO_ACCEPT,           /* listener polled, accept() never called */
    FAULT_NOT_REGISTERED,      /* accepted fds never added to epoll */
    FAULT_NO_CLOSE,            /* EOF read, close() skipped */
};

struct srv_config {
    struct sockaddr_storage listen[SRV_MAX_LISTEN];
    socklen_t listen_len[SRV_MAX_LISTEN];
    size_t nlisten;
    int backlog;
    int workers;
    const char *root;          /* --root DIR, or NULL */
    const char *user;          /* --user NAME[:GROUP] when root (NULL: nobody) */
    int return_code;           /* --return CODE TEXT (0 = off) */
    const char *return_body;
    bool keepalive;            /* --keepalive on|off */
    uint64_t keepalive_timeout, keepalive_time;
    uint64_t keepalive_requests;
    uint64_t client_header_timeout, client_body_timeout, send_timeout;
    enum lingering_mode lingering_close;
    uint64_t lingering_time, lingering_timeout;
    bool reset_timedout_connection;
    enum close_policy close_policy;
    bool linger_zero;
    enum srv_fault fault;
    const char *status_path;
    uint64_t max_connections;
    uint64_t max_body;
    size_t max_header;
    size_t max_uri;
    bool access_log;
    bool reuseport;            /* --reuseport: share a port another process listens on */
};

void srv_config_defaults(struct srv_config *c);
const char *srv_fault_name(enum srv_fault f);

#endif

/* SPDX-License-Identifier: MIT */
#include "server/config.h"

#include <string.h>
#include <unistd.h>

void srv_config_defaults(struct srv_config *c)
{
    memset(c, 0, sizeof *c);
    c->backlog = 511; /* nginx's default on Linux */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = cores > 0 ? (int)cores : 1;
    c->keepalive = true;
    c->keepalive_timeout = 75000;
    c->keepalive_requests = 1000;
    c->keepalive_time = 3600000;
    c->client_header_timeout = 60000;
    c->client_body_timeout = 60000;
    c->send_timeout = 60000;
    c->lingering_close = LINGER_ON;
    c->lingering_time = 30000;
    c->lingering_timeout = 5000;
    c->max_connections = 65536;
    c->max_body = 1 << 20;
    c->max_header = 8192;
    c->max_uri = 4096;
}

const char *srv_fault_name(enum srv_fault f)
{
    static const char *const n[] = {"none", "listener-not-polled", "no-accept",
                                    "not-registered", "no-close"};
    return n[f];
}

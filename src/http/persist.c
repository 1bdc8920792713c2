/* SPDX-License-Identifier: MIT */
#include "http/persist.h"

bool http_client_wants_keepalive(const struct http_request *r)
{
    if (r->connection & CONN_HDR_CLOSE)
        return false;
    if (r->minor >= 1)
        return true;
    return (r->connection & CONN_HDR_KEEPALIVE) != 0;
}

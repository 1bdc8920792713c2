/* SPDX-License-Identifier: MIT */
/* The engine's stop and end, over all its connections: the top of the
 * engine's files, so that calls run one way (engine.c -> accept.c ->
 * conn.c -> reply.c -> ctx.c) and the context never calls back into a
 * connection or a listener. */
#include <stddef.h>

#include "server/conn.h"
#include "server/engine.h"

void srv_begin_stop(struct srv_ctx *x)
{
    x->stopping = true;
    for (size_t fd = 0; fd < x->conns_cap; fd++)
        if (x->conns[fd] && conn_is_idle(x->conns[fd]))
            conn_close(x->conns[fd], CAUSE_SHUTDOWN);
}

void srv_ctx_free(struct srv_ctx *x)
{
    if (!x->loop)
        return;
    x->conn_gone = NULL;
    x->stopping = true;
    for (size_t fd = 0; fd < x->conns_cap; fd++)
        if (x->conns[fd])
            conn_close(x->conns[fd], CAUSE_SHUTDOWN);
    srv_unlisten(x);
    srv_ctx_release(x);
}

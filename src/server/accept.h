/* The engine's accept path: batches of accept4() per wake-up, the
 * connection cap, fd exhaustion, and the TEST-ONLY fault modes. Private to
 * src/server. */
#ifndef CLOSER_SERVER_ACCEPT_H
#define CLOSER_SERVER_ACCEPT_H
#include "server/engine.h"

void srv_accept_init(struct srv_ctx *x);
/* A connection went: accept again if the cap had paused it. */
void srv_accept_resume(struct srv_ctx *x);

#endif

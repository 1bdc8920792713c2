/* SPDX-License-Identifier: MIT */
/* closer serve: workers (one epoll loop and one SO_REUSEPORT listener set
 * per thread), connections, graceful stop.
 *
 * Error convention: srv_run returns 0 after a graceful stop, or -1 with a
 * message in err (could not listen, no memory). */
#ifndef CLOSER_SERVER_H
#define CLOSER_SERVER_H
#include <stddef.h>

#include "server/config.h"

int srv_run(const struct srv_config *cfg, char *err, size_t errlen);

#endif

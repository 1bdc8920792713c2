/* SPDX-License-Identifier: MIT */
/* Persistence rules (RFC 9112 §9.3, as nginx applies them): HTTP/1.1 keeps
 * the connection unless either side says close; HTTP/1.0 only when the
 * client asks with Connection: keep-alive. */
#ifndef CLOSER_HTTP_PERSIST_H
#define CLOSER_HTTP_PERSIST_H
#include <stdbool.h>

#include "http/request.h"

bool http_client_wants_keepalive(const struct http_request *r);

#endif

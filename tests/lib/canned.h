/* SPDX-License-Identifier: MIT */
/* A loopback server for client unit tests: listens on 127.0.0.1, port 0,
 * and runs a handler on a thread of its own for every connection it
 * accepts, so a client on the test's event loop meets a real TCP peer
 * (FIN, RST, idle closes) without root. Handlers speak a script: recorded
 * responses from tests/data/responses/, or a policy of their own. */
#ifndef CLOSER_TEST_CANNED_H
#define CLOSER_TEST_CANNED_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CANNED_DATA "tests/data/responses/"

/* How the handler's connection ends once it returns. */
enum canned_close { CANNED_FIN, CANNED_RST };

/* index: the connection's number, 0 first, in accept order. */
typedef enum canned_close (*canned_fn)(int fd, unsigned index, void *arg);

struct canned;
/* Starts listening and accepting; addr receives 127.0.0.1:port. NULL on
 * failure. SIGPIPE is ignored from then on (a handler's write to a client
 * that is gone fails instead). */
struct canned *canned_start(canned_fn fn, void *arg, struct sockaddr_in *addr);
/* Stops accepting and waits for every handler to return. */
void canned_stop(struct canned *c);
unsigned canned_accepted(const struct canned *c);

/* Reads one request head (up to the blank line) into buf, NUL-terminated:
 * its length, 0 when the client closed, -1 on error or when nothing came
 * within timeout_ms. Bytes after the head stay in buf past the return. */
ssize_t canned_read_head(int fd, char *buf, size_t cap, int timeout_ms);
int canned_write_all(int fd, const void *buf, size_t len);
/* A file of tests/data/responses/, malloc'd; NULL when missing. */
char *canned_load(const char *name, size_t *len);

#endif

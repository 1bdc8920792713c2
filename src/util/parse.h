/* Parsing of command-line values. Each returns 0 on success, -1 on bad input
 * (and leaves *out untouched). */
#ifndef CLOSER_UTIL_PARSE_H
#define CLOSER_UTIL_PARSE_H
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Decimal integer within [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* TCP port 1..65535. */
int parse_port(const char *s, uint16_t *out);
/* Duration with unit: "250ms", "5s", "2m", "1h"; a bare number is seconds
 * (nginx's rule). Result in milliseconds. */
int parse_duration_ms(const char *s, uint64_t *out);
/* Size: "512", "16k", "1m", "1g" (powers of 1024). */
int parse_size(const char *s, uint64_t *out);
/* "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" (any address). */
int parse_hostport(const char *s, struct sockaddr_storage *out, socklen_t *len);

#endif

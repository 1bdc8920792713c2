/* SPDX-License-Identifier: MIT */
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
/* Duration, nginx's syntax: "250ms", "5s", "2m30s", "1h", "1.5s"; parts from
 * the largest unit down, each once; a bare number is seconds. Result in
 * milliseconds. Rejected: signs, spaces, hex, exponents, nan/inf, junk, and a
 * nonzero value that rounds to 0 ms ("0.0001s"). */
int parse_duration_ms(const char *s, uint64_t *out);
/* Size: "512", "16k", "1.5m", "1g" (powers of 1024); same rejections. */
int parse_size(const char *s, uint64_t *out);
/* Plain decimal "DIGITS[.DIGITS]" within [min, max] (no exponent, nan, inf;
 * a nonzero value is never read as 0). */
int parse_decimal(const char *s, double min, double max, double *out);
/* "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" (any address). */
int parse_hostport(const char *s, struct sockaddr_storage *out, socklen_t *len);

#endif

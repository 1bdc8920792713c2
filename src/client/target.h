/* SPDX-License-Identifier: MIT */
/* Where the client goes: "http[s]://HOST[:PORT][/PATH]" (HOST an IP literal or
 * a name resolved once at start), and --bind-range source addresses
 * ("A.B.C.D-A.B.C.E", "A.B.C.0/24" or one address).
 * Error convention: 0, or -1 with a message in err. */
#ifndef CLOSER_CLIENT_TARGET_H
#define CLOSER_CLIENT_TARGET_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct target {
    struct sockaddr_storage addr;
    socklen_t len;
    char host[256];   /* for the Host header */
    char name[256];   /* the host without port or brackets: TLS SNI and verification */
    bool tls;         /* https:// */
    char path[2048];
    char text[300];   /* "ip:port" as the socket table shows it */
};

/* Rejects a path longer than path[] (never cut), control bytes or spaces in
 * the host or path (they would end the request line early: injection). */
int target_parse(const char *url, struct target *t, char *err, size_t errlen);
/* What goes onto the wire from the command line, checked before it does:
 * NULL when fine, else why not. A method is an RFC 9110 token of at most
 * 32 bytes; a header is "Name: value", a token name and a value without
 * control bytes other than tab (no CR/LF: no header injection), at most
 * 8 KB. */
const char *target_method_error(const char *method);
const char *target_header_error(const char *header);
struct json;
/* JSON fields KEY "ip:port", KEY_ip, KEY_port for a resolved address (null
 * when it is neither IPv4 nor IPv6). */
void target_endpoint_json(struct json *j, const char *key, const struct sockaddr_storage *a);
/* Fills up to max addresses; returns how many, or -1. */
long source_range_parse(const char *spec, struct sockaddr_storage *out, size_t max);

#endif

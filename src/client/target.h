/* SPDX-License-Identifier: MIT */
/* Where the client goes: "http[s]://HOST[:PORT][/PATH]" (HOST an IP literal or
 * a name resolved once at start), and --bind-range source addresses
 * ("A.B.C.D-A.B.C.E", "A.B.C.0/24" or one address).
 * Error convention: 0, or -1 with a message in err. */
#ifndef CLOSER_CLIENT_TARGET_H
#define CLOSER_CLIENT_TARGET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#define TARGET_MAX_ADDRS 8

struct target {
    struct sockaddr_storage addr;  /* the address used: addrs[0] until
                                    * target_pick_address chose another */
    socklen_t len;
    struct sockaddr_storage addrs[TARGET_MAX_ADDRS]; /* every address the name resolved to */
    socklen_t lens[TARGET_MAX_ADDRS];
    size_t naddrs;
    bool tls;         /* https:// (default port 443); the TLS client reads it */
    char host[256];   /* for the Host header */
    char name[256];   /* the host without port or brackets: TLS SNI and verification */
    char path[2048];
    char text[300];   /* "ip:port" as the socket table shows it */
    char auth[400];   /* base64 of "user:password" from user:pw@host, "" none */
};

/* "[http|https]://[user:pw@]HOST[:PORT][/PATH][?Q][#FRAG]", as curl reads
 * it: the scheme is case-insensitive and optional (http), the fragment is
 * never sent, user:pw becomes auth (Authorization: Basic). Every address
 * HOST resolves to is kept (addrs). Rejects a path longer than path[]
 * (never cut), control bytes or spaces in the host or path (they would end
 * the request line early: injection). */
int target_parse(const char *url, struct target *t, char *err, size_t errlen);
/* With several addresses (localhost: ::1 and 127.0.0.1), tries each in
 * turn as curl does and keeps the first that accepts a connection in addr
 * and text; that test connection is closed with RST (no TIME_WAIT left on
 * either side). One address: nothing is tried. 0, or -1 with err when
 * none accepts. */
int target_pick_address(struct target *t, unsigned timeout_ms, char *err, size_t errlen);
/* Is this -H header one closer writes itself (Host, Connection,
 * Authorization)? Those are replaced by -H, not sent twice, as curl and
 * wrk do ("Host:" with no value: not sent at all). */
bool target_header_is_own(const char *header);
/* The request head closer sends: request line, Host, Authorization (from
 * the URL), the user's headers, Connection (conn: a value or NULL), then
 * extra (a ready "Name: value\r\n" block or NULL) and the blank line.
 * -H replaces Host, Connection and Authorization. malloc'd, NULL when out
 * of memory. */
char *target_request(const struct target *t, const char *method, int minor, const char *conn,
                     const char *const *headers, size_t n, const char *extra, size_t *len);
/* One line on stderr when http_proxy / HTTP_PROXY (https_proxy for TLS) is
 * set: closer connects to the server directly by design (it measures the
 * server's own closes, which a proxy would hide). */
void target_note_proxy(FILE *err, const char *cmd, const struct target *t);
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

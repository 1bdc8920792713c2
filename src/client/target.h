/* Where the client goes: "http://HOST[:PORT][/PATH]" (HOST an IP literal or
 * a name resolved once at start), and --bind-range source addresses
 * ("A.B.C.D-A.B.C.E", "A.B.C.0/24" or one address).
 * Error convention: 0, or -1 with a message in err. */
#ifndef CLOSER_CLIENT_TARGET_H
#define CLOSER_CLIENT_TARGET_H
#include <stddef.h>
#include <sys/socket.h>

struct target {
    struct sockaddr_storage addr;
    socklen_t len;
    char host[256];   /* for the Host header */
    char path[2048];
    char text[300];   /* "ip:port" as the socket table shows it */
};

int target_parse(const char *url, struct target *t, char *err, size_t errlen);
/* Fills up to max addresses; returns how many, or -1. */
long source_range_parse(const char *spec, struct sockaddr_storage *out, size_t max);

#endif

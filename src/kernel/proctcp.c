/* SPDX-License-Identifier: MIT */
#include "kernel/proctcp.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The kernel prints each 32-bit word of the address in host byte order as
 * %08X; on little-endian that reverses the bytes within each word. */
static int parse_addr(const char *hex, size_t words, uint8_t out[16])
{
    for (size_t w = 0; w < words; w++) {
        char word[9];
        memcpy(word, hex + w * 8, 8);
        word[8] = 0;
        char *end;
        uint32_t v = (uint32_t)strtoul(word, &end, 16);
        if (*end)
            return -1;
        memcpy(out + w * 4, &v, 4);
    }
    return 0;
}

int proctcp_parse_line(const char *line, int family, struct tcp_sock *out)
{
    char local[40], remote[40];
    unsigned sport, dport, state, timer, retrans, uid;
    unsigned long txq, rxq, when;
    unsigned long long inode;
    int n = sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %lx:%lx %x:%lx %x %u %*d %llu",
                   local, &sport, remote, &dport, &state, &txq, &rxq, &timer, &when,
                   &retrans, &uid, &inode);
    if (n != 12)
        return -1;
    size_t words = family == AF_INET ? 1 : 4;
    if (strlen(local) != words * 8 || strlen(remote) != words * 8)
        return -1;
    memset(out, 0, sizeof *out);
    if (parse_addr(local, words, out->src) < 0 || parse_addr(remote, words, out->dst) < 0)
        return -1;
    out->family = (uint8_t)family;
    out->state = (uint8_t)state;
    out->sport = (uint16_t)sport;
    out->dport = (uint16_t)dport;
    /* Only LISTEN shows the accept queue in rx_queue here; the backlog
     * (ss's Send-Q for listeners) is not exported by /proc/net/tcp. */
    out->wqueue = (uint32_t)txq;
    out->rqueue = (uint32_t)rxq;
    out->timer = (uint8_t)timer;
    long hz = sysconf(_SC_CLK_TCK);
    out->expires_ms = (uint32_t)(when * 1000 / (unsigned long)(hz > 0 ? hz : 100));
    out->retrans = (uint8_t)retrans;
    out->uid = uid;
    out->inode = inode;
    return 0;
}

int proctcp_read(const char *path, int family, uint32_t states, diag_sock_fn fn, void *arg)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char line[512];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        struct tcp_sock s;
        if (proctcp_parse_line(line, family, &s) < 0)
            continue;
        if (states && (s.state >= 32 || !(states & (1u << s.state))))
            continue;
        rc = fn(&s, NULL, arg);
    }
    fclose(f);
    return rc;
}

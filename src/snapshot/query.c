/* SPDX-License-Identifier: MIT */
/* Read-only questions to a taken snapshot: who owns an inode, which ports
 * listen, which are ephemeral, how many sockets in all. Apart from
 * snapshot.c so that the evidence gathered during snapshot_take
 * (evidence.c, lookagain.c) can ask them without calling back into the
 * file that calls it. */
#include "snapshot/snapshot.h"
#include "snapshot/twfold.h"

size_t snapshot_total(const struct snapshot *s)
{
    return s->nsocks + (s->twf ? s->twf->n : 0);
}

size_t snapshot_owners(const struct snapshot *s, uint64_t inode, const struct fd_ref **first)
{
    *first = NULL;
    if (!inode || !s->nfds)
        return 0;
    size_t lo = 0, hi = s->nfds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->fds[mid].inode < inode)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < s->nfds && s->fds[lo + n].inode == inode)
        n++;
    if (n)
        *first = &s->fds[lo];
    return n;
}

bool snapshot_is_listen_port(const struct snapshot *s, uint16_t port)
{
    return s->listen_bits[port >> 3] & (1u << (port & 7));
}

uint32_t snapshot_ephemeral_size(const struct snapshot *s)
{
    if (s->sys.port_lo < 0 || s->sys.port_hi < s->sys.port_lo)
        return 0;
    return (uint32_t)(s->sys.port_hi - s->sys.port_lo + 1);
}

bool snapshot_port_ephemeral(const struct snapshot *s, uint16_t port)
{
    return s->sys.port_lo >= 0 && port >= s->sys.port_lo && port <= s->sys.port_hi;
}

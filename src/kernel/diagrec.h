/* SPDX-License-Identifier: MIT */
/* The recording format of `--record FILE` (states, doctor): the raw
 * netlink datagrams of a sock_diag dump, framed so a damaged, truncated,
 * zero-filled or endless file is refused, never read as an empty table.
 *
 *   header   "CLSRDIAG" (8 bytes), u32 version (1), u32 header size (16)
 *   chunks   u32 length (1..DIAGREC_MAX_CHUNK), then that many bytes
 *   trailer  u32 0, u64 FNV-1a 64 of every chunk's bytes, u64 total size
 *            of the file, trailer included
 *
 * Integers in the host's byte order (a recording is replayed on the kind of
 * machine that made it; a foreign one fails the version check).
 * Error convention: 0 or negative errno (writers); the replay returns 0 or
 * -1 with a message in err. */
#ifndef CLOSER_KERNEL_DIAGREC_H
#define CLOSER_KERNEL_DIAGREC_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kernel/diag.h"

#define DIAGREC_MAX_CHUNK (1u << 20)
/* The most a replay reads (a 1M-socket dump with tcp_info is ~300 MB). */
#define DIAGREC_MAX_TOTAL (1ull << 30)

/* A recording being written. err keeps the first write error (errno), as
 * stdio forgets it by the time the file is closed. */
struct diagrec {
    FILE *f;
    uint64_t sum;
    int err;
};

/* Each returns 0 or the first write error as negative errno. begin may be
 * called again after the file was truncated (a restarted dump). */
int diagrec_begin(struct diagrec *r, FILE *f);
int diagrec_chunk(struct diagrec *r, const void *buf, uint32_t len);
int diagrec_end(struct diagrec *r);
int diagrec_replay(const char *path, diag_sock_fn fn, void *arg, char *err, size_t errlen);

#endif

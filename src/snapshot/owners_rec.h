/* SPDX-License-Identifier: MIT */
/* Recording and replaying the owners of a snapshot (FILE.owners beside a
 * netlink recording): processes, their models and socket fds, so that a
 * replay names programs as the live run did.
 *
 * Error convention: owners_record returns 0 or negative errno;
 * owners_replay returns 0 (loaded), 1 (no such file: owners unknown), or
 * -1 with a message in err (a malformed file). */
#ifndef CLOSER_SNAPSHOT_OWNERS_REC_H
#define CLOSER_SNAPSHOT_OWNERS_REC_H
#include <stddef.h>

struct snapshot;
int owners_record(const struct snapshot *s, const char *path);
int owners_replay(struct snapshot *s, const char *path, char *err, size_t errlen);

#endif

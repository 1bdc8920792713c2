/* SPDX-License-Identifier: MIT */
/* Evidence gathered by snapshot_take after the socket dump and the /proc
 * walk (private to src/snapshot/). Error convention: 0, or negative errno
 * (only out of memory is fatal; a failed second look leaves gone empty). */
#ifndef CLOSER_SNAPSHOT_EVIDENCE_TAKE_H
#define CLOSER_SNAPSHOT_EVIDENCE_TAKE_H
#include "snapshot/snapshot.h"

/* Looks up sockets that had no owner again: those gone from the table
 * were closed between the dump and the walk. */
int evidence__second_look(struct snapshot *s);
/* Reads the process model of the owners of sockets in states. */
void evidence__read_models(struct snapshot *s, uint32_t states);
/* What keeps processes hidden from this closer, in words, into
 * s->visibility_limit ("" when nothing does). */
void evidence__visibility(struct snapshot *s);

/* Looks again (for up to 400 ms, LOOK_MS) for the programs behind client
 * TIME_WAIT piles of at least min_tw sockets that no open connection
 * names (snapshot/lookagain.c). */
int evidence__dest_looks(struct snapshot *s, unsigned min_tw);

#endif

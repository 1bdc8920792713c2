/* SPDX-License-Identifier: MIT */
/* The lab env's record/replay seam. Everything a scenario learns from the
 * outside world passes through a few env calls (lab/env.h): lab_run,
 * lab_spawn, lab_stop, lab_signal, lab_sysctl, lab_counter, lab_count,
 * lab_wait_listen, lab_watch, lab_nap, lab_clock_ms, lab_step, the socket
 * engine (lab/wire.h), and the namespace names lab_env_up picks.
 * With a tape in the env (lab_env.tape, set before lab_env_up), each of
 * them is one event on it, in order:
 *
 *   KEY<TAB>= V1 V2 ...<TAB>TEXT
 *
 * KEY names the call and its arguments ("run client 30000 closer load
 * --json ..."), V the numbers it returned, TEXT the command's output (or the
 * error it left in e->err), escaped (\\ \t \n \xHH) so an event is a line.
 *
 * Recording (out set, in NULL): the call runs for real and is written.
 * Replaying (in set): nothing runs; the next event must have the same KEY,
 * and its numbers and text are returned as the call's. Another KEY breaks
 * the tape: that call and every later one fail (-1, e->err and why name
 * the recorded KEY and the asked one), so a scenario that changed what it
 * does fails loudly instead of reading someone else's answers. Both set:
 * a replay that writes what it replayed (the tape's own round trip).
 * Sampling (lab_sample, and the samples inside lab_run and lab_watch) is
 * not on the tape: it feeds the plot only, and a replay has no samples. */
#ifndef CLOSER_LAB_TAPE_H
#define CLOSER_LAB_TAPE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct lab_env;

#define LAB_TAPE_MAX_VALUES 5

struct lab_tape {
    FILE *in;          /* replay from here (NULL: the calls run for real) */
    FILE *out;         /* record into here (NULL: nothing written) */
    bool broken;       /* a replay asked for something else: all fails */
    long events;       /* events taken or written so far */
    char why[640];     /* the first mismatch, for the test to print */
};

/* Whether e's calls come from a tape instead of the kernel. */
bool lab_tape_replaying(const struct lab_env *e);
/* Replay: the next event, which must be key; its numbers into v (nv of
 * them), its text into out (or into e->err when out is NULL and the text is
 * not empty). False, with e->err set, on a mismatch or the tape's end. */
bool lab_tape_take(struct lab_env *e, const char *key, long long *v, int nv, char *out,
                   size_t outlen);
/* Record: one event (text may be NULL). Nothing without a tape's out. */
void lab_tape_put(struct lab_env *e, const char *key, const long long *v, int nv,
                  const char *text);
/* Replay: the key of the first event not yet taken, into buf; false when
 * every event was taken. */
bool lab_tape_next_key(struct lab_tape *t, char *buf, size_t len);
#endif

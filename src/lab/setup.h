/* SPDX-License-Identifier: MIT */
/* Inside the lab's harness (env.c, probe.c): the setup script's lines
 * (lab_env.setup) and the shell words they are made of. */
#ifndef CLOSER_LAB_SETUP_H
#define CLOSER_LAB_SETUP_H
#include <stddef.h>

#include "lab/env.h"

/* "client", "server", "home": tape keys name hosts so. */
const char *lab_host_name(enum lab_host h);
/* Appends arg to line (len bytes so far, cap in all) as one shell word;
 * returns the new length. */
size_t lab_shell_word(char *line, size_t len, size_t cap, const char *arg);
/* A command line of the script. */
void lab_setup_command(struct lab_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* argv run in h ("ip netns exec NS ..."), then suffix. */
void lab_setup_argv(struct lab_env *e, enum lab_host h, char *const argv[], const char *suffix);
#endif

/* SPDX-License-Identifier: MIT */
/* Shared conventions for subcommands: getopt_long with our own messages.
 * Exit codes: 0 ok, 1 findings/failed check (command-specific), 2 usage or
 * runtime error. */
#ifndef CLOSER_UTIL_CLI_H
#define CLOSER_UTIL_CLI_H
#include <getopt.h>

#define EXIT_USAGE 2

/* Call before getopt_long: silences getopt's own messages and resets it. */
void cli_begin(void);
/* Call when getopt_long returned '?' or ':' (optstring must begin with ':').
 * Prints "closer CMD: ..." and returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, int ret, char **argv);
/* Prints "closer CMD: bad value for OPT: 'ARG' (WANT)" and returns EXIT_USAGE. */
int cli_bad_value(const char *cmd, const char *opt, const char *arg, const char *want);
/* Fails (EXIT_USAGE) when stdout could not be written (ENOSPC, EPIPE). */
int cli_finish_stdout(int rc);

#endif

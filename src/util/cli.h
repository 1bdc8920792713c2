/* SPDX-License-Identifier: MIT */
/* Shared conventions for subcommands: getopt_long with our own messages.
 * Exit codes: 0 ok, 1 findings/failed check (command-specific), 2 usage or
 * runtime error. */
#ifndef CLOSER_UTIL_CLI_H
#define CLOSER_UTIL_CLI_H
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>

#define EXIT_USAGE 2

/* Call before getopt_long: silences getopt's own messages and resets it. */
void cli_begin(void);
/* Call when getopt_long returned '?' or ':' (optstring must begin with ':').
 * Prints "closer CMD: ..." and returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, int ret, char **argv);
/* Prints "closer CMD: bad value for OPT: 'ARG' (WANT)" and returns EXIT_USAGE. */
int cli_bad_value(const char *cmd, const char *opt, const char *arg, const char *want);
/* Fails (EXIT_USAGE) when stdout could not be written (ENOSPC); returns rc
 * quietly when its reader went away (EPIPE). */
int cli_finish_stdout(int rc);

/* The reader of stdout going away (closer trace | head -1) ends a command
 * quietly, as Ctrl-C would. main installs a SIGPIPE handler (instead of
 * ignoring it): a write to a stdout nobody reads swaps stdout for
 * /dev/null and raises the flag given to cli_stdout_stops; a write to a
 * socket still just fails with EPIPE. Loops that may print nothing for a
 * while also poll cli_stdout_gone() (no write needed, never blocks). */
void cli_watch_stdout(void);
void cli_stdout_stops(volatile sig_atomic_t *flag);
bool cli_stdout_gone(void);

#endif

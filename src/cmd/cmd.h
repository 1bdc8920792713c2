/* SPDX-License-Identifier: MIT */
/* One function per subcommand, one file each in src/cmd/. Each parses its own
 * options, calls into a layer, prints, and returns the process exit code. */
#ifndef CLOSER_CMD_H
#define CLOSER_CMD_H
#include <stddef.h>
#include <stdint.h>

int cmd_states(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_exporter(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_trace(int argc, char **argv);

#endif

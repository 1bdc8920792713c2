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
/* closer trace for DURATION into the doctor's measured-closes input (cmd/trace.c). */
struct measured_closes;
int trace_measure(const char *netns, uint64_t ms, struct measured_closes *m, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: MIT */
/* Reading sysctls and the TcpExt / Tcp counters of the current network
 * namespace. Error convention: -1 (or a -1 field) means "absent". */
#ifndef CLOSER_KERNEL_SYSCTL_H
#define CLOSER_KERNEL_SYSCTL_H
#include <stddef.h>

/* Reads the first integer of /proc/sys/<name> ("net/ipv4/tcp_fin_timeout").
 * second, when not NULL, receives the second integer (port ranges). */
long sysctl_read(const char *name, long *second);

/* Looks up counter `name` in a /proc/net/netstat or /proc/net/snmp style
 * text (header line "Prefix: names...", then "Prefix: values..."). Returns
 * -1 when absent. */
long long netstat_lookup(const char *text, const char *prefix, const char *name);
/* Reads a whole small /proc file into buf (NUL-terminated); -1 on error. */
long proc_read_file(const char *path, char *buf, size_t len);

#endif

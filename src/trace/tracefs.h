/* SPDX-License-Identifier: MIT */
/* Tracepoint metadata from tracefs: where tracefs is (mounting a private one
 * when it is absent, as under `ip netns exec`), an event's id and its format
 * file parsed into fields. Error convention: 0 ok, -1 with a message in err. */
#ifndef CLOSER_TRACE_TRACEFS_H
#define CLOSER_TRACE_TRACEFS_H
#include <stdbool.h>
#include <stddef.h>

#define TP_MAX_FIELDS 32
#define TP_MAX_SYMS 64

struct tp_field {
    char name[32];
    unsigned offset, size;
    bool is_signed;
};

struct tp_sym {
    long long val;
    char name[40];
};

/* One event's format file: "name: ...", "ID: N", the fields, and the symbol
 * table that print fmt gives for its "reason" field (sk_rst_reason names). */
struct tp_format {
    char name[64];
    unsigned id;
    unsigned nfields;
    struct tp_field fields[TP_MAX_FIELDS];
    unsigned nreasons;
    struct tp_sym reasons[TP_MAX_SYMS];
};

/* Parses the text of events/SYSTEM/EVENT/format. */
int tp_format_parse(const char *text, size_t len, struct tp_format *out, char *err, size_t errlen);
const struct tp_field *tp_field(const struct tp_format *f, const char *name);
/* The kernel's name for a reason value, or NULL. */
const char *tp_reason_name(const struct tp_format *f, long long val);

/* Finds a mounted tracefs (/sys/kernel/tracing, then debugfs's tracing/);
 * when none is mounted, enters a private mount namespace (the process must
 * be single-threaded) and mounts one there. dir (when not NULL) is used
 * as it is. The result is the directory holding events/. */
int tracefs_locate(const char *dir, char *out, size_t outlen, char *err, size_t errlen);
/* After the formats are read: unmounts and removes a temporary mount point
 * tracefs_locate made (nothing else). */
void tracefs_done(const char *dir);
/* Reads DIR/events/SYSTEM/EVENT/format. A missing event gets an error that
 * names it and says the kernel lacks it. */
int tracefs_read_format(const char *dir, const char *system, const char *event,
                        struct tp_format *out, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition format 0.0.4 written to a FILE*: one HELP and
 * one TYPE line per family, then its samples. Label values and HELP text are
 * escaped as the format requires (backslash, double quote, newline; HELP
 * escapes only backslash and newline).
 *
 * Error convention: writes go to the FILE*; the caller checks ferror(). */
#ifndef CLOSER_EXPORT_PROM_H
#define CLOSER_EXPORT_PROM_H
#include <stdio.h>

struct prom {
    FILE *out;
    char family[96]; /* name of the family being written */
};

void prom_init(struct prom *p, FILE *out);
/* type: "gauge", "counter", "histogram", "untyped". */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* A sample of the current family: suffix ("" , "_bucket", "_sum", "_count")
 * appended to the family name, then label key/value pairs ending in NULL. */
void prom_sample(struct prom *p, const char *suffix, double value, ...)
    __attribute__((sentinel));
/* Go's strconv style that Prometheus parses: integers without exponent,
 * other values in the fewest digits that read back exactly (0.1), "+Inf",
 * "-Inf", "NaN". */
void prom_value(FILE *out, double v);

#endif

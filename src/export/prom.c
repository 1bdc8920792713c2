/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition writer (format 0.0.4). */
#include "export/prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

void prom_init(struct prom *p, FILE *out)
{
    p->out = out;
    p->family[0] = 0;
}

/* The exposition format is UTF-8 with no escape for a raw byte: bytes that
 * are not UTF-8 (a process name cut mid-character by the kernel) become
 * U+FFFD, one per maximal ill-formed subpart (as JSON output does). Left
 * raw, they make Prometheus reject the scrape and mark the whole target
 * down. quote: also escape '"' (label values; HELP text leaves quotes as
 * they are). */
static void write_escaped(FILE *out, const char *v, int quote)
{
    size_t len = strlen(v);
    for (size_t i = 0; i < len;) {
        int n = utf8_next(v + i, len - i);
        if (n < 0) {
            fputs(UTF8_REPLACEMENT, out);
            i += (size_t)-n;
            continue;
        }
        char c = v[i];
        if (n == 1 && c == '\\')
            fputs("\\\\", out);
        else if (n == 1 && c == '\n')
            fputs("\\n", out);
        else if (n == 1 && c == '"' && quote)
            fputs("\\\"", out);
        else
            fwrite(v + i, 1, (size_t)n, out);
        i += (size_t)n;
    }
}

static void prom_escape_help(FILE *out, const char *v) { write_escaped(out, v, 0); }

static void prom_escape_label(FILE *out, const char *v) { write_escaped(out, v, 1); }

/* The fewest significant digits that read back as v (Go's strconv 'g', -1,
 * which node_exporter uses): 0.1, not %.17g's 0.10000000000000001. At most
 * 17 tries; 17 digits always round-trip a double. */
static const char *prom__shortest(double v, char *buf, size_t cap)
{
    for (int prec = 1; prec < 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return buf;
    }
    snprintf(buf, cap, "%.17g", v);
    return buf;
}

void prom_value(FILE *out, double v)
{
    char buf[32];
    if (isnan(v)) fputs("NaN", out);
    else if (isinf(v)) fputs(v > 0 ? "+Inf" : "-Inf", out);
    /* Exact integers below 2^53 print without an exponent or a fraction. */
    else if (v == floor(v) && fabs(v) < 9007199254740992.0) fprintf(out, "%.0f", v);
    else fputs(prom__shortest(v, buf, sizeof buf), out);
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
    snprintf(p->family, sizeof p->family, "%s", name);
    fprintf(p->out, "# HELP %s ", name);
    prom_escape_help(p->out, help);
    fprintf(p->out, "\n# TYPE %s %s\n", name, type);
}

void prom_sample(struct prom *p, const char *suffix, double value, ...)
{
    fputs(p->family, p->out);
    fputs(suffix, p->out);
    va_list ap;
    va_start(ap, value);
    const char *key = va_arg(ap, const char *);
    if (key) {
        fputc('{', p->out);
        for (int first = 1; key; key = va_arg(ap, const char *), first = 0) {
            const char *val = va_arg(ap, const char *);
            fprintf(p->out, "%s%s=\"", first ? "" : ",", key);
            prom_escape_label(p->out, val ? val : "");
            fputc('"', p->out);
        }
        fputc('}', p->out);
    }
    va_end(ap);
    fputc(' ', p->out);
    prom_value(p->out, value);
    fputc('\n', p->out);
}

/* SPDX-License-Identifier: MIT */
#include "util/json.h"
#include <math.h>
#include <string.h>

#include "util/utf8.h"

void json_init(struct json *j, FILE *out, bool pretty)
{
    *j = (struct json){.out = out, .pretty = pretty};
}

static void indent(struct json *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
}

/* RFC 8259 escapes, and valid UTF-8 only: bytes that are not (a process
 * name cut mid-character by the kernel) become U+FFFD, one per maximal
 * ill-formed subpart. JSON has no escape for a raw byte (\u00XX would
 * claim a different character), and strict parsers (Python's json, Go)
 * reject the document otherwise. */
static void write_escaped(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len;) {
        /* a run of printable ASCII needing no escape goes out in one call:
         * per-byte calls were a third of closer trace --json's CPU */
        size_t run = 0;
        while (i + run < len && (unsigned char)s[i + run] >= 0x20 && (unsigned char)s[i + run] < 0x7f &&
               s[i + run] != '"' && s[i + run] != '\\')
            run++;
        if (run) {
            fwrite(s + i, 1, run, out);
            i += run;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        int n = utf8_next(s + i, len - i);
        if (n < 0) {
            fputs(UTF8_REPLACEMENT, out);
            i += (size_t)-n;
            continue;
        }
        if (n > 1) {
            fwrite(s + i, 1, (size_t)n, out);
            i += (size_t)n;
            continue;
        }
        i++;
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
    }
    fputc('"', out);
}

/* Writes the separator and the key (if any) before a value. */
static void prefix(struct json *j, const char *key)
{
    if (j->depth > 0) {
        if (j->has_items[j->depth])
            fputc(',', j->out);
        j->has_items[j->depth] = true;
        indent(j);
    }
    if (key) {
        write_escaped(j->out, key, strlen(key));
        fputs(j->pretty ? ": " : ":", j->out);
    }
}

static void open(struct json *j, const char *key, char c)
{
    prefix(j, key);
    fputc(c, j->out);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->has_items[j->depth] = false;
}

static void close_(struct json *j, char c)
{
    bool had = j->has_items[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (had)
        indent(j);
    fputc(c, j->out);
}

void json_obj_begin(struct json *j, const char *key) { open(j, key, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j, const char *key) { open(j, key, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

void json_strn(struct json *j, const char *key, const char *val, size_t len)
{
    prefix(j, key);
    write_escaped(j->out, val, len);
}

void json_str(struct json *j, const char *key, const char *val)
{
    if (!val) {
        json_null(j, key);
        return;
    }
    json_strn(j, key, val, strlen(val));
}

/* Digits by hand: fprintf's format parsing was a tenth of closer trace
 * --json's CPU (a dozen numbers per record). */
static void put_u64(FILE *out, bool neg, unsigned long long v)
{
    char buf[24];
    size_t n = sizeof buf;
    do {
        buf[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg)
        buf[--n] = '-';
    fwrite(buf + n, 1, sizeof buf - n, out);
}

void json_int(struct json *j, const char *key, long long val)
{
    prefix(j, key);
    put_u64(j->out, val < 0, val < 0 ? 0ull - (unsigned long long)val : (unsigned long long)val);
}

void json_uint(struct json *j, const char *key, unsigned long long val)
{
    prefix(j, key);
    put_u64(j->out, false, val);
}

void json_double(struct json *j, const char *key, double val)
{
    prefix(j, key);
    if (isfinite(val))
        fprintf(j->out, "%.15g", val);
    else
        fputs("null", j->out);
}

void json_bool(struct json *j, const char *key, bool val)
{
    prefix(j, key);
    fputs(val ? "true" : "false", j->out);
}

void json_null(struct json *j, const char *key)
{
    prefix(j, key);
    fputs("null", j->out);
}

void json_finish(struct json *j)
{
    fputc('\n', j->out);
}

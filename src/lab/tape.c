/* SPDX-License-Identifier: MIT */
/* The env's tape (lab/tape.h): one line an event, written while the lab
 * runs for real, read back in order by a replay. */
#include "lab/tape.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "lab/env.h"

bool lab_tape_replaying(const struct lab_env *e) { return e->tape && e->tape->in; }

/* s as one field of a line: no tab, no newline, nothing unprintable. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\')
            fputs("\\\\", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

/* The field [s, end) decoded into out (cap bytes, NUL-terminated). */
static void unescape(const char *s, const char *end, char *out, size_t cap)
{
    size_t n = 0;
    while (s < end && n + 1 < cap) {
        char c = *s++;
        if (c == '\\' && s < end) {
            char k = *s++;
            c = k == 't' ? '\t' : k == 'n' ? '\n' : k;
            if (k == 'x' && end - s >= 2) {
                c = (char)strtol((char[]){s[0], s[1], 0}, NULL, 16);
                s += 2;
            }
        }
        out[n++] = c;
    }
    out[n] = 0;
}

void lab_tape_put(struct lab_env *e, const char *key, const long long *v, int nv, const char *text)
{
    struct lab_tape *t = e->tape;
    if (!t || !t->out)
        return;
    put_escaped(t->out, key);
    fputs("\t=", t->out);
    for (int i = 0; i < nv; i++)
        fprintf(t->out, " %lld", v[i]);
    fputc('\t', t->out);
    put_escaped(t->out, text ? text : "");
    fputc('\n', t->out);
    if (!t->in)
        t->events++;
}

static bool mismatch(struct lab_env *e, const char *rec, const char *key)
{
    struct lab_tape *t = e->tape;
    if (rec)
        snprintf(t->why, sizeof t->why, "replay: event %ld of the tape is '%.280s', the "
                 "scenario asked for '%.280s'", t->events + 1, rec, key);
    else
        snprintf(t->why, sizeof t->why, "replay: the tape ended after %ld events, the scenario "
                 "asked for '%.280s'", t->events, key);
    t->broken = true;
    snprintf(e->err, sizeof e->err, "%.255s", t->why);
    return false;
}

/* The next line's key into rec; *rest after its tab. NULL at the end. */
static char *next_line(struct lab_tape *t, char *rec, size_t cap, char **rest)
{
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n = getline(&line, &lcap, t->in);
    char *tab = n > 0 ? strchr(line, '\t') : NULL;
    if (!tab) {
        free(line);
        return NULL;
    }
    if (line[n - 1] == '\n')
        line[n - 1] = 0;
    unescape(line, tab, rec, cap);
    *rest = tab + 1;
    return line;
}

bool lab_tape_take(struct lab_env *e, const char *key, long long *v, int nv, char *out,
                   size_t outlen)
{
    struct lab_tape *t = e->tape;
    if (t->broken) {
        snprintf(e->err, sizeof e->err, "%.255s", t->why);
        return false;
    }
    char rec[1024], *rest;
    char *line = next_line(t, rec, sizeof rec, &rest);
    if (!line || strcmp(rec, key)) {
        mismatch(e, line ? rec : NULL, key);
        free(line);
        return false;
    }
    char *p = rest + (rest[0] == '=' ? 1 : 0);
    for (int i = 0; i < nv; i++)
        v[i] = strtoll(p, &p, 10);
    char *tab = strchr(p, '\t');
    const char *text = tab ? tab + 1 : "";
    size_t tlen = strlen(text) + 1;
    char *dec = malloc(tlen);
    if (dec)
        unescape(text, text + tlen - 1, dec, tlen);
    if (dec && out && outlen)
        snprintf(out, outlen, "%s", dec);
    else if (dec && !out && *dec)
        snprintf(e->err, sizeof e->err, "%s", dec);
    lab_tape_put(e, key, v, nv, dec);
    free(dec);
    free(line);
    t->events++;
    return true;
}

bool lab_tape_next_key(struct lab_tape *t, char *buf, size_t len)
{
    char *rest;
    char *line = next_line(t, buf, len, &rest);
    free(line);
    return line != NULL;
}

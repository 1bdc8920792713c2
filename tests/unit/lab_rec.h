/* SPDX-License-Identifier: MIT */
/* Reads a recorded `closer lab run --all --json` (tests/data/lab/lab.json)
 * back into one struct per scenario, for the lab's unit tests: just enough
 * JSON for that one shape (objects, arrays, strings with escapes, numbers,
 * true/false/null). Static functions: each test binary includes it. */
#ifndef CLOSER_TEST_LAB_REC_H
#define CLOSER_TEST_LAB_REC_H
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAB_DATA "tests/data/lab/"
#define REC_MAX 24

struct rec_value {
    char name[64];
    double value;
    char unit[16];
};

struct rec_scen {
    char name[40];
    bool pass;
    double seconds;
    char notes[3072];    /* one line each, '\n'-terminated, as lab_result.measured */
    char failures[1024];
    char setup[4096];    /* as lab_env.setup */
    struct rec_value values[48];
    size_t nvalues;
};

struct rec_parser {
    const char *p;
    bool bad;
};

static void rec_ws(struct rec_parser *j)
{
    while (isspace((unsigned char)*j->p))
        j->p++;
}

static bool rec_eat(struct rec_parser *j, char c)
{
    rec_ws(j);
    if (*j->p != c)
        return false;
    j->p++;
    return true;
}

/* A JSON string into out (NUL-terminated, cut at cap); \u00XX as a byte. */
static void rec_str(struct rec_parser *j, char *out, size_t cap)
{
    size_t n = 0;
    if (!rec_eat(j, '"')) {
        j->bad = true;
        return;
    }
    while (*j->p && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\') {
            char e = *j->p++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            if (e == 'u') {
                c = (char)strtol((char[]){j->p[0], j->p[1], j->p[2], j->p[3], 0}, NULL, 16);
                j->p += 4;
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (cap)
        out[n] = 0;
    j->bad |= !rec_eat(j, '"');
}

static void rec_skip(struct rec_parser *j);

static void rec_skip_list(struct rec_parser *j, char close, bool keys)
{
    char key[64];
    if (rec_eat(j, close))
        return;
    do {
        if (keys) {
            rec_str(j, key, sizeof key);
            j->bad |= !rec_eat(j, ':');
        }
        rec_skip(j);
    } while (!j->bad && rec_eat(j, ','));
    j->bad |= !rec_eat(j, close);
}

static void rec_skip(struct rec_parser *j)
{
    char tmp[2];
    rec_ws(j);
    if (*j->p == '"')
        rec_str(j, tmp, 0);
    else if (rec_eat(j, '{'))
        rec_skip_list(j, '}', true);
    else if (rec_eat(j, '['))
        rec_skip_list(j, ']', false);
    else if (*j->p)
        while (*j->p && !strchr(",]}", *j->p))
            j->p++;
    else
        j->bad = true;
}

/* An array of strings, each appended with a '\n' (as the lab's text). */
static void rec_lines(struct rec_parser *j, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    j->bad |= !rec_eat(j, '[');
    if (rec_eat(j, ']'))
        return;
    do {
        char line[4096];
        rec_str(j, line, sizeof line);
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s\n", line);
    } while (!j->bad && rec_eat(j, ','));
    j->bad |= !rec_eat(j, ']') || len >= cap;
}

static void rec_measurements(struct rec_parser *j, struct rec_scen *s)
{
    j->bad |= !rec_eat(j, '[');
    if (rec_eat(j, ']'))
        return;
    do {
        struct rec_value *v = &s->values[s->nvalues < 47 ? s->nvalues++ : 47];
        char key[16];
        j->bad |= !rec_eat(j, '{');
        do {
            rec_str(j, key, sizeof key);
            j->bad |= !rec_eat(j, ':');
            rec_ws(j);
            if (!strcmp(key, "name"))
                rec_str(j, v->name, sizeof v->name);
            else if (!strcmp(key, "unit"))
                rec_str(j, v->unit, sizeof v->unit);
            else
                v->value = strtod(j->p, (char **)&j->p);
        } while (!j->bad && rec_eat(j, ','));
        j->bad |= !rec_eat(j, '}');
    } while (!j->bad && rec_eat(j, ','));
    j->bad |= !rec_eat(j, ']');
}

static void rec_scenario(struct rec_parser *j, struct rec_scen *s)
{
    char key[32];
    memset(s, 0, sizeof *s);
    j->bad |= !rec_eat(j, '{');
    do {
        rec_str(j, key, sizeof key);
        j->bad |= !rec_eat(j, ':');
        rec_ws(j);
        if (!strcmp(key, "name"))
            rec_str(j, s->name, sizeof s->name);
        else if (!strcmp(key, "pass"))
            s->pass = !strncmp(j->p, "true", 4), rec_skip(j);
        else if (!strcmp(key, "duration_s"))
            s->seconds = strtod(j->p, (char **)&j->p);
        else if (!strcmp(key, "setup"))
            rec_lines(j, s->setup, sizeof s->setup);
        else if (!strcmp(key, "notes"))
            rec_lines(j, s->notes, sizeof s->notes);
        else if (!strcmp(key, "failures"))
            rec_lines(j, s->failures, sizeof s->failures);
        else if (!strcmp(key, "measurements"))
            rec_measurements(j, s);
        else
            rec_skip(j);
    } while (!j->bad && rec_eat(j, ','));
    j->bad |= !rec_eat(j, '}');
}

/* The whole file as a NUL-terminated string (static buffer), NULL if unread. */
static const char *rec_file(const char *path, size_t *len)
{
    static char buf[1 << 18];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static struct rec_scen rec_all[REC_MAX];

/* Loads path into rec_all; the number of scenarios, -1 if unreadable. */
static int rec_load(const char *path)
{
    const char *text = rec_file(path, NULL);
    if (!text)
        return -1;
    struct rec_parser j = {text, false};
    const char *at = strstr(text, "\"scenarios\":");
    if (!at)
        return -1;
    j.p = at + strlen("\"scenarios\":");
    int n = 0;
    j.bad |= !rec_eat(&j, '[');
    do
        rec_scenario(&j, &rec_all[n++]);
    while (!j.bad && n < REC_MAX && rec_eat(&j, ','));
    return j.bad ? -1 : n;
}

static const struct rec_scen *rec_find(const char *name)
{
    static int loaded = -2;
    if (loaded == -2)
        loaded = rec_load(LAB_DATA "lab.json");
    for (int i = 0; i < loaded; i++)
        if (!strcmp(rec_all[i].name, name))
            return &rec_all[i];
    return NULL;
}

/* The first value called name; NAN if absent. */
__attribute__((unused)) static double rec_num(const struct rec_scen *s, const char *name)
{
    for (size_t i = 0; i < s->nvalues; i++)
        if (!strcmp(s->values[i].name, name))
            return s->values[i].value;
    return NAN;
}

/* The number after `after` in the recorded notes; NAN if absent. */
__attribute__((unused)) static double rec_note_num(const struct rec_scen *s, const char *after)
{
    const char *p = strstr(s->notes, after);
    return p ? strtod(p + strlen(after), NULL) : NAN;
}
#endif

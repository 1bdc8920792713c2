/* SPDX-License-Identifier: MIT */
/* closer lab: claims about TIME_WAIT / CLOSE_WAIT turned into experiments on
 * the real kernel, each in its own pair of namespaces (lab/env.h), each
 * asserting what it measured. Error convention: a scenario returns 0 when it
 * ran (verdict in the result) and -1 when the harness itself failed
 * (message in the result's failures). */
#ifndef CLOSER_LAB_H
#define CLOSER_LAB_H
#include <stdbool.h>
#include <stdio.h>

#include "lab/env.h"

/* One measurement as a program reads it (lab --json "measurements"). */
struct lab_value {
    char name[64];           /* snake_case, prefixed by value_prefix when set */
    double value;
    const char *unit;        /* "sockets", "connections", "requests", "ms", "s", "per_s", ... */
};

#define LAB_MAX_VALUES 48

/* lab --json contract: schemas/closer.lab.schema.json. */
#define LAB_JSON_SCHEMA "closer.lab/1"

struct lab_result {
    bool ok;                 /* every expectation held */
    char measured[3072];     /* "- what: value" lines (report.md and JSON "notes") */
    size_t measured_len;
    struct lab_value values[LAB_MAX_VALUES];
    size_t nvalues;
    char value_prefix[24];   /* "http10_plain_": names the same step run twice */
    char failures[1024];     /* why not ok, one per line */
    size_t failures_len;
    double seconds;
};

struct lab_scenario {
    const char *name;
    const char *claim;       /* the claim as people state it */
    const char *truth;       /* what the kernel does; NULL = the claim holds as stated */
    int (*run)(struct lab_env *e, struct lab_result *r);
};

/* The registry, in running order. */
extern const struct lab_scenario lab_scenarios[];
extern const size_t lab_nscenarios;
const struct lab_scenario *lab_find(const char *name);

/* Runs one scenario in fresh namespaces; always tears them down. The env is
 * left with its setup text and samples for the report. */
void lab_run_scenario(const struct lab_scenario *sc, struct lab_env *e, struct lab_result *r);

/* Result helpers for scenarios. */
void lab_measured(struct lab_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A structured measurement beside the text line that tells it. */
void lab_value(struct lab_result *r, const char *name, double value, const char *unit);
/* Records a failed expectation when cond is false; returns cond. */
bool lab_expect(struct lab_result *r, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Common steps. */
pid_t lab_serve(struct lab_env *e, struct lab_result *r, const char *const extra[]);
/* Runs closer load in the client against the server's port 8080 (or the URL
 * port given); JSON into out. Returns its exit status. */
int lab_load(struct lab_env *e, const char *const args[], char *out, size_t outlen);
#define LAB_PORT 8080
#define LAB_URL "http://" LAB_SERVER_IP ":8080/"

/* Report writers (lab/report.c). */
struct lab_done {
    const struct lab_scenario *sc;
    struct lab_result res;
    struct lab_env env;      /* setup + samples (namespaces already gone) */
};
int lab_write_report(const char *dir, const struct lab_done *d, size_t n, char *err, size_t errlen);
void lab_write_json(FILE *out, const struct lab_done *d, size_t n);
/* title: the scenario and its verdict, above the plot. */
int lab_write_svg(const char *path, const struct lab_env *e, const char *title);
/* The samples behind the SVG: host,t_s,<state>... one row per sample. */
int lab_write_csv(const char *path, const struct lab_env *e);
#endif

/* SPDX-License-Identifier: MIT */
/* What every scenario shares: recording its measurements and failed
 * expectations, and the common steps (closer serve in the server
 * namespace, closer load in the client's). Called by the scenarios and
 * by the run wrapper in registry.c; it calls neither. */
#include "lab/lab.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void append(char *buf, size_t cap, size_t *len, const char *fmt, va_list ap)
{
    if (*len >= cap - 2)
        return;
    int n = vsnprintf(buf + *len, cap - *len - 1, fmt, ap);
    if (n < 0)
        return;
    *len += (size_t)n;
    if (*len > cap - 2)
        *len = cap - 2;
    buf[(*len)++] = '\n';
    buf[*len] = 0;
}

void lab_measured(struct lab_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(r->measured, sizeof r->measured, &r->measured_len, fmt, ap);
    va_end(ap);
}

void lab_value(struct lab_result *r, const char *name, double value, const char *unit)
{
    if (r->nvalues >= LAB_MAX_VALUES)
        return;
    struct lab_value *v = &r->values[r->nvalues++];
    snprintf(v->name, sizeof v->name, "%s%s", r->value_prefix, name);
    for (char *c = v->name; *c; c++) /* snake_case: "no-accept" (a fault name) -> "no_accept" */
        if (*c == '-')
            *c = '_';
    v->value = value;
    v->unit = unit;
}

bool lab_expect(struct lab_result *r, bool cond, const char *fmt, ...)
{
    if (cond)
        return true;
    r->ok = false;
    va_list ap;
    va_start(ap, fmt);
    append(r->failures, sizeof r->failures, &r->failures_len, fmt, ap);
    va_end(ap);
    return false;
}

pid_t lab_serve(struct lab_env *e, struct lab_result *r, const char *const extra[])
{
    char *argv[32] = {"closer", "serve", "--listen", LAB_SERVER_IP ":8080", "--workers", "1",
                      "--return", "200", "ok"};
    int n = 9;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    pid_t pid = lab_spawn(e, LAB_SERVER, argv);
    if (pid < 0 || lab_wait_listen(e, LAB_SERVER, LAB_PORT) < 0) {
        lab_expect(r, false, "closer serve did not start: %s", e->err);
        return -1;
    }
    lab_mark(e, -1, "closer serve listening");
    return pid;
}

int lab_load(struct lab_env *e, const char *const args[], char *out, size_t outlen)
{
    char *argv[32] = {"closer", "load", "--json"};
    int n = 3;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    /* The mark names the run by its options (the URL is always the lab's). */
    char what[48] = "load";
    size_t len = strlen(what);
    for (int i = 0; args[i] && len < sizeof what - 1; i++)
        if (strncmp(args[i], "http://", 7))
            len += (size_t)snprintf(what + len, sizeof what - len, " %s", args[i]);
    lab_mark(e, -1, "%s", what);
    int rc = lab_run(e, LAB_CLIENT, argv, out, outlen, 30000);
    lab_mark(e, -1, "load done");
    return rc;
}

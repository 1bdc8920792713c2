/* SPDX-License-Identifier: MIT */
/* Parser of tracefs format files. The layout of a tracepoint's record is
 * read from the kernel, never assumed: field offsets moved between kernels
 * (tcp_send_reset grew skaddr, state and reason). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/tracefs.h"

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* "\tfield:TYPE NAME[N];\toffset:O;\tsize:S;\tsigned:X;" */
static int parse_field(const char *p, const char *e, struct tp_field *f)
{
    const char *decl = strstr(p, "field:");
    if (!decl || decl >= e)
        return -1;
    decl += 6;
    const char *semi = memchr(decl, ';', (size_t)(e - decl));
    if (!semi)
        return -1;
    const char *name_end = semi;
    const char *bracket = memchr(decl, '[', (size_t)(semi - decl));
    if (bracket)
        name_end = bracket;
    const char *name = name_end;
    while (name > decl && name[-1] != ' ' && name[-1] != '*')
        name--;
    size_t n = (size_t)(name_end - name);
    if (n == 0 || n >= sizeof f->name)
        return -1;
    memcpy(f->name, name, n);
    f->name[n] = 0;
    char tail[160];
    size_t tl = (size_t)(e - semi) < sizeof tail - 1 ? (size_t)(e - semi) : sizeof tail - 1;
    memcpy(tail, semi, tl);
    tail[tl] = 0;
    const char *o = strstr(tail, "offset:"), *s = strstr(tail, "size:"), *g = strstr(tail, "signed:");
    if (!o || !s)
        return -1;
    f->offset = (unsigned)strtoul(o + 7, NULL, 10);
    f->size = (unsigned)strtoul(s + 5, NULL, 10);
    f->is_signed = g && g[7] == '1';
    return 0;
}

/* __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, { 1, "NO_SOCKET" }, ...) */
static void parse_reasons(const char *p, const char *e, struct tp_format *out)
{
    static const char key[] = "__print_symbolic(REC->reason,";
    const char *s = p;
    size_t kl = sizeof key - 1;
    while (s + kl <= e && memcmp(s, key, kl))
        s++;
    if (s + kl > e)
        return;
    s += kl;
    while (s < e && out->nreasons < TP_MAX_SYMS) {
        while (s < e && (*s == ' ' || *s == ','))
            s++;
        if (s >= e || *s != '{')
            return;
        s++;
        char *num_end;
        long long v = strtoll(s, &num_end, 0);
        if (num_end == s)
            return; /* symbolic values given as enum names: not decodable */
        const char *q1 = memchr(num_end, '"', (size_t)(e - num_end));
        if (!q1)
            return;
        const char *q2 = memchr(q1 + 1, '"', (size_t)(e - q1 - 1));
        const char *close = q2 ? memchr(q2, '}', (size_t)(e - q2)) : NULL;
        if (!close)
            return;
        struct tp_sym *sym = &out->reasons[out->nreasons++];
        size_t n = (size_t)(q2 - q1 - 1);
        if (n >= sizeof sym->name)
            n = sizeof sym->name - 1;
        memcpy(sym->name, q1 + 1, n);
        sym->name[n] = 0;
        sym->val = v;
        s = close + 1;
    }
}

static int parse_terminated(const char *text, size_t len, struct tp_format *out, char *err, size_t errlen);

int tp_format_parse(const char *text, size_t len, struct tp_format *out, char *err, size_t errlen)
{
    /* The string functions below need a terminator the caller's buffer
     * may not have. */
    char *copy = malloc(len + 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    int rc = parse_terminated(copy, len, out, err, errlen);
    free(copy);
    return rc;
}

static int parse_terminated(const char *text, size_t len, struct tp_format *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = text, *end = text + len;
    bool have_id = false;
    while (p < end) {
        const char *e = line_end(p, end);
        if (!strncmp(p, "name: ", 6)) {
            size_t n = (size_t)(e - p - 6);
            if (n >= sizeof out->name)
                n = sizeof out->name - 1;
            memcpy(out->name, p + 6, n);
            out->name[n] = 0;
        } else if (!strncmp(p, "ID: ", 4)) {
            char *num_end;
            unsigned long id = strtoul(p + 4, &num_end, 10);
            have_id = num_end != p + 4 && id > 0 && id < 1u << 30;
            out->id = (unsigned)id;
        } else if ((size_t)(e - p) > 7 && memmem(p, (size_t)(e - p), "field:", 6)) {
            if (out->nfields < TP_MAX_FIELDS &&
                parse_field(p, e, &out->fields[out->nfields]) == 0)
                out->nfields++;
        } else if (!strncmp(p, "print fmt:", 10)) {
            parse_reasons(p, e, out);
        }
        p = e < end ? e + 1 : end;
    }
    if (!have_id || out->nfields == 0) {
        snprintf(err, errlen, "tracepoint format of '%s' has no %s", out->name[0] ? out->name : "?",
                 have_id ? "fields" : "ID");
        return -1;
    }
    return 0;
}

const struct tp_field *tp_field(const struct tp_format *f, const char *name)
{
    for (unsigned i = 0; i < f->nfields; i++)
        if (!strcmp(f->fields[i].name, name))
            return &f->fields[i];
    return NULL;
}

const char *tp_reason_name(const struct tp_format *f, long long val)
{
    for (unsigned i = 0; i < f->nreasons; i++)
        if (f->reasons[i].val == val)
            return f->reasons[i].name;
    return NULL;
}

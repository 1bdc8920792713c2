/* SPDX-License-Identifier: MIT */
#include "util/conf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Unescapes a quoted word in place from *p (just past the opening quote);
 * returns the word, leaves *p past the closing quote, NULL if unclosed. */
static char *quoted(char **p, int *line)
{
    char *start = *p, *out = start;
    for (char *s = start; *s; s++) {
        if (*s == '"') {
            *out = 0;
            *p = s + 1;
            return start;
        }
        if (*s == '\n')
            (*line)++;
        if (*s == '\\' && s[1]) {
            s++;
            *out++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
            continue;
        }
        *out++ = *s;
    }
    return NULL;
}

int conf_parse(char *text, conf_fn fn, void *arg, char *err, size_t errlen)
{
    char *words[CONF_MAX_WORDS];
    int n = 0, line = 1, start_line = 1;
    char *p = text;
    for (;;) {
        while (*p && (is_space(*p) || *p == '#')) {
            if (*p == '#')
                while (*p && *p != '\n')
                    p++;
            else if (*p++ == '\n')
                line++;
        }
        if (!*p)
            break;
        if (n == 0)
            start_line = line;
        if (*p == ';') {
            *p++ = 0;
            if (n == 0) {
                snprintf(err, errlen, "%d: ';' without a directive", line);
                return -1;
            }
            int rc = fn(start_line, n, words, arg);
            if (rc)
                return rc;
            n = 0;
            continue;
        }
        if (n == CONF_MAX_WORDS) {
            snprintf(err, errlen, "%d: too many words in '%s' (missing ';'?)", start_line, words[0]);
            return -1;
        }
        if (*p == '"') {
            p++;
            if (!(words[n++] = quoted(&p, &line))) {
                snprintf(err, errlen, "%d: unterminated quoted string", start_line);
                return -1;
            }
            if (*p && !is_space(*p) && *p != ';') {
                snprintf(err, errlen, "%d: text right after a closing quote", line);
                return -1;
            }
            continue;
        }
        words[n++] = p;
        while (*p && !is_space(*p) && *p != ';' && *p != '#' && *p != '"')
            p++;
        if (*p == '"') {
            snprintf(err, errlen, "%d: a quote inside a word", line);
            return -1;
        }
        if (*p == '#') { /* a comment right after a word ends it */
            *p++ = 0;
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (*p == ';')
            continue; /* the next pass cuts the word there and ends the directive */
        if (*p) {
            if (*p == '\n')
                line++;
            *p++ = 0;
        }
    }
    if (n) {
        snprintf(err, errlen, "%d: '%s' is not ended by ';'", start_line, words[0]);
        return -1;
    }
    return 0;
}

char *conf_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len < cap - 1) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
                errno = EIO;
            }
            break;
        }
        if (cap >= (1u << 20)) { /* a configuration, not a data file */
            free(buf);
            buf = NULL;
            errno = EFBIG;
            break;
        }
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

/* SPDX-License-Identifier: MIT */
#include "kernel/sysctl.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long proc_read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t r = read(fd, buf + got, len - got - 1);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    return (long)got;
}

long sysctl_read(const char *name, long *second)
{
    char path[256], buf[128];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    if (second)
        *second = -1;
    if (proc_read_file(path, buf, sizeof buf) <= 0)
        return -1;
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf)
        return -1;
    if (second) {
        char *end2;
        long w = strtol(end, &end2, 10);
        if (end2 != end)
            *second = w;
    }
    return v;
}

/* Finds the 0-based column of name in the header line of prefix, then the
 * same column in the following values line. */
long long netstat_lookup(const char *text, const char *prefix, const char *name)
{
    size_t plen = strlen(prefix), nlen = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        if (!strncmp(line, prefix, plen) && line[plen] == ':') {
            const char *values = eol ? eol + 1 : NULL;
            if (!values || strncmp(values, prefix, plen) != 0)
                return -1;
            int col = -1, i = 0;
            for (const char *p = line + plen + 1; p < (eol ? eol : p + strlen(p));) {
                while (*p == ' ')
                    p++;
                const char *w = p;
                while (*p && *p != ' ' && *p != '\n')
                    p++;
                if ((size_t)(p - w) == nlen && !strncmp(w, name, nlen)) {
                    col = i;
                    break;
                }
                if (p == w)
                    break;
                i++;
            }
            if (col < 0)
                return -1;
            const char *p = values + plen + 1;
            for (int c = 0; c <= col; c++) {
                char *end;
                long long v = strtoll(p, &end, 10);
                if (end == p)
                    return -1;
                if (c == col)
                    return v;
                p = end;
            }
            return -1;
        }
        line = eol ? eol + 1 : NULL;
    }
    return -1;
}

/* SPDX-License-Identifier: MIT */
#include "server/files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/response.h"

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the path part of target into out as a relative path without
 * "." segments. Returns 0, or 400/403. */
static int clean_path(struct slice t, char *out, size_t cap)
{
    /* Absolute-form ("http://host/path", RFC 9112 3.2.2): the path part. */
    const char *sep = t.len && t.ptr[0] != '/' ? memmem(t.ptr, t.len, "://", 3) : NULL;
    if (sep) {
        const char *p = sep + 3, *stop = t.ptr + t.len;
        while (p < stop && *p != '/' && *p != '?' && *p != '#')
            p++;
        if (p == stop || *p != '/')
            p = "/", stop = p + 1;
        t = (struct slice){p, (size_t)(stop - p)};
    }
    size_t end = 0;
    while (end < t.len && t.ptr[end] != '?' && t.ptr[end] != '#')
        end++;
    if (!end || t.ptr[0] != '/')
        return 400;
    char dec[4096];
    size_t n = 0;
    for (size_t i = 0; i < end; i++) {
        char c = t.ptr[i];
        if (c == '%') {
            int a = i + 2 < end ? hex(t.ptr[i + 1]) : -1, b = a >= 0 ? hex(t.ptr[i + 2]) : -1;
            if (b < 0)
                return 400;
            c = (char)(a * 16 + b);
            i += 2;
        }
        if (c == 0 || n + 1 >= sizeof dec)
            return 400;
        dec[n++] = c;
    }
    dec[n] = 0;
    size_t o = 0;
    char *save = NULL;
    for (char *seg = strtok_r(dec, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (!strcmp(seg, "."))
            continue;
        if (!strcmp(seg, ".."))
            return 403;
        size_t l = strlen(seg);
        if (o + l + 2 >= cap)
            return 400;
        if (o)
            out[o++] = '/';
        memcpy(out + o, seg, l);
        o += l;
    }
    if (dec[n - 1] == '/' || o == 0) {
        const char *idx = o ? "/index.html" : "index.html";
        if (o + strlen(idx) + 1 >= cap)
            return 400;
        strcpy(out + o, idx);
        o += strlen(idx);
    }
    out[o] = 0;
    return 0;
}

static int open_beneath(int root_fd, const char *rel)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
}

int files_open(int root_fd, struct slice target, struct file_hit *out)
{
    char rel[4096];
    int st = clean_path(target, rel, sizeof rel);
    if (st)
        return st;
    int fd = open_beneath(root_fd, rel);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 404 : 403;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        close(fd);
        return 403;
    }
    if (S_ISDIR(sb.st_mode)) {
        /* A directory without a trailing slash: serve its index. */
        close(fd);
        size_t l = strlen(rel);
        if (l + 12 >= sizeof rel)
            return 404;
        strcpy(rel + l, "/index.html");
        fd = open_beneath(root_fd, rel);
        if (fd < 0)
            return errno == ENOENT ? 404 : 403;
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
            close(fd);
            return 403;
        }
    } else if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return 403;
    }
    out->fd = fd;
    out->size = (uint64_t)sb.st_size;
    out->mtime = sb.st_mtime;
    out->mime = resp_mime(rel);
    return 0;
}

/* SPDX-License-Identifier: MIT */
#include "server/files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
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

/* Looked up with O_PATH: nothing is opened yet, so a FIFO (whose open
 * waits for a writer), a device node (whose open has side effects) or a
 * socket costs no more than a stat. */
static int path_beneath(int root_fd, const char *rel)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
}

static int status_of(int e)
{
    return e == ENOENT || e == ENOTDIR ? 404 : 403;
}

/* Opens for reading the very inode an O_PATH fd names, with the rights of
 * the caller (the permission check happens here, not at the O_PATH
 * lookup), non-blocking for good measure; the inode is checked again in
 * case the name was swapped between the two. */
static int reopen(int pfd, int root_fd, const char *rel, const struct stat *want)
{
    char proc[40];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    int fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) { /* no /proc (a chroot): by name, checked below */
        struct open_how how = {.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        fd = (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    }
    struct stat sb;
    if (fd >= 0 && (fstat(fd, &sb) < 0 || sb.st_ino != want->st_ino || sb.st_dev != want->st_dev ||
                    !S_ISREG(sb.st_mode))) {
        close(fd);
        errno = EACCES;
        return -1;
    }
    return fd;
}

/* The regular file at rel (or rel/index.html for a directory): an O_PATH
 * lookup, a type check, then the open. Returns an fd or -status. */
static int open_regular(int root_fd, char *rel, size_t cap, struct stat *sb)
{
    int pfd = path_beneath(root_fd, rel);
    if (pfd < 0)
        return -status_of(errno);
    if (fstat(pfd, sb) < 0) {
        close(pfd);
        return -403;
    }
    if (S_ISDIR(sb->st_mode)) {
        /* A directory without a trailing slash: serve its index. */
        close(pfd);
        size_t l = strlen(rel);
        if (l + 12 >= cap)
            return -404;
        strcpy(rel + l, "/index.html");
        if ((pfd = path_beneath(root_fd, rel)) < 0)
            return -status_of(errno);
        if (fstat(pfd, sb) < 0) {
            close(pfd);
            return -403;
        }
    }
    /* FIFOs, device nodes, sockets and directories are not files to
     * serve: 404 as nginx, without ever opening them. */
    if (!S_ISREG(sb->st_mode)) {
        close(pfd);
        return -404;
    }
    int fd = reopen(pfd, root_fd, rel, sb);
    int e = errno;
    close(pfd);
    return fd >= 0 ? fd : -status_of(e);
}

int files_open(int root_fd, struct slice target, struct file_hit *out)
{
    char rel[4096];
    int st = clean_path(target, rel, sizeof rel);
    if (st)
        return st;
    struct stat sb;
    int fd = open_regular(root_fd, rel, sizeof rel, &sb);
    if (fd < 0)
        return -fd;
    out->fd = fd;
    out->size = (uint64_t)sb.st_size;
    out->mtime = sb.st_mtime;
    out->mime = resp_mime(rel);
    return 0;
}

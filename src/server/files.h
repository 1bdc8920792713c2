/* SPDX-License-Identifier: MIT */
/* Static files under --root. A target never resolves outside the root:
 * it is percent-decoded first (so %2e%2e is "..") and ".." segments are
 * refused, then opened with openat2(RESOLVE_BENEATH), which also stops
 * symlinks that lead out. Error convention: returns 0, or the HTTP status
 * to answer (400, 403, 404). */
#ifndef CLOSER_SERVER_FILES_H
#define CLOSER_SERVER_FILES_H
#include <stdint.h>
#include <time.h>

#include "util/slice.h"

struct file_hit {
    int fd;
    uint64_t size;
    time_t mtime;
    const char *mime;
};

int files_open(int root_fd, struct slice target, struct file_hit *out);

#endif

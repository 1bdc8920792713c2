/* SPDX-License-Identifier: MIT */
#include "trace/tracefs.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_PREFIX "/tmp/closer-tracefs-"

static bool has_events(const char *dir)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/events", dir);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool tracefs_in_kernel(void)
{
    FILE *f = fopen("/proc/filesystems", "re");
    char line[128];
    bool found = false;
    if (!f)
        return true; /* cannot tell: let mount say */
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\ttracefs"))
            found = true;
    fclose(f);
    return found;
}

/* A mount namespace of its own keeps the host's mount table untouched: the
 * mount disappears with the process. /sys/kernel/tracing exists as an empty
 * mount point in every sysfs (also the one `ip netns exec` mounts). */
static int mount_private(char *out, size_t outlen, char *err, size_t errlen)
{
    static const char hint[] = "mount it with: mount -t tracefs nodev /sys/kernel/tracing";
    if (!tracefs_in_kernel()) {
        snprintf(err, errlen, "this kernel has no tracefs (CONFIG_TRACING is off)");
        return -1;
    }
    if (unshare(CLONE_NEWNS) < 0) {
        snprintf(err, errlen, "tracefs is not mounted and a private mount namespace failed (%s); %s",
                 strerror(errno), hint);
        return -1;
    }
    /* A slave, not private: mounts made on the host still show here (the
     * nsfs bind mount of an `ip netns add` while tracing, which names a
     * namespace in the records), ours never go back. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
        snprintf(err, errlen, "tracefs is not mounted; making / a slave mount failed (%s); %s",
                 strerror(errno), hint);
        return -1;
    }
    const char *target = "/sys/kernel/tracing";
    char tmp[] = TMP_PREFIX "XXXXXX";
    struct stat st;
    if (stat(target, &st) < 0 || !S_ISDIR(st.st_mode)) {
        if (!mkdtemp(tmp)) {
            snprintf(err, errlen, "tracefs is not mounted and no mount point could be made: %s",
                     strerror(errno));
            return -1;
        }
        target = tmp;
    }
    int rc = mount("nodev", target, "tracefs", 0, NULL);
    if (rc < 0 && errno != EPERM && target != tmp && mkdtemp(tmp)) {
        target = tmp; /* a read-only /sys (containers): any directory will do */
        rc = mount("nodev", target, "tracefs", 0, NULL);
    }
    if (rc < 0) {
        snprintf(err, errlen, "tracefs is not mounted and mounting it failed (%s%s); %s", strerror(errno),
                 errno == EPERM ? ": needs CAP_SYS_ADMIN" : "", hint);
        if (target == tmp)
            rmdir(tmp);
        return -1;
    }
    snprintf(out, outlen, "%s", target);
    return 0;
}

void tracefs_done(const char *dir)
{
    /* only a mount point closer made itself; the private mount of
     * /sys/kernel/tracing goes away with the process */
    if (!strncmp(dir, TMP_PREFIX, sizeof TMP_PREFIX - 1) && umount2(dir, MNT_DETACH) == 0)
        rmdir(dir);
}

int tracefs_locate(const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
    if (dir) {
        snprintf(out, outlen, "%s", dir);
        return 0;
    }
    static const char *const candidates[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (has_events(candidates[i])) {
            snprintf(out, outlen, "%s", candidates[i]);
            return 0;
        }
    return mount_private(out, outlen, err, errlen);
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            char *nb = cap < (1u << 20) ? realloc(buf, cap * 2 + 1) : NULL;
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

int tracefs_read_format(const char *dir, const char *system, const char *event,
                        struct tp_format *out, char *err, size_t errlen)
{
    char path[700];
    snprintf(path, sizeof path, "%s/events/%s/%s/format", dir, system, event);
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        int e = errno;
        if (e == ENOENT)
            snprintf(err, errlen, "this kernel lacks the tracepoint %s:%s (%s not found)", system, event, path);
        else
            snprintf(err, errlen, "cannot read %s: %s%s", path, strerror(e),
                     e == EACCES || e == EPERM ? " (needs root)" : "");
        return -1;
    }
    int rc = tp_format_parse(text, len, out, err, errlen);
    free(text);
    return rc;
}

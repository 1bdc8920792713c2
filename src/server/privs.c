/* SPDX-License-Identifier: MIT */
#include "server/privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int resolve(const char *spec, char *name, size_t cap, uid_t *uid, gid_t *gid, char *err,
                   size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= cap) {
        snprintf(err, errlen, "--user '%s': NAME or NAME:GROUP", spec);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = 0;
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        snprintf(err, errlen, "--user %s: no such user", name);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (colon) {
        struct group *gr = getgrnam(colon + 1);
        if (!gr) {
            snprintf(err, errlen, "--user %s: no such group '%s'", spec, colon + 1);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

int srv_drop_privileges(const char *spec, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        if (spec)
            fprintf(stderr, "closer serve: --user %s ignored: not running as root\n", spec);
        return 0;
    }
    char name[256];
    uid_t uid;
    gid_t gid;
    if (resolve(spec ? spec : SRV_DEFAULT_USER, name, sizeof name, &uid, &gid, err, errlen) < 0)
        return -1;
    if (uid == 0) /* --user root: asked for in so many words, as nginx's "user root;" */
        return 0;
    /* Order matters: the supplementary groups and the group while still
     * root, the user last; then make sure there is no way back. */
    if (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        snprintf(err, errlen, "--user %s: cannot become uid %u gid %u: %s", name, (unsigned)uid,
                 (unsigned)gid, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || geteuid() == 0) {
        snprintf(err, errlen, "--user %s: root privileges could not be dropped", name);
        return -1;
    }
    return 0;
}

void srv_check_root_access(int root_fd, const char *root)
{
    /* Looking "." up from root_fd needs search rights on the root itself. */
    int fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return;
    }
    fprintf(stderr, "closer serve: warning: --root %s is not searchable by uid %u (%s): every "
                    "file will answer 403 (see --user)\n", root, (unsigned)geteuid(), strerror(errno));
}

/* SPDX-License-Identifier: MIT */
/* Dropping root before serving, as nginx's `user` directive: the process
 * binds its ports and opens --root as root, then becomes --user (default
 * nobody) before any request is read, so files are opened with that
 * user's rights. Error convention: 0, or -1 with a message in err. */
#ifndef CLOSER_SERVER_PRIVS_H
#define CLOSER_SERVER_PRIVS_H
#include <stddef.h>

#define SRV_DEFAULT_USER "nobody"

/* spec: "NAME" or "NAME:GROUP" (NULL: the default). Not root: nothing to
 * drop (a --user given is ignored with a warning, as nginx does). The
 * group, when not given, is the user's primary group (nobody: nogroup). */
int srv_drop_privileges(const char *spec, char *err, size_t errlen);

/* After the drop: a warning on stderr when root_fd is not searchable by
 * the new user (every file would answer 403). */
void srv_check_root_access(int root_fd, const char *root);

#endif

/* SPDX-License-Identifier: MIT */
/* The fix of a CLOSE_WAIT finding: the knob of the program that owns the
 * sockets, from the catalogue (src/catalog/knobs.c) for its protocol, then
 * the class's closing sentence. A client pool also names the server's
 * idle-close knob when the server's program is known. */
#include <stdio.h>

#include "doctor/close_wait.h"

/* Said after the fix, whatever the program. */
static const char *const closing[CW_NCLASSES] = {
    [CW_NOT_CLOSED] = "The fds are listed here; each holds a socket until closed.",
    [CW_NOT_POLLED] = "`closer states -p -s close-wait` lists the fds; each costs an fd and "
                      "its socket buffers until the process exits.",
    [CW_BLOCKED_THREAD] = "Registering fds with epoll is not the fix here: each connection has "
                          "its thread or process, and that one is stuck.",
    [CW_CLIENT_POOL] = "Each costs an fd until the client looks at it.",
};

static enum cat_situation situation(enum cw_class cls, const struct cw_group *g)
{
    switch (cls) {
    case CW_NOT_CLOSED: return g->port >= 0 ? K_CW_NOT_CLOSED : K_CW_NOT_CLOSED_OUT;
    case CW_NOT_POLLED: return K_CW_NOT_POLLED;
    case CW_BLOCKED_THREAD: return K_CW_BLOCKED;
    default: return K_POOL_CLIENT;
    }
}

void cw_fix(struct finding *f, enum cw_class cls, const struct cw_group *g)
{
    const struct cat_program *p = g->prog ? g->prog : catalog_runtime_program(CR_NATIVE);
    const char *text = catalog_knob(p, g->proto.proto, situation(cls, g));
    snprintf(f->fix, sizeof f->fix, "%s%s%s %s", text ? text : "",
             g->server_knob ? " " : "", g->server_knob ? g->server_knob : "",
             closing[cls] ? closing[cls] : "");
}

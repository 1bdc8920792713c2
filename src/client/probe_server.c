/* SPDX-License-Identifier: MIT */
/* Which server answered, and the names of its settings, from the program
 * catalogue (src/catalog: the doctor's table too), so probe's advice names
 * the setting of the program that owns the sockets (nginx's directives mean
 * nothing to an Apache or Node operator, nor to the Varnish in front). */
#include <string.h>

#include "client/probe.h"

void probe_identify(struct probe_result *r)
{
    struct cat_response resp = {
        .server = r->server,
        .via = r->via,
        .connection = r->keepalive_11 ? r->connection_11 : "-",
        .keep_alive = r->keep_alive_11,
        .names = r->header_names,
    };
    r->prog = catalog_from_response(&resp, &r->origin, r->kind_evidence, sizeof r->kind_evidence);
}

const char *probe_kind_name(const struct cat_program *p)
{
    return p && p->wire.title ? p->wire.title : "unknown";
}

const char *probe_knob(const struct cat_program *p, const char *what)
{
    static const struct { const char *what; enum cat_situation sit; } map[] = {
        {"idle", K_TW_IDLE_TIMEOUT}, {"cap", K_TW_REQUEST_CAP}, {"lifetime", K_TW_LIFETIME},
        {"keepalive", K_TW_NO_KEEPALIVE}, {"hint", K_KA_ANNOUNCE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(what, map[i].what))
            return catalog_setting(p, map[i].sit);
    return "";
}

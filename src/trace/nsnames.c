/* SPDX-License-Identifier: MIT */
#include "trace/nsnames.h"
#include "trace/pcache.h" /* netns_inode */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void load(struct nsnames *ns, uint64_t now_ns)
{
    ns->n = 0;
    ns->last_load_ns = now_ns;
    ns->loads++;
    DIR *d = opendir(ns->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[320];
        snprintf(path, sizeof path, "%s/%s", ns->dir, de->d_name);
        uint64_t ino = netns_inode(path);
        struct nsname *nv = ino ? realloc(ns->v, (ns->n + 1) * sizeof *nv) : NULL;
        if (!nv)
            continue;
        ns->v = nv;
        ns->v[ns->n].ino = ino;
        snprintf(ns->v[ns->n].name, sizeof ns->v[ns->n].name, "%.63s", de->d_name);
        ns->n++;
    }
    if (d)
        closedir(d);
}

void nsnames_init(struct nsnames *ns, const char *dir, uint64_t now_ns)
{
    memset(ns, 0, sizeof *ns);
    ns->dir = dir ? dir : "/run/netns";
    load(ns, now_ns);
}

static const char *find(const struct nsnames *ns, uint64_t ino)
{
    for (size_t i = 0; i < ns->n; i++)
        if (ns->v[i].ino == ino)
            return ns->v[i].name;
    return NULL;
}

/* Remembers ino as looked up; true when it was new. */
static bool first_try(struct nsnames *ns, uint64_t ino)
{
    for (size_t i = 0; i < ns->ntried; i++)
        if (ns->tried[i] == ino)
            return false;
    if (ns->ntried == NSNAMES_TRIED_MAX)
        return false;
    uint64_t *nt = realloc(ns->tried, (ns->ntried + 1) * sizeof *nt);
    if (!nt)
        return false;
    ns->tried = nt;
    ns->tried[ns->ntried++] = ino;
    return true;
}

const char *nsnames_get(struct nsnames *ns, uint64_t ino, uint64_t now_ns)
{
    if (!ino)
        return NULL;
    const char *name = find(ns, ino);
    if (name)
        return name;
    /* A namespace made after the last read (ip netns add while tracing). */
    if (first_try(ns, ino) || now_ns - ns->last_load_ns >= 1000000000ull) {
        load(ns, now_ns);
        name = find(ns, ino);
    }
    return name;
}

void nsnames_free(struct nsnames *ns)
{
    free(ns->v);
    free(ns->tried);
    memset(ns, 0, sizeof *ns);
}

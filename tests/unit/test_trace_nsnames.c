/* SPDX-License-Identifier: MIT */
/* Namespace names for records: a directory of plain files stands for
 * /run/netns (a file's inode for the namespace's). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "trace/nsnames.h"
#include "trace/pcache.h"

static uint64_t touch(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        close(fd);
    return netns_inode(p);
}

static void rm_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
    }
}

/* A namespace added while tracing (before: netns_name null for it), and
 * the directory read again only for an inode never met, or once a second. */
TEST(names_of_namespaces_made_after_the_start)
{
    char dir[] = "/tmp/closer-test-netns-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    uint64_t web = touch(dir, "web");
    struct nsnames ns;
    nsnames_init(&ns, dir, 1000);
    CHECK_EQ_STR(nsnames_get(&ns, web, 1000), "web");
    CHECK_EQ_INT(ns.loads, 1);
    uint64_t late = touch(dir, "late");
    CHECK_EQ_STR(nsnames_get(&ns, late, 2000), "late");
    CHECK_EQ_INT(ns.loads, 2);
    /* an unnamed namespace (a container's): one read, then none per event */
    uint64_t anon = late + 1000003;
    for (int i = 0; i < 100; i++)
        CHECK(nsnames_get(&ns, anon, 3000 + (uint64_t)i) == NULL);
    CHECK_EQ_INT(ns.loads, 3);
    CHECK_EQ_STR(nsnames_get(&ns, web, 4000), "web");
    CHECK_EQ_INT(ns.loads, 3);
    /* a second on, it is looked for again (it may have been named since) */
    CHECK(nsnames_get(&ns, anon, 1000003000ull) == NULL);
    CHECK_EQ_INT(ns.loads, 4);
    CHECK(nsnames_get(&ns, 0, 5000) == NULL);
    nsnames_free(&ns);
    rm_dir(dir);
}

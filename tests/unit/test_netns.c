/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/netns.h"
#include "test.h"

TEST(netns_spec_forms)
{
    struct netns_spec s;
    char err[256];
    CHECK(netns_spec_parse("blue", &s, err, sizeof err) == 0);
    CHECK_EQ_STR(s.path, "/run/netns/blue");
    CHECK_EQ_INT(s.named, 1);
    CHECK(netns_spec_parse("/proc/9063/ns/net", &s, err, sizeof err) == 0);
    CHECK_EQ_STR(s.path, "/proc/9063/ns/net");
    CHECK_EQ_INT(s.pid, 0);
    CHECK(netns_spec_parse("pid:9063", &s, err, sizeof err) == 0);
    CHECK_EQ_STR(s.path, "/proc/9063/ns/net");
    CHECK_EQ_INT(s.pid, 9063);
    /* A bare number is a name (ip netns allows it); the open error hints pid:. */
    CHECK(netns_spec_parse("9063", &s, err, sizeof err) == 0);
    CHECK_EQ_STR(s.path, "/run/netns/9063");
}

TEST(netns_spec_rejects)
{
    struct netns_spec s;
    char err[256];
    const char *bad[] = {"", "pid:", "pid:0", "pid:-1", "pid:12x", "pid: 5", "pid:99999999999",
                         ".", ".."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK(netns_spec_parse(bad[i], &s, err, sizeof err) == -1);
        CHECK(err[0] != 0);
    }
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK(netns_spec_parse(longname, &s, err, sizeof err) == -1);
}

TEST(netns_open_explains_missing)
{
    struct netns_spec s;
    char err[256];
    CHECK(netns_spec_parse("4194000", &s, err, sizeof err) == 0);
    CHECK(netns_open(&s, "4194000", err, sizeof err) == -1);
    CHECK(strstr(err, "pid:4194000") != NULL);
    CHECK(netns_spec_parse("pid:4194001", &s, err, sizeof err) == 0);
    CHECK(netns_open(&s, "pid:4194001", err, sizeof err) == -1);
    CHECK(strstr(err, "no process 4194001") != NULL);
    /* A file that is not a namespace: open works, setns says why. */
    CHECK(netns_spec_parse("/proc/self/status", &s, err, sizeof err) == 0);
    int fd = netns_open(&s, "/proc/self/status", err, sizeof err);
    CHECK(fd >= 0);
    CHECK(netns_setns(fd, "/proc/self/status", err, sizeof err) == -1);
    CHECK(strstr(err, "cannot enter") != NULL);
}

/* A FIFO as the path: the open must not wait for a writer. */
TEST(netns_fifo_does_not_hang)
{
    char path[] = "/tmp/closer-netns-fifo-XXXXXX";
    int tmp = mkstemp(path);
    CHECK(tmp >= 0);
    close(tmp);
    unlink(path);
    CHECK(mkfifo(path, 0600) == 0);
    char err[256];
    int rc = netns_enter(path, err, sizeof err);
    unlink(path);
    CHECK_EQ_INT(rc, -1);
    CHECK(strstr(err, "not a network namespace") != NULL);
}

/* `ip netns exec NAME` bind-mounts /run/netns/NAME on the namespace it
 * enters: the name is the entry whose inode is this process's namespace.
 * Symlinks to nsfs files stand in for the bind mounts. */
TEST(netns_self_name_matches_the_inode)
{
    char dir[] = "/tmp/closer-netns-names-XXXXXX", path[300], name[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/other-type", dir);
    CHECK(symlink("/proc/self/ns/uts", path) == 0);
    snprintf(path, sizeof path, "%s/plain-file", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fclose(f);
    int none = netns_self_name(dir, name, sizeof name);
    snprintf(path, sizeof path, "%s/zz", dir);
    CHECK(symlink("/proc/self/ns/net", path) == 0);
    snprintf(path, sizeof path, "%s/mine", dir);
    CHECK(symlink("/proc/self/ns/net", path) == 0);
    int found = netns_self_name(dir, name, sizeof name);
    char small[3];
    int fits = netns_self_name(dir, small, sizeof small); /* "mine" does not fit */
    const char *rm[] = {"other-type", "plain-file", "zz", "mine"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, rm[i]);
        unlink(path);
    }
    rmdir(dir);
    CHECK_EQ_INT(none, -1);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_STR(name, "mine");
    CHECK_EQ_INT(fits, 0);
    CHECK_EQ_STR(small, "zz");
    CHECK_EQ_INT(netns_self_name("/nonexistent-closer-dir", name, sizeof name), -1);
}

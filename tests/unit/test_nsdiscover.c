/* SPDX-License-Identifier: MIT */
/* Owners of a namespace from real-looking /proc/PID/cgroup texts, and the
 * discovery walk over a fake /proc tree. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/nsdiscover.h"
#include "test.h"

#define ID "4a2b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b"

TEST(cgroup_docker_systemd_driver)
{
    struct ns_owner o;
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/system.slice/docker-" ID ".scope\n", &o), 1);
    CHECK_EQ_STR(o.runtime, "docker");
    CHECK_EQ_STR(o.container, ID);
    CHECK_EQ_STR(o.pod, "");
}

TEST(cgroup_docker_cgroupfs_v1)
{
    struct ns_owner o;
    const char *t = "12:pids:/docker/" ID "\n"
                    "11:memory:/docker/" ID "\n"
                    "1:name=systemd:/docker/" ID "\n";
    CHECK_EQ_INT(ns_owner_parse_cgroup(t, &o), 1);
    CHECK_EQ_STR(o.runtime, "docker");
    CHECK_EQ_STR(o.container, ID);
}

TEST(cgroup_containerd_cri_pod)
{
    struct ns_owner o;
    const char *t = "0::/kubepods.slice/kubepods-burstable.slice/"
                    "kubepods-burstable-pod1d2c3f4e_5a6b_7c8d_9e0f_a1b2c3d4e5f6.slice/"
                    "cri-containerd-" ID ".scope\n";
    CHECK_EQ_INT(ns_owner_parse_cgroup(t, &o), 1);
    CHECK_EQ_STR(o.runtime, "containerd");
    CHECK_EQ_STR(o.container, ID);
    CHECK_EQ_STR(o.pod, "1d2c3f4e-5a6b-7c8d-9e0f-a1b2c3d4e5f6");
}

TEST(cgroup_guaranteed_pod_and_cgroupns_relative)
{
    struct ns_owner o;
    /* Seen from inside a cgroup namespace: the path climbs out with "..". */
    const char *t = "0::/../../kubepods-pod0a1b2c3d_4e5f_6a7b_8c9d_0e1f2a3b4c5d.slice/"
                    "cri-containerd-" ID ".scope\n";
    CHECK_EQ_INT(ns_owner_parse_cgroup(t, &o), 1);
    CHECK_EQ_STR(o.pod, "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d");
    CHECK_EQ_STR(o.container, ID);
}

TEST(cgroup_kubelet_cgroupfs_driver)
{
    struct ns_owner o;
    const char *t = "0::/kubepods/besteffort/pod7e6d5c4b-3a29-1807-f6e5-d4c3b2a19080/" ID "\n";
    CHECK_EQ_INT(ns_owner_parse_cgroup(t, &o), 1);
    CHECK_EQ_STR(o.pod, "7e6d5c4b-3a29-1807-f6e5-d4c3b2a19080");
    CHECK_EQ_STR(o.container, ID);
    CHECK_EQ_STR(o.runtime, "");
}

TEST(cgroup_crio_and_its_monitor)
{
    struct ns_owner o;
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/kubepods.slice/kubepods-besteffort.slice/"
                                       "kubepods-besteffort-pod11111111_2222_3333_4444_555555555555.slice/"
                                       "crio-" ID ".scope\n", &o), 1);
    CHECK_EQ_STR(o.runtime, "cri-o");
    CHECK_EQ_STR(o.container, ID);
    /* conmon is not the container; the pod still is known. */
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/kubepods.slice/kubepods-besteffort.slice/"
                                       "kubepods-besteffort-pod11111111_2222_3333_4444_555555555555.slice/"
                                       "crio-conmon-" ID ".scope\n", &o), 1);
    CHECK_EQ_STR(o.container, "");
    CHECK_EQ_STR(o.pod, "11111111-2222-3333-4444-555555555555");
}

TEST(cgroup_podman_root_rootless_and_pod)
{
    struct ns_owner o;
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/machine.slice/libpod-" ID ".scope/container\n", &o), 1);
    CHECK_EQ_STR(o.runtime, "podman");
    CHECK_EQ_STR(o.container, ID);
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/user.slice/user-1000.slice/user@1000.service/user.slice/"
                                       "libpod-" ID ".scope\n", &o), 1);
    CHECK_EQ_STR(o.runtime, "podman");
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/machine.slice/machine-libpod_pod_"
                                       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.slice/"
                                       "libpod-" ID ".scope\n", &o), 1);
    CHECK_EQ_STR(o.pod, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    CHECK_EQ_STR(o.container, ID);
    /* conmon alone: no container. */
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/machine.slice/libpod-conmon-" ID ".scope\n", &o), 0);
}

TEST(cgroup_lxc)
{
    struct ns_owner o;
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/lxc.payload.web1/system.slice/nginx.service\n", &o), 1);
    CHECK_EQ_STR(o.runtime, "lxc");
    CHECK_EQ_STR(o.container, "web1");
    CHECK_EQ_INT(ns_owner_parse_cgroup("4:memory:/lxc/db2\n", &o), 1);
    CHECK_EQ_STR(o.container, "db2");
}

TEST(cgroup_systemd_units_only)
{
    struct ns_owner o;
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/system.slice/nginx.service\n", &o), 0);
    CHECK_EQ_STR(o.unit, "nginx.service");
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n", &o), 0);
    CHECK_EQ_STR(o.unit, "session-3.scope");
    /* v1 host: the name=systemd hierarchy names the unit. */
    CHECK_EQ_INT(ns_owner_parse_cgroup("5:devices:/system.slice/haproxy.service\n"
                                       "1:name=systemd:/system.slice/haproxy.service\n", &o), 0);
    CHECK_EQ_STR(o.unit, "haproxy.service");
}

TEST(cgroup_nothing_and_hostile)
{
    struct ns_owner o;
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/\n", &o), 0);
    CHECK_EQ_STR(o.unit, "");
    CHECK_EQ_INT(ns_owner_parse_cgroup("", &o), 0);
    CHECK_EQ_INT(ns_owner_parse_cgroup("garbage without colons\n::\n0::", &o), 0);
    /* Too short to be an id, not hex, a scope with nothing in it. */
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/system.slice/docker-abc.scope\n", &o), 0);
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/system.slice/docker-ZZZZZZZZZZZZZZZZ.scope\n", &o), 0);
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/system.slice/docker-.scope\n", &o), 0);
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/docker/" ID "\xff\xfe/x\n", &o), 0);
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/kubepods-pod.slice\n", &o), 0);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* A fake /proc: pids 1 and 7 share the host namespace, 20 and 21 live in a
 * pod (20 is its pause process), 30 in a namespace of its own with no
 * container. */
TEST(discover_groups_by_inode_and_labels)
{
    char root[] = "/tmp/closer-nsd-XXXXXX";
    CHECK(mkdtemp(root));
    const struct { int pid; const char *ns, *comm, *cgroup; } p[] = {
        {1, "net:[4026531840]", "systemd\n", "0::/init.scope\n"},
        {7, "net:[4026531840]", "sshd\n", "0::/system.slice/ssh.service\n"},
        {20, "net:[4026532900]", "pause\n",
         "0::/kubepods.slice/kubepods-pod11111111_2222_3333_4444_555555555555.slice/cri-containerd-"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope\n"},
        {21, "net:[4026532900]", "nginx\n",
         "0::/kubepods.slice/kubepods-pod11111111_2222_3333_4444_555555555555.slice/cri-containerd-" ID
         ".scope\n"},
        {30, "net:[4026532777]", "python3\n", "0::/user.slice/user-0.slice/session-1.scope\n"},
        /* issue 24: a name with a newline of its own was cut there */
        {40, "net:[4026532950]", "own\nname\x1bX\n", "0::/init.scope\n"},
    };
    char path[256];
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        snprintf(path, sizeof path, "%s/%d", root, p[i].pid);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%d/ns", root, p[i].pid);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%d/ns/net", root, p[i].pid);
        CHECK(symlink(p[i].ns, path) == 0);
        snprintf(path, sizeof path, "%s/%d/comm", root, p[i].pid);
        put(path, p[i].comm);
        snprintf(path, sizeof path, "%s/%d/cgroup", root, p[i].pid);
        put(path, p[i].cgroup);
    }
    struct netns_list l;
    char err[256];
    CHECK(nsdiscover(root, "/nonexistent-closer", &l, err, sizeof err) == 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
    CHECK_EQ_INT(l.n, 4);
    CHECK(l.items[0].host);
    CHECK_EQ_INT(l.items[0].inode, 4026531840ULL);
    CHECK_EQ_INT(l.items[0].nprocs, 2);
    char label[200];
    netns_entry_label(&l.items[0], label, sizeof label);
    CHECK_EQ_STR(label, "4026531840 (host)");
    CHECK_EQ_INT(l.items[1].inode, 4026532777ULL);
    CHECK_EQ_INT(l.items[1].pid, 30);
    netns_entry_label(&l.items[1], label, sizeof label);
    CHECK_EQ_STR(label, "4026532777 (session-1.scope)");
    /* The pod: pause passed over for nginx's container. */
    CHECK_EQ_INT(l.items[2].pid, 20);
    CHECK_EQ_INT(l.items[2].nprocs, 2);
    CHECK_EQ_STR(l.items[2].owner.container, ID);
    netns_entry_label(&l.items[2], label, sizeof label);
    CHECK_EQ_STR(label, "4026532900 (pod 11111111-2222-3333-4444-555555555555, containerd 4a2b9c0d1e2f)");
    /* The whole name, made safe as a namespace's name is: not "own". */
    netns_entry_label(&l.items[3], label, sizeof label);
    CHECK_EQ_STR(label, "4026532950 (own?name?X)");
    CHECK_EQ_STR(l.items[3].comm, "own?name?X");
    nsdiscover_free(&l);
}

TEST(labels_are_utf8_without_control_bytes)
{
    char s[64];
    snprintf(s, sizeof s, "ok-\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ns_text_sanitize(s);
    CHECK_EQ_STR(s, "ok-\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    snprintf(s, sizeof s, "a\xff" "b\x1b[2Jc\xc0\xaf" "d\xed\xa0\x80" "e\xe2\x82");
    ns_text_sanitize(s);
    CHECK_EQ_STR(s, "a?b?[2Jc??d???e??");
    struct ns_owner o;
    CHECK_EQ_INT(ns_owner_parse_cgroup("0::/lxc.payload.w\xfe\x1b" "b/x\n", &o), 1);
    CHECK_EQ_STR(o.container, "w??b");
}

/* Pids wrap: the process started first names the namespace, not the lowest
 * pid. /proc/PID/stat's field 22 is the start time; comm may hold ") ". */
TEST(discover_first_process_is_the_oldest)
{
    char root[] = "/tmp/closer-nsd-XXXXXX";
    CHECK(mkdtemp(root));
    const struct { int pid; const char *comm, *stat; } p[] = {
        {40, "worker\n", "40 (wor) ker) S 1 40 40 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 900 0 0\n"},
        {41, "server\n", "41 (server) S 1 41 41 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 50 0 0\n"},
    };
    char path[256];
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%d", root, p[i].pid);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%d/ns", root, p[i].pid);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%d/ns/net", root, p[i].pid);
        CHECK(symlink("net:[4026532555]", path) == 0);
        snprintf(path, sizeof path, "%s/%d/comm", root, p[i].pid);
        put(path, p[i].comm);
        snprintf(path, sizeof path, "%s/%d/stat", root, p[i].pid);
        put(path, p[i].stat);
    }
    struct netns_list l;
    char err[256];
    CHECK(nsdiscover(root, "/nonexistent-closer", &l, err, sizeof err) == 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_INT(l.items[0].pid, 41);
    CHECK_EQ_STR(l.items[0].comm, "server");
    CHECK_EQ_INT(l.items[0].nprocs, 2);
    nsdiscover_free(&l);
}

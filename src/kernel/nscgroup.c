/* SPDX-License-Identifier: MIT */
/* Who a process belongs to, from its cgroup path. The shapes, as written by
 * the runtimes (cgroup v2 "0::PATH"; v1 lines "N:controllers:PATH"):
 *   docker, systemd driver   /system.slice/docker-<id>.scope
 *   docker, cgroupfs driver  /docker/<id>
 *   containerd CRI           /kubepods.slice/kubepods-burstable.slice/
 *                              kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
 *   kubelet, cgroupfs driver /kubepods/burstable/pod<uid>/<id>
 *   CRI-O                    .../crio-<id>.scope (crio-conmon-<id>.scope is its monitor)
 *   podman                   /machine.slice/libpod-<id>.scope, rootless under user@UID.service,
 *                              pods in machine-libpod_pod_<podid>.slice
 *   LXC                      /lxc.payload.<name>/... or /lxc/<name>
 *   systemd                  /system.slice/nginx.service, /user.slice/.../session-3.scope
 * Paths may be relative to a cgroup namespace ("/../../kubepods…"), so every
 * segment is looked at on its own. */
#include "kernel/nsdiscover.h"

#include <stdio.h>
#include <string.h>

/* Labels end up in JSON, metrics and on terminals: control bytes and bytes
 * that are not well-formed UTF-8 (a comm set with prctl, a mount path)
 * become '?'. In place; the string never grows. */
void ns_text_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
                 : (*p & 0xf8) == 0xf0 ? 4 : 0;
        bool ok = n > 0;
        for (size_t i = 1; ok && i < n; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (ok && n == 2)
            ok = *p >= 0xc2;                          /* overlong */
        if (ok && n == 3)
            ok = !(*p == 0xe0 && p[1] < 0xa0) &&     /* overlong */
                 !(*p == 0xed && p[1] >= 0xa0);      /* surrogate */
        if (ok && n == 4)
            ok = !(*p == 0xf0 && p[1] < 0x90) && *p <= 0xf4 && !(*p == 0xf4 && p[1] >= 0x90);
        if (ok && n == 1 && (*p < 0x20 || *p == 0x7f))
            ok = false;
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

static int hex_run(const char *s, size_t n)
{
    if (n < 12)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int uid_run(const char *s, size_t n)
{
    if (n < 32 || n > 36)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-' ||
              s[i] == '_'))
            return 0;
    return 1;
}

static int has_suffix(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && !memcmp(s + n - k, suf, k);
}

static void copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

/* "<prefix><hex>.scope" → the hex id. */
static int scoped_id(const char *seg, size_t n, const char *prefix, const char **id, size_t *idlen)
{
    size_t p = strlen(prefix);
    if (n <= p + 6 || memcmp(seg, prefix, p) || !has_suffix(seg, n, ".scope"))
        return 0;
    *id = seg + p;
    *idlen = n - p - 6;
    return hex_run(*id, *idlen);
}

static void set_pod(struct ns_owner *o, const char *uid, size_t n)
{
    copy(o->pod, sizeof o->pod, uid, n);
    for (char *c = o->pod; *c; c++)
        if (*c == '_')
            *c = '-';
}

static const struct { const char *prefix, *runtime; } scopes[] = {
    {"docker-", "docker"},   {"cri-containerd-", "containerd"}, {"crio-", "cri-o"},
    {"libpod-", "podman"},
};

/* One segment; prev is the segment before it ("" at the start). */
static void segment(const char *seg, size_t n, const char *prev, size_t pn, struct ns_owner *o)
{
    const char *id;
    size_t idlen;
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
        if (scoped_id(seg, n, scopes[i].prefix, &id, &idlen)) {
            snprintf(o->runtime, sizeof o->runtime, "%s", scopes[i].runtime);
            copy(o->container, sizeof o->container, id, idlen);
            return;
        }
    const char *pod = memmem(seg, n, "-pod", 4);
    if (!strncmp(seg, "kubepods", 8) && pod && has_suffix(seg, n, ".slice") &&
        uid_run(pod + 4, (size_t)(seg + n - 6 - (pod + 4)))) {
        set_pod(o, pod + 4, (size_t)(seg + n - 6 - (pod + 4)));
        return;
    }
    if (n > 3 && !memcmp(seg, "pod", 3) && uid_run(seg + 3, n - 3)) { /* cgroupfs kubelet */
        set_pod(o, seg + 3, n - 3);
        return;
    }
    if (!strncmp(seg, "machine-libpod_pod_", 19) && has_suffix(seg, n, ".slice") &&
        hex_run(seg + 19, n - 19 - 6)) {
        copy(o->pod, sizeof o->pod, seg + 19, n - 19 - 6);
        return;
    }
    if (hex_run(seg, n) && n >= 32) { /* a bare id under docker/ or pod<uid>/ */
        if (pn == 6 && !memcmp(prev, "docker", 6))
            snprintf(o->runtime, sizeof o->runtime, "docker");
        else if (!(pn > 3 && !memcmp(prev, "pod", 3)))
            return;
        copy(o->container, sizeof o->container, seg, n);
        return;
    }
    if (n > 12 && !memcmp(seg, "lxc.payload.", 12)) {
        snprintf(o->runtime, sizeof o->runtime, "lxc");
        copy(o->container, sizeof o->container, seg + 12, n - 12);
        return;
    }
    if (pn == 3 && !memcmp(prev, "lxc", 3)) {
        snprintf(o->runtime, sizeof o->runtime, "lxc");
        copy(o->container, sizeof o->container, seg, n);
        return;
    }
    if (!o->container[0] && (has_suffix(seg, n, ".service") || has_suffix(seg, n, ".scope")) &&
        strncmp(seg, "crio-conmon-", 12) && strncmp(seg, "libpod-conmon-", 14))
        copy(o->unit, sizeof o->unit, seg, n);
}

static void parse_path(const char *p, size_t len, struct ns_owner *o)
{
    const char *end = p + len, *prev = "";
    size_t pn = 0;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (n && !(n == 2 && !memcmp(p, "..", 2))) {
            segment(p, n, prev, pn, o);
            prev = p;
            pn = n;
        }
        p += n + 1;
    }
}

int ns_owner_parse_cgroup(const char *text, struct ns_owner *out)
{
    memset(out, 0, sizeof *out);
    /* The v2 line is the truth on a unified host; on v1 every hierarchy names
     * the same container, name=systemd the unit. First hit wins. */
    for (int pass = 0; pass < 2; pass++) {
        for (const char *line = text; line && *line;) {
            const char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            const char *c1 = memchr(line, ':', len);
            const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
            bool v2 = c1 && c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
            if (c2 && (pass == 0) == v2) {
                struct ns_owner o = {0};
                parse_path(c2 + 1, len - (size_t)(c2 + 1 - line), &o);
                ns_text_sanitize(o.container);
                ns_text_sanitize(o.unit);
                if (o.container[0] || o.pod[0]) {
                    *out = o;
                    return 1;
                }
                if (o.unit[0] && !out->unit[0])
                    memcpy(out->unit, o.unit, sizeof out->unit);
            }
            line = nl ? nl + 1 : NULL;
        }
    }
    return 0;
}

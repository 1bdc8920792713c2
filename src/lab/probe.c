/* SPDX-License-Identifier: MIT */
/* Reads and writes of kernel state inside a lab namespace: sysctls, TCP
 * counters, the socket table; each one an event of the env's tape. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/sysctl.h"
#include "lab/env.h"
#include "lab/setup.h"
#include "lab/tape.h"
#include "snapshot/snapshot.h"

/* 0 written, -1 not written, -2 h not entered (e->err says why). */
static int write_sysctl(struct lab_env *e, enum lab_host h, const char *name, const char *value)
{
    char path[160];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    if (lab_enter(e, h) < 0)
        return -2;
    int rc = -1;
    FILE *f = fopen(path, "w");
    if (f) {
        rc = fputs(value, f) < 0 ? -1 : 0;
        if (fclose(f) != 0)
            rc = -1;
    }
    if (rc < 0)
        snprintf(e->err, sizeof e->err, "cannot write %s: %s", path, strerror(errno));
    lab_leave(e);
    return rc;
}

int lab_sysctl(struct lab_env *e, enum lab_host h, const char *name, const char *value)
{
    char key[400];
    snprintf(key, sizeof key, "sysctl %s %s %s", lab_host_name(h), name, value);
    long long rc = -2;
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, &rc, 1, NULL, 0);
    } else {
        rc = write_sysctl(e, h, name, value);
        lab_tape_put(e, key, &rc, 1, rc < 0 ? e->err : NULL);
    }
    if (rc == -2)
        return -1;
    char dotted[160];
    snprintf(dotted, sizeof dotted, "%s", name);
    for (char *p = dotted; *p; p++)
        if (*p == '/')
            *p = '.';
    /* "40000 40009" must reach sysctl as one word */
    char word[200];
    lab_shell_word(word, 0, sizeof word, value);
    lab_setup_command(e, "ip netns exec %s sysctl -w %s=%s", e->ns[h], dotted, word);
    return (int)rc;
}

static long long read_counter(struct lab_env *e, enum lab_host h, const char *prefix,
                              const char *name)
{
    char buf[65536];
    if (lab_enter(e, h) < 0)
        return -1;
    const char *path = strcmp(prefix, "Tcp") == 0 ? "/proc/net/snmp" : "/proc/net/netstat";
    long long v = -1;
    if (proc_read_file(path, buf, sizeof buf) >= 0)
        v = netstat_lookup(buf, prefix, name);
    lab_leave(e);
    return v;
}

long long lab_counter(struct lab_env *e, enum lab_host h, const char *prefix, const char *name)
{
    char key[160];
    snprintf(key, sizeof key, "counter %s %s %s", lab_host_name(h), prefix, name);
    long long v = -1;
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, &v, 1, NULL, 0);
        return v;
    }
    v = read_counter(e, h, prefix, name);
    lab_tape_put(e, key, &v, 1, NULL);
    return v;
}

static int take(struct lab_env *e, enum lab_host h, struct snapshot *s)
{
    if (lab_enter(e, h) < 0)
        return -1;
    struct snapshot_opts o = {0};
    int rc = snapshot_take(s, &o, e->err, sizeof e->err);
    lab_leave(e);
    return rc;
}

static int count_socks(struct lab_env *e, enum lab_host h, int state, uint16_t port,
                       struct lab_count *out)
{
    struct snapshot s;
    memset(out, 0, sizeof *out);
    out->exp_min = UINT32_MAX;
    if (take(e, h, &s) < 0)
        return -1;
    for (size_t i = 0; i < s.nsocks; i++) {
        const struct tcp_sock *k = &s.socks[i];
        if (state && k->state != state)
            continue;
        if (port && k->sport != port && k->dport != port)
            continue;
        out->n++;
        if (k->expires_ms < out->exp_min)
            out->exp_min = k->expires_ms;
        if (k->expires_ms > out->exp_max)
            out->exp_max = k->expires_ms;
        if (k->retrans > out->retrans_max)
            out->retrans_max = k->retrans;
    }
    if (!out->n)
        out->exp_min = 0;
    snapshot_free(&s);
    return 0;
}

int lab_count(struct lab_env *e, enum lab_host h, int state, uint16_t port, struct lab_count *out)
{
    char key[64];
    snprintf(key, sizeof key, "count %s %d %u", lab_host_name(h), state, port);
    long long v[5] = {-1, 0, 0, 0, 0};
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, v, 5, NULL, 0);
    } else {
        v[0] = count_socks(e, h, state, port, out);
        v[1] = out->n, v[2] = out->exp_min, v[3] = out->exp_max, v[4] = out->retrans_max;
        lab_tape_put(e, key, v, 5, v[0] < 0 ? e->err : NULL);
    }
    out->n = (long)v[1];
    out->exp_min = (uint32_t)v[2];
    out->exp_max = (uint32_t)v[3];
    out->retrans_max = (uint32_t)v[4];
    return (int)v[0];
}

static int wait_listen(struct lab_env *e, enum lab_host h, uint16_t port)
{
    for (int i = 0; i < 100 && !lab_interrupted; i++) {
        struct lab_count c;
        if (count_socks(e, h, TS_LISTEN, port, &c) == 0 && c.n > 0)
            return 0;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(e->err, sizeof e->err, "nothing listens on port %u in %s after 5 s", port, e->ns[h]);
    return -1;
}

int lab_wait_listen(struct lab_env *e, enum lab_host h, uint16_t port)
{
    char key[48];
    snprintf(key, sizeof key, "listen %s %u", lab_host_name(h), port);
    long long rc = -1;
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, &rc, 1, NULL, 0);
        return (int)rc;
    }
    rc = wait_listen(e, h, port);
    lab_tape_put(e, key, &rc, 1, rc < 0 ? e->err : NULL);
    return (int)rc;
}

double lab_json_num(const char *text, const char *key)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    char *end;
    double v = strtod(p, &end);
    return end == p ? -1 : v;
}

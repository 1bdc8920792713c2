/* SPDX-License-Identifier: MIT */
/* The four CLOSE_WAIT bugs, reproduced with closer serve's fault modes and
 * named by closer doctor run against the server namespace. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab/judge.h"
#include "lab/scenarios.h"
#include "lab/wire.h"

#define BUG_CLIENTS 5

static const struct {
    const char *fault, *finding;
} bugs[] = {
    {"listener-not-polled", "close-wait-unaccepted"},
    {"no-accept", "close-wait-unaccepted"},
    {"not-registered", "close-wait-not-polled"},
    {"no-close", "close-wait-not-closed"},
};

long lab_finding_count(const char *json, const char *id)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    const char *end = strchr(p, '}');
    char one[1024];
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= sizeof one)
        len = sizeof one - 1;
    memcpy(one, p, len);
    one[len] = 0;
    return (long)lab_json_num(one, "count");
}

static int one_bug(struct lab_env *e, struct lab_result *r, int i)
{
    char out[65536] = "";
    uint16_t port = (uint16_t)(8081 + i);
    char listen[40];
    snprintf(listen, sizeof listen, "%s:%u", LAB_SERVER_IP, port);
    char *serve[] = {"closer", "serve", "--listen", listen, "--workers", "1", "--return", "200",
                     "ok", "--fault", (char *)bugs[i].fault, NULL};
    pid_t srv = lab_spawn(e, LAB_SERVER, serve);
    if (srv < 0 || lab_wait_listen(e, LAB_SERVER, port) < 0)
        return -1;
    lab_setup_engine(e, "client: %d connections from the lab's socket engine, closed after "
                   "200 ms without a request", BUG_CLIENTS);
    int fds[BUG_CLIENTS];
    for (int k = 0; k < BUG_CLIENTS; k++)
        if ((fds[k] = wire_connect(e, LAB_CLIENT, LAB_SERVER_IP, port)) < 0) {
            while (k--)
                wire_close(e, fds[k]);
            return -1;
        }
    lab_nap(e, 200);
    for (int k = 0; k < BUG_CLIENTS; k++)
        wire_close(e, fds[k]);
    lab_watch(e, 300, 100);
    struct lab_count cw;
    if (lab_count(e, LAB_SERVER, TS_CLOSE_WAIT, port, &cw) < 0)
        return -1;
    char *doctor[] = {"closer", "doctor", "-N", e->ns[LAB_SERVER], "--json", NULL};
    int rc = lab_run(e, LAB_HOME, doctor, out, sizeof out, 15000);
    struct lab_bug_obs o = {.fault = bugs[i].fault, .finding = bugs[i].finding, .port = port,
                            .clients = BUG_CLIENTS, .close_wait = cw.n, .doctor_rc = rc,
                            .named = lab_finding_count(out, bugs[i].finding)};
    lab_judge_bug(r, &o);
    lab_stop(e, srv);
    return 0;
}

void lab_judge_bug(struct lab_result *r, const struct lab_bug_obs *o)
{
    lab_measured(r, "serve --fault %s: %ld CLOSE_WAIT on port %u after %d clients closed; "
                 "closer doctor (exit %d) reports %s x%ld", o->fault, o->close_wait, o->port,
                 o->clients, o->doctor_rc, o->named >= 0 ? o->finding : "nothing", o->named);
    char vname[48];
    snprintf(vname, sizeof vname, "%s_close_wait", o->fault);
    lab_value(r, vname, (double)o->close_wait, "sockets");
    snprintf(vname, sizeof vname, "%s_doctor_count", o->fault);
    lab_value(r, vname, (double)o->named, "sockets");
    lab_expect(r, o->close_wait == o->clients, "%s: %ld CLOSE_WAIT, expected %d", o->fault,
               o->close_wait, o->clients);
    lab_expect(r, o->named == o->clients, "%s: doctor did not report %s x%d (got %ld)",
               o->fault, o->finding, o->clients, o->named);
}

int lab_sc_close_wait_bugs(struct lab_env *e, struct lab_result *r)
{
    for (int i = 0; i < (int)(sizeof bugs / sizeof bugs[0]) && !lab_interrupted; i++)
        if (one_bug(e, r, i) < 0)
            return -1;
    return 0;
}

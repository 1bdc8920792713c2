/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <string.h>

#include "doctor/doctor.h"
#include "kernel/sock.h"
#include "util/json.h"

static void finding_json(struct json *j, const struct finding *f)
{
    json_obj_begin(j, NULL);
    doctor_finding_json_fields(j, f);
    json_obj_end(j);
}

/* dest "ip:port" and source "ip" (a client's address: its ports differ),
 * each with the _ip/_port companions every endpoint has (docs/json.md). */
static void addresses_json(struct json *j, const struct finding *f)
{
    const struct finding_endpoint *d = &f->dest_ep, *src = &f->source_ep;
    char ip[64];
    json_str(j, "dest", f->dest);
    if (d->family) {
        json_str(j, "dest_ip", tcp_ip_format(ip, d->family, d->addr));
        json_uint(j, "dest_port", d->port);
    }
    json_str(j, "source", f->source);
    if (src->family)
        json_str(j, "source_ip", tcp_ip_format(ip, src->family, src->addr));
}

/* "peers" stays the sentence; "peer_list" the same first distinct peers as
 * endpoints, "peer_list_complete" false when there are more. */
static void peers_json(struct json *j, const struct finding *f)
{
    json_str(j, "peers", f->peers);
    json_arr_begin(j, "peer_list");
    for (size_t i = 0; i < f->npeer_eps; i++) {
        const struct finding_endpoint *e = &f->peer_eps[i];
        json_obj_begin(j, NULL);
        tcp_endpoint_json(j, "peer", e->family, e->addr, e->port);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_bool(j, "peer_list_complete", !f->more_peers);
}

void doctor_finding_json_fields(struct json *j, const struct finding *f)
{
    json_str(j, "id", f->id);
    json_str(j, "severity", severity_name(f->severity));
    json_str(j, "title", f->title);
    json_uint(j, "count", f->count);
    if (f->port >= 0)
        json_int(j, "port", f->port);
    else
        json_null(j, "port");
    if (f->pid) {
        json_int(j, "pid", f->pid);
        json_str(j, "comm", f->comm);
    } else {
        json_null(j, "pid");
    }
    if (f->dest[0])
        addresses_json(j, f);
    if (f->peers[0])
        peers_json(j, f);
    if (f->peer_on_host[0]) {
        json_str(j, "peer_on_host", f->peer_on_host);
        if (f->far_ep.family) {
            const struct finding_endpoint *e = &f->far_ep;
            tcp_endpoint_json(j, "far_end", e->family, e->addr, e->port);
            json_str(j, "far_end_state", tcp_state_name(f->far_state));
        }
    }
    json_arr_begin(j, "fds");
    for (size_t i = 0; i < f->nfds; i++)
        json_int(j, NULL, f->fds[i]);
    json_arr_end(j);
    json_uint(j, "recv_q", f->recv_q);
    json_obj_begin(j, "facts");
    for (size_t i = 0; i < f->nfacts; i++) {
        /* A sysctl this kernel lacks (tcp_tw_recycle since 4.12) or that
         * could not be read is -1 inside: null outside, never a value. */
        const char *k = f->facts[i].key;
        bool sysctl = !strncmp(k, "tcp_", 4) || !strcmp(k, "somaxconn");
        if (sysctl && f->facts[i].value < 0)
            json_null(j, k);
        else
            json_double(j, k, f->facts[i].value);
    }
    json_obj_end(j);
    if (f->program)
        json_str(j, "program", f->program);
    if (f->variant)
        json_str(j, "program_variant", f->variant);
    if (f->runtime)
        json_str(j, "runtime", f->runtime);
    if (f->protocol) {
        json_str(j, "protocol", f->protocol);
        json_str(j, "protocol_from", f->protocol_from);
    }
    if (f->peer_program)
        json_str(j, "peer_program", f->peer_program);
    if (f->processes > 1)
        json_uint(j, "processes", f->processes);
    if (f->cause)
        json_str(j, "cause", f->cause);
    json_str(j, "why", f->why);
    json_str(j, "fix", f->fix);
}

void doctor_print_json(FILE *out, const struct snapshot *s, const struct doctor_report *r,
                       const struct doctor_view *v)
{
    struct json j;
    json_init(&j, out, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", DOCTOR_JSON_SCHEMA);
    json_str(&j, "netns", v->netns);
    json_str(&j, "source", s->source == SNAP_NETLINK ? "netlink" : "proc");
    json_str(&j, "source_note", s->source_note[0] ? s->source_note : NULL);
    json_double(&j, "taken_at", s->taken_at);
    json_uint(&j, "sockets", snapshot_total(s));
    json_obj_begin(&j, "states");
    for (int st = 1; st < TS_MAX; st++)
        if (st != TS_NEW_SYN_RECV)
            json_uint(&j, tcp_state_name(st), r->counts[st]);
    json_obj_end(&j);
    json_obj_begin(&j, "time_wait");
    json_uint(&j, "server_side", r->tw_server);
    json_uint(&j, "client_side", r->tw_client);
    json_uint(&j, "other", r->tw_other);
    json_uint(&j, "server_side_no_listener", r->tw_server_gone);
    json_obj_end(&j);
    json_bool(&j, "owners_read", s->owners_read);
    json_uint(&j, "processes_not_visible", s->procs_denied);
    if (s->visibility_limit[0])
        json_str(&j, "not_visible_because", s->visibility_limit);
    json_obj_begin(&j, "close_wait");
    json_uint(&j, "unaccepted", r->close_wait_unaccepted);
    json_uint(&j, "closed_during_look", r->close_wait_gone);
    if (s->confirm_s > 0) {
        json_double(&j, "confirm_s", s->confirm_s);
        json_uint(&j, "transient", r->close_wait_transient);
    }
    json_obj_end(&j);
    json_arr_begin(&j, "findings");
    for (size_t i = 0; i < r->n; i++)
        finding_json(&j, &r->items[i]);
    json_arr_end(&j);
    json_str(&j, "worst", severity_name(doctor_worst(r)));
    json_int(&j, "exit_code", doctor_exit_code(r));
    json_obj_end(&j);
    json_finish(&j);
}

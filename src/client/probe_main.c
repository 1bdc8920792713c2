/* SPDX-License-Identifier: MIT */
/* closer probe's run (client/probe_main.h). */
#include <stdio.h>
#include <stdlib.h>

#include "client/probe_h2.h"
#include "client/probe_main.h"
#include "kernel/netns.h"

/* The URL's address, in the namespace asked for. */
static int resolve(struct probe_opts *o, const char *url, const char *netns, char *err, size_t errlen)
{
    if (netns && netns_enter(netns, err, errlen) < 0)
        return -1;
    if (target_parse(url, &o->t, err, errlen) < 0)
        return -1;
    target_note_proxy(stderr, "probe", &o->t);
    if (target_pick_address(&o->t, (unsigned)o->request_timeout_ms, err, errlen) < 0)
        return -1;
    if (o->http2 && !o->http2_prior && !o->t.tls) {
        snprintf(err, errlen, "--http2 offers h2 by ALPN, over TLS (https://); for h2c on "
                              "http:// use --http2-prior-knowledge");
        return -1;
    }
    return 0;
}

/* h2c: HTTP/2 alone. */
static int probe_h2_only(const struct probe_opts *o, bool json, FILE *out, char *err, size_t errlen)
{
    struct probe_h2_result *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = probe_h2_run(o, r, err, errlen);
    if (rc == 0) {
        if (json)
            probe_h2_print_json(out, o, r);
        else
            probe_h2_print_text(out, o, r);
        rc = r->status >= 400;
    }
    free(r);
    return rc;
}

/* HTTP/1; over https:// h2 is offered by ALPN (h2,http/1.1, as curl) on
 * connections of its own, measured beside it, within its deadline. */
static int probe_h1(struct probe_opts *o, bool json, FILE *out, char *err, size_t errlen)
{
    struct probe_h2_job *h2 = calloc(1, sizeof *h2);
    if (!h2) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    bool with_h2 = o->t.tls && !o->http1_only;
    if (with_h2)
        probe_h2_begin(h2, o);
    o->tls_cfg.alpn = "http/1.1";
    struct probe_result r;
    int rc = probe_run(o, &r, err, errlen);
    r.h2 = with_h2 ? probe_h2_finish(h2) : NULL;
    if (rc == 0) {
        if (json)
            probe_print_json(out, o, &r);
        else
            probe_print_text(out, o, &r);
        rc = r.error_answer ? 1 : 0;
    }
    free(h2);
    return rc;
}

int probe_main(struct probe_opts *o, const char *url, const char *netns, bool json, FILE *out, char *err,
               size_t errlen)
{
    if (resolve(o, url, netns, err, errlen) < 0)
        return -1;
    return o->http2_prior ? probe_h2_only(o, json, out, err, errlen) : probe_h1(o, json, out, err, errlen);
}

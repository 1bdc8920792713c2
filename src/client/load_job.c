/* SPDX-License-Identifier: MIT */
#include "client/load_job.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "client/load_report.h"
#include "client/target.h"
#include "kernel/netns.h"

static void on_sigint(int sig)
{
    (void)sig;
    load_interrupted = 1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* One fd per connection plus each thread's loop and a few for stdio and
 * the report. Raise the soft limit toward the hard one (as h2o does) or
 * say so: past it, connects failed with EMFILE, counted as "other" errors
 * of a run with fewer connections than asked. */
static int fd_room(unsigned connections, unsigned threads, char *err, size_t errlen)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)connections + (rlim_t)threads * 4 + 32;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return 0;
    }
    snprintf(err, errlen, "%u connections need about %llu file descriptors; the limit is %llu "
             "(raise it: ulimit -n)", connections, (unsigned long long)need,
             (unsigned long long)(rl.rlim_max == RLIM_INFINITY ? rl.rlim_cur : rl.rlim_max));
    return -1;
}

/* HTTP/2 runs closed loop, keep-alive, without a body: the HTTP/1 closing
 * patterns have no HTTP/2 meaning (the GOAWAY is HTTP/2's). */
static int h2_conflict(const struct load_opts *o, const char *body_file, char *err, size_t errlen)
{
    const char *what = !(o->http2_prior || o->http2) ? (o->streams ? "-m" : NULL)
                       : o->http2 && !o->http2_prior && !o->tls ? "--http2 over http:// (ALPN needs "
                                                                  "https://; h2c is --http2-prior-knowledge)"
                       : o->rate > 0 ? "--rate" : !o->keepalive ? "--keepalive off"
                       : o->close_header ? "--close-header" : o->http10 ? "--http1.0"
                       : o->idle_ms ? "--idle" : body_file ? "--body" : NULL;
    if (!what)
        return 0;
    if (!(o->http2_prior || o->http2))
        snprintf(err, errlen, "-m is for HTTP/2 (--http2-prior-knowledge or --http2)");
    else
        snprintf(err, errlen, "not with HTTP/2: %s", what);
    return -1;
}

/* The URL: parsed, its address picked, and what the request and TLS need
 * copied into the options. */
static int aim(struct load_job *j, FILE *diag, char *err, size_t errlen)
{
    struct load_opts *o = &j->o;
    struct target *t = &o->target;
    if (target_parse(j->url, t, err, errlen) < 0)
        return -1;
    target_note_proxy(diag, "load", t);
    if (target_pick_address(t, (unsigned)o->timeout_ms, err, errlen) < 0)
        return -1;
    o->dst = t->addr;
    o->dst_len = t->len;
    o->tls = t->tls;
    o->tls_cfg.alpn = o->http2 || o->http2_prior ? "h2" : "http/1.1";
    if (h2_conflict(o, j->body_file, err, errlen) < 0)
        return -1;
    snprintf(o->tls_name, sizeof o->tls_name, "%s", t->name);
    snprintf(o->url_host, sizeof o->url_host, "%s", t->host);
    snprintf(o->url_path, sizeof o->url_path, "%s", t->path);
    snprintf(o->target_text, sizeof o->target_text, "%s", t->text);
    return 0;
}

/* The run between two counts of TIME_WAIT; Ctrl-C ends it with a partial
 * report. */
static int measure(struct load_job *j, char *err, size_t errlen)
{
    struct load_result *r = &j->r;
    struct sigaction sa = {.sa_handler = on_sigint};
    sigaction(SIGINT, &sa, NULL);
    load_interrupted = 0;
    long tw_towards, tw_at, tw_all;
    load_count_time_wait(&j->o.target, &tw_towards, &tw_at, &tw_all);
    if (load_run(&j->o, r, err, errlen) < 0)
        return -1;
    r->tw_towards_before = tw_towards;
    r->tw_at_before = tw_at;
    load_count_time_wait(&j->o.target, &r->tw_towards_after, &r->tw_at_after, &tw_all);
    return 0;
}

int load_job_run(struct load_job *j, FILE *diag, char *err, size_t errlen)
{
    struct load_opts *o = &j->o;
    o->http10_keepalive = o->http10 && j->keepalive_given && o->keepalive;
    if (fd_room(o->connections, o->threads, err, errlen) < 0)
        return -1;
    /* Before the threads: they inherit the namespace. */
    if (j->netns && netns_enter(j->netns, err, errlen) < 0)
        return -1;
    if (aim(j, diag, err, errlen) < 0)
        return -1;
    char *body = NULL;
    if (j->body_file && !(body = read_file(j->body_file, &o->body_len))) {
        snprintf(err, errlen, "--body %s: cannot read", j->body_file);
        return -1;
    }
    o->body = body;
    int rc = measure(j, err, errlen);
    free(body);
    o->body = NULL;
    return rc;
}

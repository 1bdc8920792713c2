/* SPDX-License-Identifier: MIT */
/* closer load from its parsed options to a finished run: the file
 * descriptor room, the namespace, the URL and its address, the checks
 * HTTP/2 needs, the body, Ctrl-C, TIME_WAIT counted before and after, and
 * the run itself (load.c, load_h2.c). The caller prints the report.
 *
 * Error convention: load_job_run returns 0, or -1 with a message in err
 * (a usage or runtime error: exit status 2). Notes go to diag. */
#ifndef CLOSER_CLIENT_LOAD_JOB_H
#define CLOSER_CLIENT_LOAD_JOB_H
#include <stdbool.h>
#include <stdio.h>

#include "client/load.h"

struct load_job {
    struct load_opts o;     /* from the options; target, addresses, TLS name,
                             * body and ALPN are filled by load_job_run */
    const char *url;
    const char *netns;      /* -N, or NULL */
    const char *body_file;  /* --body, or NULL */
    bool keepalive_given;   /* --keepalive was given (HTTP/1.0 keep-alive) */
    struct load_result r;
};

int load_job_run(struct load_job *j, FILE *diag, char *err, size_t errlen);

#endif

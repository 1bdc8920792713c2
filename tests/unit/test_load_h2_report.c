/* SPDX-License-Identifier: MIT */
/* closer load's HTTP/2 report lines: GOAWAYs by error code, who closed
 * first after them, refused and reset streams, the server's concurrency
 * cap; nothing (text) or null (JSON) for HTTP/1. */
#include <stdlib.h>

#include "client/load_report.h"
#include "test.h"
#include "util/json.h"

static char *text(const struct load_opts *o, const struct load_result *r)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    load_h2_print_text(f, o, r);
    fclose(f);
    return b;
}

static char *json(const struct load_opts *o, const struct load_result *r)
{
    char *b = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&b, &n);
    struct json j;
    json_init(&j, f, false);
    json_obj_begin(&j, NULL);
    load_h2_json(&j, o, r);
    json_obj_end(&j);
    json_finish(&j);
    fclose(f);
    return b;
}

static int has(char *s, const char *what)
{
    int ok = strstr(s, what) != NULL;
    if (!ok)
        printf("---- no '%s' in:\n%s\n", what, s);
    free(s);
    return ok;
}

TEST(http1_prints_nothing)
{
    struct load_opts o = {0};
    struct load_result r = {0};
    char *t = text(&o, &r);
    CHECK_EQ_STR(t, "");
    free(t);
    CHECK(has(json(&o, &r), "{\"http2\":null}"));
}

TEST(goaways_by_code_and_streams)
{
    struct load_opts o = {.http2_prior = true, .streams = 8};
    struct load_result r = {.max_concurrent = 128, .goaways = 12, .streams_refused = 3, .streams_reset = 1};
    r.goaway_errors[0] = 10;
    r.goaway_errors[2] = 1;
    r.goaway_errors[H2_LOAD_ERRORS - 1] = 1;
    CHECK(has(text(&o, &r), "HTTP/2         h2c (prior knowledge), 8 streams in flight per connection; "
                            "the server's max concurrent streams 128"));
    CHECK(has(text(&o, &r), "12 connections received the server's GOAWAY: NO_ERROR 10, INTERNAL_ERROR 1, other 1; "
                            "the server's FIN came first on every one"));
    CHECK(has(text(&o, &r), "streams        3 refused past a GOAWAY"));
    CHECK(has(json(&o, &r), "\"goaway_errors\":{\"NO_ERROR\":10,\"INTERNAL_ERROR\":1,\"other\":1}"));
    CHECK(has(json(&o, &r), "\"mode\":\"h2c_prior_knowledge\",\"streams_per_connection\":8,"
                            "\"max_concurrent_streams\":128"));
}

TEST(client_first_after_goaway)
{
    struct load_opts o = {.http2 = true};
    struct load_result r = {.goaways = 5, .goaway_client_first = 5};
    CHECK(has(text(&o, &r), "h2 (ALPN), 1 streams in flight per connection; the server's max concurrent "
                            "streams unlimited"));
    CHECK(has(text(&o, &r), "this client's FIN still came first on 5 of them (it closes at once, as h2load"));
    o.close_wait_ms = 100;
    CHECK(has(text(&o, &r), "the server's FIN did not come within --close-wait"));
    CHECK(has(json(&o, &r), "\"mode\":\"alpn\",\"streams_per_connection\":1,\"max_concurrent_streams\":null"));
}

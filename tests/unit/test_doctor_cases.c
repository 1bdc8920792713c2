/* SPDX-License-Identifier: MIT */
/* Real programs, replayed: every tests/data/doctor/NAME.cases file lists
 * recordings made by the real-program suites (tests/integration/
 * doctor_prog_*.sh: `closer doctor --record`, owners included) and what
 * the doctor must say of each, one line per case:
 *
 *   FILE.dump[@LO-HI] ID PROGRAM PROTOCOL KNOB...
 *
 * ID the finding, PROGRAM its program ("-": not asserted), PROTOCOL its
 * protocol ("-": none), KNOB the rest of the line, a substring of its fix.
 * @LO-HI is the namespace's ip_local_port_range when it was not the
 * default (a replay's sysctls are this host's). No root needed. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"
#include "test.h"

#define DATA "tests/data/doctor/"

struct dcase {
    char file[256], id[64], program[64], protocol[32], knob[256];
    long lo, hi;
};

static int parse_case(const char *line, struct dcase *c)
{
    char file[200];
    int knob_at = 0;
    memset(c, 0, sizeof *c);
    c->lo = 32768, c->hi = 60999;
    if (sscanf(line, "%199s %63s %63s %31s %n", file, c->id, c->program, c->protocol, &knob_at) < 4 ||
        !knob_at)
        return -1;
    snprintf(c->knob, sizeof c->knob, "%.*s", (int)strcspn(line + knob_at, "\n"), line + knob_at);
    char *at = strchr(file, '@');
    if (at) {
        *at = 0;
        if (sscanf(at + 1, "%ld-%ld", &c->lo, &c->hi) != 2)
            return -1;
    }
    snprintf(c->file, sizeof c->file, DATA "%s", file);
    return c->knob[0] ? 0 : -1;
}

static bool check_case(const struct dcase *c)
{
    struct snapshot s = {0};
    struct doctor_report r = {0};
    char err[256];
    struct snapshot_opts o = {.replay = c->file, .owners = true,
                              .info_states = 1u << TS_ESTABLISHED | 1u << TS_CLOSE_WAIT};
    if (snapshot_take(&s, &o, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", c->file, err);
        return false;
    }
    s.sys.port_lo = c->lo, s.sys.port_hi = c->hi;
    s.sys.tw_reuse = 0, s.sys.timestamps = 1;
    s.sys.max_tw_buckets = 262144, s.ctr.tw_overflow = 0;
    struct doctor_opts d = doctor_default_opts();
    bool ok = false;
    if (s.owners_read && doctor_analyze(&s, &d, &r) == 0) {
        for (size_t i = 0; i < r.n && !ok; i++) {
            const struct finding *f = &r.items[i];
            ok = !strcmp(f->id, c->id) &&
                 (!strcmp(c->program, "-") || (f->program && !strcmp(f->program, c->program))) &&
                 (!strcmp(c->protocol, "-") ? !f->protocol
                                            : f->protocol && !strcmp(f->protocol, c->protocol)) &&
                 strstr(f->fix, c->knob);
        }
        if (!ok) {
            fprintf(stderr, "%s: no %s by %s (%s) with '%s'; it says:\n", c->file, c->id,
                    c->program, c->protocol, c->knob);
            for (size_t i = 0; i < r.n; i++)
                fprintf(stderr, "  %s program=%s protocol=%s fix=%.160s\n", r.items[i].id,
                        r.items[i].program ? r.items[i].program : "-",
                        r.items[i].protocol ? r.items[i].protocol : "-", r.items[i].fix);
        }
    } else if (!s.owners_read) {
        fprintf(stderr, "%s: no %s.owners beside it\n", c->file, c->file);
    }
    doctor_report_free(&r);
    snapshot_free(&s);
    return ok;
}

TEST(every_recorded_real_program_case)
{
    glob_t g;
    unsigned cases = 0;
    if (glob(DATA "*.cases", 0, NULL, &g) != 0) {
        CHECK(!"no tests/data/doctor/*.cases");
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        CHECK(f);
        char line[600];
        while (f && fgets(line, sizeof line, f)) {
            if (line[0] == '#' || line[strspn(line, " \t\n")] == 0)
                continue;
            struct dcase c;
            bool parsed = parse_case(line, &c) == 0;
            if (!parsed)
                fprintf(stderr, "%s: malformed line: %s", g.gl_pathv[i], line);
            CHECK(parsed);
            if (parsed)
                CHECK(check_case(&c));
            cases++;
        }
        if (f)
            fclose(f);
    }
    globfree(&g);
    CHECK(cases > 0);
}

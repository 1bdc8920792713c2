/* SPDX-License-Identifier: MIT */
/* report.md, the CSVs beside it and the --json form (lab/report.c) over a
 * recorded run (tests/data/lab/): rebuilt from what the run recorded, each
 * comes out byte for byte as the run wrote it. Then what a run that went
 * wrong makes of them: a failed scenario, a directory that cannot be made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab/lab.h"
#include "lab_rec_env.h"
#include "test.h"

static struct lab_done done[REC_MAX];
static char tmpdir[64];

/* Every recorded scenario, in the order of the recording; their count. */
static size_t all_done(void)
{
    size_t n = 0;
    if (!rec_find("close-header"))
        return 0;
    for (size_t i = 0; i < REC_MAX && rec_all[i].name[0]; i++)
        if (rec_done(rec_all[i].name, &done[n]) == 0)
            n++;
    return n;
}

static void remove_scratch(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] && system(cmd) == 0)
        tmpdir[0] = 0;
}

/* A fresh, empty directory for a test's files, gone at exit. */
static const char *scratch(void)
{
    static bool registered;
    if (!registered)
        registered = atexit(remove_scratch) == 0;
    remove_scratch();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/closer-test-lab-XXXXXX");
    return mkdtemp(tmpdir);
}

/* path's contents (malloc'd, NUL-terminated) or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 18);
    size_t n = buf ? fread(buf, 1, (1 << 18) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* The first line where a and b differ, printed under the FAIL line. */
static bool same_text(const char *what, const char *a, const char *b)
{
    if (a && b && !strcmp(a, b))
        return true;
    if (!a || !b) {
        printf("    %s: missing\n", what);
        return false;
    }
    int line = 1;
    const char *la = a, *lb = b;
    for (; *a && *a == *b; a++, b++)
        if (*a == '\n')
            line++, la = a + 1, lb = b + 1;
    printf("    %s differs at line %d:\n    got:      %.*s\n    recorded: %.*s\n", what, line,
           (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
    return false;
}

TEST(recorded_run_rebuilds_all_seventeen_scenarios)
{
    CHECK_EQ_INT(all_done(), 17);
    CHECK_EQ_STR(done[0].sc->name, "close-header");
    CHECK(done[0].env.ns[0][0] && done[0].env.ns[1][0]);
    CHECK(done[0].env.series[LAB_SERVER].n > 0);
    CHECK(done[0].env.nmarks > 0);
}

TEST(report_md_comes_out_as_recorded)
{
    size_t n = all_done();
    CHECK_EQ_INT(n, 17);
    const char *dir = scratch();
    CHECK(dir);
    char err[256] = "", path[128];
    CHECK_EQ_INT(lab_write_report(dir, done, n, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *got = slurp(path);
    bool same = same_text("report.md", got, rec_file(LAB_DATA "report.md", NULL));
    free(got);
    CHECK(same);
}

TEST(report_writes_each_csv_as_recorded_and_an_svg_beside_it)
{
    size_t n = all_done();
    CHECK_EQ_INT(n, 17);
    const char *dir = scratch();
    CHECK(dir);
    char err[256] = "";
    CHECK_EQ_INT(lab_write_report(dir, done, n, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++) {
        char path[160], want[160];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s.svg", dir, done[i].sc->name);
        CHECK(stat(path, &st) == 0 && st.st_size > 1000);
        snprintf(path, sizeof path, "%s/%s.csv", dir, done[i].sc->name);
        snprintf(want, sizeof want, LAB_DATA "%s.csv", done[i].sc->name);
        char *got = slurp(path), *rec = slurp(want);
        bool same = same_text(path, got, rec);
        free(got);
        free(rec);
        CHECK(same);
    }
}

TEST(json_comes_out_as_recorded)
{
    size_t n = all_done();
    CHECK_EQ_INT(n, 17);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f);
    lab_write_json(f, done, n);
    fclose(f);
    bool same = same_text("lab.json", buf, rec_file(LAB_DATA "lab.json", NULL));
    free(buf);
    CHECK(same);
}

/* One scenario that failed: its own verdict, its failed expectations. */
TEST(failed_scenario_is_marked_failed_with_its_expectations)
{
    CHECK_EQ_INT(rec_done("tw-length", &done[0]), 0);
    done[0].res.ok = false;
    snprintf(done[0].res.failures, sizeof done[0].res.failures,
             "TIME_WAIT gone after 6 s (0 left)\nsecond <one>\n");
    const char *dir = scratch();
    CHECK(dir);
    char err[256] = "", path[128];
    CHECK_EQ_INT(lab_write_report(dir, done, 1, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = slurp(path);
    CHECK(md);
    char row[64]; /* the recorded run's duration */
    snprintf(row, sizeof row, "| tw-length | FAILED | %.1f |", done[0].res.seconds);
    bool ok = strstr(md, "1 scenarios, 0 as expected, 1 failed.") && strstr(md, row) &&
              strstr(md, "## tw-length \xe2\x80\x94 FAILED\n") &&
              strstr(md, "**Correction:** TIME_WAIT is 60 s on Linux") &&
              strstr(md, "**Failed expectations:**\n\n- TIME_WAIT gone after 6 s (0 left)\n"
                         "- second <one>\n");
    free(md);
    CHECK(ok);
    snprintf(path, sizeof path, "%s/tw-length.svg", dir);
    char *svg = slurp(path);
    CHECK(svg);
    ok = strstr(svg, "tw-length \xe2\x80\x94 FAILED</text>") && !strstr(svg, "myth");
    free(svg);
    CHECK(ok);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f);
    lab_write_json(f, done, 1);
    fclose(f);
    ok = strstr(buf, "\"pass\":false,\"verdict\":\"FAILED\"") &&
         strstr(buf, "\"failures\":[\"TIME_WAIT gone after 6 s (0 left)\",\"second <one>\"]") &&
         strstr(buf, "\"passed\":0,\"failed\":1}");
    free(buf);
    CHECK(ok);
}

TEST(confirmed_claim_has_no_correction)
{
    CHECK_EQ_INT(rec_done("close-header", &done[0]), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f);
    lab_write_json(f, done, 1);
    fclose(f);
    bool ok = strstr(buf, "\"verdict\":\"confirmed\"") && strstr(buf, "\"correction\":null");
    free(buf);
    CHECK(ok);
}

TEST(report_into_an_impossible_directory_says_why)
{
    CHECK_EQ_INT(rec_done("close-header", &done[0]), 0);
    const char *dir = scratch();
    CHECK(dir);
    char file[128], sub[160], err[256] = "";
    snprintf(file, sizeof file, "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    CHECK(f);
    fclose(f);
    snprintf(sub, sizeof sub, "%s/report", file);
    CHECK_EQ_INT(lab_write_report(sub, done, 1, err, sizeof err), -1);
    CHECK(strstr(err, "plain-file/report: Not a directory"));
    /* a directory that exists already is fine */
    CHECK_EQ_INT(lab_write_report(dir, done, 1, err, sizeof err), 0);
}

TEST(scenario_without_samples_or_events_still_gets_its_files)
{
    static struct lab_done d;
    memset(&d, 0, sizeof d);
    d.sc = lab_find("tw-buckets");
    CHECK(d.sc);
    d.res.ok = true;
    const char *dir = scratch();
    CHECK(dir);
    char err[256] = "", path[128];
    CHECK_EQ_INT(lab_write_report(dir, &d, 1, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = slurp(path);
    CHECK(md);
    bool ok = strstr(md, "**Measured:**\n\n\n![socket states") &&
              !strstr(md, "Events marked on the plot") && strstr(md, "(tw-buckets.csv)");
    free(md);
    CHECK(ok);
}

/* SPDX-License-Identifier: MIT */
/* closer states behind its options (doctor/states_run.c) over a recorded
 * dump: the filter words narrow the state options, the checks between
 * options answer in err, notes go to the diag stream, never to the table. */
#include <stdlib.h>

#include "doctor/states_run.h"
#include "test.h"

#define DUMP "tests/data/closewait_requests.diag"

struct ran {
    int rc;
    char out[8192], diag[1024], err[256];
};

static void run(struct states_req *q, int nwords, char **words, struct ran *r)
{
    char *ob = NULL, *db = NULL;
    size_t ol = 0, dl = 0;
    FILE *out = open_memstream(&ob, &ol), *diag = open_memstream(&db, &dl);
    q->snap.replay = DUMP;
    q->nwords = nwords;
    q->words = words;
    r->err[0] = 0;
    r->rc = states_run(q, out, diag, r->err, sizeof r->err);
    fclose(out);
    fclose(diag);
    snprintf(r->out, sizeof r->out, "%s", ob);
    snprintf(r->diag, sizeof r->diag, "%s", db);
    free(ob);
    free(db);
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

TEST(summary_counts_and_a_note)
{
    struct states_req q = {.view = {.header = true}, .summary = true};
    struct ran r;
    run(&q, 0, NULL, &r);
    CHECK_EQ_INT(r.rc, 0);
    CHECK(strstr(r.out, "CLOSE_WAIT          4\n"));
    CHECK(strstr(r.out, "Total               9\n"));
    CHECK(!strncmp(r.diag, "closer states: note: replayed from " DUMP, 35 + sizeof DUMP - 1));
}

TEST(state_word_filters_the_table)
{
    struct states_req q = {.view = {.header = true}};
    char *words[] = {"state", "close-wait"};
    struct ran r;
    run(&q, 2, words, &r);
    CHECK_EQ_INT(r.rc, 0);
    CHECK_EQ_INT(lines(r.out), 5); /* header + 4 */
    CHECK(!strstr(r.out, "FIN_WAIT2"));
    CHECK(q.view.filter.expr == NULL); /* freed, not left dangling */
}

TEST(words_and_options_that_select_nothing)
{
    struct states_req q = {.view = {.header = true, .filter.states = 1u << TS_LISTEN}};
    char *words[] = {"state", "close-wait"};
    struct ran r;
    run(&q, 2, words, &r);
    CHECK_EQ_INT(r.rc, -1);
    CHECK_EQ_STR(r.err, "the state options and words select no state");
    CHECK_EQ_STR(r.out, "");
}

TEST(a_bad_filter_word)
{
    struct states_req q = {.view = {.header = true}};
    char *words[] = {"state", "bogus"};
    struct ran r;
    run(&q, 2, words, &r);
    CHECK_EQ_INT(r.rc, -1);
    CHECK(r.err[0]);
}

TEST(options_that_do_not_go_together)
{
    struct states_req q = {.view = {.info = true}, .json = true};
    struct ran r;
    run(&q, 0, NULL, &r);
    CHECK_EQ_INT(r.rc, -1);
    CHECK_EQ_STR(r.err, "-i/-m are read from the kernel for the table: not with --json");
    struct states_req all = {.all_netns = true};
    run(&all, 0, NULL, &r);
    CHECK_EQ_INT(r.rc, -1);
    CHECK_EQ_STR(r.err, "--all-netns does not go with --replay");
}

TEST(json_of_a_replay_has_no_namespace)
{
    struct states_req q = {.view = {.header = true}, .json = true, .summary = true};
    struct ran r;
    run(&q, 0, NULL, &r);
    CHECK_EQ_INT(r.rc, 0);
    CHECK(!strncmp(r.out, "{\"schema\":\"closer.states/1\"", 27));
    CHECK(strstr(r.out, "\"netns\":null"));
    CHECK(strstr(r.out, "\"CLOSE_WAIT\":4"));
}

/* SPDX-License-Identifier: MIT */
/* Scenarios replayed from their tapes (lab/tape.h): tests/data/lab/NAME.tape
 * holds every call the scenario made in the real run that also wrote
 * lab.json (tests/data/lab/README). Replayed, the scenario's own run and
 * judgement execute with no root and no namespace; its verdict, notes,
 * values and setup script must be the recorded ones, and it must have
 * asked for exactly the recorded calls, in order. A tape replayed while
 * writing gives back itself; a scenario that asks for something else than
 * its tape fails naming both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"
#include "lab/tape.h"
#include "lab_rec.h"
#include "test.h"

static struct lab_env env;
static struct lab_result res;

/* The setup script without its last line when that line reports the
 * samples ("# at the end..."): a replay has no samples. */
static void without_end(const char *setup, char *out, size_t cap)
{
    snprintf(out, cap, "%s", setup);
    char *last = strstr(out, "# at the end");
    if (last)
        *last = 0;
}

/* res and env.setup as recorded in lab.json; differences printed. */
static bool as_recorded(const struct rec_scen *s)
{
    static char want[4096], got[4096];
    if (strcmp(res.measured, s->notes) || res.ok != s->pass || strcmp(res.failures, s->failures)) {
        printf("    %s replayed %d:\n%s%s--- recorded %d:\n%s%s", s->name, res.ok, res.measured,
               res.failures, s->pass, s->notes, s->failures);
        return false;
    }
    for (size_t i = 0; i < s->nvalues; i++) {
        const struct lab_value *v = &res.values[i];
        const struct rec_value *w = &s->values[i];
        if (i >= res.nvalues || strcmp(v->name, w->name) ||
            fabs(v->value - w->value) > 1e-9 * fmax(1, fabs(w->value))) {
            printf("    %s value %zu: recorded %s=%.15g\n", s->name, i, w->name, w->value);
            return false;
        }
    }
    without_end(s->setup, want, sizeof want);
    without_end(env.setup, got, sizeof got);
    if (res.nvalues != s->nvalues || strcmp(got, want)) {
        printf("    %s setup replayed:\n%s--- recorded:\n%s", s->name, got, want);
        return false;
    }
    return true;
}

/* Runs scenario name from tape file path; out, when set, records the
 * replay. False (printed) if the tape broke or was not used up. */
static bool replay(const char *name, const char *path, FILE *out)
{
    struct lab_tape tape = {.in = fopen(path, "r"), .out = out};
    const struct lab_scenario *sc = lab_find(name);
    if (!tape.in || !sc) {
        printf("    %s: no scenario or no %s\n", name, path);
        return false;
    }
    memset(&env, 0, sizeof env);
    env.tape = &tape;
    lab_run_scenario(sc, &env, &res);
    char left[1024];
    bool rest = !tape.broken && lab_tape_next_key(&tape, left, sizeof left);
    fclose(tape.in);
    if (tape.broken)
        printf("    %s: %s\n", name, tape.why);
    if (rest)
        printf("    %s: the scenario ended before the tape's '%s'\n", name, left);
    return !tape.broken && !rest;
}

static void check_scenario(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, LAB_DATA "%s.tape", name);
    const struct rec_scen *s = rec_find(name);
    if (!s) {
        test_fail(__FILE__, __LINE__, "%s not in " LAB_DATA "lab.json", name);
        return;
    }
    if (!replay(name, path, NULL) || !as_recorded(s))
        test_fail(__FILE__, __LINE__, "%s: the replay is not the recorded run", name);
}

TEST(close_header_replays_as_recorded) { check_scenario("close-header"); }
TEST(keepalive_off_replays_as_recorded) { check_scenario("keepalive-off"); }
TEST(http10_replays_as_recorded) { check_scenario("http10"); }
TEST(close_policy_client_replays_as_recorded) { check_scenario("close-policy-client"); }
TEST(request_cap_replays_as_recorded) { check_scenario("request-cap"); }
TEST(port_exhaustion_replays_as_recorded) { check_scenario("port-exhaustion"); }
TEST(tw_buckets_replays_as_recorded) { check_scenario("tw-buckets"); }
TEST(tw_reuse_server_replays_as_recorded) { check_scenario("tw-reuse-server"); }
/* with the lab's own sockets (lab/wire.h) */
TEST(client_closes_replays_as_recorded) { check_scenario("client-closes"); }
TEST(linger_zero_replays_as_recorded) { check_scenario("linger-zero"); }
TEST(idle_timeout_replays_as_recorded) { check_scenario("idle-timeout"); }
TEST(close_wait_bugs_replays_as_recorded) { check_scenario("close-wait-bugs"); }
TEST(lost_last_ack_replays_as_recorded) { check_scenario("lost-last-ack"); }
TEST(tw_length_replays_as_recorded) { check_scenario("tw-length"); }
/* with steps of their own (lab_step: a pile of sockets, /proc, raw frames) */
TEST(tw_memory_replays_as_recorded) { check_scenario("tw-memory"); }
TEST(old_duplicate_replays_as_recorded) { check_scenario("old-duplicate"); }
TEST(tw_reuse_clocks_replays_as_recorded) { check_scenario("tw-reuse-clocks"); }

/* Every scenario of the registry has a tape and a test above. */
TEST(every_scenario_is_replayed)
{
    CHECK_EQ_INT(lab_nscenarios, 17);
    for (size_t i = 0; i < lab_nscenarios; i++) {
        char path[128];
        snprintf(path, sizeof path, LAB_DATA "%s.tape", lab_scenarios[i].name);
        FILE *f = fopen(path, "r");
        if (!f)
            printf("    no %s\n", path);
        CHECK(f);
        fclose(f);
    }
}

/* The whole file as a malloc'd string (NULL if unread). */
static char *slurp(FILE *f)
{
    static char buf[1 << 18];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return strdup(buf);
}

TEST(tape_replayed_while_recording_gives_back_itself)
{
    FILE *out = tmpfile(), *in = fopen(LAB_DATA "port-exhaustion.tape", "r");
    CHECK(out && in);
    bool ok = replay("port-exhaustion", LAB_DATA "port-exhaustion.tape", out);
    char *a = slurp(in), *b = slurp(out);
    fclose(in);
    fclose(out);
    bool same = a && b && !strcmp(a, b);
    free(a);
    free(b);
    CHECK(ok);
    CHECK(same);
}

/* tw-buckets' tape under tw-reuse-server: both start with the same
 * namespaces but tw-reuse-server sets another sysctl first. */
TEST(scenario_asking_for_another_call_fails_naming_both)
{
    struct lab_tape tape = {.in = fopen(LAB_DATA "tw-buckets.tape", "r")};
    CHECK(tape.in);
    memset(&env, 0, sizeof env);
    env.tape = &tape;
    lab_run_scenario(lab_find("tw-reuse-server"), &env, &res);
    fclose(tape.in);
    CHECK(tape.broken);
    CHECK(!res.ok);
    CHECK(strstr(tape.why, "is 'up tw-bucke'"));
    CHECK(strstr(tape.why, "asked for 'up tw-reuse'"));
    CHECK(strstr(res.failures, "harness: replay: event 1 of the tape"));
}

TEST(tape_ending_early_fails)
{
    FILE *f = tmpfile();
    CHECK(f);
    fputs("up tw-bucke\t= 1 1\t\n", f);
    rewind(f);
    struct lab_tape tape = {.in = f};
    memset(&env, 0, sizeof env);
    env.tape = &tape;
    lab_run_scenario(lab_find("tw-buckets"), &env, &res);
    fclose(f);
    CHECK(!res.ok);
    CHECK(strstr(tape.why, "the tape ended after 1 events, the scenario asked for 'run home 5000 "
                           "ip netns add closer-lab-1-1-tw-bucke-c'"));
}

/* Texts with tabs, newlines, backslashes and bytes outside ASCII survive
 * a line of the tape each. */
TEST(tape_text_escapes_round_trip)
{
    FILE *f = tmpfile();
    CHECK(f);
    struct lab_tape tape = {.out = f};
    memset(&env, 0, sizeof env);
    env.tape = &tape;
    const char *text = "a\tb\nc\\d\x01\xc3\xa9", *key = "run client 5 x\ty";
    long long v[2] = {-3, 42};
    lab_tape_put(&env, key, v, 2, text);
    CHECK_EQ_INT(tape.events, 1);
    rewind(f);
    tape = (struct lab_tape){.in = f};
    long long w[2] = {0, 0};
    char out[64];
    CHECK(lab_tape_take(&env, key, w, 2, out, sizeof out));
    fclose(f);
    CHECK_EQ_INT(w[0], -3);
    CHECK_EQ_INT(w[1], 42);
    CHECK_EQ_STR(out, text);
}

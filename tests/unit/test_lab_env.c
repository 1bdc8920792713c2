/* SPDX-License-Identifier: MIT */
/* The lab harness: namespaces and processes are gone after a scenario,
 * also one that fails half-way; JSON number lookup; result helpers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab/lab.h"
#include "lab/wire.h"
#include "kernel/sysctl.h"
#include "test.h"

static long sysctl_probe_fin_timeout(void) { return sysctl_read("net/ipv4/tcp_fin_timeout", NULL); }

static bool ns_exists(const char *name)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "/run/netns/%s", name);
    return stat(path, &st) == 0;
}

static bool pid_gone(pid_t pid) { return kill(pid, 0) < 0 && errno == ESRCH; }

static struct lab_env env;
static pid_t spawned;

TEST(env_up_makes_two_namespaces_and_down_removes_them_and_processes)
{
    CHECK(geteuid() == 0);  /* the lab needs root; the suite runs as root */
    CHECK_EQ_INT(lab_env_up(&env, "unit"), 0);
    CHECK(ns_exists(env.ns[LAB_CLIENT]));
    CHECK(ns_exists(env.ns[LAB_SERVER]));
    char *sleeper[] = {"sleep", "30", NULL};
    pid_t pid = lab_spawn(&env, LAB_SERVER, sleeper);
    CHECK(pid > 0);
    /* the veth pair works: the client reaches the server's address */
    int lfd = wire_listen(&env, LAB_SERVER, LAB_SERVER_IP, 9999);
    int cfd = lfd >= 0 ? wire_connect(&env, LAB_CLIENT, LAB_SERVER_IP, 9999) : -1;
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd);
    char c[2][40];
    memcpy(c, env.ns, sizeof c);
    lab_env_down(&env);
    CHECK(!ns_exists(c[0]));
    CHECK(!ns_exists(c[1]));
    CHECK(pid_gone(pid));
    CHECK(lfd >= 0);
    CHECK(cfd >= 0);
}

/* The setup block is meant to be pasted into a shell: arguments with
 * spaces, braces, semicolons or quotes come out as one shell word each. */
TEST(setup_notes_quote_shell_words)
{
    CHECK_EQ_INT(lab_env_up(&env, "quote"), 0);
    char *argv[] = {"true", "add", "{ type filter hook output priority 0 ; }", "it's", "a=b", NULL};
    CHECK_EQ_INT(lab_run(&env, LAB_CLIENT, argv, NULL, 0, 5000), 0);
    char want[256];
    snprintf(want, sizeof want,
             "ip netns exec %s true add '{ type filter hook output priority 0 ; }' 'it'\\''s' a=b\n",
             env.ns[LAB_CLIENT]);
    bool found = strstr(env.setup, want) != NULL;
    if (!found)
        fprintf(stderr, "setup:\n%s\nwanted: %s", env.setup, want);
    lab_env_down(&env);
    CHECK(found);
}

/* A scenario that starts a process and then fails in the harness. */
static int failing_run(struct lab_env *e, struct lab_result *r)
{
    char *sleeper[] = {"sleep", "30", NULL};
    spawned = lab_spawn(e, LAB_CLIENT, sleeper);
    lab_measured(r, "started %d", (int)spawned);
    snprintf(e->err, sizeof e->err, "deliberate failure");
    return -1;
}

TEST(failing_scenario_leaves_no_namespace_or_process)
{
    CHECK(geteuid() == 0);
    static const struct lab_scenario sc = {"unit-fail", "a claim", NULL, failing_run};
    static struct lab_result r;
    lab_run_scenario(&sc, &env, &r);
    CHECK(!r.ok);
    CHECK(strstr(r.failures, "harness: deliberate failure") != NULL);
    CHECK(spawned > 0);
    CHECK(pid_gone(spawned));
    CHECK(!ns_exists(env.ns[LAB_CLIENT]));
    CHECK(!ns_exists(env.ns[LAB_SERVER]));
}

TEST(sysctl_and_counters_are_per_namespace)
{
    CHECK(geteuid() == 0);
    CHECK_EQ_INT(lab_env_up(&env, "unit"), 0);
    int rc = lab_sysctl(&env, LAB_SERVER, "net/ipv4/tcp_fin_timeout", "7");
    long server = -1, client = -1;
    struct lab_count cnt;
    if (rc == 0 && lab_enter(&env, LAB_SERVER) == 0) {
        server = sysctl_probe_fin_timeout();
        lab_leave(&env);
    }
    if (lab_enter(&env, LAB_CLIENT) == 0) {
        client = sysctl_probe_fin_timeout();
        lab_leave(&env);
    }
    int crc = lab_count(&env, LAB_SERVER, 0, 0, &cnt);
    long long tw = lab_counter(&env, LAB_SERVER, "TcpExt", "TW");
    lab_env_down(&env);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(server, 7);
    CHECK_EQ_INT(client, 60);
    CHECK_EQ_INT(crc, 0);
    CHECK_EQ_INT(cnt.n, 0); /* a fresh namespace has no sockets */
    CHECK_EQ_INT(tw, 0);
    CHECK(strstr(env.setup, "sysctl -w net.ipv4.tcp_fin_timeout=7") != NULL);
}

TEST(json_number_lookup)
{
    const char *j = "{\"a\":1,\"requests\": 250,\"errors\":{\"eaddrnotavail\":12},\"x\":-3.5}";
    CHECK_EQ_INT((long)lab_json_num(j, "requests"), 250);
    CHECK_EQ_INT((long)lab_json_num(j, "eaddrnotavail"), 12);
    CHECK(lab_json_num(j, "x") == -3.5);
    CHECK(lab_json_num(j, "missing") == -1);
}

TEST(expect_records_failures_and_keeps_successes_silent)
{
    static struct lab_result r;
    memset(&r, 0, sizeof r);
    r.ok = true;
    CHECK(lab_expect(&r, true, "never shown"));
    CHECK(r.ok && r.failures_len == 0);
    CHECK(!lab_expect(&r, false, "got %d", 3));
    CHECK(!r.ok);
    CHECK_EQ_STR(r.failures, "got 3\n");
    lab_measured(&r, "x=%d", 1);
    lab_measured(&r, "y=%d", 2);
    CHECK_EQ_STR(r.measured, "x=1\ny=2\n");
}

TEST(registry_names_are_unique_and_found)
{
    CHECK(lab_nscenarios >= 14);
    for (size_t i = 0; i < lab_nscenarios; i++) {
        CHECK(lab_find(lab_scenarios[i].name) == &lab_scenarios[i]);
        CHECK(lab_scenarios[i].claim && lab_scenarios[i].run);
    }
    CHECK(lab_find("no-such-scenario") == NULL);
}

/* Below: the harness where it needs no namespace (no root): the setup
 * script, events, commands and processes run at home, signals, and what
 * every step does when a namespace cannot be entered. */

/* An env that never made its namespaces: entering them fails. */
static void no_namespaces(struct lab_env *e)
{
    memset(e, 0, sizeof *e);
    e->nsfd[0] = e->nsfd[1] = e->home_fd = -1;
    snprintf(e->ns[LAB_CLIENT], sizeof e->ns[LAB_CLIENT], "lab-c");
    snprintf(e->ns[LAB_SERVER], sizeof e->ns[LAB_SERVER], "lab-s");
}

TEST(setup_notes_engine_steps_and_marks)
{
    no_namespaces(&env);
    lab_setup_note(&env, "a note %d", 1);
    CHECK(!env.engine);
    lab_setup_engine(&env, "the lab's own sockets");
    CHECK(env.engine);
    CHECK_EQ_STR(env.setup, "# a note 1\n# the lab's own sockets\n");
    CHECK_EQ_INT(env.setup_len, strlen(env.setup));
    lab_mark(&env, 1234.9, "load %s", "-n 5");
    CHECK_EQ_INT(env.marks[0].t_ms, 1234);
    CHECK_EQ_STR(env.marks[0].label, "load -n 5");
    env.t0 = lab_now_ms(&env) - 5000; /* "now" is 5 s after the start */
    lab_mark(&env, -1, "now");
    CHECK(env.marks[1].t_ms >= 5000 && env.marks[1].t_ms < 60000);
    for (int i = 0; i < 20; i++)
        lab_mark(&env, i, "more");
    CHECK_EQ_INT(env.nmarks, LAB_MAX_MARKS);
}

TEST(setup_script_full_stays_terminated)
{
    no_namespaces(&env);
    char line[300];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = 0;
    for (int i = 0; i < 30; i++)
        lab_setup_note(&env, "%s", line);
    CHECK(env.setup_len <= sizeof env.setup - 1);
    CHECK_EQ_INT(strlen(env.setup), env.setup_len);
    CHECK(env.setup[env.setup_len - 1] == '\n');
    size_t full = env.setup_len;
    lab_setup_note(&env, "one more");
    CHECK_EQ_INT(env.setup_len, full);
}

TEST(run_at_home_captures_output_and_exit_status)
{
    no_namespaces(&env);
    char out[64];
    char *argv[] = {"sh", "-c", "echo out; exit 3", NULL};
    CHECK_EQ_INT(lab_run(&env, LAB_HOME, argv, out, sizeof out, 5000), 3);
    CHECK_EQ_STR(out, "out\n");
    /* a failure the script must survive under bash -e */
    CHECK_EQ_STR(env.setup, "sh -c 'echo out; exit 3' || true  # exit 3 in the lab too\n");
    char small[8];
    char *loud[] = {"sh", "-c", "echo 0123456789abcdef", NULL};
    CHECK_EQ_INT(lab_run(&env, LAB_HOME, loud, small, sizeof small, 5000), 0);
    CHECK_EQ_STR(small, "0123456");
    char *missing[] = {"closer-no-such-program", NULL};
    CHECK_EQ_INT(lab_run(&env, LAB_HOME, missing, NULL, 0, 5000), 127);
}

TEST(run_past_its_timeout_is_killed)
{
    no_namespaces(&env);
    char *argv[] = {"sleep", "30", NULL};
    CHECK_EQ_INT(lab_run(&env, LAB_HOME, argv, NULL, 0, 50), 128 + SIGKILL);
}

TEST(spawn_and_stop_at_home_are_in_the_script)
{
    no_namespaces(&env);
    char *argv[] = {"sleep", "30", NULL};
    pid_t a = lab_spawn(&env, LAB_HOME, argv), b = lab_spawn(&env, LAB_HOME, argv);
    CHECK(a > 0 && b > 0);
    CHECK_EQ_INT(env.npids, 2);
    lab_stop(&env, a);
    CHECK(pid_gone(a));
    CHECK_EQ_INT(env.npids, 1);
    CHECK_EQ_INT(env.pids[0], b);
    lab_stop(&env, 12345678); /* not ours: nothing */
    CHECK_EQ_INT(env.npids, 1);
    lab_env_down(&env);       /* kills the rest */
    CHECK(pid_gone(b));
    CHECK_EQ_INT(env.npids, 0);
    CHECK_EQ_STR(env.setup, "sleep 30 & pid1=$!\nsleep 30 & pid2=$!\nkill $pid1; wait $pid1 || true\n");
}

TEST(spawn_beyond_the_process_table_fails)
{
    no_namespaces(&env);
    env.npids = LAB_MAX_PIDS;
    char *argv[] = {"true", NULL};
    CHECK_EQ_INT(lab_spawn(&env, LAB_HOME, argv), -1);
    CHECK_EQ_STR(env.err, "too many processes");
    env.npids = 0;
}

TEST(ctrl_c_sets_the_flag_and_stops_waits)
{
    no_namespaces(&env);
    lab_signals_install();
    raise(SIGINT);
    CHECK_EQ_INT(lab_interrupted, 1);
    char *argv[] = {"sleep", "30", NULL};
    int rc = lab_run(&env, LAB_HOME, argv, NULL, 0, 30000); /* killed at once */
    bool watched = lab_watch(&env, 30000, 100);
    lab_interrupted = 0;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    CHECK_EQ_INT(rc, 128 + SIGKILL);
    CHECK(!watched);
}

TEST(steps_in_a_namespace_that_cannot_be_entered_fail)
{
    no_namespaces(&env);
    CHECK_EQ_INT(lab_enter(&env, LAB_SERVER), -1);
    CHECK(!strncmp(env.err, "setns lab-s: ", 13));
    struct lab_count c;
    CHECK_EQ_INT(lab_count(&env, LAB_CLIENT, 0, 0, &c), -1);
    CHECK_EQ_INT(lab_counter(&env, LAB_CLIENT, "Tcp", "OutRsts"), -1);
    CHECK_EQ_INT(lab_sysctl(&env, LAB_CLIENT, "net/ipv4/tcp_tw_reuse", "1"), -1);
    CHECK(lab_watch(&env, 0, 100)); /* no samples, no hang */
    CHECK_EQ_INT(env.series[0].n + env.series[1].n, 0);
    /* the command is tried, and fails in its child (126) */
    char *argv[] = {"true", NULL};
    CHECK_EQ_INT(lab_run(&env, LAB_CLIENT, argv, NULL, 0, 5000), 126);
    CHECK_EQ_STR(env.setup, "ip netns exec lab-c true || true  # exit 126 in the lab too\n");
}

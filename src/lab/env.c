/* SPDX-License-Identifier: MIT */
/* Lab harness: namespaces, processes, sysctls, counters, sampler. */
#include "lab/env.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/diag.h"
#include "lab/setup.h"
#include "lab/tape.h"

volatile sig_atomic_t lab_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    lab_interrupted = 1;
}

void lab_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double lab_now_ms(const struct lab_env *e) { return mono_ms() - e->t0; }

double lab_clock_ms(struct lab_env *e)
{
    long long us = 0;
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, "clock", &us, 1, NULL, 0);
    } else {
        us = llround(lab_now_ms(e) * 1e3);
        lab_tape_put(e, "clock", &us, 1, NULL);
    }
    return (double)us / 1e3; /* the same figure recorded and replayed */
}

bool lab_step(struct lab_env *e, const char *key, lab_step_fn fn, void *arg, long long *v,
              int nv)
{
    if (lab_tape_replaying(e))
        return lab_tape_take(e, key, v, nv, NULL, 0);
    fn(e, arg, v);
    lab_tape_put(e, key, v, nv, v[0] < 0 ? e->err : NULL);
    return true;
}

void lab_nap(struct lab_env *e, int ms)
{
    char key[32];
    snprintf(key, sizeof key, "nap %d", ms);
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, NULL, 0, NULL, 0);
        return;
    }
    lab_tape_put(e, key, NULL, 0, NULL);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}


void lab_mark(struct lab_env *e, double t_ms, const char *fmt, ...)
{
    if (e->nmarks >= LAB_MAX_MARKS)
        return;
    struct lab_mark *m = &e->marks[e->nmarks++];
    m->t_ms = (uint32_t)(t_ms < 0 ? lab_now_ms(e) : t_ms);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->label, sizeof m->label, fmt, ap);
    va_end(ap);
}

/* The child side of lab_run/lab_spawn: enter h, wire stdout, exec. */
static void child_exec(struct lab_env *e, enum lab_host h, char *const argv[], int out_fd)
{
    if (h != LAB_HOME && setns(e->nsfd[h], CLONE_NEWNET) < 0)
        _exit(126);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(out_fd >= 0 ? out_fd : devnull, 1);
        if (!getenv("CLOSER_LAB_VERBOSE"))
            dup2(devnull, 2);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!strcmp(argv[0], "closer"))
        execv(e->self, argv);
    else
        execvp(argv[0], argv);
    _exit(127);
}

static int status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* interruptible: a Ctrl-C kills it at once; cleanup commands are not. */
/* While a command of the scenario runs (a load), both socket tables every
 * LAB_SAMPLE_MS: the plot shows what happens during it, not only after. */
#define LAB_SAMPLE_MS 100

static int run_child(struct lab_env *e, enum lab_host h, char *const argv[], char *out,
                     size_t outlen, int timeout_ms, bool interruptible)
{
    bool sampling = interruptible && h != LAB_HOME;
    double next_sample = mono_ms() + LAB_SAMPLE_MS;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(e->err, sizeof e->err, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(e->err, sizeof e->err, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0)
        child_exec(e, h, argv, p[1]);
    close(p[1]);
    size_t got = 0;
    double deadline = mono_ms() + timeout_ms;
    bool killed = false;
    for (;;) {
        double left = deadline - mono_ms();
        if ((left <= 0 || (interruptible && lab_interrupted)) && !killed) {
            kill(pid, SIGKILL);
            killed = true;
        }
        if (sampling && mono_ms() >= next_sample) {
            lab_sample(e); /* on a fixed beat: a slow dump does not add up */
            next_sample += LAB_SAMPLE_MS;
            if (next_sample < mono_ms())
                next_sample = mono_ms();
        }
        double wait = left < LAB_SAMPLE_MS ? left + 1 : LAB_SAMPLE_MS;
        if (sampling && next_sample - mono_ms() < wait)
            wait = next_sample - mono_ms() + 1;
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, killed ? 1000 : (int)(wait < 1 ? 1 : wait));
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        char tmp[4096];
        ssize_t n = read(p[0], tmp, sizeof tmp);
        if (n <= 0)
            break;
        size_t take = (size_t)n;
        if (outlen && got + take > outlen - 1)
            take = outlen - 1 - got;
        if (out && take)
            memcpy(out + got, tmp, take);
        got += take;
    }
    if (out && outlen)
        out[got] = 0;
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return status_code(st);
}

/* A call's tape key: head ("run client 30000"), then argv as shell words. */
static void argv_key(char *key, size_t cap, const char *head, char *const argv[])
{
    size_t len = (size_t)snprintf(key, cap, "%s", head);
    for (int i = 0; argv[i] && len + 1 < cap; i++) {
        len += (size_t)snprintf(key + len, cap - len, " ");
        if (len < cap)
            len = lab_shell_word(key, len, cap, argv[i]);
    }
}

/* run_child, or its recorded result (lab/tape.h). */
static int run_taped(struct lab_env *e, enum lab_host h, char *const argv[], char *out,
                     size_t outlen, int timeout_ms, bool interruptible)
{
    char head[48], key[1024];
    snprintf(head, sizeof head, "run %s %d", lab_host_name(h), timeout_ms);
    argv_key(key, sizeof key, head, argv);
    long long rc = -1;
    if (lab_tape_replaying(e)) {
        if (out && outlen)
            out[0] = 0;
        lab_tape_take(e, key, &rc, 1, out, outlen);
        return (int)rc;
    }
    rc = run_child(e, h, argv, out, outlen, timeout_ms, interruptible);
    lab_tape_put(e, key, &rc, 1, out && outlen ? out : rc < 0 ? e->err : NULL);
    return (int)rc;
}

int lab_run(struct lab_env *e, enum lab_host h, char *const argv[], char *out, size_t outlen,
            int timeout_ms)
{
    lab_setup_argv(e, h, argv, "");
    int rc = run_taped(e, h, argv, out, outlen, timeout_ms, true);
    /* A failure the scenario expects (EADDRNOTAVAIL) must not stop the
     * script under `bash -e`: its line says so. Nothing was added to the
     * setup since this command's line. */
    if (rc != 0 && e->setup_len > 1 && e->setup[e->setup_len - 1] == '\n') {
        e->setup_len--;
        lab_setup_command(e, " || true  # exit %d in the lab too", rc);
    }
    return rc;
}

static pid_t spawn_child(struct lab_env *e, enum lab_host h, char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        snprintf(e->err, sizeof e->err, "fork: %s", strerror(errno));
    if (pid == 0)
        child_exec(e, h, argv, -1);
    return pid;
}

pid_t lab_spawn(struct lab_env *e, enum lab_host h, char *const argv[])
{
    if (e->npids >= LAB_MAX_PIDS) {
        snprintf(e->err, sizeof e->err, "too many processes");
        return -1;
    }
    /* "& pidN=$!": lab_stop's kill line names it, so the script stops
     * the same process the lab stopped (a second serve then can bind). */
    char suffix[32];
    snprintf(suffix, sizeof suffix, " & pid%d=$!", ++e->nspawned);
    lab_setup_argv(e, h, argv, suffix);
    char head[32], key[1024];
    snprintf(head, sizeof head, "spawn %s", lab_host_name(h));
    argv_key(key, sizeof key, head, argv);
    long long pid = -1;
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, &pid, 1, NULL, 0);
    } else {
        pid = spawn_child(e, h, argv);
        lab_tape_put(e, key, &pid, 1, pid < 0 ? e->err : NULL);
    }
    if (pid < 0)
        return -1;
    e->spawned[e->npids] = e->nspawned;
    e->pids[e->npids++] = (pid_t)pid;
    return (pid_t)pid;
}

static bool reaped(pid_t pid, int wait_ms)
{
    double end = mono_ms() + wait_ms;
    do {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    } while (mono_ms() < end);
    return false;
}

/* What lab_stop, lab_signal and lab_env_down do to a process, on the
 * tape as "stop PID", "signal PID SIG", "end PID" (replayed: nothing). */
static bool taped_signal(struct lab_env *e, const char *op, pid_t pid, int sig)
{
    char key[64];
    snprintf(key, sizeof key, sig ? "%s %d %d" : "%s %d", op, (int)pid, sig);
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, NULL, 0, NULL, 0); /* a recorded pid is no process here */
        return false;
    }
    lab_tape_put(e, key, NULL, 0, NULL);
    return true;
}

void lab_stop(struct lab_env *e, pid_t pid)
{
    for (int i = 0; i < e->npids; i++) {
        if (e->pids[i] != pid)
            continue;
        if (taped_signal(e, "stop", pid, 0)) {
            kill(pid, SIGTERM);
            if (!reaped(pid, 2000)) {
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                    ;
            }
        }
        lab_setup_command(e, "kill $pid%d; wait $pid%d || true", e->spawned[i], e->spawned[i]);
        e->npids--;
        e->pids[i] = e->pids[e->npids];
        e->spawned[i] = e->spawned[e->npids];
        return;
    }
}

void lab_signal(struct lab_env *e, pid_t pid, int sig)
{
    if (taped_signal(e, "signal", pid, sig))
        kill(pid, sig);
}

int lab_enter(struct lab_env *e, enum lab_host h)
{
    if (setns(e->nsfd[h], CLONE_NEWNET) < 0) {
        snprintf(e->err, sizeof e->err, "setns %s: %s", e->ns[h], strerror(errno));
        return -1;
    }
    return 0;
}

void lab_leave(struct lab_env *e)
{
    if (setns(e->home_fd, CLONE_NEWNET) < 0)
        snprintf(e->err, sizeof e->err, "setns home: %s", strerror(errno));
}

static int run_ip(struct lab_env *e, char *const argv[])
{
    int rc = lab_run(e, LAB_HOME, argv, NULL, 0, 5000);
    if (rc != 0) {
        snprintf(e->err, sizeof e->err, "'%s %s %s %s' failed (exit %d)", argv[0], argv[1],
                 argv[2], argv[3] ? argv[3] : "", rc);
        return -1;
    }
    return 0;
}

static int open_ns(struct lab_env *e, int h)
{
    char path[80];
    snprintf(path, sizeof path, "/run/netns/%s", e->ns[h]);
    e->nsfd[h] = open(path, O_RDONLY | O_CLOEXEC);
    if (e->nsfd[h] < 0) {
        snprintf(e->err, sizeof e->err, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int make_links(struct lab_env *e, const char *vc, const char *vs)
{
    char *c = e->ns[0], *s = e->ns[1];
    char *cmds[][12] = {
        {"ip", "link", "add", (char *)vc, "type", "veth", "peer", "name", (char *)vs, NULL},
        {"ip", "link", "set", (char *)vc, "netns", c, NULL},
        {"ip", "link", "set", (char *)vs, "netns", s, NULL},
        {"ip", "-n", c, "addr", "add", LAB_CLIENT_IP "/24", "dev", (char *)vc, NULL},
        {"ip", "-n", s, "addr", "add", LAB_SERVER_IP "/24", "dev", (char *)vs, NULL},
        {"ip", "-n", c, "link", "set", "lo", "up", NULL},
        {"ip", "-n", s, "link", "set", "lo", "up", NULL},
        {"ip", "-n", c, "link", "set", (char *)vc, "up", NULL},
        {"ip", "-n", s, "link", "set", (char *)vs, "up", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (run_ip(e, cmds[i]) < 0)
            return -1;
    return 0;
}

/* The pid and sequence number the names carry; a replay takes the
 * recording's, so that its commands and setup text are the recorded ones. */
static int name_ids(struct lab_env *e, const char *tag, long long id[2])
{
    char key[32];
    snprintf(key, sizeof key, "up %.8s", tag);
    if (lab_tape_replaying(e))
        return lab_tape_take(e, key, id, 2, NULL, 0) ? 0 : -1;
    id[0] = getpid();
    id[1] = ++e->seq;
    lab_tape_put(e, key, id, 2, NULL);
    return 0;
}

int lab_env_up(struct lab_env *e, const char *tag)
{
    struct lab_tape *tape = e->tape;
    int seq = e->seq;
    memset(e, 0, sizeof *e);
    e->tape = tape;
    e->seq = seq;
    e->nsfd[0] = e->nsfd[1] = -1;
    e->self = "/proc/self/exe";
    e->t0 = mono_ms();
    e->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (e->home_fd < 0) {
        snprintf(e->err, sizeof e->err, "/proc/self/ns/net: %s", strerror(errno));
        return -1;
    }
    long long id[2];
    if (name_ids(e, tag, id) < 0)
        goto fail;
    int pid = (int)id[0], n = (int)id[1];
    snprintf(e->ns[0], sizeof e->ns[0], "closer-lab-%d-%d-%.8s-c", pid, n, tag);
    snprintf(e->ns[1], sizeof e->ns[1], "closer-lab-%d-%d-%.8s-s", pid, n, tag);
    char vc[16], vs[16];
    snprintf(vc, sizeof vc, "lc%d_%d", pid % 1000000, n % 100);
    snprintf(vs, sizeof vs, "ls%d_%d", pid % 1000000, n % 100);
    lab_setup_note(e, "run as root; client %s in %s, server %s in %s, a veth pair, no route out",
                   LAB_CLIENT_IP, e->ns[0], LAB_SERVER_IP, e->ns[1]);
    for (int h = 0; h < 2; h++) {
        char *argv[] = {"ip", "netns", "add", e->ns[h], NULL};
        if (run_ip(e, argv) < 0 ||
            (e->ns_made[h] = true, !lab_tape_replaying(e) && open_ns(e, h) < 0))
            goto fail;
    }
    memcpy(e->veth[0], vc, sizeof vc);
    memcpy(e->veth[1], vs, sizeof vs);
    if (make_links(e, vc, vs) < 0)
        goto fail;
    e->t0 = mono_ms(); /* plots start when the namespaces are ready */
    return 0;
fail:;
    char keep[sizeof e->err];
    memcpy(keep, e->err, sizeof keep);
    lab_env_down(e);
    memcpy(e->err, keep, sizeof keep);
    return -1;
}

void lab_env_down(struct lab_env *e)
{
    for (int i = 0; i < e->npids; i++)
        if (taped_signal(e, "end", e->pids[i], 0))
            kill(e->pids[i], SIGKILL);
    for (int i = 0; i < e->npids; i++)
        while (!lab_tape_replaying(e) && waitpid(e->pids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    e->npids = 0;
    for (int h = 0; h < 2; h++) {
        if (e->nsfd[h] >= 0)
            close(e->nsfd[h]);
        e->nsfd[h] = -1;
        if (!e->ns_made[h])
            continue;
        char *argv[] = {"ip", "netns", "del", e->ns[h], NULL};
        run_taped(e, LAB_HOME, argv, NULL, 0, 5000, false);
        e->ns_made[h] = false;
    }
    if (e->home_fd >= 0) {
        setns(e->home_fd, CLONE_NEWNET);
        close(e->home_fd);
    }
    e->home_fd = -1;
}

static int count_state(const struct tcp_sock *t, const struct tcp_activity *act, void *arg)
{
    (void)act;
    struct lab_sample *smp = arg;
    if (t->state < TS_MAX)
        smp->count[t->state]++;
    return 0;
}

/* One netlink dump per host, no /proc walk: cheap enough for every 100 ms
 * while a load runs. */
void lab_sample(struct lab_env *e)
{
    if (lab_tape_replaying(e))
        return;
    for (int h = 0; h < 2; h++) {
        struct lab_series *ser = &e->series[h];
        if (ser->n >= LAB_MAX_SAMPLES || lab_enter(e, (enum lab_host)h) < 0)
            continue;
        struct lab_sample *smp = &ser->s[ser->n];
        memset(smp, 0, sizeof *smp);
        int intr = 0;
        /* IPv4 only: the lab has no IPv6 address (and an AF_UNSPEC dump costs
         * the kernel a module lookup each time) */
        int rc = diag_dump(AF_INET, 0xffffffffu, false, count_state, smp, NULL, &intr);
        lab_leave(e);
        if (rc < 0)
            continue;
        smp->t_ms = (uint32_t)lab_now_ms(e);
        ser->n++;
    }
}

static bool watch(struct lab_env *e, int ms, int step_ms)
{
    double end = mono_ms() + ms;
    lab_sample(e);
    while (!lab_interrupted) {
        double left = end - mono_ms();
        if (left <= 0)
            return true;
        double nap = left < step_ms ? left : step_ms;
        struct timespec ts = {(time_t)(nap / 1000), (long)((long)nap % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        lab_sample(e);
    }
    return false;
}

bool lab_watch(struct lab_env *e, int ms, int step_ms)
{
    char key[48];
    snprintf(key, sizeof key, "watch %d %d", ms, step_ms);
    long long v = 0;
    if (lab_tape_replaying(e)) {
        lab_tape_take(e, key, &v, 1, NULL, 0);
        return v;
    }
    v = watch(e, ms, step_ms);
    lab_tape_put(e, key, &v, 1, NULL);
    return v;
}

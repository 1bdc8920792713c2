/* SPDX-License-Identifier: MIT */
/* The lab's harness: two network namespaces (client, server) joined by a
 * veth pair, 198.18.0.1/24 (client) and 198.18.0.2/24 (server), no route
 * out; processes started inside them; sysctls and counters read inside
 * them; a sampler of both socket tables over time. Everything made here is
 * undone by lab_env_down, whatever happened before. What the calls below
 * learn from the kernel can be recorded and replayed (lab/tape.h): a unit
 * test runs a scenario from its recording, with no root and no namespace.
 *
 * Error convention: int functions return 0 (or a count / exit status) on
 * success and -1 on failure with a message in e->err. */
#ifndef CLOSER_LAB_ENV_H
#define CLOSER_LAB_ENV_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel/sock.h"

enum lab_host { LAB_CLIENT = 0, LAB_SERVER = 1, LAB_HOME = 2 };
#define LAB_CLIENT_IP "198.18.0.1"
#define LAB_SERVER_IP "198.18.0.2"
#define LAB_MAX_PIDS 16
#define LAB_MAX_SAMPLES 1200

/* Set by SIGINT / SIGTERM (lab_signals_install); every wait returns early. */
extern volatile sig_atomic_t lab_interrupted;
void lab_signals_install(void);

struct lab_sample {
    uint32_t t_ms;                 /* since lab_env_up */
    uint32_t count[TS_MAX];        /* sockets per TCP state, both families */
};

struct lab_series {
    struct lab_sample s[LAB_MAX_SAMPLES];
    size_t n;
};

#define LAB_MAX_MARKS 8
/* Something the scenario did at a moment (drawn on the plot). */
struct lab_mark {
    uint32_t t_ms;
    char label[48];
};

struct lab_tape;

struct lab_env {
    struct lab_tape *tape; /* record or replay every call below (lab/tape.h);
                            * NULL: run for real. Kept by lab_env_up. */
    int seq;               /* namespace pairs made with this env (or, set by a
                            * caller running several envs, before it): one
                            * more names the next pair. Kept by lab_env_up. */
    char ns[2][40];        /* namespace names (/run/netns/NAME) */
    char veth[2][16];      /* each host's end of the veth pair (tc, nft) */
    int nsfd[2];
    int home_fd;           /* our own namespace, to come back to */
    bool ns_made[2];
    pid_t pids[LAB_MAX_PIDS];
    int spawned[LAB_MAX_PIDS]; /* each pid's number in the setup ($pidN) */
    int npids, nspawned;
    bool engine;           /* the setup has steps of the lab's own sockets */
    const char *self;      /* binary re-executed for "closer" argv (/proc/self/exe) */
    double t0;
    struct lab_series series[2];
    struct lab_mark marks[LAB_MAX_MARKS];
    int nmarks;
    char setup[4096];      /* a shell script: commands, and '#' lines for the rest */
    size_t setup_len;
    char err[256];
};

/* Creates both namespaces (names from tag, our pid and ++e->seq), the veth
 * pair, the addresses, lo up. On failure everything made so far is already removed. */
int lab_env_up(struct lab_env *e, const char *tag);
/* Kills every process started here, deletes both namespaces. Idempotent. */
void lab_env_down(struct lab_env *e);

/* Moves this (single-threaded) process into host's namespace and back:
 * sockets created in between belong to that namespace for their life. */
int lab_enter(struct lab_env *e, enum lab_host h);
void lab_leave(struct lab_env *e);

/* Writes /proc/sys/<name> inside h's namespace and records it in setup. */
int lab_sysctl(struct lab_env *e, enum lab_host h, const char *name, const char *value);
/* Reads a TcpExt (/proc/net/netstat) or Tcp (/proc/net/snmp) counter inside
 * h's namespace; prefix "TcpExt" or "Tcp". -1 if absent. */
long long lab_counter(struct lab_env *e, enum lab_host h, const char *prefix, const char *name);

/* Runs argv inside h (argv[0] "closer" = this binary), stdout captured into
 * out (NUL-terminated), killed after timeout_ms. Returns its exit status
 * (128+sig if killed), -1 if it could not start. Recorded in setup. */
int lab_run(struct lab_env *e, enum lab_host h, char *const argv[], char *out, size_t outlen,
            int timeout_ms);
/* Starts argv in the background inside h; the pid is killed by
 * lab_env_down (or lab_stop). Recorded in setup. */
pid_t lab_spawn(struct lab_env *e, enum lab_host h, char *const argv[]);
/* SIGTERM, wait up to 2 s, then SIGKILL. */
void lab_stop(struct lab_env *e, pid_t pid);
/* kill(pid, sig) for a process started here (SIGSTOP / SIGCONT). */
void lab_signal(struct lab_env *e, pid_t pid, int sig);
/* Waits (up to 5 s) for a TCP listener on port in h. */
int lab_wait_listen(struct lab_env *e, enum lab_host h, uint16_t port);

/* Sleeps ms while sampling both socket tables every step_ms; false if
 * interrupted. */
bool lab_watch(struct lab_env *e, int ms, int step_ms);
/* One sample of both hosts now (appended to the series). */
void lab_sample(struct lab_env *e);
/* The sockets of h right now: count in state (0 = any) with local or remote
 * port == port (0 = any); also min/max timer expiry in ms of those. */
struct lab_count {
    long n;
    uint32_t exp_min, exp_max;
    uint32_t retrans_max;
};
int lab_count(struct lab_env *e, enum lab_host h, int state, uint16_t port, struct lab_count *out);

/* Appends a note to the setup script, as a '#' comment (commands run through
 * lab_run / lab_spawn / lab_sysctl are recorded by themselves). */
void lab_setup_note(struct lab_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, for a step the lab does with its own sockets (no shell
 * command does it): the script alone does not rebuild the scenario's end. */
void lab_setup_engine(struct lab_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Marks an event on the plot at t_ms since the start (< 0: now). */
void lab_mark(struct lab_env *e, double t_ms, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double lab_now_ms(const struct lab_env *e);
/* lab_now_ms for a measurement a note reports (to the microsecond): on the
 * tape, so that a replay reports the recorded figure. */
double lab_clock_ms(struct lab_env *e);
/* A step a scenario does by itself (its own sockets, a /proc file), as one
 * event of the tape: fn(e, arg, v) fills v[0..nv) (v[0] < 0: failed, with
 * e->err) and is recorded, or v is the recorded one and fn is not called.
 * False only when a replay broke (e->err says so). */
typedef void (*lab_step_fn)(struct lab_env *e, void *arg, long long *v);
bool lab_step(struct lab_env *e, const char *key, lab_step_fn fn, void *arg, long long *v,
              int nv);
/* A pause between two steps of a scenario (none in a replay). */
void lab_nap(struct lab_env *e, int ms);

/* Finds "key": NUMBER in a JSON text (first match, any depth); -1 if absent. */
double lab_json_num(const char *text, const char *key);
#endif

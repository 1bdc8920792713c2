/* SPDX-License-Identifier: MIT */
/* The doctor: turns one snapshot into findings — who closes first, why
 * sockets pile up in TIME_WAIT / CLOSE_WAIT / SYN_RECV, what it costs and
 * what to change. Pure functions of the snapshot: no I/O here except the
 * renderers' FILE*.
 *
 * Finding ids are a public contract (doctor --json, exporter labels, lab
 * assertions), all in one table, findings.def: add ids, never rename them.
 *
 * Error convention: doctor_analyze returns 0, or -1 when out of memory. */
#ifndef CLOSER_DOCTOR_H
#define CLOSER_DOCTOR_H
#include <stdbool.h>
#include <stdio.h>

#include "snapshot/snapshot.h"

enum severity { SEV_INFO, SEV_WARNING, SEV_CRITICAL };
/* A set of severities, as findings.def writes them: SEV_BIT(INFO) | ... */
#define SEV_BIT(name) (1u << SEV_##name)

enum finding_id {
#define FINDING(name, id, severities, rule, meaning) F_##name,
#include "doctor/findings.def"
#undef FINDING
    F_COUNT
};

/* One row of findings.def. */
struct finding_kind {
    const char *id;       /* "server-time-wait" */
    unsigned severities;  /* SEV_BIT()s the rule may give */
    const char *rule;     /* the file in src/doctor/ that decides it */
    const char *meaning;  /* one line */
};
extern const struct finding_kind finding_kinds[F_COUNT];
/* The kind whose id is id, or F_COUNT. */
enum finding_id finding_kind_find(const char *id);
/* The ids, space-separated and wrapped below width with indent spaces
 * before each line; trace: only the rules_trace.c ones (--trace), else the
 * others. */
void finding_ids_print(FILE *out, bool trace, int indent, int width);
/* The markdown table of every id (docs/doctor.md holds it verbatim):
 * | id | severity | decided by | meaning | */
void finding_kinds_markdown(FILE *out);

#define FINDING_MAX_FDS 16
#define FINDING_MAX_FACTS 20

/* An address behind one of a finding's strings, for the JSON's _ip and
 * _port companions (docs/json.md); family 0 = none. */
struct finding_endpoint {
    uint8_t family; /* AF_INET, AF_INET6 */
    uint16_t port;
    uint8_t addr[16];
};
#define FINDING_MAX_PEERS 4

struct fact {
    const char *key; /* json key, stable */
    double value;
};

struct finding {
    const char *id;        /* finding_kinds[kind].id */
    enum finding_id kind;
    unsigned seq;          /* insertion order, for a stable sort */
    enum severity severity;
    char title[320];
    unsigned long long count;
    int port;              /* local (listening) port, -1 when not about one */
    pid_t pid;             /* owning process, 0 when not about one */
    char comm[16];
    char dest[64];         /* "ip:port" peer destination (client side) */
    char source[48];       /* local address (client side) */
    char peers[200];       /* the peers' ip:port, "a, b (+N more)"; "" when not about peers */
    char peer_on_host[200]; /* the other end when it is on this host, "" otherwise */
    /* The same addresses for programs: dest's, source's (no port), the
     * first distinct peers (more_peers: there are others), the far end's
     * example socket. */
    struct finding_endpoint dest_ep, source_ep, peer_eps[FINDING_MAX_PEERS], far_ep;
    size_t npeer_eps;
    bool more_peers;
    int far_state;         /* far_ep's TCP state */
    unsigned long long recv_q; /* CLOSE_WAIT recv-q sum (+1 each until EOF is read) */
    int fds[FINDING_MAX_FDS];
    size_t nfds;           /* fds listed (up to FINDING_MAX_FDS) */
    struct fact facts[FINDING_MAX_FACTS];
    size_t nfacts;
    char why[1200];
    char fix[1400];
    const char *cause;     /* server-time-wait: the verdict ("no keep-alive", ...), or NULL */
    /* Who and what, from the catalogue (src/catalog/): the program the
     * finding is about (the sockets' owner, a server port's listener), its
     * worker model, runtime ("python", "native"...), the protocol of the
     * connections and where that came from ("program", "peer", "port"),
     * the program at the other end when it is on this host, and how many
     * processes the finding covers (children sharing a listener). */
    const char *program, *variant, *runtime, *protocol, *protocol_from, *peer_program;
    unsigned processes;
};

/* Thresholds; doctor_default_opts() gives the documented defaults. */
struct measured_closes;
struct doctor_opts {
    unsigned server_tw_warn;      /* TIME_WAIT per port rate (closes/s) to warn */
    unsigned client_min_sockets;  /* report a destination from this many sockets */
    unsigned client_warn_pct;     /* of the ephemeral range: warning */
    unsigned client_crit_pct;     /* critical */
    unsigned close_wait_warn;     /* CLOSE_WAIT per group: warning */
    unsigned close_wait_crit;
    unsigned client_pool_warn;    /* idle pooled CLOSE_WAIT per (process, server): warning */
    unsigned orphan_pile;         /* FIN_WAIT2 / LAST_ACK count: warning */
    unsigned syn_recv_pile;       /* SYN_RECV per listener: warning */
    unsigned listen_near_pct;     /* accept queue / backlog: warning */
    /* doctor --trace's measurements (rules_trace.h), or NULL: what the
     * snapshot leaves undecided, measured lifetimes may decide. */
    const struct measured_closes *measured;
};
struct doctor_opts doctor_default_opts(void);

struct doctor_report {
    struct finding *items;
    size_t n, cap;
    size_t counts[TS_MAX];       /* sockets per state */
    /* TIME_WAIT by local port: listening (server closed first), ephemeral
     * (client closed first), other (an explicit bind). */
    size_t tw_server, tw_client, tw_other;
    size_t tw_server_gone; /* of tw_server: on ports nobody listens on now */
    size_t close_wait_owned, close_wait_unaccepted;
    /* Second looks: CLOSE_WAIT closed between the dump and the /proc walk;
     * with --confirm, those not there at both looks (closed or new). */
    size_t close_wait_gone, close_wait_transient;
};

int doctor_analyze(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r);
void doctor_report_free(struct doctor_report *r);
enum severity doctor_worst(const struct doctor_report *r);
/* 0 when nothing is above info, 1 otherwise (the doctor's exit status). */
int doctor_exit_code(const struct doctor_report *r);
const char *severity_name(enum severity s);

struct doctor_view {
    const char *netns;  /* for the header; NULL = the current namespace */
    bool color;
    bool verbose;       /* print info findings with their why/fix too */
    const char *tag;    /* printed after each finding's id (its namespace), or NULL */
};
void doctor_print_text(FILE *out, const struct snapshot *s, const struct doctor_report *r,
                       const struct doctor_view *v);
/* JSON contracts: schemas/closer.doctor.schema.json, closer.doctor-netns.schema.json. */
#define DOCTOR_JSON_SCHEMA "closer.doctor/1"
#define DOCTOR_NETNS_JSON_SCHEMA "closer.doctor-netns/1"
void doctor_print_json(FILE *out, const struct snapshot *s, const struct doctor_report *r,
                       const struct doctor_view *v);
struct json;
/* The members of one finding's JSON object (the caller opens and closes it). */
void doctor_finding_json_fields(struct json *j, const struct finding *f);

/* "s" unless n is 1: printf("%llu connection%s", n, plural_s(n)). */
static inline const char *plural_s(unsigned long long n)
{
    return n == 1 ? "" : "s";
}

/* For the rules (src/doctor/rules_*.c). */
struct finding *doctor_add(struct doctor_report *r, enum finding_id kind, enum severity sev);
void finding_fact(struct finding *f, const char *key, double value);
void finding_add_fd(struct finding *f, int fd);
/* The value of fact key, or missing when f has none. */
double finding_fact_value(const struct finding *f, const char *key, double missing);
void finding_endpoint_set(struct finding_endpoint *e, int family, const uint8_t addr[16],
                          uint16_t port);
bool finding_endpoint_eq(const struct finding_endpoint *a, const struct finding_endpoint *b);
typedef int doctor_rule_fn(const struct snapshot *s, const struct doctor_opts *o,
                           struct doctor_report *r);
doctor_rule_fn rules_time_wait, rules_client, rules_close_wait, rules_listen, rules_orphans,
    rules_sysctl;

/* The parts of a doctor_report, besides its findings, that a rule fills
 * for the header and for the rules after it. */
enum report_part {
    RP_COUNTS = 1u << 0,     /* counts[] */
    RP_TW_SIDES = 1u << 1,   /* tw_server, tw_client, tw_other, tw_server_gone */
    RP_CLOSE_WAIT = 1u << 2, /* close_wait_owned, _unaccepted, _gone, _transient */
};
/* The rules in the order doctor_analyze runs them, each with the parts it
 * reads and fills: a rule reads only what a rule before it filled
 * (doctor_rules_order_error() says which does not; tests/unit/
 * test_doctor_rules.c also checks that a rule's findings do not change when
 * the parts it does not declare are disturbed). */
struct doctor_rule {
    const char *file;     /* as in findings.def's rule column */
    doctor_rule_fn *run;
    unsigned reads, fills; /* enum report_part bits */
};
extern const struct doctor_rule doctor_rules[];
extern const size_t doctor_nrules;
/* NULL when every rule of rules[n] reads only parts filled before it; else
 * a sentence naming the first that does not (written to buf). */
const char *doctor_rules_order_error(const struct doctor_rule *rules, size_t n, char *buf,
                                     size_t len);

#endif

/* SPDX-License-Identifier: MIT */
/* The program catalogue: what closer knows about the programs and protocols
 * on either end of a connection, as data in one place.
 *
 *   programs.c   how each program is recognised from what /proc shows (comm,
 *                exe, command line words, mapped libraries, a Go build id, an
 *                epoll instance) and which protocol it serves or speaks
 *   wire.c       how an HTTP server is recognised from its answers (Server,
 *                Via, the order of its headers), for closer probe
 *   protocols.c  protocols: well-known ports, what a server says before its FIN
 *   knobs.c      per program (or runtime) and protocol, the knob for each
 *                situation a finding describes, as a server and as a client
 *   render.c     the catalogue as Markdown tables (docs/doctor.md is made
 *                from it)
 *
 * The rules in src/doctor/ decide from kernel evidence; the catalogue only
 * names the program they found and the knob that program has. A new program
 * is one row here (plus its knob rows) and a test with the real program.
 *
 * A leaf: includes nothing of closer's, so every layer may use it. No
 * errors: lookups return NULL or the generic row. */
#ifndef CLOSER_CATALOG_H
#define CLOSER_CATALOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cat_runtime { CR_NATIVE, CR_PYTHON, CR_NODE, CR_JVM, CR_GO, CR_RUBY, CR_PHP, CR_COUNT };

enum cat_proto {
    P_NONE, P_HTTP, P_FASTCGI, P_UWSGI, P_POSTGRESQL, P_MYSQL, P_REDIS, P_MEMCACHED, P_SMTP,
    P_AMQP, P_MONGODB, P_LDAP, P_COUNT
};

/* What a program is to a connection. */
enum cat_kind {
    CK_SERVER,  /* accepts connections (may also connect: nginx, php-fpm) */
    CK_PROXY,   /* accepts and forwards: its client side is its own knob */
    CK_LIBRARY, /* a client library inside a runtime (psycopg2, redis-py) */
    CK_TOOL,    /* a client program (pgbench, ab, curl) */
    CK_RUNTIME, /* the runtime itself, when nothing more precise is known */
};

/* What is known of a process, read from /proc by the kernel layer. Strings
 * are never NULL ("" when unknown). */
struct cat_evidence {
    const char *comm;    /* /proc/PID/comm */
    const char *exe;     /* basename of /proc/PID/exe */
    const char *cmdline; /* argv joined by spaces (truncated) */
    const char *libs;    /* mapped library markers, ";libpq;_asyncio;" */
    bool go;             /* the executable carries Go's build id */
    unsigned epoll;      /* epoll instances it holds */
};

/* How an HTTP server is recognised from one answer (closer probe). match:
 * conditions separated by ';', all must hold, each KEY~A/B (the value
 * contains A or B, case-insensitive), KEY= (the header is absent or empty)
 * or KEY$A (the value ends with A). KEYs: server, via, connection,
 * keep-alive, names (the header names in order, lower case, joined by ','). */
struct cat_wire {
    const char *title; /* as probe names it ("Apache httpd"); NULL: not recognised */
    const char *match;
    const char *note;  /* said with the evidence ("" when nothing) */
};

struct cat_program {
    const char *name;    /* stable, lower case: doctor --json "program" */
    const char *variant; /* a worker model the knobs depend on ("prefork"), or "" */
    enum cat_kind kind;
    enum cat_runtime runtime;
    enum cat_proto proto; /* served by a server/proxy, spoken by a library/tool */
    /* Recognition, all given fields must hold: */
    const char *names;   /* "a|b": comm, exe, argv[0] or a script's basename starts with one */
    const char *argv;    /* "a|b": the command line contains one of these words */
    const char *lib;     /* "a|b": one of these markers is mapped (see catalog_lib_marker) */
    bool needs_epoll;    /* holds an epoll instance (asyncio imported but unused is not asyncio) */
    const char *about;   /* one line for the docs */
    struct cat_wire wire;
};

/* Situations a finding describes; each has its own knob per program. */
enum cat_situation {
    K_TW_NO_KEEPALIVE, /* server-time-wait: one request per connection */
    K_TW_IDLE_TIMEOUT, /* server-time-wait: the server's idle keep-alive timeout */
    K_TW_REQUEST_CAP,  /* server-time-wait: requests per connection capped */
    K_TW_UNDECIDED,    /* server-time-wait: the server's knobs, cause not known */
    K_CLIENT_REUSE,    /* client-port-pressure: reuse connections (client's knob) */
    K_POOL_CLIENT,     /* close-wait-client-pool: the client pool's idle knob */
    K_POOL_SERVER,     /* close-wait-client-pool: the server's idle-close knob */
    K_CW_NOT_CLOSED,   /* close-wait-not-closed: accepted connections */
    K_CW_NOT_CLOSED_OUT, /* close-wait-not-closed: outgoing connections */
    K_CW_NOT_POLLED,   /* close-wait-not-polled */
    K_CW_BLOCKED,      /* close-wait-blocked-thread (threads or processes) */
    K_BACKLOG,         /* listen-overflow: the listen backlog knob */
    K_TW_LIFETIME,     /* server-time-wait: connections closed at an age */
    K_KA_ANNOUNCE,     /* announcing the idle timeout (Keep-Alive: timeout=N) */
    K_COUNT
};

struct cat_knob {
    const char *program; /* a program's name, a runtime's name, or "*" */
    enum cat_proto proto; /* P_NONE: any protocol */
    enum cat_situation situation;
    const char *text;
    const char *variant; /* only for this variant ("" or NULL: any) */
    /* The setting as closer probe names it in its advice ("keepalive_timeout"
     * for K_TW_IDLE_TIMEOUT; for K_TW_NO_KEEPALIVE what to do, a sentence
     * without its full stop); "" when none. A row with text "" carries only
     * this and is not the doctor's. */
    const char *setting;
};

/* Identification. The process's runtime, and its program for a role: as a
 * server (the listener's owner) or as a client speaking proto (a library
 * for that protocol in its runtime, else a tool, else the server program it
 * is, else its runtime). Never NULL. */
enum cat_runtime catalog_runtime(const struct cat_evidence *ev);
const struct cat_program *catalog_server(const struct cat_evidence *ev);
const struct cat_program *catalog_client(const struct cat_evidence *ev, enum cat_proto proto);
/* The generic program of a runtime (when the process was not read). */
const struct cat_program *catalog_runtime_program(enum cat_runtime rt);

/* The knob text for a situation: the program's own row (its variant's
 * first), then its runtime's, then the generic "*" row; the protocol's row
 * before the any-protocol one at each step. NULL when none (only for
 * situations without a generic row). */
const char *catalog_knob(const struct cat_program *p, enum cat_proto proto,
                         enum cat_situation sit);

/* The setting closer probe names for a situation (K_TW_IDLE_TIMEOUT,
 * K_TW_REQUEST_CAP, K_TW_LIFETIME, K_TW_NO_KEEPALIVE, K_KA_ANNOUNCE), in
 * the same order as catalog_knob; p NULL: the generic one. Never NULL. */
const char *catalog_setting(const struct cat_program *p, enum cat_situation sit);

/* What one HTTP answer says (probe reads the first HTTP/1.1 one). Strings
 * never NULL, "" when absent; connection is "-" when the answer was not
 * kept alive (so Connection's absence is not read from a closing reply). */
struct cat_response {
    const char *server, *via, *connection, *keep_alive;
    const char *names; /* header names in order, lower case: "date,content-length" */
};
/* The program the client's connection ends at, NULL when none is known; a
 * cache that names itself in Via is that program and the Server header's
 * program goes in *origin (else NULL). evidence: why, one line. */
const struct cat_program *catalog_from_response(const struct cat_response *r,
                                                const struct cat_program **origin,
                                                char *evidence, size_t len);

/* Protocols. */
const char *catalog_proto_name(enum cat_proto p);   /* "http"; "" for P_NONE */
enum cat_proto catalog_proto_of_port(unsigned port); /* P_NONE when not well known */
enum cat_proto catalog_proto_by_name(const char *name); /* P_NONE for NULL or unknown */
/* What a server of this protocol sends before its FIN when it ends an idle
 * connection ("" when nothing is known). */
const char *catalog_proto_goodbye(enum cat_proto p);
const char *catalog_runtime_name(enum cat_runtime rt); /* "python", "native" */

/* The length of the library marker a mapped file's basename starts with
 * ("libpq.so.5" -> 5 for "libpq"), or 0 when no catalogue row looks for
 * it. The kernel layer keeps only the libraries that identify something. */
size_t catalog_lib_marker(const char *basename);

/* Docs: the programs and their knobs, the protocols, as Markdown. */
void catalog_print_markdown(FILE *out);

/* For render.c and the tests. */
extern const struct cat_program catalog_programs[];
extern const unsigned catalog_nprograms;
extern const struct cat_knob catalog_knobs[];
extern const unsigned catalog_nknobs;
const char *catalog_situation_name(enum cat_situation s);

#endif

/* SPDX-License-Identifier: MIT */
/* The snapshot: everything closer knows about one network namespace at one
 * moment — sockets, the processes and fds that own them, which fds sit in an
 * epoll instance, the sysctls and the kernel counters. Built once per run (or
 * per tick in top/exporter); every layer above reads it and never goes back
 * to the kernel.
 *
 * Error convention: snapshot_take returns 0, or -1 with a message in err. */
#ifndef CLOSER_SNAPSHOT_H
#define CLOSER_SNAPSHOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel/diag_detail.h"
#include "kernel/procfd.h"
#include "kernel/sock.h"

/* Values of -1 mean "not available in this kernel / namespace". */
struct sysctls {
    long fin_timeout, tw_reuse, tw_reuse_delay, max_tw_buckets, max_syn_backlog,
        timestamps, syncookies, somaxconn, port_lo, port_hi, tw_recycle,
        orphan_retries, max_orphans, synack_retries;
};

/* TcpExt (/proc/net/netstat) and Tcp (/proc/net/snmp) counters; -1 = absent. */
struct tcp_counters {
    long long listen_overflows, listen_drops, tw_overflow, tw, tw_recycled,
        tw_killed, abort_on_close, abort_on_data, abort_on_linger,
        abort_on_memory, abort_on_timeout, active_opens, passive_opens,
        estab_resets, curr_estab, syncookies_sent;
    long long syncookies_recv, syncookies_failed, reqq_full_do_cookies, reqq_full_drop;
};

enum snap_source { SNAP_NETLINK, SNAP_PROC };

/* tcp_info of socket socks[sock]; the array is sorted by sock. */
struct sock_activity {
    uint32_t sock;
    struct tcp_activity a;
};

enum conn_direction { CONN_ACCEPTED, CONN_OUTGOING };

/* doctor folds TIME_WAIT past this many sockets: the size past which a
 * client TIME_WAIT pile is not looked at again either (lookagain.c), the
 * one reader that wants those sockets one by one. */
#define SNAPSHOT_FOLD_ABOVE 100000

struct snapshot_opts {
    uint32_t states;  /* mask of 1 << tcp_state; 0 = all; LISTEN is always read */
    bool owners;      /* walk /proc/PID/fd (and fdinfo for epoll) */
    bool force_proc;  /* read /proc/net/tcp{,6} even if netlink works */
    const char *replay;  /* read a recorded netlink dump instead (tests) */
    const char *record;  /* save the raw netlink dump to this file */
    /* Keep tcp_info for sockets in these states (0: do not ask the kernel
     * for it). The kernel attaches it to full sockets only, so TIME_WAIT
     * costs nothing extra; memory is one sock_activity per kept socket. */
    uint32_t info_states;
    /* Read the process model (runtime, threads) of the owners of sockets
     * in these states (0: none). */
    uint32_t model_states;
    /* Client TIME_WAIT piles of at least this many sockets whose program
     * holds no connection now are looked at again (0: never). */
    unsigned look_again_tw;
    /* Also read what ss -i and -m show (tcp_info whole, congestion control,
     * socket memory) in a dump of its own: s->details. */
    bool detail;
    /* Past this many sockets, TIME_WAIT is folded into counters while the
     * dump is read (snapshot/twfold.h) instead of kept one by one: s->twf.
     * 0: never (views that list every socket). */
    size_t fold_above;
};

/* A program found holding connections to a client TIME_WAIT pile's
 * destination when the table was read again (snapshot/lookagain.c). */
struct dest_owner {
    uint8_t family, dst[16];
    uint16_t dport;
    pid_t pid;
    uint32_t proc;        /* index into procs */
    uint32_t sockets;     /* its connections there that a look saw (distinct) */
    uint32_t looks;       /* passes over the table and the processes */
};

/* Why procs_denied processes could not be read (evidence__visibility):
 * what closer lacks, its user namespace, or a security module that refuses
 * even root with CAP_SYS_PTRACE. */
enum owners_hidden_by {
    OWNERS_HIDDEN_NONE,
    OWNERS_HIDDEN_CAPABILITY,     /* CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH missing */
    OWNERS_HIDDEN_USER_NAMESPACE, /* closer runs in a child user namespace */
    OWNERS_HIDDEN_SECURITY_MODULE,/* AppArmor, SELinux: ptrace read access refused */
    OWNERS_HIDDEN_NREASONS
};
/* The label value of a reason ("capability", ...). */
const char *owners_hidden_name(enum owners_hidden_by r);

struct tw_fold;
struct snapshot {
    struct tcp_sock *socks;
    size_t nsocks;           /* TIME_WAIT folded into twf is not among them */
    struct tw_fold *twf;     /* NULL unless opts.fold_above was passed */
    struct fd_ref *fds;      /* sorted by inode */
    size_t nfds;
    struct proc_info *procs;
    size_t nprocs;
    struct sysctls sys;
    struct tcp_counters ctr;
    enum snap_source source;
    char source_note[128];   /* why the fallback was used, if it was */
    bool owners_read;
    uint32_t procs_denied;   /* processes whose fds we could not read (this netns or unknown) */
    uint32_t procs_denied_elsewhere; /* ... known to be in another network namespace */
    struct denied_proc denied_list[PROCFD_MAX_DENIED_LISTED]; /* the first procs_denied */
    char visibility_limit[160]; /* what hides processes from closer ("" when nothing) */
    enum owners_hidden_by hidden_by; /* the same as a code (exporter labels) */
    struct sock_activity *acts; /* tcp_info, sorted by socket index */
    struct sock_detail *details; /* opts.detail: sorted (diag_detail_find) */
    size_t ndetails;
    size_t nacts;
    /* Second look: inodes that had no owner after the /proc walk and were
     * no longer in the table when asked again (closed meanwhile), sorted. */
    uint64_t *gone;
    size_t ngone;
    /* --confirm: keys (snapshot_sock_key) of the CLOSE_WAIT sockets of an
     * earlier snapshot, sorted; confirm_s > 0 when compared. */
    uint64_t *cw_before;
    size_t ncw_before;
    double confirm_s;
    struct dest_owner *dest_owners; /* look_again_tw: programs found by looking again */
    size_t ndest_owners;
    double taken_at;         /* CLOCK_REALTIME seconds */
    double took_ms;          /* time to build */
    uint8_t listen_bits[8192]; /* bitmap of listening ports */
};

/* Which sockets a view shows: states mask, family (0 = both), ports (0 =
 * any). Pure. */
struct ssf;
struct sock_filter {
    uint32_t states;
    int family;
    uint16_t sport, dport;
    const struct ssf *expr; /* an ss filter expression (snapshot/ssfilter.h), or NULL */
};
bool sock_filter_match(const struct sock_filter *f, const struct tcp_sock *s);

int snapshot_take(struct snapshot *s, const struct snapshot_opts *o, char *err, size_t errlen);
void snapshot_free(struct snapshot *s);
/* Rebuilds the derived indexes (listening ports) after the socket array was
 * filled by hand (tests, replays). fds must already be sorted by inode. */
void snapshot_reindex(struct snapshot *s);
/* Sockets in the table: nsocks plus the TIME_WAIT folded. */
size_t snapshot_total(const struct snapshot *s);

/* The fd_refs of inode (fds sorted); returns how many, *first the first. */
size_t snapshot_owners(const struct snapshot *s, uint64_t inode, const struct fd_ref **first);
/* Is port a listening port (any address, v4 or v6)? O(1) after take. */
bool snapshot_is_listen_port(const struct snapshot *s, uint16_t port);
/* Ephemeral port range size (hi - lo + 1), or 0 if unknown. */
uint32_t snapshot_ephemeral_size(const struct snapshot *s);
bool snapshot_port_ephemeral(const struct snapshot *s, uint16_t port);

/* --- evidence (snapshot/evidence.c) --- */
/* The socket's tcp_info, or NULL when the kernel gave none (TIME_WAIT, a
 * state not asked for, /proc fallback, an old recording). */
const struct tcp_activity *snapshot_activity(const struct snapshot *s, const struct tcp_sock *t);
/* Accepted: the local port is a listener's, or it is outside
 * ip_local_port_range while the peer's is inside (the listener is gone).
 * Otherwise outgoing (this host connected). */
enum conn_direction snapshot_conn_direction(const struct snapshot *s, const struct tcp_sock *t);
const char *conn_direction_name(enum conn_direction d);
/* Had no owner and was gone when looked up again: closed meanwhile, not
 * hidden. */
bool snapshot_sock_gone(const struct snapshot *s, const struct tcp_sock *t);
/* The process model of proc (NULL when it was not read). */
const struct proc_model *snapshot_model(const struct snapshot *s, uint32_t proc);
/* A key that names one connection across two snapshots: the inode, or a
 * hash of the addresses for an inode-0 socket (accept queue). */
uint64_t snapshot_sock_key(const struct tcp_sock *t);
/* Records in later which CLOSE_WAIT sockets earlier already had (the
 * --confirm second look), gap_s apart. 0, or -1 out of memory. */
int snapshot_confirm(struct snapshot *later, const struct snapshot *earlier, double gap_s);
/* The program found by looking again at a destination, or NULL. */
const struct dest_owner *snapshot_dest_owner(const struct snapshot *s, int family,
                                             const uint8_t dst[16], uint16_t dport);
/* Was this CLOSE_WAIT there at the first look too? (true when no
 * confirmation was made) */
bool snapshot_cw_persisted(const struct snapshot *s, const struct tcp_sock *t);

#endif

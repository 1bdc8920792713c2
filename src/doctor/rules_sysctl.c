/* SPDX-License-Identifier: MIT */
/* sysctl-* audit: states what each closing-related sysctl does on this
 * kernel, including the two most repeated myths. Mostly info; a warning only
 * for settings that are wrong on their face. */
#include <stdio.h>

#include "doctor/doctor.h"

static struct finding *audit(struct doctor_report *r, enum finding_id id, enum severity sev,
                             const char *sysctl, long value)
{
    struct finding *f = doctor_add(r, id, sev);
    if (f)
        finding_fact(f, sysctl, (double)value);
    return f;
}

#define ADD_OR_FAIL(f, expr)                                                                  \
    do {                                                                                      \
        if (!((f) = (expr)))                                                                  \
            return -1;                                                                        \
    } while (0)

int rules_sysctl(const struct snapshot *s, const struct doctor_opts *o, struct doctor_report *r)
{
    (void)o;
    const struct sysctls *y = &s->sys;
    struct finding *f;

    ADD_OR_FAIL(f, audit(r, F_SYSCTL_TCP_FIN_TIMEOUT, SEV_INFO, "tcp_fin_timeout", y->fin_timeout));
    snprintf(f->title, sizeof f->title,
             "net.ipv4.tcp_fin_timeout=%ld is FIN_WAIT2's timeout, not TIME_WAIT's",
             y->fin_timeout);
    snprintf(f->why, sizeof f->why,
             "It bounds how long an orphaned socket waits in FIN_WAIT2 for the peer's FIN. "
             "TIME_WAIT lasts TCP_TIMEWAIT_LEN = 60 s on Linux, a compile-time constant: no "
             "sysctl shortens it.");
    snprintf(f->fix, sizeof f->fix,
             "Lowering tcp_fin_timeout does not reduce TIME_WAIT; fix who closes first instead.");

    bool recycle_exists = y->tw_recycle >= 0;
    ADD_OR_FAIL(f, audit(r, F_SYSCTL_TCP_TW_RECYCLE,
                         recycle_exists && y->tw_recycle ? SEV_CRITICAL : SEV_INFO,
                         "tcp_tw_recycle", y->tw_recycle));
    if (recycle_exists) {
        snprintf(f->title, sizeof f->title, "net.ipv4.tcp_tw_recycle=%ld on an old kernel",
                 y->tw_recycle);
        snprintf(f->why, sizeof f->why, "tcp_tw_recycle drops SYNs from clients behind NAT "
                 "whose timestamps are not monotonic; it was removed in Linux 4.12 for that.");
        snprintf(f->fix, sizeof f->fix, "Set it to 0.");
    } else {
        snprintf(f->title, sizeof f->title,
                 "net.ipv4.tcp_tw_recycle does not exist (removed in Linux 4.12)");
        snprintf(f->why, sizeof f->why, "Advice to enable tcp_tw_recycle is obsolete: the "
                 "option broke clients behind NAT and is gone from this kernel.");
        snprintf(f->fix, sizeof f->fix, "Nothing to set; ignore guides that mention it.");
    }

    bool reuse_useless = y->tw_reuse >= 1 && y->timestamps == 0;
    ADD_OR_FAIL(f, audit(r, F_SYSCTL_TCP_TW_REUSE, reuse_useless ? SEV_WARNING : SEV_INFO,
                         "tcp_tw_reuse", y->tw_reuse));
    finding_fact(f, "tcp_timestamps", (double)y->timestamps);
    finding_fact(f, "tcp_tw_reuse_delay_ms", (double)y->tw_reuse_delay);
    snprintf(f->title, sizeof f->title, "net.ipv4.tcp_tw_reuse=%ld (%s)%s", y->tw_reuse,
             y->tw_reuse == 0   ? "off"
             : y->tw_reuse == 1 ? "on for all outgoing connections"
                                : "loopback only, the default",
             reuse_useless ? " but tcp_timestamps=0 makes it do nothing" : "");
    snprintf(f->why, sizeof f->why,
             "tcp_tw_reuse lets connect() take a local port still in TIME_WAIT towards the same "
             "destination once the timestamps prove new segments are newer. It helps only "
             "outgoing connections (client side), needs tcp_timestamps=1, and does not shorten "
             "or remove server-side TIME_WAIT.");
    snprintf(f->fix, sizeof f->fix,
             "Use 1 on hosts that open many short outgoing connections to the same ip:port, "
             "with timestamps on; a connection pool is still the real fix.");

    if (y->timestamps == 0) {
        ADD_OR_FAIL(f, audit(r, F_SYSCTL_TCP_TIMESTAMPS, SEV_WARNING, "tcp_timestamps",
                             y->timestamps));
        snprintf(f->title, sizeof f->title, "net.ipv4.tcp_timestamps=0");
        snprintf(f->why, sizeof f->why, "Without timestamps there is no PAWS protection "
                 "against old duplicates and tcp_tw_reuse cannot work.");
        snprintf(f->fix, sizeof f->fix, "Set net.ipv4.tcp_timestamps=1 (the default).");
    }

    uint32_t range = snapshot_ephemeral_size(s);
    ADD_OR_FAIL(f, audit(r, F_SYSCTL_IP_LOCAL_PORT_RANGE, SEV_INFO, "ports", range));
    finding_fact(f, "client_time_wait", (double)r->tw_client);
    snprintf(f->title, sizeof f->title,
             "net.ipv4.ip_local_port_range=%ld-%ld: %u ports per (source ip, destination ip:port)",
             y->port_lo, y->port_hi, range);
    snprintf(f->why, sizeof f->why,
             "Each outgoing connection to one destination ip:port from one source address "
             "takes a distinct local port from this range until its TIME_WAIT ends, 60 s after "
             "the close.");
    snprintf(f->fix, sizeof f->fix, "Widen it (e.g. 10000-65535) only after pooling "
             "connections; keep it clear of ports your services listen on.");

    ADD_OR_FAIL(f, audit(r, F_SYSCTL_TCP_MAX_TW_BUCKETS, SEV_INFO, "tcp_max_tw_buckets",
                         y->max_tw_buckets));
    finding_fact(f, "time_wait", (double)r->counts[TS_TIME_WAIT]);
    snprintf(f->title, sizeof f->title, "net.ipv4.tcp_max_tw_buckets=%ld, %zu TIME_WAIT now",
             y->max_tw_buckets, r->counts[TS_TIME_WAIT]);
    snprintf(f->why, sizeof f->why, "Past this cap new TIME_WAIT sockets are not created "
             "(TCPTimeWaitOverflow counts them) and those connections lose TIME_WAIT's "
             "protection.");
    snprintf(f->fix, sizeof f->fix, "Keep it well above the steady TIME_WAIT count.");

    if (y->syncookies == 0) {
        ADD_OR_FAIL(f, audit(r, F_SYSCTL_TCP_SYNCOOKIES, SEV_WARNING, "tcp_syncookies",
                             y->syncookies));
        snprintf(f->title, sizeof f->title, "net.ipv4.tcp_syncookies=0");
        snprintf(f->why, sizeof f->why, "Without syncookies a SYN flood fills the SYN queue "
                 "and legitimate clients cannot connect.");
        snprintf(f->fix, sizeof f->fix, "Set net.ipv4.tcp_syncookies=1 (the default).");
    }
    return 0;
}

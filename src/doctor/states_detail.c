/* SPDX-License-Identifier: MIT */
/* closer states -i and -m: the line ss prints under each socket, in ss's
 * words and order (iproute2 6.1 misc/ss.c tcp_show_info and
 * tcp_stats_print), so a grep or an awk written for ss works on it.
 * Left out: the congestion control's own block (bbr:(...), dctcp:(...)),
 * which ss reads from attributes closer does not ask for. */
#include "doctor/states_detail.h"

#include <linux/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct line {
    char *buf;
    size_t cap, len;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct line *l, const char *fmt, ...)
{
    if (l->len >= l->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, l->cap - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < l->cap - l->len ? (size_t)n : l->cap - l->len - 1;
}

static void mem_text(struct line *l, const uint32_t *m)
{
    add(l, " skmem:(r%u,rb%u,t%u,tb%u,f%u,w%u,o%u,bl%u,d%u)", m[0], m[1], m[2], m[3], m[4], m[5],
        m[6], m[7], m[8]);
}

/* The options and timings, up to the byte and segment counts. */
/* The negotiated TCP options: ss prints them only with -o or -e. */
static void info_options(struct line *l, const struct tcp_info *i)
{
    if (i->tcpi_options & TCPI_OPT_TIMESTAMPS) add(l, " ts");
    if (i->tcpi_options & TCPI_OPT_SACK) add(l, " sack");
    if (i->tcpi_options & TCPI_OPT_ECN) add(l, " ecn");
    if (i->tcpi_options & TCPI_OPT_ECN_SEEN) add(l, " ecnseen");
    if (i->tcpi_options & TCPI_OPT_SYN_DATA) add(l, " fastopen");
}

static void info_head(struct line *l, const struct tcp_info *i, const char *cong, bool options)
{
    if (options) info_options(l, i);
    if (cong[0]) add(l, " %s", cong);
    if (i->tcpi_options & TCPI_OPT_WSCALE)
        add(l, " wscale:%d,%d", i->tcpi_snd_wscale, i->tcpi_rcv_wscale);
    if (i->tcpi_rto && i->tcpi_rto != 3000000) add(l, " rto:%g", i->tcpi_rto / 1000.0);
    if (i->tcpi_backoff) add(l, " backoff:%u", i->tcpi_backoff);
    if (i->tcpi_rtt) add(l, " rtt:%g/%g", i->tcpi_rtt / 1000.0, i->tcpi_rttvar / 1000.0);
    if (i->tcpi_ato) add(l, " ato:%g", i->tcpi_ato / 1000.0);
    if (i->tcpi_snd_mss) add(l, " mss:%d", (int)i->tcpi_snd_mss);
    if (i->tcpi_pmtu) add(l, " pmtu:%u", i->tcpi_pmtu);
    if (i->tcpi_rcv_mss) add(l, " rcvmss:%d", (int)i->tcpi_rcv_mss);
    if (i->tcpi_advmss) add(l, " advmss:%d", (int)i->tcpi_advmss);
    if (i->tcpi_snd_cwnd) add(l, " cwnd:%u", i->tcpi_snd_cwnd);
    if (i->tcpi_snd_ssthresh < 0xFFFF && i->tcpi_snd_ssthresh) add(l, " ssthresh:%d", (int)i->tcpi_snd_ssthresh);
    if (i->tcpi_bytes_sent) add(l, " bytes_sent:%llu", (unsigned long long)i->tcpi_bytes_sent);
    if (i->tcpi_bytes_retrans) add(l, " bytes_retrans:%llu", (unsigned long long)i->tcpi_bytes_retrans);
    if (i->tcpi_bytes_acked) add(l, " bytes_acked:%llu", (unsigned long long)i->tcpi_bytes_acked);
    if (i->tcpi_bytes_received) add(l, " bytes_received:%llu", (unsigned long long)i->tcpi_bytes_received);
    if (i->tcpi_segs_out) add(l, " segs_out:%u", i->tcpi_segs_out);
    if (i->tcpi_segs_in) add(l, " segs_in:%u", i->tcpi_segs_in);
    if (i->tcpi_data_segs_out) add(l, " data_segs_out:%u", i->tcpi_data_segs_out);
    if (i->tcpi_data_segs_in) add(l, " data_segs_in:%u", i->tcpi_data_segs_in);
}

/* Rates, idle times and the loss counters (bits per second as ss prints
 * them without -H: whole numbers). */
static void info_tail(struct line *l, const struct tcp_info *i, uint8_t state)
{
    if (i->tcpi_rtt && i->tcpi_snd_mss && i->tcpi_snd_cwnd)
        add(l, " send %.0fbps", (double)i->tcpi_snd_cwnd * i->tcpi_snd_mss * 8000000. / i->tcpi_rtt);
    if (i->tcpi_last_data_sent) add(l, " lastsnd:%u", i->tcpi_last_data_sent);
    if (i->tcpi_last_data_recv) add(l, " lastrcv:%u", i->tcpi_last_data_recv);
    if (i->tcpi_last_ack_recv) add(l, " lastack:%u", i->tcpi_last_ack_recv);
    if (i->tcpi_pacing_rate && i->tcpi_pacing_rate != ~0ULL) {
        add(l, " pacing_rate %.0fbps", i->tcpi_pacing_rate * 8.);
        if (i->tcpi_max_pacing_rate && i->tcpi_max_pacing_rate != ~0ULL)
            add(l, "/%.0fbps", i->tcpi_max_pacing_rate * 8.);
    }
    if (i->tcpi_delivery_rate) add(l, " delivery_rate %.0fbps", i->tcpi_delivery_rate * 8.);
    if (i->tcpi_delivered) add(l, " delivered:%u", i->tcpi_delivered);
    if (i->tcpi_delivered_ce) add(l, " delivered_ce:%u", i->tcpi_delivered_ce);
    if (i->tcpi_delivery_rate_app_limited) add(l, " app_limited");
    if (i->tcpi_busy_time) {
        add(l, " busy:%llums", (unsigned long long)i->tcpi_busy_time / 1000);
        if (i->tcpi_rwnd_limited)
            add(l, " rwnd_limited:%llums(%.1f%%)", (unsigned long long)i->tcpi_rwnd_limited / 1000,
                100.0 * i->tcpi_rwnd_limited / i->tcpi_busy_time);
        if (i->tcpi_sndbuf_limited)
            add(l, " sndbuf_limited:%llums(%.1f%%)", (unsigned long long)i->tcpi_sndbuf_limited / 1000,
                100.0 * i->tcpi_sndbuf_limited / i->tcpi_busy_time);
    }
    if (i->tcpi_unacked) add(l, " unacked:%u", i->tcpi_unacked);
    if (i->tcpi_retrans || i->tcpi_total_retrans) add(l, " retrans:%u/%u", i->tcpi_retrans, i->tcpi_total_retrans);
    if (i->tcpi_lost) add(l, " lost:%u", i->tcpi_lost);
    if (i->tcpi_sacked && state != TS_LISTEN) add(l, " sacked:%u", i->tcpi_sacked);
    if (i->tcpi_dsack_dups) add(l, " dsack_dups:%u", i->tcpi_dsack_dups);
    if (i->tcpi_fackets) add(l, " fackets:%u", i->tcpi_fackets);
    if (i->tcpi_reordering != 3) add(l, " reordering:%d", (int)i->tcpi_reordering);
    if (i->tcpi_reord_seen) add(l, " reord_seen:%d", (int)i->tcpi_reord_seen);
    if (i->tcpi_rcv_rtt) add(l, " rcv_rtt:%g", i->tcpi_rcv_rtt / 1000.0);
    if (i->tcpi_rcv_space) add(l, " rcv_space:%d", (int)i->tcpi_rcv_space);
    if (i->tcpi_rcv_ssthresh) add(l, " rcv_ssthresh:%u", i->tcpi_rcv_ssthresh);
    if (i->tcpi_notsent_bytes) add(l, " notsent:%u", i->tcpi_notsent_bytes);
    if (i->tcpi_min_rtt) add(l, " minrtt:%g", i->tcpi_min_rtt / 1000.0);
    if (i->tcpi_rcv_ooopack) add(l, " rcv_ooopack:%u", i->tcpi_rcv_ooopack);
    if (i->tcpi_snd_wnd) add(l, " snd_wnd:%u", i->tcpi_snd_wnd);
}

size_t states_detail_text(char *buf, size_t cap, const struct sock_detail *d, bool info, bool mem,
                          bool options)
{
    struct line l = {buf, cap, 0};
    if (cap) buf[0] = 0;
    if (!d) return 0;
    if (mem && d->has_mem) mem_text(&l, d->mem);
    if (info && d->has_info) {
        info_head(&l, &d->info, d->cong, options);
        info_tail(&l, &d->info, d->state);
    } else if (info && d->cong[0]) {
        add(&l, " %s", d->cong);
    }
    return l.len;
}

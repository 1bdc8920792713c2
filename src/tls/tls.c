/* SPDX-License-Identifier: MIT */
#include "tls/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* TLSv1.3 tickets are single use (RFC 8446 C.4; OpenSSL marks one used
 * once offered), and servers send two per connection: keep the newest few
 * and offer each once. TLSv1.2 sessions stay and are offered again. */
#define TLS_SESSIONS 16

struct tls_ctx {
    SSL_CTX *ssl;
    SSL_SESSION *sessions[TLS_SESSIONS]; /* oldest first */
    unsigned nsessions;
    bool no_resume;
    uint64_t sessions_kept;
};

struct tls_conn {
    SSL *ssl;
    struct tls_ctx *ctx;
    struct tls_info info;
    char err[200];
};

/* Where a new session ticket goes: the connection's context (ex_data would
 * need a global index; the SSL_CTX's app data is per context). */
static int on_new_session(SSL *ssl, SSL_SESSION *s)
{
    struct tls_ctx *x = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (!x || x->no_resume)
        return 0;
    if (x->nsessions == TLS_SESSIONS) {
        SSL_SESSION_free(x->sessions[0]);
        memmove(x->sessions, x->sessions + 1, (TLS_SESSIONS - 1) * sizeof x->sessions[0]);
        x->nsessions--;
    }
    x->sessions[x->nsessions++] = s;
    x->sessions_kept++;
    return 1; /* we keep the reference */
}

/* "h2,http/1.1" -> the wire form: length-prefixed names. */
static int alpn_wire(const char *list, unsigned char *out, size_t cap, size_t *len)
{
    *len = 0;
    while (*list) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        if (n == 0 || n > 255 || *len + 1 + n > cap)
            return -1;
        out[(*len)++] = (unsigned char)n;
        memcpy(out + *len, list, n);
        *len += n;
        list += n + (end != NULL);
    }
    return 0;
}

static void openssl_error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "%s%s%s", what, *buf ? ": " : "", buf);
    ERR_clear_error();
}

struct tls_ctx *tls_ctx_new(const struct tls_cfg *cfg, char *err, size_t errlen)
{
    struct tls_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->no_resume = cfg->no_resume;
    x->ssl = SSL_CTX_new(TLS_client_method());
    if (!x->ssl) {
        openssl_error(err, errlen, "TLS context");
        free(x);
        return NULL;
    }
    SSL_CTX_set_app_data(x->ssl, x);
    SSL_CTX_set_min_proto_version(x->ssl, TLS1_2_VERSION);
    /* A partial write is retried with the same buffer; it may have moved. */
    SSL_CTX_set_mode(x->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(x->ssl, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(x->ssl, on_new_session);
    if (!cfg->insecure) {
        SSL_CTX_set_verify(x->ssl, SSL_VERIFY_PEER, NULL);
        int ok = cfg->cacert ? SSL_CTX_load_verify_locations(x->ssl, cfg->cacert, NULL)
                             : SSL_CTX_set_default_verify_paths(x->ssl);
        if (ok != 1) {
            char what[300];
            snprintf(what, sizeof what, "cannot load CA certificates%s%s",
                     cfg->cacert ? " from " : "", cfg->cacert ? cfg->cacert : "");
            openssl_error(err, errlen, what);
            tls_ctx_free(x);
            return NULL;
        }
    }
    if (cfg->alpn) {
        unsigned char wire[256];
        size_t len;
        if (alpn_wire(cfg->alpn, wire, sizeof wire, &len) < 0 ||
            SSL_CTX_set_alpn_protos(x->ssl, wire, (unsigned)len) != 0) {
            snprintf(err, errlen, "bad ALPN list '%s'", cfg->alpn);
            tls_ctx_free(x);
            return NULL;
        }
    }
    return x;
}

void tls_ctx_free(struct tls_ctx *x)
{
    if (!x)
        return;
    for (unsigned i = 0; i < x->nsessions; i++)
        SSL_SESSION_free(x->sessions[i]);
    SSL_CTX_free(x->ssl);
    free(x);
}

uint64_t tls_ctx_sessions_kept(const struct tls_ctx *x)
{
    return x ? x->sessions_kept : 0;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The newest resumable session, taken from the pool unless it may be
 * offered again (TLSv1.2). */
static void offer_session(struct tls_ctx *x, struct tls_conn *c)
{
    while (!x->no_resume && x->nsessions) {
        SSL_SESSION *s = x->sessions[--x->nsessions];
        bool ok = SSL_SESSION_is_resumable(s) == 1;
        if (ok) {
            SSL_set_session(c->ssl, s); /* takes its own reference */
            c->info.offered = true;
        }
        if (ok && SSL_SESSION_get_protocol_version(s) < TLS1_3_VERSION) {
            x->nsessions++; /* stays: TLSv1.2 sessions are reusable */
            return;
        }
        SSL_SESSION_free(s);
        if (ok)
            return;
    }
}

struct tls_conn *tls_conn_new(struct tls_ctx *x, int fd, const char *host)
{
    struct tls_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ctx = x;
    c->ssl = SSL_new(x->ssl);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        tls_conn_free(c);
        return NULL;
    }
    SSL_set_connect_state(c->ssl);
    char bare[256];
    snprintf(bare, sizeof bare, "%s", host ? host : "");
    size_t n = strlen(bare);
    if (n >= 2 && bare[0] == '[' && bare[n - 1] == ']') { /* "[::1]" */
        memmove(bare, bare + 1, n - 2);
        bare[n - 2] = 0;
    }
    if (is_ip_literal(bare)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), bare);
    } else if (*bare) {
        SSL_set_tlsext_host_name(c->ssl, bare);
        SSL_set1_host(c->ssl, bare);
    }
    offer_session(x, c);
    return c;
}

void tls_conn_free(struct tls_conn *c)
{
    if (!c)
        return;
    /* OpenSSL marks the session of a connection freed before it sent its
     * own close_notify as not resumable (SSL 3.0's rule, dropped by RFC
     * 5246 7.2.1), and in TLSv1.3 that session is the newest ticket. A
     * server that closed with close_notify ended cleanly, whether or not
     * this client answered it: its ticket stays good. Without this, load
     * --close-header --close-wait 1s against nginx resumed 115 of 200
     * connections (196 with the client closing first). */
    if (c->ssl && c->info.peer_close_notify)
        SSL_set_shutdown(c->ssl, SSL_get_shutdown(c->ssl) | SSL_SENT_SHUTDOWN);
    SSL_free(c->ssl);
    free(c);
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What an OpenSSL failure means for the connection's end. */
static enum tls_io classify(struct tls_conn *c, int ret, int saved_errno)
{
    int e = SSL_get_error(c->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        if (!c->info.peer_close_notify) {
            c->info.peer_close_notify = true;
            c->info.peer_close_notify_ns = mono_ns();
        }
        return TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (saved_errno == ECONNRESET || saved_errno == EPIPE)
            return TLS_RESET;
        if (saved_errno == 0) { /* EOF without close_notify (OpenSSL 1.1 style) */
            c->info.truncated = !c->info.peer_close_notify;
            return TLS_EOF;
        }
        snprintf(c->err, sizeof c->err, "%s", strerror(saved_errno));
        errno = saved_errno;
        return TLS_FAIL;
    default: {
        unsigned long err = ERR_peek_error();
        if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            c->info.truncated = !c->info.peer_close_notify;
            return TLS_EOF;
        }
        long v = SSL_get_verify_result(c->ssl);
        int reason = ERR_GET_REASON(err);
        if (!c->info.done && (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG))
            snprintf(c->err, sizeof c->err, "the server's answer is not TLS (is this port plain "
                     "HTTP? try http://)");
        else if (!c->info.done && v != X509_V_OK)
            snprintf(c->err, sizeof c->err, "certificate verification failed: %s (use --cacert FILE, or -k to skip)",
                     X509_verify_cert_error_string(v));
        else
            openssl_error(c->err, sizeof c->err, c->info.done ? "record failure" : "handshake failed");
        ERR_clear_error();
        errno = EPROTO;
        return TLS_FAIL;
    }
    }
}

static void fill_info(struct tls_conn *c)
{
    struct tls_info *i = &c->info;
    i->done = true;
    i->resumed = SSL_session_reused(c->ssl) == 1;
    snprintf(i->version, sizeof i->version, "%s", SSL_get_version(c->ssl));
    snprintf(i->cipher, sizeof i->cipher, "%s", SSL_get_cipher_name(c->ssl));
    const unsigned char *p = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(c->ssl, &p, &len);
    if (len >= sizeof i->alpn)
        len = sizeof i->alpn - 1;
    for (unsigned k = 0; k < len; k++) /* printable only: it reaches JSON and terminals */
        i->alpn[k] = p[k] >= 0x20 && p[k] < 0x7f ? (char)p[k] : '?';
    i->alpn[len] = 0;
}

enum tls_io tls_handshake(struct tls_conn *c)
{
    if (c->info.done)
        return TLS_OK;
    uint64_t t0 = thread_cpu_ns();
    ERR_clear_error();
    errno = 0;
    int ret = SSL_do_handshake(c->ssl);
    int saved = errno;
    c->info.handshake_cpu_ns += thread_cpu_ns() - t0;
    if (ret == 1) {
        fill_info(c);
        return TLS_OK;
    }
    enum tls_io r = classify(c, ret, saved);
    if (r == TLS_EOF || r == TLS_CLOSED) {
        snprintf(c->err, sizeof c->err, "the server closed the connection during the TLS handshake");
        c->info.truncated = false; /* not a truncated response: no TLS session at all */
    } else if (r == TLS_RESET) {
        snprintf(c->err, sizeof c->err, "the server reset the connection during the TLS handshake");
    }
    return r;
}

enum tls_io tls_read(struct tls_conn *c, void *buf, size_t len, size_t *n)
{
    *n = 0;
    ERR_clear_error();
    errno = 0;
    int ret = SSL_read_ex(c->ssl, buf, len, n);
    if (ret == 1)
        return TLS_OK;
    return classify(c, ret, errno);
}

enum tls_io tls_peek(struct tls_conn *c, void *buf, size_t len, size_t *n)
{
    *n = 0;
    ERR_clear_error();
    errno = 0;
    int ret = SSL_peek_ex(c->ssl, buf, len, n);
    if (ret == 1)
        return TLS_OK;
    return classify(c, ret, errno);
}

enum tls_io tls_write(struct tls_conn *c, const void *buf, size_t len, size_t *n)
{
    *n = 0;
    if (len == 0)
        return TLS_OK;
    ERR_clear_error();
    errno = 0;
    int ret = SSL_write_ex(c->ssl, buf, len, n);
    if (ret == 1)
        return TLS_OK;
    return classify(c, ret, errno);
}

void tls_send_close_notify(struct tls_conn *c)
{
    if (c->info.sent_close_notify || !c->info.done)
        return;
    ERR_clear_error();
    SSL_shutdown(c->ssl); /* sends ours; never waits for the peer's */
    ERR_clear_error();
    c->info.sent_close_notify = true;
}

bool tls_pending(const struct tls_conn *c)
{
    return SSL_pending(c->ssl) > 0;
}

const struct tls_info *tls_conn_info(const struct tls_conn *c)
{
    return &c->info;
}

const char *tls_conn_error(const struct tls_conn *c)
{
    return c->err[0] ? c->err : "TLS failure";
}

/* SPDX-License-Identifier: MIT */
#include "http/request.h"

#include <ctype.h>
#include <string.h>

/* Byte classes in one table: one load and one test per byte, asked of
 * every byte of the method, the target, each header name and the Host
 * value. The scans below need no length check either: each stops at the
 * CR that ends its line (line_end has found it), and CR, SP and HTAB are
 * in no class. */
enum {
    C_TCHAR = 1,  /* RFC 9110 tchar: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~ */
    C_HOST = 2,   /* RFC 3986 reg-name: unreserved and sub-delims, without '.' and
                   * '%', whose places are checked apart (pct-encoded) */
    C_METHOD = 4, /* upper case, '_' and '-' */
    C_URI = 8,    /* visible ASCII but '#' */
    C_DIGIT = 16,
};
#define IS_ALPHA_(c) (((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))
#define IS_DIGIT_(c) ((c) >= '0' && (c) <= '9')
#define IS_TCHAR_(c)                                                                            \
    (IS_ALPHA_(c) || IS_DIGIT_(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||    \
     (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||       \
     (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_HOST_(c)                                                                             \
    (IS_ALPHA_(c) || IS_DIGIT_(c) || (c) == '-' || (c) == '_' || (c) == '~' || (c) == '!' ||    \
     (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' || (c) == '*' ||       \
     (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=')
#define IS_METHOD_(c) (((c) >= 'A' && (c) <= 'Z') || (c) == '_' || (c) == '-')
#define IS_URI_(c) ((c) > 0x20 && (c) < 0x7f && (c) != '#')
#define CLS_(c)                                                                                 \
    ((IS_TCHAR_(c) ? C_TCHAR : 0) | (IS_HOST_(c) ? C_HOST : 0) | (IS_METHOD_(c) ? C_METHOD : 0) | \
     (IS_URI_(c) ? C_URI : 0) | (IS_DIGIT_(c) ? C_DIGIT : 0))
#define CLS4_(c) CLS_(c), CLS_((c) + 1), CLS_((c) + 2), CLS_((c) + 3)
#define CLS16_(c) CLS4_(c), CLS4_((c) + 4), CLS4_((c) + 8), CLS4_((c) + 12)
#define CLS64_(c) CLS16_(c), CLS16_((c) + 16), CLS16_((c) + 32), CLS16_((c) + 48)
static const unsigned char cls[256] = {CLS64_(0), CLS64_(64), CLS64_(128), CLS64_(192)};

static inline bool is(unsigned char c, unsigned class) { return cls[c] & class; }

/* Eight bytes at a time (SWAR): a flag in the high bit of every byte of x
 * that is zero. Flags above the first zero byte may be false (a borrow), so
 * only the lowest is an answer, and "none" is exact. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t zero_bytes(uint64_t x) { return (x - ONES) & ~x & HIGHS; }
static inline uint64_t load8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}
#define SWAR (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) /* the lowest flag is the first byte */

/* Finds the end of the line starting at from: returns the index of the LF,
 * or -2 when absent, -1 on a CR not followed by LF (bare CR) or an LF
 * without its CR (bare LF). RFC 9112 2.2 lets a recipient accept a bare LF;
 * closer does not, since parsers that disagree on line ends are how
 * requests get smuggled past a proxy (llhttp's strict mode agrees). One
 * pass for the first CR or LF, a word at a time: in a good line that is
 * the CR right before the LF. */
static inline __attribute__((always_inline)) long line_end(const char *buf, size_t from, size_t len)
{
    size_t i = from;
    /* Words with no byte below 0x0e (CR is 0x0d, LF 0x0a) are skipped with
     * one test; in a word with one, the first such byte is looked at: a
     * CR or LF ends the scan, another (HTAB in a value, or a control byte
     * a later check rejects) does not. */
    if (SWAR)
        while (i + 8 <= len) {
            uint64_t x = load8(buf + i);
            uint64_t m = (x - ONES * 0x0e) & ~x & HIGHS;
            if (!m) {
                i += 8;
                continue;
            }
            i += (size_t)__builtin_ctzll(m) / 8;
            if (buf[i] == '\r' || buf[i] == '\n')
                break;
            i++;
        }
    while (i < len && buf[i] != '\r' && buf[i] != '\n')
        i++;
    if (i == len)
        return -2;
    if (buf[i] == '\n')
        return -1; /* no CR before it */
    if (i + 1 == len)
        return -2; /* a CR that may still get its LF */
    return buf[i + 1] == '\n' ? (long)(i + 1) : -1;
}

/* A field value holds no control character but HTAB (and no DEL). Words
 * with none are skipped at once; the rest is looked at byte by byte. */
static bool value_ok(const char *b, size_t k, size_t end)
{
#define CONTROL_IN(x) ((((x) - ONES * 0x20) & ~(x) & HIGHS) | zero_bytes((x) ^ (ONES * 0x7f)))
    if (SWAR && end - k >= 8) {
        /* some byte < 0x20 (exact for any n <= 0x80), or a DEL */
        for (; k + 8 <= end; k += 8)
            if (CONTROL_IN(load8(b + k)))
                break;
        /* The last bytes as the word that ends the value (it overlaps
         * bytes already found clean). */
        if (k + 8 > end && !CONTROL_IN(load8(b + end - 8)))
            return true;
    }
#undef CONTROL_IN
    for (; k < end; k++) {
        unsigned char c = (unsigned char)b[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static size_t trim_cr(const char *buf, size_t start, size_t lf)
{
    return lf > start && buf[lf - 1] == '\r' ? lf - 1 : lf;
}

static int fail(struct http_request *r, int status)
{
    r->status = status;
    return -1;
}

/* RFC 9112 3.2: origin-form ("/path"), absolute-form ("scheme://..."),
 * asterisk-form ("*"). Authority-form is CONNECT's, and closer is no proxy. */
static bool target_form_ok(struct slice t)
{
    if (t.ptr[0] == '/' || (t.len == 1 && t.ptr[0] == '*'))
        return true;
    size_t i = 0;
    while (i < t.len && (isalnum((unsigned char)t.ptr[i]) || t.ptr[i] == '+' ||
                         t.ptr[i] == '-' || t.ptr[i] == '.'))
        i++;
    if (!(i > 0 && isalpha((unsigned char)t.ptr[0]) && t.len - i > 3 &&
          memcmp(t.ptr + i, "://", 3) == 0))
        return false;
    /* The authority (RFC 3986 3.2): unreserved, pct-encoded, sub-delims,
     * ':', '@', '[' and ']' up to the path or query. */
    int ats = 0; /* userinfo "@" host: one at most */
    for (i += 3; i < t.len && t.ptr[i] != '/' && t.ptr[i] != '?'; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        if (c == '@' && ++ats > 1)
            return false;
        if (c == '%') {
            if (i + 2 >= t.len || !isxdigit((unsigned char)t.ptr[i + 1]) ||
                !isxdigit((unsigned char)t.ptr[i + 2]))
                return false;
            i += 2;
        } else if (!isalnum(c) && (!c || !strchr("-._~!$&'()*+,;=:@[]", c))) {
            return false;
        }
    }
    return true;
}

/* The Host value (RFC 9110 7.2): uri-host [":" port], where uri-host is an
 * IP-literal in brackets or a reg-name (RFC 3986 3.2.2). As nginx, also no
 * empty host, no leading dot and no ".." (it would name a directory).
 * v.ptr[v.len] is the SP, HTAB or CR after the value (in no class): the
 * reg-name and port scans stop there. */
static bool host_ok(struct slice v)
{
    const unsigned char *p = (const unsigned char *)v.ptr;
    size_t i = 0;
    if (v.len && v.ptr[0] == '[') {
        for (i = 1; i < v.len && v.ptr[i] != ']'; i++)
            if (!isxdigit(p[i]) && p[i] != ':' && p[i] != '.' && p[i] != 'v' && p[i] != 'V')
                return false;
        if (i == v.len || i == 1)
            return false;
        i++;
    } else {
        for (;;) {
            while (is(p[i], C_HOST))
                i++;
            if (i == v.len || p[i] == ':')
                break;
            if (p[i] == '.') {
                if (i == 0 || p[i - 1] == '.')
                    return false;
                i++;
            } else if (p[i] == '%') {
                if (i + 2 >= v.len || !isxdigit(p[i + 1]) || !isxdigit(p[i + 2]))
                    return false;
                i += 3;
            } else {
                return false;
            }
        }
        if (i == 0)
            return false;
    }
    if (i == v.len)
        return true;
    if (p[i] != ':' || v.len - i - 1 > 5)
        return false;
    size_t port = ++i;
    while (is(p[i], C_DIGIT))
        i++;
    return i == v.len && i - port <= 5;
}

/* Methods are case-sensitive (RFC 9110 9.1) and every registered one is
 * upper case: "head" is not HEAD, and a proxy that forwards it as an
 * unknown method could frame the response differently. As nginx: 400.
 * b[end] is the line's CR (the scans stop there). */
static int parse_request_line(const char *b, size_t end, struct http_request *r,
                              const struct http_limits *lim)
{
    const unsigned char *u = (const unsigned char *)b;
    size_t i = 0;
    if (end >= 4 && !memcmp(b, "GET ", 4)) /* most requests: the scan's answer at once */
        i = 3;
    else
        while (is(u[i], C_METHOD))
            i++;
    if (i == 0 || b[i] != ' ')
        return fail(r, 400);
    r->method = (struct slice){b, i};
    /* "PRI" is the HTTP/2 connection preface (RFC 9113 3.4), never an
     * HTTP/1.1 method: a client that sends it does not speak 1.1. */
    if (i == 3 && memcmp(b, "PRI", 3) == 0)
        return fail(r, 400);
    size_t t = ++i;
    /* URI syntax is visible ASCII; raw bytes >= 0x7f must be
     * percent-encoded (llhttp agrees). A request target never carries a
     * fragment (RFC 9112 3.2: no "#" in any of its forms). */
    while (is(u[i], C_URI))
        i++;
    if (i < end && b[i] != ' ')
        return fail(r, 400);
    if (i - t > lim->max_uri)
        return fail(r, 414);
    if (i == t || i >= end)
        return fail(r, 400);
    r->target = (struct slice){b + t, i - t};
    if (!target_form_ok(r->target))
        return fail(r, 400);
    i++;
    if (end - i == 8 && !memcmp(b + i, "HTTP/1.1", 8)) { /* most requests: one compare */
        r->minor = 1;
        return 0;
    }
    if (end - i != 8 || memcmp(b + i, "HTTP/", 5) != 0 || b[i + 6] != '.' ||
        b[i + 5] < '0' || b[i + 5] > '9' || b[i + 7] < '0' || b[i + 7] > '9')
        return fail(r, 400);
    if (b[i + 5] != '1')
        return fail(r, 505);
    r->minor = b[i + 7] - '0';
    return r->minor > 1 ? fail(r, 505) : 0;
}

static int parse_content_length(struct slice v, uint64_t *out)
{
    if (v.len == 0 || v.len > 18)
        return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    *out = n;
    return 0;
}

/* Comma-separated tokens of Connection. */
static unsigned connection_tokens(struct slice v)
{
    unsigned m = 0;
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t' || v.ptr[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.ptr[i] != ',' && v.ptr[i] != ' ' && v.ptr[i] != '\t')
            i++;
        struct slice tok = {v.ptr + s, i - s};
        if (slice_eq_ci(tok, "close"))
            m |= CONN_HDR_CLOSE;
        else if (slice_eq_ci(tok, "keep-alive"))
            m |= CONN_HDR_KEEPALIVE;
    }
    return m;
}

/* A header name (tchar bytes only) against a lower-case literal of letters
 * and '-', a word at a time: b | 0x20 is b's lower case for a letter,
 * leaves '-' as it is, and maps no other tchar byte to a letter or '-'
 * (only CR, never in a name, would become '-'). len >= 4. */
static inline bool name_is(struct slice n, const char *lit, size_t len)
{
    if (n.len != len)
        return false;
    if (len < 8) {
        uint32_t a, b, c, d;
        memcpy(&a, n.ptr, 4), memcpy(&b, lit, 4);
        memcpy(&c, n.ptr + len - 4, 4), memcpy(&d, lit + len - 4, 4);
        return (a | 0x20202020u) == b && (c | 0x20202020u) == d;
    }
    size_t i = 0;
    for (; i + 8 < len; i += 8)
        if ((load8(n.ptr + i) | ONES * 0x20) != load8(lit + i))
            return false;
    return (load8(n.ptr + len - 8) | ONES * 0x20) == load8(lit + len - 8);
}
#define NAME_IS(n, lit) name_is(n, lit, sizeof lit - 1)

/* Applies what a header means for framing and persistence. */
static int interpret(struct http_request *r, const struct http_header *h, bool *seen_cl,
                     bool *seen_te, bool *seen_host)
{
    if (h->name.len != 4 && h->name.len != 6 && h->name.len != 10 && h->name.len != 14 &&
        h->name.len != 17)
        return 0; /* none of those below */
    if (NAME_IS(h->name, "content-length")) {
        if (*seen_cl || parse_content_length(h->value, &r->content_length) < 0)
            return fail(r, 400);
        *seen_cl = true;
    } else if (NAME_IS(h->name, "transfer-encoding")) {
        if (*seen_te)
            return fail(r, 400);
        *seen_te = true;
        if (!slice_eq_ci(h->value, "chunked"))
            return fail(r, 501);
    } else if (NAME_IS(h->name, "host")) {
        if (*seen_host)
            return fail(r, 400);
        *seen_host = true;
        r->host = h->value;
        if (!host_ok(h->value))
            return fail(r, 400);
    } else if (NAME_IS(h->name, "connection")) {
        r->connection |= connection_tokens(h->value);
    } else if (NAME_IS(h->name, "expect")) {
        if (!slice_eq_ci(h->value, "100-continue"))
            return fail(r, 417);
        r->expect_continue = true;
    } else if (NAME_IS(h->name, "if-modified-since")) {
        r->if_modified_since = h->value;
    }
    return 0;
}

static int parse_header(const char *b, size_t s, size_t end, struct http_header *h)
{
    if (b[s] == ' ' || b[s] == '\t')
        return -1; /* obs-fold */
    size_t i = s;
    while (is((unsigned char)b[i], C_TCHAR)) /* b[end] is the CR */
        i++;
    if (i == s || b[i] != ':')
        return -1; /* empty name, or whitespace/garbage before the colon */
    h->name = (struct slice){b + s, i - s};
    i++;
    /* A tab around a framing value is OWS to RFC 9110 but not to every
     * parser (llhttp keeps it, and then "chunked\t" is not chunked): a
     * framing disagreement with a proxy in front is a smuggling vector. */
    if ((NAME_IS(h->name, "content-length") || NAME_IS(h->name, "transfer-encoding")) &&
        memchr(b + i, '\t', end - i))
        return -1;
    while (i < end && (b[i] == ' ' || b[i] == '\t'))
        i++;
    size_t v = i, vend = end;
    while (vend > v && (b[vend - 1] == ' ' || b[vend - 1] == '\t'))
        vend--;
    /* Host's value is checked byte by byte by host_ok, which rejects every
     * control byte (and HTAB) with the same 400: not scanned twice. */
    if (!NAME_IS(h->name, "host") && !value_ok(b, v, vend))
        return -1;
    h->value = (struct slice){b + v, vend - v};
    return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_request *r,
                       const struct http_limits *lim)
{
    memset(r, 0, offsetof(struct http_request, headers));
    r->nheaders = 0;
    r->body = BODY_NONE;
    r->content_length = 0;
    r->connection = 0;
    r->expect_continue = false;
    r->host = r->if_modified_since = (struct slice){0};
    r->status = 0;
    size_t pos = 0;
    /* RFC 9112 2.2: ignore at least one empty line (CRLF) before the request. */
    while (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n' && pos < 4)
        pos += 2;
    long lf = line_end(buf, pos, len);
    if (lf == -1)
        return fail(r, 400);
    if (lf == -2) {
        if (len - pos > lim->max_uri + 64)
            return fail(r, 414);
        return -2;
    }
    if (parse_request_line(buf + pos, trim_cr(buf, pos, (size_t)lf) - pos, r, lim) < 0)
        return -1;
    bool seen_cl = false, seen_te = false, seen_host = false;
    pos = (size_t)lf + 1;
    for (;;) {
        /* The empty line that ends the head, as line_end would find it. */
        if (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
            lf = (long)pos + 1;
        else
            lf = line_end(buf, pos, len);
        if (lf == -1)
            return fail(r, 400);
        if (lf == -2)
            return len > lim->max_head ? fail(r, 431) : -2;
        if ((size_t)lf + 1 > lim->max_head)
            return fail(r, 431);
        size_t end = trim_cr(buf, pos, (size_t)lf);
        if (end == pos)
            break; /* the empty line ends the head */
        if (r->nheaders == HTTP_MAX_HEADERS)
            return fail(r, 431);
        struct http_header *h = &r->headers[r->nheaders];
        if (parse_header(buf, pos, end, h) < 0)
            return fail(r, 400);
        r->nheaders++;
        if (interpret(r, h, &seen_cl, &seen_te, &seen_host) < 0)
            return -1;
        pos = (size_t)lf + 1;
    }
    if (seen_cl && seen_te)
        return fail(r, 400);
    if (seen_te && r->minor == 0)
        return fail(r, 400);
    if (r->minor == 1 && !seen_host)
        return fail(r, 400);
    r->body = seen_te ? BODY_CHUNKED : seen_cl && r->content_length ? BODY_LENGTH : BODY_NONE;
    return (int)((size_t)lf + 1);
}

/* Every line of a chunked body ends in CRLF, checked one byte at a time
 * (the reader never looks ahead, so it answers the same fed whole or byte
 * by byte): a bare CR or bare LF anywhere is an error. */
enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LF, CH_DONE };

#define CHUNK_LINE_MAX 4096

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int http_chunked_consume(struct http_chunked *c, const char *buf, size_t len, size_t *used)
{
    size_t i = 0;
    while (i < len && c->state != CH_DONE) {
        char ch = buf[i];
        switch (c->state) {
        case CH_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                if (c->remaining >> 56 || ++c->line > 16)
                    return -1; /* absurd size */
                c->remaining = c->remaining * 16 + (uint64_t)v;
                i++;
                break;
            }
            if (c->line == 0)
                return -1; /* no digits */
            if (ch == ';') {
                c->state = CH_EXT;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else {
                return -1;
            }
            i++;
            break;
        }
        case CH_EXT:
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == '\n' || ++c->line > CHUNK_LINE_MAX)
                return -1;
            i++;
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                return -1;
            c->state = c->remaining ? CH_DATA : CH_TRAILER;
            c->line = 0;
            i++;
            break;
        case CH_DATA: {
            size_t take = len - i < c->remaining ? len - i : (size_t)c->remaining;
            c->remaining -= take;
            c->total += take;
            i += take;
            if (!c->remaining)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (ch != '\r')
                return -1;
            c->state = CH_DATA_LF;
            i++;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                return -1;
            c->state = CH_SIZE;
            c->line = 0;
            i++;
            break;
        case CH_TRAILER:
            /* Trailer lines are skipped; an empty line ends the body. Their
             * bytes are counted, so a limit can bound their number too. */
            c->trailer_bytes++;
            if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else if (ch == '\n' || ++c->line > CHUNK_LINE_MAX)
                return -1;
            i++;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                return -1;
            c->state = c->line == 0 ? CH_DONE : CH_TRAILER;
            c->line = 0;
            i++;
            break;
        }
    }
    *used = i;
    return c->state == CH_DONE;
}

/* SPDX-License-Identifier: MIT */
#include "snapshot/ssfilter.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SSF_MAX_TOKENS 256
#define SSF_TOKEN_LEN 128

enum node_kind { N_AND, N_OR, N_NOT, N_SPORT, N_DPORT, N_SRC, N_DST };
enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE };

struct host {
    int family;       /* 0: any address */
    uint8_t addr[16];
    int prefix;       /* bits compared */
    int port;         /* -1: any port */
};

struct node {
    enum node_kind kind;
    int a, b;         /* children (index into nodes) */
    enum cmp_op op;   /* ports */
    int port;
    struct host host; /* src / dst */
};

struct ssf {
    struct node *nodes;
    int n, root;
};

struct parser {
    char tok[SSF_MAX_TOKENS][SSF_TOKEN_LEN];
    int ntok, pos;
    struct ssf *f;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, const char *fmt, const char *what)
{
    snprintf(p->err, p->errlen, fmt, what);
    return -1;
}

/* Splits the words into tokens: blanks separate, parentheses stand alone,
 * so "( dport = :443 )" and "(dport = :443)" read the same. */
static int tokenize(struct parser *p, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        while (*s) {
            if (isspace((unsigned char)*s)) {
                s++;
                continue;
            }
            size_t len = 1;
            if (*s != '(' && *s != ')')
                while (s[len] && !isspace((unsigned char)s[len]) && s[len] != '(' && s[len] != ')')
                    len++;
            if (p->ntok == SSF_MAX_TOKENS)
                return fail(p, "filter too long (more than %s words)", "256");
            if (len >= SSF_TOKEN_LEN)
                return fail(p, "filter word too long: '%.40s...'", s);
            memcpy(p->tok[p->ntok], s, len);
            p->tok[p->ntok++][len] = 0;
            s += len;
        }
    }
    return 0;
}

static const char *peek(const struct parser *p)
{
    return p->pos < p->ntok ? p->tok[p->pos] : NULL;
}

static bool is(const char *t, const char *a, const char *b, const char *c)
{
    return t && (!strcmp(t, a) || (b && !strcmp(t, b)) || (c && !strcmp(t, c)));
}

static int new_node(struct parser *p, enum node_kind kind, int a, int b)
{
    struct ssf *f = p->f;
    struct node *grown = realloc(f->nodes, (size_t)(f->n + 1) * sizeof *grown);
    if (!grown)
        return fail(p, "%s", "out of memory");
    f->nodes = grown;
    memset(&f->nodes[f->n], 0, sizeof f->nodes[f->n]);
    f->nodes[f->n].kind = kind;
    f->nodes[f->n].a = a;
    f->nodes[f->n].b = b;
    return f->n++;
}

/* "22", ":22", "*:22", ":ssh" -> 0..65535, or -1. */
static int parse_port_word(const char *w)
{
    if (w[0] == '*' && w[1] == ':')
        w += 2;
    else if (w[0] == ':')
        w++;
    if (!*w)
        return -1;
    if (isdigit((unsigned char)*w)) {
        char *end;
        long v = strtol(w, &end, 10);
        return *end || v < 0 || v > 65535 ? -1 : (int)v;
    }
    struct servent *se = getservbyname(w, "tcp");
    return se ? ntohs((uint16_t)se->s_port) : -1;
}

static int parse_addr_prefix(char *a, struct host *h)
{
    char *slash = strchr(a, '/');
    if (slash)
        *slash = 0;
    if (inet_pton(AF_INET, a, h->addr) == 1)
        h->family = AF_INET;
    else if (inet_pton(AF_INET6, a, h->addr) == 1)
        h->family = AF_INET6;
    else
        return -1;
    int max = h->family == AF_INET ? 32 : 128;
    h->prefix = max;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > max)
            return -1;
        h->prefix = (int)v;
    }
    return 0;
}

/* HOST: ADDR[/PREFIX][:PORT], [V6][/PREFIX][:PORT], V6[/PREFIX], :PORT, *:PORT, * */
static int parse_host(const char *word, struct host *h)
{
    char buf[SSF_TOKEN_LEN];
    snprintf(buf, sizeof buf, "%s", word);
    memset(h, 0, sizeof *h);
    h->port = -1;
    if (!strcmp(buf, "*"))
        return 0;
    bool one_colon = strchr(buf, ':') == strrchr(buf, ':');
    if (one_colon && (buf[0] == ':' || (buf[0] == '*' && buf[1] == ':')))
        return (h->port = parse_port_word(buf)) < 0 ? -1 : 0;
    char *port = NULL, *addr = buf;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close)
            return -1;
        *close = 0;
        addr = buf + 1;
        if (close[1] == '/') { /* [::1]/64 */
            memmove(close, close + 1, strlen(close + 1) + 1);
            char *colon = strchr(close, ':');
            if (colon)
                *colon = 0, port = colon + 1;
        } else if (close[1] == ':') {
            port = close + 2;
        } else if (close[1]) {
            return -1;
        }
    } else {
        char *first = strchr(buf, ':'), *last = strrchr(buf, ':');
        if (first && first == last)
            *last = 0, port = last + 1; /* v4 with a port; several ':' is bare v6 */
    }
    if (port && strcmp(port, "*") && (h->port = parse_port_word(port)) < 0)
        return -1;
    if (!strcmp(addr, "*"))
        return 0;
    return parse_addr_prefix(addr, h);
}

static int parse_list(struct parser *p);

static int parse_cmp(struct parser *p, enum cmp_op *op)
{
    static const struct { const char *a, *b, *c; enum cmp_op op; } ops[] = {
        {"=", "==", "eq", OP_EQ}, {"!=", "ne", "neq", OP_NE}, {"<", "lt", NULL, OP_LT},
        {">", "gt", NULL, OP_GT}, {"<=", "le", NULL, OP_LE}, {">=", "ge", NULL, OP_GE}};
    *op = OP_EQ;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (is(peek(p), ops[i].a, ops[i].b, ops[i].c)) {
            *op = ops[i].op;
            p->pos++;
            return 1;
        }
    return 0;
}

static int parse_primary(struct parser *p)
{
    const char *t = peek(p);
    if (!t)
        return fail(p, "%s", "filter ends where a condition is expected");
    if (!strcmp(t, "(")) {
        p->pos++;
        int n = parse_list(p);
        if (n < 0)
            return -1;
        if (!is(peek(p), ")", NULL, NULL))
            return fail(p, "%s", "missing ')' in filter");
        p->pos++;
        return n;
    }
    if (is(t, "sport", "dport", NULL)) {
        enum node_kind kind = t[0] == 's' ? N_SPORT : N_DPORT;
        p->pos++;
        enum cmp_op op;
        parse_cmp(p, &op);
        const char *w = peek(p);
        int port = w ? parse_port_word(w) : -1;
        if (port < 0)
            return fail(p, "'%s' is not a port (want :PORT, a number 0-65535 or a service name)",
                        w ? w : "(end)");
        p->pos++;
        int n = new_node(p, kind, -1, -1);
        if (n >= 0)
            p->f->nodes[n].op = op, p->f->nodes[n].port = port;
        return n;
    }
    if (is(t, "src", "dst", NULL)) {
        enum node_kind kind = t[0] == 's' ? N_SRC : N_DST;
        p->pos++;
        enum cmp_op op;
        if (parse_cmp(p, &op) && op != OP_EQ)
            return fail(p, "%s", "addresses compare with '=' only (negate with 'not')");
        const char *w = peek(p);
        struct host h;
        if (!w || parse_host(w, &h) < 0)
            return fail(p, "'%s' is not an address (want ADDR[/PREFIX][:PORT], [V6]:PORT or :PORT)",
                        w ? w : "(end)");
        p->pos++;
        int n = new_node(p, kind, -1, -1);
        if (n >= 0)
            p->f->nodes[n].host = h;
        return n;
    }
    return fail(p, "unexpected '%s' in filter (want sport, dport, src, dst, not or '(')", t);
}

static int parse_unary(struct parser *p)
{
    if (is(peek(p), "not", "!", NULL)) {
        p->pos++;
        int a = parse_unary(p);
        return a < 0 ? -1 : new_node(p, N_NOT, a, -1);
    }
    return parse_primary(p);
}

/* ss's exprlist (iproute2 misc/ssfilter.y): "and", "or" and juxtaposition
 * join the next condition to everything on their left, in the order
 * written, without precedence: "a or b and c" is "(a or b) and c". */
static int parse_list(struct parser *p)
{
    int left = parse_unary(p);
    while (left >= 0) {
        const char *t = peek(p);
        if (!t || !strcmp(t, ")"))
            break;
        enum node_kind kind = N_AND;
        if (is(t, "or", "||", "|"))
            kind = N_OR, p->pos++;
        else if (is(t, "and", "&&", "&"))
            p->pos++;
        int right = parse_unary(p);
        left = right < 0 ? -1 : new_node(p, kind, left, right);
    }
    return left;
}

/* Leading "state NAME" / "exclude NAME" words, read in order as ss reads
 * them: the first "state" starts from no state, the first "exclude" from
 * every state; later words add to or take from what is there, so
 * "exclude listening state established" is every state but LISTEN. */
static int parse_states(struct parser *p, uint32_t *states)
{
    uint32_t mask = 0;
    bool any = false;
    while (is(peek(p), "state", "exclude", "excl")) {
        bool excl = peek(p)[0] == 'e';
        p->pos++;
        const char *name = peek(p);
        uint32_t m = name ? tcp_state_parse(name) : 0;
        if (!m)
            return fail(p, "'%s' is not a state name (e.g. time-wait, close-wait, connected)",
                        name ? name : "(end)");
        p->pos++;
        if (!any)
            mask = excl ? TS_ALL_MASK : 0;
        any = true;
        mask = excl ? mask & ~m : mask | m;
    }
    /* Words that leave no state: ss falls back to its default table,
     * SS_CONN (no LISTEN, CLOSE, TIME-WAIT or SYN-RECV), and so do we. */
    if (any && !mask)
        mask = TS_ALL_MASK & ~((1u << TS_LISTEN) | (1u << TS_CLOSE) | (1u << TS_TIME_WAIT) |
                               (1u << TS_SYN_RECV) | (1u << TS_NEW_SYN_RECV));
    *states = mask;
    return 0;
}

int ssf_parse(int argc, char **argv, uint32_t *states, struct ssf **expr, char *err,
              size_t errlen)
{
    struct parser *p = calloc(1, sizeof *p);
    *expr = NULL;
    *states = 0;
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->err = err;
    p->errlen = errlen;
    int rc = tokenize(p, argc, argv);
    if (!rc)
        rc = parse_states(p, states);
    if (!rc && p->pos < p->ntok) {
        p->f = calloc(1, sizeof *p->f);
        if (!p->f)
            rc = fail(p, "%s", "out of memory");
        else if ((p->f->root = parse_list(p)) < 0)
            rc = -1;
        else if (p->pos < p->ntok)
            rc = fail(p, "unexpected '%s' in filter", p->tok[p->pos]);
        if (rc)
            ssf_free(p->f);
        else
            *expr = p->f;
    }
    free(p);
    return rc;
}

static bool cmp(enum cmp_op op, int a, int b)
{
    switch (op) {
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_LT: return a < b;
    case OP_GT: return a > b;
    case OP_LE: return a <= b;
    case OP_GE: return a >= b;
    }
    return false;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

static bool v4_mapped(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return !memcmp(a, prefix, 12);
}

/* ss shows a socket when two filters pass it: the kernel's (ss compiles the
 * expression to inet_diag bytecode) and its own (run_ssfilter on every
 * row). They differ on addresses, and the whole expression is evaluated
 * once in each sense: under "not", a socket of the other family passes
 * one and fails the other, which is why "not dst 0.0.0.0/0" lists nothing.
 *   kernel: the families must agree (an IPv4 condition also takes a
 *           v4-mapped IPv6 address); a /0 then matches;
 *   ss:     a /0 matches anything; otherwise the prefix bits are compared
 *           whatever the families (IPv4 addresses are 4 bytes then zeros),
 *           and an IPv4 condition also takes a v4-mapped address. */
enum sense { KERNEL, USER };

static bool host_match(enum sense how, const struct host *h, int family, const uint8_t addr[16],
                       uint16_t port)
{
    if (h->port >= 0 && h->port != port)
        return false;
    if (!h->family)
        return true;
    bool mapped = h->family == AF_INET && family == AF_INET6 && v4_mapped(addr);
    if (how == KERNEL) {
        if (h->family != family)
            return mapped && prefix_equal(addr + 12, h->addr, h->prefix);
        return prefix_equal(addr, h->addr, h->prefix);
    }
    if (h->prefix == 0 || prefix_equal(addr, h->addr, h->prefix))
        return true;
    return mapped && prefix_equal(addr + 12, h->addr, h->prefix);
}

static bool eval(enum sense how, const struct ssf *f, int i, const struct tcp_sock *s)
{
    const struct node *n = &f->nodes[i];
    switch (n->kind) {
    case N_AND: return eval(how, f, n->a, s) && eval(how, f, n->b, s);
    case N_OR: return eval(how, f, n->a, s) || eval(how, f, n->b, s);
    case N_NOT: return !eval(how, f, n->a, s);
    case N_SPORT: return cmp(n->op, s->sport, n->port);
    case N_DPORT: return cmp(n->op, s->dport, n->port);
    case N_SRC: return host_match(how, &n->host, s->family, s->src, s->sport);
    case N_DST: return host_match(how, &n->host, s->family, s->dst, s->dport);
    }
    return false;
}

bool ssf_match(const struct ssf *expr, const struct tcp_sock *s)
{
    return !expr || (eval(KERNEL, expr, expr->root, s) && eval(USER, expr, expr->root, s));
}

void ssf_free(struct ssf *expr)
{
    if (expr)
        free(expr->nodes);
    free(expr);
}

/* SPDX-License-Identifier: MIT */
#include "kernel/diagrec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = {'C', 'L', 'S', 'R', 'D', 'I', 'A', 'G'};
enum { VERSION = 1, HEADER_SIZE = 16 };

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

static int put(struct diagrec *r, const void *p, size_t n)
{
    if (!r->err && fwrite(p, 1, n, r->f) != n)
        r->err = errno ? errno : EIO;
    return -r->err;
}

int diagrec_begin(struct diagrec *r, FILE *f)
{
    uint32_t v = VERSION, h = HEADER_SIZE;
    r->f = f;
    r->sum = FNV_OFFSET;
    put(r, magic, sizeof magic);
    put(r, &v, sizeof v);
    return put(r, &h, sizeof h);
}

int diagrec_chunk(struct diagrec *r, const void *buf, uint32_t len)
{
    if (len == 0 || len > DIAGREC_MAX_CHUNK)
        return -EINVAL;
    r->sum = fnv1a(r->sum, buf, len);
    put(r, &len, sizeof len);
    return put(r, buf, len);
}

int diagrec_end(struct diagrec *r)
{
    uint32_t zero = 0;
    long at = ftell(r->f);
    if (at < 0)
        return -errno;
    uint64_t total = (uint64_t)at + sizeof zero + sizeof r->sum + sizeof total;
    put(r, &zero, sizeof zero);
    put(r, &r->sum, sizeof r->sum);
    return put(r, &total, sizeof total);
}

/* Reads exactly n bytes; 0, or -1 with the reason in err. */
static int get(FILE *f, void *p, size_t n, uint64_t *pos, const char *what, char *err,
               size_t errlen)
{
    if (*pos + n > DIAGREC_MAX_TOTAL) {
        snprintf(err, errlen, "longer than %llu bytes: not a recording, or a damaged one",
                 (unsigned long long)DIAGREC_MAX_TOTAL);
        return -1;
    }
    size_t got = fread(p, 1, n, f);
    *pos += got;
    if (got == n)
        return 0;
    snprintf(err, errlen, "truncated at byte %llu (in the %s)", (unsigned long long)*pos, what);
    return -1;
}

static int check_header(FILE *f, uint64_t *pos, char *err, size_t errlen)
{
    char m[8];
    uint32_t v, h;
    if (get(f, m, sizeof m, pos, "header", err, errlen) < 0)
        return -1;
    if (memcmp(m, magic, sizeof m)) {
        snprintf(err, errlen, "not a closer recording (no CLSRDIAG header: not written by "
                              "--record of this closer, or damaged)");
        return -1;
    }
    if (get(f, &v, sizeof v, pos, "header", err, errlen) < 0 ||
        get(f, &h, sizeof h, pos, "header", err, errlen) < 0)
        return -1;
    if (v != VERSION || h != HEADER_SIZE) {
        snprintf(err, errlen, "recording format version %u, this closer reads version %d", v,
                 VERSION);
        return -1;
    }
    return 0;
}

/* The chunks, each decoded as it comes, up to the trailer. */
static int read_chunks(FILE *f, uint64_t *pos, uint64_t *sum, diag_sock_fn fn, void *arg,
                       char *err, size_t errlen)
{
    char *buf = malloc(DIAGREC_MAX_CHUNK);
    int rc = buf ? 0 : -1, intr = 0;
    if (!buf)
        snprintf(err, errlen, "out of memory");
    while (!rc) {
        uint32_t len;
        uint64_t at = *pos;
        if ((rc = get(f, &len, sizeof len, pos, "chunk length", err, errlen)) < 0)
            break;
        if (len == 0)
            break; /* the trailer */
        if (len > DIAGREC_MAX_CHUNK) {
            snprintf(err, errlen, "damaged: a chunk of %u bytes at byte %llu (at most %u)", len,
                     (unsigned long long)at, DIAGREC_MAX_CHUNK);
            rc = -1;
        } else if ((rc = get(f, buf, len, pos, "chunk", err, errlen)) == 0) {
            *sum = fnv1a(*sum, buf, len);
            int d = diag_decode(buf, len, fn, arg, &intr);
            if (d < 0) {
                snprintf(err, errlen, "damaged: the chunk at byte %llu is no netlink dump (%s)",
                         (unsigned long long)at, strerror(-d));
                rc = -1;
            }
        }
    }
    free(buf);
    return rc;
}

int diagrec_replay(const char *path, diag_sock_fn fn, void *arg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    uint64_t pos = 0, total, sum = FNV_OFFSET, want;
    int rc = check_header(f, &pos, err, errlen);
    if (!rc)
        rc = read_chunks(f, &pos, &sum, fn, arg, err, errlen);
    if (!rc)
        rc = get(f, &want, sizeof want, &pos, "trailer", err, errlen);
    if (!rc)
        rc = get(f, &total, sizeof total, &pos, "trailer", err, errlen);
    if (!rc && want != sum) {
        snprintf(err, errlen, "damaged: the checksum of the chunks does not match the trailer's");
        rc = -1;
    }
    if (!rc && total != pos) {
        snprintf(err, errlen, "damaged: the trailer says %llu bytes, %llu were read",
                 (unsigned long long)total, (unsigned long long)pos);
        rc = -1;
    }
    if (!rc && fgetc(f) != EOF) {
        snprintf(err, errlen, "damaged: bytes after the trailer (byte %llu)",
                 (unsigned long long)pos);
        rc = -1;
    }
    fclose(f);
    return rc;
}

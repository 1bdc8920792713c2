/* SPDX-License-Identifier: MIT */
#include "export/prom_merge.h"

#include <stdlib.h>
#include <string.h>

/* One family inside one part: [head, head_end) are its # lines, then
 * [head_end, end) its samples. */
struct block {
    const char *name;
    size_t name_len;
    const char *head, *head_end, *end;
    int written;  /* merged into the output with an earlier part's family */
};

struct part_blocks {
    struct block *b;
    size_t n;
};

/* "# HELP name ..." → name. */
static int help_name(const char *line, const char *end, const char **name, size_t *len)
{
    if (end - line < 8 || memcmp(line, "# HELP ", 7))
        return 0;
    const char *p = line + 7, *q = p;
    while (q < end && *q != ' ' && *q != '\n')
        q++;
    *name = p;
    *len = (size_t)(q - p);
    return *len > 0;
}

static int split(const struct prom_part *part, struct part_blocks *pb)
{
    size_t cap = 0;
    const char *p = part->text, *end = part->text + part->len;
    struct block *cur = NULL;
    pb->b = NULL;
    pb->n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        const char *name;
        size_t len;
        if (help_name(p, next, &name, &len)) {
            if (pb->n == cap) {
                cap = cap ? cap * 2 : 64;
                struct block *nb = realloc(pb->b, cap * sizeof *nb);
                if (!nb)
                    return -1;
                pb->b = nb;
            }
            cur = &pb->b[pb->n++];
            *cur = (struct block){name, len, p, next, next, 0};
        } else if (cur) {
            if (p[0] == '#')
                cur->head_end = next; /* TYPE follows HELP */
            cur->end = next;
        }
        p = next;
    }
    return 0;
}

/* A sample line with labels put first. */
static void write_sample(FILE *out, const char *line, const char *end, const char *labels)
{
    if (!labels[0] || line[0] == '#') {
        fwrite(line, 1, (size_t)(end - line), out);
        return;
    }
    const char *q = line;
    while (q < end && *q != '{' && *q != ' ')
        q++;
    fwrite(line, 1, (size_t)(q - line), out);
    fputc('{', out);
    fputs(labels, out);
    if (q < end && *q == '{') {
        if (q + 1 < end && q[1] != '}')
            fputc(',', out);
        q++;
    } else {
        fputc('}', out);
    }
    fwrite(q, 1, (size_t)(end - q), out);
}

static void write_samples(FILE *out, const struct block *b, const char *labels)
{
    for (const char *p = b->head_end; p < b->end;) {
        const char *nl = memchr(p, '\n', (size_t)(b->end - p));
        const char *next = nl ? nl + 1 : b->end;
        if (next > p + 1)
            write_sample(out, p, next, labels);
        p = next;
    }
}

static struct block *find(const struct part_blocks *pb, size_t *cursor, const struct block *want)
{
    /* Parts usually list families in the same order: try the cursor first. */
    for (size_t k = 0; k < pb->n; k++) {
        size_t i = (*cursor + k) % pb->n;
        struct block *b = &pb->b[i];
        if (b->name_len == want->name_len && !memcmp(b->name, want->name, b->name_len)) {
            *cursor = i + 1;
            return b;
        }
    }
    return NULL;
}

int prom_merge(FILE *out, const struct prom_part *parts, size_t n)
{
    struct part_blocks *pb = calloc(n ? n : 1, sizeof *pb);
    size_t *cursor = calloc(n ? n : 1, sizeof *cursor);
    int rc = pb && cursor ? 0 : -1;
    for (size_t i = 0; i < n && !rc; i++)
        rc = split(&parts[i], &pb[i]);
    for (size_t i = 0; i < n && !rc; i++) {
        for (size_t k = 0; k < pb[i].n; k++) {
            const struct block *fam = &pb[i].b[k];
            if (fam->written)
                continue;
            fwrite(fam->head, 1, (size_t)(fam->head_end - fam->head), out);
            write_samples(out, fam, parts[i].labels);
            for (size_t j = i + 1; j < n; j++) {
                struct block *b = find(&pb[j], &cursor[j], fam);
                if (b) {
                    write_samples(out, b, parts[j].labels);
                    b->written = 1;
                }
            }
        }
    }
    for (size_t i = 0; pb && i < n; i++)
        free(pb[i].b);
    free(pb);
    free(cursor);
    return rc || ferror(out) ? -1 : 0;
}

void prom_label_append(char *buf, size_t cap, const char *key, const char *value)
{
    /* Built aside and appended whole: a label that does not fit is left
     * out rather than cut inside its quotes. */
    char tmp[512];
    size_t off = (size_t)snprintf(tmp, sizeof tmp, "%s%s=\"", buf[0] ? "," : "", key);
    for (const char *v = value; *v && off + 3 < sizeof tmp; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n')
            tmp[off++] = '\\';
        tmp[off++] = *v == '\n' ? 'n' : *v;
    }
    if (off + 2 > sizeof tmp)
        return;
    tmp[off++] = '"';
    tmp[off] = 0;
    size_t have = strlen(buf);
    if (have + off < cap)
        memcpy(buf + have, tmp, off + 1);
}

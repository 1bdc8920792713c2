/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the cgroup-path parser that labels network namespaces
 * (any bytes a process's /proc/PID/cgroup can hold), the label sanitizer,
 * and the exposition merger of exporter --all-netns (any bytes as a part).
 * Invariants: no crash or over-read; labels come out without control bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/prom_merge.h"
#include "kernel/nsdiscover.h"

static void clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct ns_owner o;
    ns_owner_parse_cgroup(text, &o);
    clean(o.container);
    clean(o.unit);
    clean(o.pod);
    clean(o.runtime);
    char *copy = strdup(text);
    ns_text_sanitize(copy);
    clean(copy);
    free(copy);
    /* The same bytes as two parts of an exposition, one with labels. */
    struct prom_part parts[2] = {{text, size / 2, ""}, {text + size / 2, size - size / 2, "netns=\"1\""}};
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        prom_merge(out, parts, 2);
        fclose(out);
    }
    free(text);
    return 0;
}

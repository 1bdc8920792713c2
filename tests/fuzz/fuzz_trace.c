/* SPDX-License-Identifier: MIT */
/* libFuzzer target for closer trace's parsing: tracefs format text, raw
 * tracepoint records decoded with real layouts (Linux 6.18's format files),
 * and the tracker fed whatever decodes, in any order.
 * Input: byte 0 even: the rest is a format file. Odd: the rest is a list of
 * records, each [len][flags: bit0 in_irq][pid][bytes...]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/trace_samples.h"
#include "trace/track.h"

static struct tp_layout layouts[TEV_KINDS];
static int ready;

static void setup(void)
{
    const char *texts[TEV_KINDS] = {fmt_set_state, fmt_send_reset, fmt_receive_reset};
    char err[256];
    for (int k = 0; k < TEV_KINDS; k++) {
        struct tp_format f;
        if (tp_format_parse(texts[k], strlen(texts[k]), &f, err, sizeof err) ||
            tev_layout(&f, k, &layouts[k], err, sizeof err))
            abort();
    }
    ready = 1;
}

static void sink(void *ctx, const struct trace_rec *r)
{
    (void)ctx;
    if (r->first > FIRST_ABORT || r->tw > TW_PEER)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 1)
        return 0;
    if (!(data[0] & 1)) {
        struct tp_format f;
        char err[256];
        if (tp_format_parse((const char *)data + 1, size - 1, &f, err, sizeof err) == 0)
            for (int k = 0; k < TEV_KINDS; k++) {
                struct tp_layout l;
                (void)tev_layout(&f, k, &l, err, sizeof err);
            }
        return 0;
    }
    struct pcache pc;
    pcache_init(&pc, "/nonexistent-closer-fuzz");
    struct tracker *t = malloc(sizeof *t);
    if (!t)
        return 0;
    tracker_init(t, &pc, 64, sink, NULL, NULL);
    uint64_t now = 1;
    for (size_t i = 1; i + 3 <= size;) {
        size_t len = data[i];
        uint8_t flags = data[i + 1];
        int32_t pid = data[i + 2];
        i += 3;
        if (len > size - i)
            len = size - i;
        struct tev ev;
        for (int k = 0; k < TEV_KINDS; k++)
            if (tev_decode(&layouts[k], data + i, len, &ev) == 0) {
                ev.in_irq = flags & 1;
                ev.pid = ev.tid = pid;
                ev.time_ns = now += 1000;
                tracker_event(t, &ev);
                break;
            }
        i += len;
        if (flags & 2)
            tracker_flush(t, now - 500);
    }
    tracker_flush_all(t);
    tracker_free(t);
    free(t);
    pcache_free(&pc);
    return 0;
}

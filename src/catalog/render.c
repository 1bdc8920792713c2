/* SPDX-License-Identifier: MIT */
/* The catalogue as Markdown: docs/doctor.md carries this output between
 * two markers, and a test checks that it is the same. */
#include <string.h>

#include "catalog/catalog.h"

static const char *kind_name(enum cat_kind k)
{
    static const char *const n[] = {"server", "proxy", "client library", "client tool", "runtime"};
    return n[k];
}

/* "a|b" as "`a`, `b`". */
static void alts(FILE *out, const char *prefix, const char *a, bool *first)
{
    if (!*a)
        return;
    fprintf(out, "%s%s ", *first ? "" : "; ", prefix);
    *first = false;
    for (const char *p = a; *p;) {
        size_t n = strcspn(p, "|");
        fprintf(out, "%s`%.*s`", p == a ? "" : " or ", (int)n, p);
        p += n + (p[n] == '|');
    }
}

static void recognised(FILE *out, const struct cat_program *p)
{
    bool first = true;
    if (p->kind == CK_RUNTIME && p->runtime == CR_GO) {
        fprintf(out, "the executable's Go build id");
        return;
    }
    alts(out, "name", p->names, &first);
    alts(out, "command line has", p->argv, &first);
    alts(out, "maps", p->lib, &first);
    if (p->needs_epoll)
        fprintf(out, "%san epoll instance", first ? "" : "; "), first = false;
    if (p->kind == CK_LIBRARY)
        fprintf(out, "%s%s runtime speaking %s", first ? "" : "; ",
                catalog_runtime_name(p->runtime),
                p->proto ? catalog_proto_name(p->proto) : "any protocol"), first = false;
    if (first)
        fprintf(out, "nothing else matched");
}

static void situations(FILE *out, const struct cat_program *p)
{
    bool any = false;
    for (int s = 0; s < K_COUNT; s++)
        for (unsigned i = 0; i < catalog_nknobs; i++) {
            const struct cat_knob *k = &catalog_knobs[i];
            if (k->situation != (enum cat_situation)s || !*k->text || strcmp(k->program, p->name) ||
                (k->variant && *k->variant && strcmp(k->variant, p->variant)))
                continue;
            fprintf(out, "%s%s", any ? ", " : "", catalog_situation_name(k->situation));
            any = true;
            break;
        }
    if (!any)
        fprintf(out, "its runtime's");
}

/* A wire match as it reads: "server~a/b;connection=" -> "`server~a/b; connection=`". */
static void wire(FILE *out, const struct cat_program *p)
{
    if (!p->wire.title) {
        fprintf(out, "-");
        return;
    }
    fprintf(out, "%s: `", p->wire.title);
    for (const char *c = p->wire.match; *c; c++)
        fputs(*c == '|' ? "` or `" : *c == ';' ? "; " : (char[2]){*c, 0}, out);
    fprintf(out, "`");
}

/* closer probe's names for the settings of the programs it recognises. */
static void settings(FILE *out)
{
    static const enum cat_situation cols[] = {K_TW_IDLE_TIMEOUT, K_TW_REQUEST_CAP, K_TW_LIFETIME,
                                              K_TW_NO_KEEPALIVE, K_KA_ANNOUNCE};
    fprintf(out, "\n| probe: program | idle timeout | request cap | lifetime | no keep-alive | "
                 "announce the idle timeout |\n|---|---|---|---|---|---|\n");
    for (unsigned i = 0; i < catalog_nknobs; i++) {
        const struct cat_knob *k = &catalog_knobs[i];
        if (*k->text || k->situation != K_TW_IDLE_TIMEOUT)
            continue;
        fprintf(out, "| %s%s%s |", k->program, *k->variant ? " " : "", k->variant);
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            const char *v = "";
            for (unsigned j = i; j < catalog_nknobs && j < i + 5; j++)
                if (catalog_knobs[j].situation == cols[c] && !*catalog_knobs[j].text)
                    v = catalog_knobs[j].setting;
            fprintf(out, " %s |", v);
        }
        fprintf(out, "\n");
    }
}

void catalog_print_markdown(FILE *out)
{
    fprintf(out, "| program | kind | runtime | protocol | recognised by | own knobs for | "
                 "probe knows its answers by |\n"
                 "|---|---|---|---|---|---|---|\n");
    for (unsigned i = 0; i < catalog_nprograms; i++) {
        const struct cat_program *p = &catalog_programs[i];
        fprintf(out, "| %s%s%s | %s | %s | %s | ", p->name, *p->variant ? " " : "", p->variant,
                kind_name(p->kind), catalog_runtime_name(p->runtime),
                p->proto ? catalog_proto_name(p->proto) : "-");
        recognised(out, p);
        fprintf(out, " | ");
        situations(out, p);
        fprintf(out, " | ");
        wire(out, p);
        fprintf(out, " |\n");
    }
    fprintf(out, "\n| protocol | well-known ports | what its server says before the FIN |\n"
                 "|---|---|---|\n");
    for (int pr = 1; pr < P_COUNT; pr++) {
        fprintf(out, "| %s | ", catalog_proto_name((enum cat_proto)pr));
        bool any = false;
        for (unsigned port = 1; port < 65536; port++)
            if (catalog_proto_of_port(port) == (enum cat_proto)pr)
                fprintf(out, "%s%u", any ? ", " : "", port), any = true;
        const char *g = catalog_proto_goodbye((enum cat_proto)pr);
        fprintf(out, "%s | %s |\n", any ? "" : "-", *g ? g : "nothing");
    }
    fprintf(out, "\n| program | situation | protocol | knob |\n|---|---|---|---|\n");
    for (unsigned i = 0; i < catalog_nknobs; i++) {
        const struct cat_knob *k = &catalog_knobs[i];
        if (!*k->text)
            continue;
        fprintf(out, "| %s%s%s | %s | %s | ", k->program, k->variant && *k->variant ? " " : "",
                k->variant ? k->variant : "", catalog_situation_name(k->situation),
                k->proto ? catalog_proto_name(k->proto) : "any");
        for (const char *c = k->text; *c; c++)
            fputs(*c == '|' ? "\\|" : (char[2]){*c, 0}, out);
        fprintf(out, " |\n");
    }
    settings(out);
}

/* SPDX-License-Identifier: MIT */
/* The setup script a scenario leaves (lab_env.setup): shell lines for the
 * commands it ran, '#' lines for the rest. */
#include "lab/setup.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const host_names[] = {"client", "server", "home"};

const char *lab_host_name(enum lab_host h) { return host_names[h]; }

static void setup_vline(struct lab_env *e, const char *prefix, const char *fmt, va_list ap)
{
    if (e->setup_len >= sizeof e->setup - 2)
        return;
    int n = snprintf(e->setup + e->setup_len, sizeof e->setup - e->setup_len - 1, "%s", prefix);
    if (n < 0)
        return;
    e->setup_len += (size_t)n;
    if (e->setup_len < sizeof e->setup - 2) {
        n = vsnprintf(e->setup + e->setup_len, sizeof e->setup - e->setup_len - 1, fmt, ap);
        if (n < 0)
            return;
        e->setup_len += (size_t)n;
    }
    if (e->setup_len > sizeof e->setup - 2)
        e->setup_len = sizeof e->setup - 2;
    e->setup[e->setup_len++] = '\n';
    e->setup[e->setup_len] = 0;
}

/* A command, as a shell line: the setup block is a script a reader can run. */
void lab_setup_command(struct lab_env *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    setup_vline(e, "", fmt, ap);
    va_end(ap);
}

void lab_setup_note(struct lab_env *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    setup_vline(e, "# ", fmt, ap);
    va_end(ap);
}

void lab_setup_engine(struct lab_env *e, const char *fmt, ...)
{
    e->engine = true;
    va_list ap;
    va_start(ap, fmt);
    setup_vline(e, "# ", fmt, ap);
    va_end(ap);
}

/* Appends arg to line as one shell word: the report's setup block is meant
 * to be pasted into a shell (nft's "{ type filter ... ; }" must stay one
 * argument). */
size_t lab_shell_word(char *line, size_t len, size_t cap, const char *arg)
{
    bool plain = *arg != 0;
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%", *p))
            plain = false;
    if (plain)
        return len + (size_t)snprintf(line + len, cap - len, "%s", arg);
    len += (size_t)snprintf(line + len, cap - len, "'");
    for (const char *p = arg; *p && len < cap; p++)
        len += (size_t)snprintf(line + len, cap - len, *p == '\'' ? "'\\''" : "%c", *p);
    return len < cap ? len + (size_t)snprintf(line + len, cap - len, "'") : len;
}

void lab_setup_argv(struct lab_env *e, enum lab_host h, char *const argv[], const char *suffix)
{
    char line[512];
    size_t len = 0;
    if (h != LAB_HOME)
        len = (size_t)snprintf(line, sizeof line, "ip netns exec %s ", e->ns[h]);
    for (int i = 0; argv[i] && len < sizeof line; i++) {
        if (i)
            len += (size_t)snprintf(line + len, sizeof line - len, " ");
        if (len < sizeof line)
            len = lab_shell_word(line, len, sizeof line, argv[i]);
    }
    lab_setup_command(e, "%s%s", line, suffix);
}


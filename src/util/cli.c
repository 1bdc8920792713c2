/* SPDX-License-Identifier: MIT */
#include "util/cli.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set from the SIGPIPE handler (hence static and sig_atomic_t: the one
 * kind of state a signal handler may share with every thread). */
static volatile sig_atomic_t stdout_gone;
static volatile sig_atomic_t *stdout_gone_stop;

/* A pipe whose readers all left polls POLLERR on its write end; a socket
 * or terminal that hung up polls POLLHUP. Never blocks. */
static int stdout_broken(void)
{
    struct pollfd p = {STDOUT_FILENO, 0, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/* Async-signal-safe: once the reader is gone, stdout becomes /dev/null
 * (what is still printed vanishes instead of failing again), and the
 * command's stop flag, when it gave one, is raised as Ctrl-C would. */
static void mark_gone(void)
{
    if (stdout_gone)
        return;
    stdout_gone = 1;
    int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (nul >= 0) {
        dup2(nul, STDOUT_FILENO);
        close(nul);
    }
    if (stdout_gone_stop)
        *stdout_gone_stop = 1;
}

static void on_sigpipe(int sig)
{
    (void)sig;
    int e = errno;
    if (stdout_broken())
        mark_gone();
    errno = e; /* a socket's EPIPE stays the write's answer */
}

void cli_watch_stdout(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigpipe;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPIPE, &sa, NULL);
}

void cli_stdout_stops(volatile sig_atomic_t *flag)
{
    stdout_gone_stop = flag;
    if (stdout_gone)
        *flag = 1;
}

bool cli_stdout_gone(void)
{
    if (!stdout_gone && stdout_broken())
        mark_gone();
    return stdout_gone;
}

void cli_begin(void)
{
    opterr = 0;
    optind = 0; /* 0 = full re-initialisation in glibc */
}

int cli_bad_option(const char *cmd, int ret, char **argv)
{
    const char *arg = argv[optind - 1];
    if (ret == ':')
        fprintf(stderr, "closer %s: option '%s' needs a value\n", cmd, arg);
    else if (optopt && !(arg[0] == '-' && arg[1] == '-'))
        fprintf(stderr, "closer %s: unknown option '-%c'\n", cmd, optopt);
    else
        fprintf(stderr, "closer %s: unknown option '%s'\n", cmd, arg);
    fprintf(stderr, "Try 'closer %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int cli_bad_value(const char *cmd, const char *opt, const char *arg, const char *want)
{
    /* The value is echoed safely: control bytes as \xHH (a CR or an escape
     * sequence must not reach the terminal), and cut after 64 bytes. */
    char shown[64 * 4 + 1];
    size_t n = 0, len = strlen(arg);
    for (size_t i = 0; i < len && i < 64; i++) {
        unsigned char c = (unsigned char)arg[i];
        if (c < 0x20 || c == 0x7f)
            n += (size_t)snprintf(shown + n, sizeof shown - n, "\\x%02x", c);
        else
            shown[n++] = (char)c;
    }
    shown[n] = 0;
    if (len > 64)
        fprintf(stderr, "closer %s: bad value for %s: '%s...' (%zu bytes; %s)\n", cmd, opt, shown,
                len, want);
    else
        fprintf(stderr, "closer %s: bad value for %s: '%s' (%s)\n", cmd, opt, shown, want);
    return EXIT_USAGE;
}

int cli_finish_stdout(int rc)
{
    /* The reader went away (closer states | head -1): quiet, as ss and
     * other filters end; whatever was asked has been answered. */
    if (stdout_gone)
        return rc;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE || stdout_gone)
            return rc;
        fprintf(stderr, "closer: write error on stdout: %s\n", strerror(errno));
        return rc ? rc : EXIT_USAGE;
    }
    return rc;
}

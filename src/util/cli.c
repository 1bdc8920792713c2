#include "util/cli.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    fprintf(stderr, "closer %s: bad value for %s: '%s' (%s)\n", cmd, opt, arg, want);
    return EXIT_USAGE;
}

int cli_finish_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* The reader went away (closer states | head -1): quiet, as ss and
         * other filters end; whatever was asked has been answered. */
        if (errno == EPIPE)
            return rc;
        fprintf(stderr, "closer: write error on stdout: %s\n", strerror(errno));
        return rc ? rc : EXIT_USAGE;
    }
    return rc;
}

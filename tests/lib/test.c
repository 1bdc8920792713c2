/* SPDX-License-Identifier: MIT */
#include "test.h"
#include <stdarg.h>
#include <stdlib.h>

struct test_entry {
    const char *name;
    test_fn fn;
};
static struct test_entry tests[TEST_MAX];
static int ntests, dropped, current_failed;
static const char *current_name;

/* Registrations run as constructors, before main: one over capacity cannot
 * report itself yet, so it is counted and test_run fails the binary. */
void test_register(const char *name, test_fn fn)
{
    if (ntests < TEST_MAX)
        tests[ntests++] = (struct test_entry){name, fn};
    else
        dropped++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s: %s:%d: ", current_name, file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    current_failed = 1;
}

int test_failed(void) { return current_failed; }

int test_run(int argc, char **argv)
{
    int failed = 0, ran = 0;
    if (dropped) {
        printf("FAIL registry: %d test(s) over the capacity of %d were not registered "
               "(raise TEST_MAX)\n", dropped, TEST_MAX);
        failed++;
    }
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        current_name = tests[i].name;
        current_failed = 0;
        ran++;
        tests[i].fn();
        if (!current_failed)
            printf("PASS %s\n", tests[i].name);
        failed += current_failed;
    }
    if (argc > 1 && !ran) {
        printf("FAIL %s: no such test in %s\n", argv[1], argv[0]);
        failed++;
    }
    return failed ? 1 : 0;
}

/* Usage: test_x [NAME] — runs every test, or only NAME (an unknown NAME
 * fails: a typo must not look like a pass). */
int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    return test_run(argc, argv);
}

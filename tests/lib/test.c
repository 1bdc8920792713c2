#include "test.h"
#include <stdarg.h>
#include <stdlib.h>

#define MAX_TESTS 512
struct test_entry {
    const char *name;
    test_fn fn;
};
static struct test_entry tests[MAX_TESTS];
static int ntests, current_failed;
static const char *current_name;

void test_register(const char *name, test_fn fn)
{
    if (ntests < MAX_TESTS)
        tests[ntests++] = (struct test_entry){name, fn};
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

/* Usage: test_x [NAME] — runs every test, or only NAME. */
int main(int argc, char **argv)
{
    int failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        current_name = tests[i].name;
        current_failed = 0;
        tests[i].fn();
        if (!current_failed)
            printf("PASS %s\n", tests[i].name);
        failed += current_failed;
    }
    return failed ? 1 : 0;
}

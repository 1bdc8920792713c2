/* SPDX-License-Identifier: MIT */
/* Minimal unit-test registry: TEST(name) { ... } registers itself; CHECK*
 * record a failure and return from the test. Output: one "PASS name" or
 * "FAIL name: why" line per test, which tests/run.sh counts. */
#ifndef CLOSER_TEST_H
#define CLOSER_TEST_H
#include <stdio.h>
#include <string.h>

#define TEST_MAX 512 /* tests per binary; more fail the binary */

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
/* Runs every registered test, or only argv[1]; 0 when all passed, 1 when a
 * test failed, argv[1] names no test, or registrations were dropped. */
int test_run(int argc, char **argv);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int test_failed(void);

#define TEST(name)                                                         \
    static void test_##name(void);                                         \
    __attribute__((constructor)) static void test_reg_##name(void)         \
    {                                                                      \
        test_register(#name, test_##name);                                 \
    }                                                                      \
    static void test_##name(void)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            test_fail(__FILE__, __LINE__, "%s", #cond);                    \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_) {                                                    \
            test_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, \
                      a_, b_);                                             \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                 \
    do {                                                                   \
        const char *a_ = (a), *b_ = (b);                                   \
        if (!a_ || strcmp(a_, b_) != 0) {                                  \
            test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", \
                      #a, a_ ? a_ : "(null)", b_);                         \
            return;                                                        \
        }                                                                  \
    } while (0)

#endif

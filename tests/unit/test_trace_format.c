/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trace/tracefs.h"
#include "trace_samples.h"

TEST(parses_set_state_format_of_a_real_kernel)
{
    struct tp_format f;
    char err[256];
    CHECK_EQ_INT(tp_format_parse(fmt_set_state, strlen(fmt_set_state), &f, err, sizeof err), 0);
    CHECK_EQ_STR(f.name, "inet_sock_set_state");
    CHECK_EQ_INT(f.id, 2287);
    const struct tp_field *sk = tp_field(&f, "skaddr");
    CHECK(sk && sk->offset == 8 && sk->size == 8);
    const struct tp_field *ns = tp_field(&f, "newstate");
    CHECK(ns && ns->offset == 20 && ns->size == 4 && ns->is_signed);
    const struct tp_field *d6 = tp_field(&f, "daddr_v6");
    CHECK(d6 && d6->offset == 56 && d6->size == 16);
    const struct tp_field *ct = tp_field(&f, "common_flags");
    CHECK(ct && ct->offset == 2 && ct->size == 1);
    CHECK(tp_field(&f, "nosuch") == NULL);
    CHECK_EQ_INT(f.nreasons, 0);
}

TEST(reads_reset_reason_names_from_print_fmt)
{
    struct tp_format f;
    char err[256];
    CHECK_EQ_INT(tp_format_parse(fmt_send_reset, strlen(fmt_send_reset), &f, err, sizeof err), 0);
    CHECK_EQ_INT(f.id, 2280);
    CHECK(f.nreasons >= 20);
    CHECK_EQ_STR(tp_reason_name(&f, 0), "NOT_SPECIFIED");
    CHECK_EQ_STR(tp_reason_name(&f, 11), "TCP_ABORT_ON_CLOSE");
    CHECK_EQ_STR(tp_reason_name(&f, 14), "TCP_STATE");
    CHECK(tp_reason_name(&f, 999) == NULL);
    const struct tp_field *sa = tp_field(&f, "saddr");
    CHECK(sa && sa->size == 28 && sa->offset == 32);
}

TEST(rejects_text_without_id_or_fields)
{
    struct tp_format f;
    char err[256];
    const char *no_id = "name: x\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n";
    CHECK_EQ_INT(tp_format_parse(no_id, strlen(no_id), &f, err, sizeof err), -1);
    CHECK(strstr(err, "ID") != NULL);
    const char *no_fields = "name: x\nID: 12\n";
    CHECK_EQ_INT(tp_format_parse(no_fields, strlen(no_fields), &f, err, sizeof err), -1);
    CHECK_EQ_INT(tp_format_parse("", 0, &f, err, sizeof err), -1);
}

/* Every prefix of a real file, copied to an exact-size heap block (ASan
 * catches any read past it): parses or fails, never reads beyond. */
TEST(every_prefix_parses_or_fails_cleanly)
{
    const char *texts[] = {fmt_set_state, fmt_send_reset, fmt_receive_reset};
    for (int t = 0; t < 3; t++) {
        size_t len = strlen(texts[t]);
        for (size_t n = 0; n <= len; n++) {
            char *copy = malloc(n ? n : 1);
            memcpy(copy, texts[t], n);
            struct tp_format f;
            char err[256];
            int rc = tp_format_parse(copy, n, &f, err, sizeof err);
            CHECK(rc == 0 || rc == -1);
            free(copy);
        }
    }
}

/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/json.h"
#include "util/utf8.h"

TEST(writes_nested_document_with_escapes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, false);
    json_obj_begin(&j, NULL);
    json_str(&j, "s", "a\"b\\c\n\x01");
    json_int(&j, "i", -3);
    json_arr_begin(&j, "a");
    json_uint(&j, NULL, 1);
    json_bool(&j, NULL, true);
    json_null(&j, NULL);
    json_arr_end(&j);
    json_obj_begin(&j, "o");
    json_obj_end(&j);
    json_double(&j, "d", 0.5);
    json_obj_end(&j);
    fclose(f);
    CHECK_EQ_STR(buf, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"i\":-3,\"a\":[1,true,null],\"o\":{},\"d\":0.5}");
    free(buf);
}

static char *one_string(const char *s, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, false);
    json_strn(&j, NULL, s, n);
    fclose(f);
    return buf;
}

/* A process name the kernel cut mid-character, and bytes that are no UTF-8
 * at all: each ill-formed subpart becomes one U+FFFD, valid UTF-8 passes. */
TEST(invalid_utf8_becomes_replacement_characters)
{
    char *out = one_string("\xe6\x97\xa5\xe6\x9c", 5); /* 日 + 2 of 本's 3 bytes */
    CHECK_EQ_STR(out, "\"\xe6\x97\xa5" UTF8_REPLACEMENT "\"");
    free(out);
    out = one_string("a\xff" "b\xc0\xaf\"\xed\xa0\x80", 9);
    CHECK_EQ_STR(out, "\"a" UTF8_REPLACEMENT "b" UTF8_REPLACEMENT UTF8_REPLACEMENT
                      "\\\"" UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT "\"");
    free(out);
    out = one_string("caf\xc3\xa9 \xf0\x9f\x98\x80", 10);
    CHECK_EQ_STR(out, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    free(out);
    out = one_string("\0\x1b", 2);
    CHECK_EQ_STR(out, "\"\\u0000\\u001b\"");
    free(out);
}

/* Random bytes (mostly high ones) never make an invalid document: the
 * output is UTF-8 and holds no raw control character. */
TEST(random_bytes_give_valid_json_strings)
{
    uint64_t seed = 42;
    char in[32];
    for (int round = 0; round < 20000; round++) {
        size_t n = round % 32;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(seed >> 33);
            in[i] = (char)(r & 1 ? 0x80 | (r >> 8) : (r >> 8));
        }
        char *out = one_string(in, n);
        size_t len = strlen(out);
        int ctl = 0;
        for (size_t i = 0; i < len; i++)
            ctl += (unsigned char)out[i] < 0x20;
        int valid = utf8_valid(out, len);
        free(out);
        CHECK(valid);
        CHECK_EQ_INT(ctl, 0);
    }
}

TEST(integers_at_their_limits)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, false);
    json_arr_begin(&j, NULL);
    json_int(&j, NULL, 0);
    json_int(&j, NULL, -9223372036854775807LL - 1);
    json_int(&j, NULL, 9223372036854775807LL);
    json_uint(&j, NULL, 18446744073709551615ULL);
    json_uint(&j, NULL, 10);
    json_arr_end(&j);
    fclose(f);
    CHECK_EQ_STR(buf, "[0,-9223372036854775808,9223372036854775807,18446744073709551615,10]");
    free(buf);
}

/* SPDX-License-Identifier: MIT */
/* UTF-8 validation: well-formed sequences pass whole, ill-formed ones are
 * cut into maximal subparts (each one U+FFFD), as Unicode 3.9 counts them. */
#include "test.h"
#include "util/utf8.h"

static int next(const char *s) { return utf8_next(s, strlen(s)); }

TEST(well_formed_sequences_have_their_length)
{
    CHECK_EQ_INT(next("a"), 1);
    CHECK_EQ_INT(next("\x7f"), 1);
    CHECK_EQ_INT(next("\xc3\xa9"), 2);         /* é */
    CHECK_EQ_INT(next("\xe2\x82\xac"), 3);     /* € */
    CHECK_EQ_INT(next("\xed\x9f\xbf"), 3);     /* U+D7FF, below the surrogates */
    CHECK_EQ_INT(next("\xef\xbf\xbd"), 3);     /* U+FFFD itself */
    CHECK_EQ_INT(next("\xf0\x9f\x98\x80"), 4); /* 😀 */
    CHECK_EQ_INT(next("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF */
    CHECK_EQ_INT(utf8_next("", 1), 1);         /* NUL is a character */
}

TEST(ill_formed_bytes_are_maximal_subparts)
{
    CHECK_EQ_INT(next("\x80"), -1);             /* lone continuation */
    CHECK_EQ_INT(next("\xc0\xaf"), -1);         /* overlong '/' */
    CHECK_EQ_INT(next("\xc1\xbf"), -1);
    CHECK_EQ_INT(next("\xe0\x80\x80"), -1);     /* overlong */
    CHECK_EQ_INT(next("\xed\xa0\x80"), -1);     /* surrogate D800 */
    CHECK_EQ_INT(next("\xf0\x8f\xbf\xbf"), -1); /* overlong */
    CHECK_EQ_INT(next("\xf4\x90\x80\x80"), -1); /* past U+10FFFF */
    CHECK_EQ_INT(next("\xf5\x80\x80\x80"), -1);
    CHECK_EQ_INT(next("\xff"), -1);
    CHECK_EQ_INT(next("\xe2\x82"), -2);         /* cut at the end (comm at 15 bytes) */
    CHECK_EQ_INT(next("\xe2\x82x"), -2);
    CHECK_EQ_INT(next("\xf0\x9f\x98"), -3);
    CHECK_EQ_INT(next("\xf0\x9f\x98\x41"), -3);
    CHECK_EQ_INT(next("\xc3"), -1);
    CHECK_EQ_INT(next("\xc3\xc3\xa9"), -1);
}

TEST(valid_whole_strings)
{
    CHECK(utf8_valid("plain", 5));
    CHECK(utf8_valid("\xe6\x97\xa5\xe6\x9c\xac", 6));
    CHECK(!utf8_valid("\xe6\x97\xa5\xe6\x9c", 5));
    CHECK(!utf8_valid("ok\xff", 3));
    CHECK(utf8_valid("", 0));
}

/* SPDX-License-Identifier: MIT */
/* Terminal-safe text: control bytes, C1 controls, bidi overrides and
 * ill-formed UTF-8 become \xNN; valid UTF-8 stays as it is. */
#include "test.h"
#include "util/textesc.h"

static const char *esc(const char *in)
{
    static char buf[256];
    return text_escape(buf, sizeof buf, in, 0);
}

TEST(plain_and_valid_utf8_unchanged)
{
    CHECK_EQ_STR(esc("nginx"), "nginx");
    CHECK_EQ_STR(esc("python3 -m http"), "python3 -m http");
    CHECK_EQ_STR(esc("x\xe6\x97\xa5\xe6\x9c\xac"), "x\xe6\x97\xa5\xe6\x9c\xac"); /* x日本 */
    CHECK_EQ_STR(esc("\xc3\xa9\xf0\x9f\x98\x80"), "\xc3\xa9\xf0\x9f\x98\x80");   /* é😀 */
    CHECK_EQ_STR(esc(""), "");
}

TEST(control_bytes_escaped)
{
    CHECK_EQ_STR(esc("\x1b[2J"), "\\x1b[2J");
    CHECK_EQ_STR(esc("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
    CHECK_EQ_STR(esc("\x07\x08\x7f"), "\\x07\\x08\\x7f");
    char buf[32];
    CHECK_EQ_STR(text_escape(buf, sizeof buf, "a\nb\x1b", TEXT_KEEP_NEWLINE), "a\nb\\x1b");
}

TEST(c1_controls_and_bidi_overrides_escaped)
{
    CHECK_EQ_STR(esc("\xc2\x9b" "2J"), "\\xc2\\x9b2J");      /* U+009B CSI */
    CHECK_EQ_STR(esc("\xc2\x85"), "\\xc2\\x85");              /* U+0085 NEL */
    CHECK_EQ_STR(esc("\xc2\xa0"), "\xc2\xa0");                /* U+00A0 stays */
    CHECK_EQ_STR(esc("a\xe2\x80\xae" "b"), "a\\xe2\\x80\\xaeb"); /* U+202E RLO */
    CHECK_EQ_STR(esc("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");     /* U+2066 LRI */
    CHECK_EQ_STR(esc("\xe2\x80\x94"), "\xe2\x80\x94");        /* U+2014 em dash stays */
}

TEST(ill_formed_utf8_escaped_bytewise)
{
    CHECK_EQ_STR(esc("ok\xff"), "ok\\xff");
    /* comm cut at 15 bytes in the middle of サ (e3 82 b5): */
    CHECK_EQ_STR(esc("x\xe6\x97\xa5\xe3\x82"), "x\xe6\x97\xa5\\xe3\\x82");
    CHECK_EQ_STR(esc("\xc0\xaf"), "\\xc0\\xaf");              /* overlong '/' */
    CHECK_EQ_STR(esc("\xed\xa0\x80"), "\\xed\\xa0\\x80");     /* surrogate */
}

TEST(cut_between_characters_never_inside_an_escape)
{
    char buf[8];
    CHECK_EQ_STR(text_escape(buf, sizeof buf, "ab\x1b" "cd", 0), "ab\\x1bc");
    CHECK_EQ_STR(text_escape(buf, 6, "ab\x1b" "cd", 0), "ab");
    CHECK_EQ_STR(text_escape(buf, 4, "a\xe6\x97\xa5", 0), "a");      /* 日 does not fit */
    CHECK_EQ_STR(text_escape(buf, 1, "abc", 0), "");
    char big[TEXT_ESCAPED_SIZE(15)];
    const char *worst = "\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b";
    CHECK_EQ_INT(strlen(text_escape(big, sizeof big, worst, 0)), 60);
}

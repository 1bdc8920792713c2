/* SPDX-License-Identifier: MIT */
/* The configuration tokenizer: directives, quotes and escapes, comments,
 * line numbers in errors. */
#include <string.h>

#include "test.h"
#include "util/conf.h"

static char seen[16][CONF_MAX_WORDS][64];
static int seen_n[16], seen_line[16], ndirs;

static int record(int line, int n, char **w, void *arg)
{
    (void)arg;
    seen_line[ndirs] = line;
    seen_n[ndirs] = n;
    for (int i = 0; i < n; i++)
        snprintf(seen[ndirs][i], sizeof seen[ndirs][i], "%s", w[i]);
    ndirs++;
    return 0;
}

static int parse(const char *text, char *err)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    ndirs = 0;
    return conf_parse(buf, record, NULL, err, 128);
}

TEST(directives_words_quotes_comments)
{
    char err[128] = "";
    const char *t = "# closer serve\n"
                    "listen 127.0.0.1:8080;  listen [::1]:8080;\n"
                    "return 200 \"ok \\\"q\\\"\\n\";# trailing comment\n"
                    "keepalive_timeout\n   5s ;\n"
                    "root /srv/www# comment cuts the word\n;\n";
    CHECK_EQ_INT(parse(t, err), 0);
    CHECK_EQ_INT(ndirs, 5);
    CHECK_EQ_STR(seen[0][0], "listen");
    CHECK_EQ_STR(seen[0][1], "127.0.0.1:8080");
    CHECK_EQ_INT(seen_line[1], 2);
    CHECK_EQ_STR(seen[1][1], "[::1]:8080");
    CHECK_EQ_INT(seen_n[2], 3);
    CHECK_EQ_STR(seen[2][2], "ok \"q\"\n");
    CHECK_EQ_INT(seen_line[3], 4);
    CHECK_EQ_STR(seen[3][1], "5s");
    CHECK_EQ_INT(seen_n[4], 2);
    CHECK_EQ_STR(seen[4][1], "/srv/www");
    CHECK_EQ_INT(parse("", err), 0);
    CHECK_EQ_INT(parse("# only a comment", err), 0);
    CHECK_EQ_INT(ndirs, 0);
}

TEST(syntax_errors_name_the_line)
{
    char err[128];
    CHECK_EQ_INT(parse("listen 1;\nworkers 2\n", err), -1);
    CHECK_EQ_STR(err, "2: 'workers' is not ended by ';'");
    CHECK_EQ_INT(parse("a;\n\nreturn 200 \"ok;\n", err), -1);
    CHECK_EQ_STR(err, "3: unterminated quoted string");
    CHECK_EQ_INT(parse(";", err), -1);
    CHECK_EQ_STR(err, "1: ';' without a directive");
    CHECK_EQ_INT(parse("a b c d e f g h i;", err), -1);
    CHECK(strstr(err, "too many words") != NULL);
    CHECK_EQ_INT(parse("return 200 ab\"c\";", err), -1);
    CHECK_EQ_STR(err, "1: a quote inside a word");
    CHECK_EQ_INT(parse("return 200 \"x\"y;", err), -1);
    CHECK_EQ_STR(err, "1: text right after a closing quote");
}

static int stop_at_second(int line, int n, char **w, void *arg)
{
    (void)line, (void)n, (void)w;
    return ++*(int *)arg == 2 ? 7 : 0;
}

TEST(callback_value_stops_the_parse)
{
    char text[] = "a; b; c;", err[64];
    int calls = 0;
    CHECK_EQ_INT(conf_parse(text, stop_at_second, &calls, err, sizeof err), 7);
    CHECK_EQ_INT(calls, 2);
}

/* SPDX-License-Identifier: MIT */
/* A small nginx-style configuration syntax: directives of words ending in
 * ';', '#' comments to the end of the line, words in double quotes may hold
 * spaces and the escapes \" \\ \n \t. The text is tokenised in place (words
 * point into it), so it must outlive what the callback keeps. */
#ifndef CLOSER_UTIL_CONF_H
#define CLOSER_UTIL_CONF_H
#include <stddef.h>

#define CONF_MAX_WORDS 8

/* Called once per directive; words[0] is its name. Non-zero stops. */
typedef int (*conf_fn)(int line, int nwords, char **words, void *arg);

/* Returns 0, the callback's non-zero value, or -1 with err set to
 * "LINE: what" for a syntax error. */
int conf_parse(char *text, conf_fn fn, void *arg, char *err, size_t errlen);

/* Reads a whole file into a NUL-terminated heap buffer (NULL, errno set). */
char *conf_read_file(const char *path);

#endif

/* SPDX-License-Identifier: MIT */
/* Streaming JSON writer to a FILE*. Keys are NULL inside arrays. Strings are
 * escaped per RFC 8259. Nesting is bounded (JSON_MAX_DEPTH). */
#ifndef CLOSER_UTIL_JSON_H
#define CLOSER_UTIL_JSON_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
    FILE *out;
    int depth;
    bool pretty;
    bool has_items[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *out, bool pretty);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_strn(struct json *j, const char *key, const char *val, size_t len);
void json_int(struct json *j, const char *key, long long val);
void json_uint(struct json *j, const char *key, unsigned long long val);
void json_double(struct json *j, const char *key, double val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif

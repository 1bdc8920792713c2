/* SPDX-License-Identifier: MIT */
/* UTF-8 validation for everything closer writes as JSON or Prometheus text.
 * Process names come from the kernel as bytes (comm is cut at 15 bytes,
 * often in the middle of a character), so output writers walk strings
 * with utf8_next and replace what is not UTF-8 with U+FFFD. */
#ifndef CLOSER_UTIL_UTF8_H
#define CLOSER_UTIL_UTF8_H
#include <stddef.h>

/* U+FFFD REPLACEMENT CHARACTER, encoded. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

/* The well-formed sequence at s (len > 0 bytes available): its length
 * (1..4) as a positive number; or, when s does not start one, minus the
 * length of the maximal ill-formed subpart (Unicode 15, section 3.9, as
 * Python's errors="replace" and WHATWG decoders count it), which stands for
 * one U+FFFD. Overlong forms, surrogates and code points past U+10FFFF are
 * ill-formed. */
int utf8_next(const char *s, size_t len);

/* Whether all len bytes are well-formed UTF-8. */
int utf8_valid(const char *s, size_t len);

#endif

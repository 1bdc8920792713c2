/* SPDX-License-Identifier: MIT */
/* Text meant for a terminal. Process names come from the kernel as bytes:
 * comm is cut at 15 bytes (often mid-character) and any program can set it
 * to "\x1b[2J" with prctl(PR_SET_NAME). Every text renderer passes such
 * strings through text_escape, so nothing a process is called can move the
 * cursor, clear the screen or change colours (as ps prints '?' and
 * systemd \xNN).
 *
 * Error convention: none; output is always NUL-terminated. */
#ifndef CLOSER_UTIL_TEXTESC_H
#define CLOSER_UTIL_TEXTESC_H
#include <stddef.h>

#define TEXT_KEEP_NEWLINE 1u /* '\n' passes (whole reports); otherwise \x0a */

/* Copies the NUL-terminated in to out (outlen bytes, > 0) with every byte
 * that could drive a terminal written as \xNN: C0 controls and DEL, C1
 * controls (U+0080..U+009F, which some terminals read as ESC [), the bidi
 * overrides and isolates (U+202A..U+202E, U+2066..U+2069), and each byte of
 * a sequence that is not well-formed UTF-8. Valid UTF-8 stays as it is. A
 * too-small out is cut between characters, never inside an escape. Returns
 * out. */
char *text_escape(char *out, size_t outlen, const char *in, unsigned flags);

/* The room text_escape may need for n input bytes (4 per byte, + NUL). */
#define TEXT_ESCAPED_SIZE(n) ((n) * 4 + 1)

#endif

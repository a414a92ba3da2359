/* unicode: the little Unicode the message texts need: UTF-8 decoding and
 * Python's notion of a printable character (see gen-unicode-printable.py). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct unicode_range {
        uint32_t first, last;
};

extern const struct unicode_range unicode_nonprintable[];
extern const size_t unicode_nonprintable_count;
extern const char unicode_version[];

/* As Python's str.isprintable() for one code point. */
bool unicode_is_printable(uint32_t cp);

/* Decodes one UTF-8 sequence at s (n bytes left). Returns its length and
 * stores the code point, or returns -EILSEQ for anything that is not
 * well-formed UTF-8 (overlong forms, surrogates, beyond U+10FFFF). */
int unicode_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* True when the n bytes at s are well-formed UTF-8. */
bool unicode_utf8_valid(const uint8_t *s, size_t n);

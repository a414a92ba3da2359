/* unicode: UTF-8 decoding and printability, for message texts. */
#include "core/unicode.h"

#include <errno.h>

bool unicode_is_printable(uint32_t cp)
{
        size_t lo = 0, hi = unicode_nonprintable_count;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (cp < unicode_nonprintable[mid].first)
                        hi = mid;
                else if (cp > unicode_nonprintable[mid].last)
                        lo = mid + 1;
                else
                        return false;
        }
        return cp <= 0x10FFFF;
}

int unicode_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        uint32_t c;
        int len;

        if (n == 0)
                return -EILSEQ;
        if (s[0] < 0x80) {
                *cp = s[0];
                return 1;
        }
        if ((s[0] & 0xE0) == 0xC0) {
                len = 2;
                c = s[0] & 0x1F;
        } else if ((s[0] & 0xF0) == 0xE0) {
                len = 3;
                c = s[0] & 0x0F;
        } else if ((s[0] & 0xF8) == 0xF0) {
                len = 4;
                c = s[0] & 0x07;
        } else {
                return -EILSEQ;
        }
        if ((size_t)len > n)
                return -EILSEQ;
        for (int i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return -EILSEQ;
                c = (c << 6) | (s[i] & 0x3F);
        }
        if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                return -EILSEQ;
        *cp = c;
        return len;
}

bool unicode_utf8_valid(const uint8_t *s, size_t n)
{
        while (n > 0) {
                uint32_t cp;
                int len = unicode_utf8_decode(s, n, &cp);

                if (len < 0)
                        return false;
                s += len;
                n -= (size_t)len;
        }
        return true;
}

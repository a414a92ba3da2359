/* fingerprint: a key's short public name (see fingerprint.h). */
#include "core/fingerprint.h"

#include <sodium.h>

/* Hashed with the key so that the fingerprint of a key is no hash anyone
 * else computes of it. */
static const char domain[] = "udp-canary key fingerprint v1";

void fingerprint_text(const uint8_t key[static SEAL_KEY_LEN], char out[static FINGERPRINT_TEXT_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        uint8_t h[8];
        size_t o = 0;

        crypto_generichash(h, sizeof(h), (const unsigned char *)domain, sizeof(domain) - 1, key, SEAL_KEY_LEN);
        for (size_t i = 0; i < sizeof(h); i++) {
                if (i && i % 2 == 0)
                        out[o++] = '-';
                out[o++] = hex[h[i] >> 4];
                out[o++] = hex[h[i] & 15];
        }
        out[o] = '\0';
        sodium_memzero(h, sizeof(h));
}

/* The key fingerprint: the value for a known key, as Python's hashlib
 * computes it independently (blake2b(b"udp-canary key fingerprint v1",
 * digest_size=8, key=bytes(range(16)))), its form, and that keys differing
 * in one bit get different fingerprints. */
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "core/fingerprint.h"

int main(void)
{
        uint8_t key[SEAL_KEY_LEN];
        char a[FINGERPRINT_TEXT_LEN + 1], b[FINGERPRINT_TEXT_LEN + 1];

        if (sodium_init() < 0)
                return 99;
        for (unsigned i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t)i;
        fingerprint_text(key, a);
        CHECK_STR(a, "7543-eb67-fe36-9d69");
        CHECK_INT(strlen(a), FINGERPRINT_TEXT_LEN);
        for (unsigned bit = 0; bit < 8 * sizeof(key); bit++) {
                key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                fingerprint_text(key, b);
                CHECK(strcmp(a, b) != 0);
                key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        return check_finish("fingerprint");
}

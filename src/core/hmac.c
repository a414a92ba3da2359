/* hmac: HMAC-SHA256 (RFC 2104) through libsodium, keyed once (see hmac.h). */
#include "core/hmac.h"

#include <errno.h>

int hmac_key_init(struct hmac_key *k, const uint8_t *key, size_t key_len)
{
        if (key_len > HMAC_MAX_KEY_LEN)
                return -EINVAL;
        /* HMAC zero-pads a short key to the block, as Python's hmac does. */
        if (crypto_auth_hmacsha256_init(&k->keyed, key, key_len) != 0)
                return -EINVAL;
        return 0;
}

void hmac_key_wipe(struct hmac_key *k)
{
        sodium_memzero(k, sizeof(*k));
}

void hmac_tag(const struct hmac_key *k, const uint8_t *data, size_t len,
              uint8_t out[static HMAC_TAG_LEN])
{
        crypto_auth_hmacsha256_state st = k->keyed;

        crypto_auth_hmacsha256_update(&st, data, len);
        crypto_auth_hmacsha256_final(&st, out);
        sodium_memzero(&st, sizeof(st));
}

/* hmac: HMAC-SHA256 under a key fixed for the daemon's life, as seal needs:
 * libsodium's crypto_auth_hmacsha256, keyed once (the pad blocks hashed at
 * init) and the keyed state copied for each tag. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define HMAC_TAG_LEN crypto_auth_hmacsha256_BYTES
#define HMAC_BLOCK_LEN 64
/* Longer keys would be hashed first; nothing here needs them. */
#define HMAC_MAX_KEY_LEN HMAC_BLOCK_LEN

struct hmac_key {
        crypto_auth_hmacsha256_state keyed; /* after the key's pad blocks */
};

/* Keys k. Returns -EINVAL for a key longer than HMAC_MAX_KEY_LEN. */
int hmac_key_init(struct hmac_key *k, const uint8_t *key, size_t key_len);
void hmac_key_wipe(struct hmac_key *k);

void hmac_tag(const struct hmac_key *k, const uint8_t *data, size_t len,
              uint8_t out[static HMAC_TAG_LEN]);

/* hmac: HMAC-SHA256 under a key fixed for the daemon's life, as seal needs.
 *
 * The key's inner and outer pad blocks are hashed once at init, so a tag
 * costs the message's blocks plus one. Two implementations: libsodium's,
 * and our own SHA-256 compression on the x86 SHA extensions (SHA-NI) where
 * the CPU has them: a 112-byte tag (three blocks) takes 250 ns there against
 * 730-870 ns in Debian's portable libsodium build, on this project's 2.3 GHz
 * Xeon, where sha256rnds2's latency is the floor. Both give the same tags
 * (tests/test-hmac.c, tests/fuzz/fuzz-hmac.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define HMAC_TAG_LEN 32
#define HMAC_BLOCK_LEN 64
/* Longer keys would be hashed first; nothing here needs them. */
#define HMAC_MAX_KEY_LEN HMAC_BLOCK_LEN

enum hmac_impl {
        HMAC_IMPL_AUTO,   /* SHA-NI when present, else libsodium */
        HMAC_IMPL_SODIUM,
        HMAC_IMPL_SHANI,
};

struct hmac_key {
        enum hmac_impl impl;
        union {
                crypto_auth_hmacsha256_state sodium; /* keyed; copied per tag */
                struct {
                        uint32_t inner[8]; /* SHA-256 state after key ^ ipad */
                        uint32_t outer[8]; /* and after key ^ opad */
                } shani;
        };
};

/* True when this build and this CPU can run the SHA-NI path. */
bool hmac_have_shani(void);

/* The implementation HMAC_IMPL_AUTO resolves to: "shani" or "sodium". */
const char *hmac_impl_name(enum hmac_impl impl);

/* Keys k. Returns -EINVAL for a key longer than HMAC_MAX_KEY_LEN, -ENOTSUP
 * when SHA-NI is asked for and missing. */
int hmac_key_init(struct hmac_key *k, const uint8_t *key, size_t key_len, enum hmac_impl impl);
void hmac_key_wipe(struct hmac_key *k);

void hmac_tag(const struct hmac_key *k, const uint8_t *data, size_t len,
              uint8_t out[static HMAC_TAG_LEN]);

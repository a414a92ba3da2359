/* aes128: the AES-128 block cipher and CBC mode, our own code (no OpenSSL).
 *
 * Two implementations share one key schedule: a portable one whose S-box is
 * computed on bit planes (no table, no branch or memory index that depends on
 * the key or the data), and AES-NI where the CPU has it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AES128_KEY_LEN 16
#define AES128_BLOCK_LEN 16
#define AES128_ROUNDS 10

enum aes128_impl {
        AES128_IMPL_AUTO,     /* AES-NI when present, else portable */
        AES128_IMPL_PORTABLE,
        AES128_IMPL_AESNI,
};

struct aes128_key {
        /* Encryption round keys, then the decryption ones (AES-NI's
         * equivalent inverse cipher form; unused by the portable path). */
        _Alignas(16) uint8_t enc[AES128_ROUNDS + 1][AES128_BLOCK_LEN];
        _Alignas(16) uint8_t dec[AES128_ROUNDS + 1][AES128_BLOCK_LEN];
        enum aes128_impl impl;
};

/* True when this build and this CPU can run the AES-NI path. */
bool aes128_have_aesni(void);

/* The name of impl, "aesni" or "portable"; for AES128_IMPL_AUTO, of the one
 * it picks here. */
const char *aes128_impl_name(enum aes128_impl impl);

/* Expands the key. Returns -ENOTSUP when AES-NI is asked for and missing. */
int aes128_init(struct aes128_key *k, const uint8_t key[static AES128_KEY_LEN],
                enum aes128_impl impl);
void aes128_wipe(struct aes128_key *k);

void aes128_encrypt_block(const struct aes128_key *k, uint8_t out[static AES128_BLOCK_LEN],
                          const uint8_t in[static AES128_BLOCK_LEN]);
void aes128_decrypt_block(const struct aes128_key *k, uint8_t out[static AES128_BLOCK_LEN],
                          const uint8_t in[static AES128_BLOCK_LEN]);

/* CBC over nblocks whole blocks; in and out may be the same buffer. */
void aes128_cbc_encrypt(const struct aes128_key *k, const uint8_t iv[static AES128_BLOCK_LEN],
                        const uint8_t *in, uint8_t *out, size_t nblocks);
void aes128_cbc_decrypt(const struct aes128_key *k, const uint8_t iv[static AES128_BLOCK_LEN],
                        const uint8_t *in, uint8_t *out, size_t nblocks);

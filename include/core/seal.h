/* seal: the packet format. packet = IV || AES-128-CBC(PKCS#7(text)) ||
 * HMAC-SHA256(IV || ciphertext), one 16-byte key for both. Opening checks
 * the tag (in constant time) before decrypting anything. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "core/aes128.h"
#include "core/hmac.h"

#define SEAL_KEY_LEN 16
#define SEAL_IV_LEN 16
#define SEAL_TAG_LEN 32
/* The original reads at most this much of a datagram. */
#define SEAL_MAX_PACKET 4096
#define SEAL_MIN_PACKET (SEAL_IV_LEN + AES128_BLOCK_LEN + SEAL_TAG_LEN)
#define SEAL_MAX_TEXT (SEAL_MAX_PACKET - SEAL_IV_LEN - SEAL_TAG_LEN - 1)

struct seal_key {
        struct aes128_key aes;
        struct hmac_key hmac;
};

/* Keys both ciphers; AES128_IMPL_AUTO picks the fastest AES this CPU can
 * run. Returns -ENOTSUP when a named AES implementation is missing here. */
int seal_key_init(struct seal_key *k, const uint8_t key[static SEAL_KEY_LEN], enum aes128_impl aes);
void seal_key_wipe(struct seal_key *k);

/* The packet length for a text of text_len bytes. */
size_t seal_packet_len(size_t text_len);

/* Seals text with the given IV into out. Returns the packet length, or
 * -ENOBUFS when out is too small, -EMSGSIZE when the packet would be longer
 * than SEAL_MAX_PACKET. */
int seal_seal(const struct seal_key *k, const uint8_t iv[static SEAL_IV_LEN], const uint8_t *text,
              size_t text_len, uint8_t *out, size_t out_cap);

/* Opens a packet into text (SEAL_MAX_PACKET bytes suffice). Returns the text
 * length, -EBADMSG when the packet is not authentic (wrong length or tag),
 * -EPROTO when it is authentic but its padding is wrong, or -ENOBUFS when
 * text_cap is shorter than the ciphertext. */
int seal_open(const struct seal_key *k, const uint8_t *packet, size_t len, uint8_t *text,
              size_t text_cap);

/* Random IVs drawn from a 4 KiB pool: a 32-byte seed from the OS expanded
 * with ChaCha20 (libsodium), so one getrandom call serves 256 packets. Each
 * IV is wiped from the pool once handed out. */
struct seal_ivs {
        uint8_t buf[4096];
        size_t used;
};

void seal_ivs_next(struct seal_ivs *p, uint8_t iv[static SEAL_IV_LEN]);

struct message;

/* Opens a packet and parses its message. Returns 0, -EBADMSG when the packet
 * is not authentic (then *why is NULL), or another negative errno when it is
 * authentic but not a valid message (then *why says what is wrong). */
int seal_open_message(const struct seal_key *k, const uint8_t *packet, size_t len,
                      struct message *m, const char **why);

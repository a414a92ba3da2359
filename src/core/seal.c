/* seal: sealing and opening packets (see seal.h for the format). */
#include "core/seal.h"

#include <errno.h>
#include <string.h>

#include "core/message.h"

int seal_key_init(struct seal_key *k, const uint8_t key[static SEAL_KEY_LEN], enum aes128_impl aes)
{
        int r = aes128_init(&k->aes, key, aes);

        if (r >= 0)
                r = hmac_key_init(&k->hmac, key, SEAL_KEY_LEN);
        if (r < 0)
                seal_key_wipe(k);
        return r;
}

void seal_key_wipe(struct seal_key *k)
{
        sodium_memzero(k, sizeof(*k));
}

size_t seal_packet_len(size_t text_len)
{
        return SEAL_IV_LEN + (text_len / AES128_BLOCK_LEN + 1) * AES128_BLOCK_LEN + SEAL_TAG_LEN;
}

int seal_seal(const struct seal_key *k, const uint8_t iv[static SEAL_IV_LEN], const uint8_t *text,
              size_t text_len, uint8_t *out, size_t out_cap)
{
        size_t len = seal_packet_len(text_len);
        size_t ct_len = len - SEAL_IV_LEN - SEAL_TAG_LEN;
        uint8_t pad = (uint8_t)(ct_len - text_len);
        uint8_t *ct = out + SEAL_IV_LEN;

        if (len > SEAL_MAX_PACKET)
                return -EMSGSIZE;
        if (len > out_cap)
                return -ENOBUFS;
        memcpy(out, iv, SEAL_IV_LEN);
        memcpy(ct, text, text_len);
        memset(ct + text_len, pad, pad);
        aes128_cbc_encrypt(&k->aes, iv, ct, ct, ct_len / AES128_BLOCK_LEN);
        hmac_tag(&k->hmac, out, SEAL_IV_LEN + ct_len, out + SEAL_IV_LEN + ct_len);
        return (int)len;
}

int seal_open(const struct seal_key *k, const uint8_t *packet, size_t len, uint8_t *text,
              size_t text_cap)
{
        uint8_t expect[SEAL_TAG_LEN];
        size_t ct_len;
        unsigned pad;
        int r;

        /* Lengths are public; only whole, non-empty ciphertexts can be genuine. */
        if (len < SEAL_MIN_PACKET || len > SEAL_MAX_PACKET ||
            (len - SEAL_IV_LEN - SEAL_TAG_LEN) % AES128_BLOCK_LEN != 0)
                return -EBADMSG;
        ct_len = len - SEAL_IV_LEN - SEAL_TAG_LEN;
        if (ct_len > text_cap)
                return -ENOBUFS;

        hmac_tag(&k->hmac, packet, SEAL_IV_LEN + ct_len, expect);
        if (sodium_memcmp(expect, packet + SEAL_IV_LEN + ct_len, SEAL_TAG_LEN) != 0)
                return -EBADMSG;

        aes128_cbc_decrypt(&k->aes, packet, packet + SEAL_IV_LEN, text, ct_len / AES128_BLOCK_LEN);
        /* Authentic from here on, so the padding check need not be constant-time. */
        pad = text[ct_len - 1];
        r = pad >= 1 && pad <= AES128_BLOCK_LEN ? 0 : -EPROTO;
        for (size_t i = 0; r == 0 && i < pad; i++)
                if (text[ct_len - 1 - i] != pad)
                        r = -EPROTO;
        return r < 0 ? r : (int)(ct_len - pad);
}

void seal_ivs_next(struct seal_ivs *p, uint8_t iv[static SEAL_IV_LEN])
{
        if (p->used == 0 || p->used + SEAL_IV_LEN > sizeof(p->buf)) {
                uint8_t seed[randombytes_SEEDBYTES];

                /* The OS hands out at most 256 bytes per getrandom call to
                 * libsodium; one 32-byte seed expanded with ChaCha20 costs
                 * one call per 256 IVs and is as unpredictable. */
                randombytes_buf(seed, sizeof(seed));
                randombytes_buf_deterministic(p->buf, sizeof(p->buf), seed);
                sodium_memzero(seed, sizeof(seed));
                p->used = 0;
        }
        memcpy(iv, p->buf + p->used, SEAL_IV_LEN);
        sodium_memzero(p->buf + p->used, SEAL_IV_LEN); /* an IV is used once */
        p->used += SEAL_IV_LEN;
}

int seal_open_message(const struct seal_key *k, const uint8_t *packet, size_t len,
                      struct message *m, const char **why)
{
        uint8_t text[SEAL_MAX_PACKET];
        int r = seal_open(k, packet, len, text, sizeof(text));

        *why = NULL;
        if (r == -EPROTO)
                *why = "bad padding";
        if (r < 0)
                return r;
        r = message_parse(m, text, (size_t)r);
        if (r < 0)
                *why = message_strerror(r);
        return r;
}

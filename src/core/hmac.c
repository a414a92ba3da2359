/* hmac: HMAC-SHA256 (RFC 2104) with pre-hashed pad blocks; libsodium's, or
 * our SHA-256 compression on the SHA extensions (see hmac.h). */
#include "core/hmac.h"

#include <errno.h>
#include <string.h>

#include "build-config.h"

#if HAVE_SHANI
#include <cpuid.h>
#include <immintrin.h>
#endif

bool hmac_have_shani(void)
{
#if HAVE_SHANI
        unsigned a, b, c, d;
        bool ssse3_sse41, sha;

        if (!__get_cpuid(1, &a, &b, &c, &d))
                return false;
        ssse3_sse41 = (c & bit_SSSE3) && (c & bit_SSE4_1);
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
                return false;
        sha = b & bit_SHA;
        return ssse3_sse41 && sha;
#else
        return false;
#endif
}

static enum hmac_impl resolve(enum hmac_impl impl)
{
        if (impl == HMAC_IMPL_AUTO)
                impl = hmac_have_shani() ? HMAC_IMPL_SHANI : HMAC_IMPL_SODIUM;
        return impl;
}

const char *hmac_impl_name(enum hmac_impl impl)
{
        return resolve(impl) == HMAC_IMPL_SHANI ? "shani" : "sodium";
}

#if HAVE_SHANI
/* SHA-256's constants, FIPS 180-4 sections 4.2.2 (K) and 5.3.3 (H0). */
static const uint32_t sha256_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t sha256_h0[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define SHANI __attribute__((target("sha,ssse3,sse4.1")))

/* The next four schedule words W[t..t+3] from W[t-16..t-1], held four to a
 * vector with the earliest word in the low lane. */
static SHANI inline __m128i next_words(__m128i w16, __m128i w12, __m128i w8, __m128i w4)
{
        __m128i x = _mm_sha256msg1_epu32(w16, w12); /* W[t-16] + s0(W[t-15]) */

        x = _mm_add_epi32(x, _mm_alignr_epi8(w4, w8, 4)); /* + W[t-7] */
        return _mm_sha256msg2_epu32(x, w4);                /* + s1(W[t-2]) */
}

/* Runs the compression function over whole blocks. The instructions keep the
 * state as two vectors, (A, B, E, F) and (C, D, G, H), high lane first; each
 * sha256rnds2 does two rounds and returns the new (A, B, E, F), while the old
 * one becomes the new (C, D, G, H) - so the two vectors swap roles. */
static SHANI void shani_compress(uint32_t st[static 8], const uint8_t *p, size_t nblocks)
{
        const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
        __m128i abef = _mm_set_epi32((int)st[0], (int)st[1], (int)st[4], (int)st[5]);
        __m128i cdgh = _mm_set_epi32((int)st[2], (int)st[3], (int)st[6], (int)st[7]);
        uint32_t out[8];

        for (; nblocks > 0; nblocks--, p += HMAC_BLOCK_LEN) {
                __m128i abef0 = abef, cdgh0 = cdgh, w[4];

#pragma GCC unroll 16
                for (int g = 0; g < 16; g++) {
                        __m128i wk;

                        if (g < 4)
                                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
                        else
                                w[g & 3] = next_words(w[g & 3], w[(g + 1) & 3], w[(g + 2) & 3], w[(g + 3) & 3]);
                        wk = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&sha256_k[4 * g]));
                        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
                        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
                }
                abef = _mm_add_epi32(abef, abef0);
                cdgh = _mm_add_epi32(cdgh, cdgh0);
        }
        _mm_storeu_si128((__m128i *)&out[0], abef); /* F, E, B, A */
        _mm_storeu_si128((__m128i *)&out[4], cdgh); /* H, G, D, C */
        st[0] = out[3], st[1] = out[2], st[4] = out[1], st[5] = out[0];
        st[2] = out[7], st[3] = out[6], st[6] = out[5], st[7] = out[4];
}

static void store_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void shani_pad_state(uint32_t st[static 8], const uint8_t *key, size_t key_len, uint8_t pad)
{
        uint8_t block[HMAC_BLOCK_LEN];

        memset(block, pad, sizeof(block));
        for (size_t i = 0; i < key_len; i++)
                block[i] ^= key[i];
        memcpy(st, sha256_h0, sizeof(sha256_h0));
        shani_compress(st, block, 1);
        sodium_memzero(block, sizeof(block));
}

static void store_be64(uint8_t *p, uint64_t v)
{
        store_be32(p, (uint32_t)(v >> 32));
        store_be32(p + 4, (uint32_t)v);
}

/* inner = H(key ^ ipad || data), tag = H(key ^ opad || inner); both pad
 * blocks are already hashed into k. The scratch holds the inner digest, so
 * it is wiped, once. */
static void shani_tag(const struct hmac_key *k, const uint8_t *data, size_t len,
                      uint8_t out[static HMAC_TAG_LEN])
{
        struct {
                uint32_t st[8];
                uint8_t block[2 * HMAC_BLOCK_LEN];
        } s;
        size_t full = len / HMAC_BLOCK_LEN, rest = len % HMAC_BLOCK_LEN;
        size_t n = rest + 9 <= HMAC_BLOCK_LEN ? HMAC_BLOCK_LEN : 2 * HMAC_BLOCK_LEN;

        /* the data's whole blocks, then its tail with SHA-256's padding:
         * 0x80, zeros, and the bit length of everything hashed */
        memcpy(s.st, k->shani.inner, sizeof(s.st));
        if (full > 0)
                shani_compress(s.st, data, full);
        memset(s.block, 0, n);
        memcpy(s.block, data + full * HMAC_BLOCK_LEN, rest);
        s.block[rest] = 0x80;
        store_be64(s.block + n - 8, ((uint64_t)HMAC_BLOCK_LEN + len) * 8);
        shani_compress(s.st, s.block, n / HMAC_BLOCK_LEN);

        /* the outer message is the 32-byte inner digest: one padded block */
        for (int i = 0; i < 8; i++)
                store_be32(s.block + 4 * i, s.st[i]);
        memset(s.block + HMAC_TAG_LEN, 0, HMAC_BLOCK_LEN - HMAC_TAG_LEN);
        s.block[HMAC_TAG_LEN] = 0x80;
        store_be64(s.block + HMAC_BLOCK_LEN - 8, (HMAC_BLOCK_LEN + HMAC_TAG_LEN) * 8);
        memcpy(s.st, k->shani.outer, sizeof(s.st));
        shani_compress(s.st, s.block, 1);
        for (int i = 0; i < 8; i++)
                store_be32(out + 4 * i, s.st[i]);
        sodium_memzero(&s, sizeof(s));
}
#endif

int hmac_key_init(struct hmac_key *k, const uint8_t *key, size_t key_len, enum hmac_impl impl)
{
        impl = resolve(impl);
        if (key_len > HMAC_MAX_KEY_LEN)
                return -EINVAL;
        if (impl == HMAC_IMPL_SHANI && !hmac_have_shani())
                return -ENOTSUP;

        memset(k, 0, sizeof(*k));
        k->impl = impl;
#if HAVE_SHANI
        if (impl == HMAC_IMPL_SHANI) {
                shani_pad_state(k->shani.inner, key, key_len, 0x36);
                shani_pad_state(k->shani.outer, key, key_len, 0x5c);
                return 0;
        }
#endif
        crypto_auth_hmacsha256_init(&k->sodium, key, key_len);
        return 0;
}

void hmac_key_wipe(struct hmac_key *k)
{
        sodium_memzero(k, sizeof(*k));
}

void hmac_tag(const struct hmac_key *k, const uint8_t *data, size_t len,
              uint8_t out[static HMAC_TAG_LEN])
{
        crypto_auth_hmacsha256_state st;

#if HAVE_SHANI
        if (k->impl == HMAC_IMPL_SHANI) {
                shani_tag(k, data, len, out);
                return;
        }
#endif
        st = k->sodium;
        crypto_auth_hmacsha256_update(&st, data, len);
        crypto_auth_hmacsha256_final(&st, out);
        sodium_memzero(&st, sizeof(st));
}

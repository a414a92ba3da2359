/* aes128: AES-128 (FIPS-197) and CBC (NIST SP 800-38A).
 *
 * The portable path never looks anything up in a table. SubBytes converts up
 * to 64 bytes into eight 64-bit bit planes (plane b holds bit b of every byte),
 * computes the multiplicative inverse in GF(2^8) as x^254 with AND and XOR on
 * the planes, applies the affine map, and converts back. Everything else in a
 * round (ShiftRows, MixColumns, AddRoundKey) is fixed-index byte arithmetic.
 * So timing and memory access never depend on the key or the data, which the
 * valgrind test in tests/ checks. Several CBC blocks are decrypted at once to
 * share the cost of the bit-plane S-box. */
#include "core/aes128.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "build-config.h"

#if HAVE_AESNI
#include <wmmintrin.h>
#endif

#define PLANE_LANES 64 /* bytes one bit-plane SubBytes call handles */

/* Transposes an 8x8 bit matrix held in a word, byte i being row i: afterwards
 * bit j of byte i is what bit i of byte j was. */
static uint64_t transpose8(uint64_t x)
{
        uint64_t t;

        t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
        x ^= t ^ (t << 7);
        t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
        x ^= t ^ (t << 14);
        t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
        x ^= t ^ (t << 28);
        return x;
}

static void to_planes(uint64_t p[8], const uint8_t *bytes, size_t n)
{
        memset(p, 0, 8 * sizeof(p[0]));
        for (size_t k = 0; k < n / 8; k++) {
                uint64_t w = 0;

                for (unsigned i = 0; i < 8; i++)
                        w |= (uint64_t)bytes[8 * k + i] << (8 * i);
                w = transpose8(w);
                for (unsigned b = 0; b < 8; b++)
                        p[b] |= ((w >> (8 * b)) & 0xff) << (8 * k);
        }
}

static void from_planes(uint8_t *bytes, const uint64_t p[8], size_t n)
{
        for (size_t k = 0; k < n / 8; k++) {
                uint64_t w = 0;

                for (unsigned b = 0; b < 8; b++)
                        w |= ((p[b] >> (8 * k)) & 0xff) << (8 * b);
                w = transpose8(w);
                for (unsigned i = 0; i < 8; i++)
                        bytes[8 * k + i] = (uint8_t)(w >> (8 * i));
        }
}

/* Reduces a 15-term product modulo x^8 + x^4 + x^3 + x + 1. */
static void gf_reduce(uint64_t r[8], uint64_t t[15])
{
        for (unsigned k = 14; k >= 8; k--) {
                t[k - 4] ^= t[k];
                t[k - 5] ^= t[k];
                t[k - 7] ^= t[k];
                t[k - 8] ^= t[k];
        }
        memcpy(r, t, 8 * sizeof(r[0]));
}

static void gf_mul(uint64_t r[8], const uint64_t a[8], const uint64_t b[8])
{
        uint64_t t[15] = { 0 };

        for (unsigned i = 0; i < 8; i++)
                for (unsigned j = 0; j < 8; j++)
                        t[i + j] ^= a[i] & b[j];
        gf_reduce(r, t);
}

static void gf_sqr(uint64_t r[8], const uint64_t a[8])
{
        uint64_t t[15] = { 0 };

        for (unsigned i = 0; i < 8; i++)
                t[2 * i] = a[i];
        gf_reduce(r, t);
}

/* x^254 = x^-1 (and 0 for 0), by the chain 2, 3, 6, 12, 15, 30, 60, 120,
 * 240, 252, 254. */
static void gf_inv(uint64_t r[8], const uint64_t x[8])
{
        uint64_t x2[8], x3[8], x12[8], x15[8], t[8];

        gf_sqr(x2, x);
        gf_mul(x3, x2, x);
        gf_sqr(t, x3);          /* 6 */
        gf_sqr(x12, t);         /* 12 */
        gf_mul(x15, x12, x3);   /* 15 */
        gf_sqr(t, x15);         /* 30 */
        gf_sqr(t, t);           /* 60 */
        gf_sqr(t, t);           /* 120 */
        gf_sqr(t, t);           /* 240 */
        gf_mul(t, t, x12);      /* 252 */
        gf_mul(r, t, x2);       /* 254 */
}

static void sub_bytes(uint8_t *bytes, size_t n)
{
        uint64_t p[8], v[8];

        to_planes(p, bytes, n);
        gf_inv(v, p);
        for (unsigned i = 0; i < 8; i++)
                p[i] = v[i] ^ v[(i + 4) % 8] ^ v[(i + 5) % 8] ^ v[(i + 6) % 8] ^ v[(i + 7) % 8];
        /* + 0x63: bits 0, 1, 5, 6 */
        p[0] = ~p[0];
        p[1] = ~p[1];
        p[5] = ~p[5];
        p[6] = ~p[6];
        from_planes(bytes, p, n);
}

static void inv_sub_bytes(uint8_t *bytes, size_t n)
{
        uint64_t p[8], v[8];

        to_planes(p, bytes, n);
        for (unsigned i = 0; i < 8; i++)
                v[i] = p[(i + 2) % 8] ^ p[(i + 5) % 8] ^ p[(i + 7) % 8];
        /* + 0x05: bits 0, 2 */
        v[0] = ~v[0];
        v[2] = ~v[2];
        gf_inv(p, v);
        from_planes(bytes, p, n);
}

static uint8_t xtime(uint8_t x)
{
        return (uint8_t)((x << 1) ^ (0x1b & -(x >> 7)));
}

static void shift_rows(uint8_t s[16], int dir)
{
        uint8_t t[16];

        for (unsigned c = 0; c < 4; c++)
                for (unsigned r = 0; r < 4; r++) /* row r moves r places left (dir > 0) or right */
                        t[4 * c + r] = s[4 * ((c + (dir > 0 ? r : 4 - r)) % 4) + r];
        memcpy(s, t, 16);
}

static void mix_columns(uint8_t s[16])
{
        for (unsigned c = 0; c < 4; c++) {
                uint8_t *a = s + 4 * c;
                uint8_t all = a[0] ^ a[1] ^ a[2] ^ a[3], a0 = a[0];

                a[0] ^= all ^ xtime(a[0] ^ a[1]);
                a[1] ^= all ^ xtime(a[1] ^ a[2]);
                a[2] ^= all ^ xtime(a[2] ^ a[3]);
                a[3] ^= all ^ xtime(a[3] ^ a0);
        }
}

/* InvMixColumns = MixColumns after multiplying each column by
 * 04 x^2 + 05 (the usual decomposition). */
static void inv_mix_columns(uint8_t s[16])
{
        for (unsigned c = 0; c < 4; c++) {
                uint8_t *a = s + 4 * c;
                uint8_t u = xtime(xtime(a[0] ^ a[2]));
                uint8_t v = xtime(xtime(a[1] ^ a[3]));

                a[0] ^= u;
                a[1] ^= v;
                a[2] ^= u;
                a[3] ^= v;
        }
        mix_columns(s);
}

static void add_round_key(uint8_t *s, const uint8_t rk[16])
{
        for (unsigned i = 0; i < 16; i++)
                s[i] ^= rk[i];
}

/* Encrypts one block in place. */
static void portable_encrypt(const struct aes128_key *k, uint8_t s[16])
{
        add_round_key(s, k->enc[0]);
        for (unsigned round = 1; round <= AES128_ROUNDS; round++) {
                sub_bytes(s, 16);
                shift_rows(s, 1);
                if (round != AES128_ROUNDS)
                        mix_columns(s);
                add_round_key(s, k->enc[round]);
        }
}

/* Decrypts nblocks (at most PLANE_LANES / 16) blocks in place, together. */
static void portable_decrypt(const struct aes128_key *k, uint8_t *s, size_t nblocks)
{
        for (size_t b = 0; b < nblocks; b++)
                add_round_key(s + 16 * b, k->enc[AES128_ROUNDS]);
        for (unsigned round = AES128_ROUNDS; round-- > 0;) {
                for (size_t b = 0; b < nblocks; b++)
                        shift_rows(s + 16 * b, -1);
                inv_sub_bytes(s, 16 * nblocks);
                for (size_t b = 0; b < nblocks; b++) {
                        add_round_key(s + 16 * b, k->enc[round]);
                        if (round != 0)
                                inv_mix_columns(s + 16 * b);
                }
        }
}

static void expand_key(struct aes128_key *k, const uint8_t key[static AES128_KEY_LEN])
{
        uint8_t rcon = 1;

        memcpy(k->enc[0], key, 16);
        for (unsigned r = 1; r <= AES128_ROUNDS; r++) {
                const uint8_t *prev = k->enc[r - 1];
                uint8_t *rk = k->enc[r];
                uint8_t t[8] = { prev[13], prev[14], prev[15], prev[12] };

                sub_bytes(t, sizeof(t));
                t[0] ^= rcon;
                rcon = xtime(rcon);
                for (unsigned i = 0; i < 16; i++)
                        rk[i] = prev[i] ^ (i < 4 ? t[i] : rk[i - 4]);
                sodium_memzero(t, sizeof(t));
        }
}

#if HAVE_AESNI
#define AESNI __attribute__((target("aes,sse2")))

static AESNI void aesni_make_dec(struct aes128_key *k)
{
        _mm_store_si128((__m128i *)k->dec[0], _mm_load_si128((const __m128i *)k->enc[AES128_ROUNDS]));
        for (unsigned r = 1; r < AES128_ROUNDS; r++)
                _mm_store_si128((__m128i *)k->dec[r],
                                _mm_aesimc_si128(_mm_load_si128((const __m128i *)k->enc[AES128_ROUNDS - r])));
        _mm_store_si128((__m128i *)k->dec[AES128_ROUNDS], _mm_load_si128((const __m128i *)k->enc[0]));
}

static AESNI __m128i aesni_encrypt(const struct aes128_key *k, __m128i x)
{
        x = _mm_xor_si128(x, _mm_load_si128((const __m128i *)k->enc[0]));
        for (unsigned r = 1; r < AES128_ROUNDS; r++)
                x = _mm_aesenc_si128(x, _mm_load_si128((const __m128i *)k->enc[r]));
        return _mm_aesenclast_si128(x, _mm_load_si128((const __m128i *)k->enc[AES128_ROUNDS]));
}

static AESNI __m128i aesni_decrypt(const struct aes128_key *k, __m128i x)
{
        x = _mm_xor_si128(x, _mm_load_si128((const __m128i *)k->dec[0]));
        for (unsigned r = 1; r < AES128_ROUNDS; r++)
                x = _mm_aesdec_si128(x, _mm_load_si128((const __m128i *)k->dec[r]));
        return _mm_aesdeclast_si128(x, _mm_load_si128((const __m128i *)k->dec[AES128_ROUNDS]));
}

static AESNI void aesni_cbc_encrypt(const struct aes128_key *k, const uint8_t *iv,
                                    const uint8_t *in, uint8_t *out, size_t nblocks)
{
        __m128i x = _mm_loadu_si128((const __m128i *)iv);

        for (size_t b = 0; b < nblocks; b++) {
                x = _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)(in + 16 * b)));
                x = aesni_encrypt(k, x);
                _mm_storeu_si128((__m128i *)(out + 16 * b), x);
        }
}

static AESNI void aesni_cbc_decrypt(const struct aes128_key *k, const uint8_t *iv,
                                    const uint8_t *in, uint8_t *out, size_t nblocks)
{
        __m128i prev = _mm_loadu_si128((const __m128i *)iv);

        for (size_t b = 0; b < nblocks; b++) {
                __m128i c = _mm_loadu_si128((const __m128i *)(in + 16 * b));

                _mm_storeu_si128((__m128i *)(out + 16 * b), _mm_xor_si128(aesni_decrypt(k, c), prev));
                prev = c;
        }
}
#endif

bool aes128_have_aesni(void)
{
#if HAVE_AESNI
        __builtin_cpu_init();
        return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
#else
        return false;
#endif
}

const char *aes128_impl_name(enum aes128_impl impl)
{
        if (impl == AES128_IMPL_AUTO)
                impl = aes128_have_aesni() ? AES128_IMPL_AESNI : AES128_IMPL_PORTABLE;
        return impl == AES128_IMPL_AESNI ? "aesni" : "portable";
}

int aes128_init(struct aes128_key *k, const uint8_t key[static AES128_KEY_LEN],
                enum aes128_impl impl)
{
        if (impl == AES128_IMPL_AUTO)
                impl = aes128_have_aesni() ? AES128_IMPL_AESNI : AES128_IMPL_PORTABLE;
        if (impl == AES128_IMPL_AESNI && !aes128_have_aesni())
                return -ENOTSUP;

        memset(k, 0, sizeof(*k));
        k->impl = impl;
        expand_key(k, key);
#if HAVE_AESNI
        if (impl == AES128_IMPL_AESNI)
                aesni_make_dec(k);
#endif
        return 0;
}

void aes128_wipe(struct aes128_key *k)
{
        sodium_memzero(k, sizeof(*k));
}

void aes128_encrypt_block(const struct aes128_key *k, uint8_t out[static AES128_BLOCK_LEN],
                          const uint8_t in[static AES128_BLOCK_LEN])
{
        static const uint8_t zero[AES128_BLOCK_LEN];

        aes128_cbc_encrypt(k, zero, in, out, 1);
}

void aes128_decrypt_block(const struct aes128_key *k, uint8_t out[static AES128_BLOCK_LEN],
                          const uint8_t in[static AES128_BLOCK_LEN])
{
        static const uint8_t zero[AES128_BLOCK_LEN];

        aes128_cbc_decrypt(k, zero, in, out, 1);
}

void aes128_cbc_encrypt(const struct aes128_key *k, const uint8_t iv[static AES128_BLOCK_LEN],
                        const uint8_t *in, uint8_t *out, size_t nblocks)
{
        const uint8_t *prev = iv;

#if HAVE_AESNI
        if (k->impl == AES128_IMPL_AESNI) {
                aesni_cbc_encrypt(k, iv, in, out, nblocks);
                return;
        }
#endif
        for (size_t b = 0; b < nblocks; b++) {
                uint8_t *o = out + 16 * b;

                for (unsigned i = 0; i < 16; i++)
                        o[i] = in[16 * b + i] ^ prev[i];
                portable_encrypt(k, o);
                prev = o;
        }
}

void aes128_cbc_decrypt(const struct aes128_key *k, const uint8_t iv[static AES128_BLOCK_LEN],
                        const uint8_t *in, uint8_t *out, size_t nblocks)
{
        enum { BATCH = PLANE_LANES / AES128_BLOCK_LEN };
        uint8_t prev[AES128_BLOCK_LEN], buf[PLANE_LANES];

#if HAVE_AESNI
        if (k->impl == AES128_IMPL_AESNI) {
                aesni_cbc_decrypt(k, iv, in, out, nblocks);
                return;
        }
#endif
        memcpy(prev, iv, sizeof(prev));
        for (size_t b = 0; b < nblocks; b += BATCH) {
                size_t n = nblocks - b < BATCH ? nblocks - b : BATCH;

                memcpy(buf, in + 16 * b, 16 * n);
                portable_decrypt(k, buf, n);
                for (size_t j = 0; j < n; j++) {
                        for (unsigned i = 0; i < 16; i++)
                                buf[16 * j + i] ^= j == 0 ? prev[i] : in[16 * (b + j - 1) + i];
                }
                memcpy(prev, in + 16 * (b + n - 1), 16); /* before out may overwrite in */
                memcpy(out + 16 * b, buf, 16 * n);
        }
        sodium_memzero(buf, sizeof(buf));
}

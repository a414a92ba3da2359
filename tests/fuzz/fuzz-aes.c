/* Fuzz target: AES-128-CBC three ways, differentially: the constant-time
 * bit-sliced path, AES-NI (where the CPU has it), and the plain textbook
 * cipher below (FIPS-197 as written: S-box computed from GF(2^8) inverses,
 * no tricks). Input: 16 bytes key, 16 bytes IV, then whole blocks. Every
 * path must give the same ciphertext, and decrypt it back. Any difference
 * aborts. The reference is test code only: slow and table-driven. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/aes128.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BLOCKS 64

static uint8_t sbox[256];

static uint8_t xtime(uint8_t x)
{
        return (uint8_t)((x << 1) ^ ((x & 0x80) ? 0x1b : 0));
}

static uint8_t gmul(uint8_t a, uint8_t b)
{
        uint8_t p = 0;

        for (int i = 0; i < 8; i++, a = xtime(a), b >>= 1)
                if (b & 1)
                        p ^= a;
        return p;
}

static uint8_t rotl8(uint8_t x, int n)
{
        return (uint8_t)((x << n) | (x >> (8 - n)));
}

/* S(x) = affine(x^-1), the inverse found by search: fine for a test. */
static void ref_init(void)
{
        for (int x = 0; x < 256; x++) {
                uint8_t inv = 0;

                for (int y = 1; y < 256 && x; y++)
                        if (gmul((uint8_t)x, (uint8_t)y) == 1)
                                inv = (uint8_t)y;
                sbox[x] = (uint8_t)(inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63);
        }
}

static void ref_expand(const uint8_t key[16], uint8_t rk[11][16])
{
        uint8_t rcon = 1;

        memcpy(rk[0], key, 16);
        for (int r = 1; r <= 10; r++, rcon = xtime(rcon)) {
                const uint8_t *p = rk[r - 1];
                uint8_t t[4] = { sbox[p[13]], sbox[p[14]], sbox[p[15]], sbox[p[12]] };

                t[0] ^= rcon;
                for (int i = 0; i < 16; i++)
                        rk[r][i] = p[i] ^ (i < 4 ? t[i] : rk[r][i - 4]);
        }
}

static void ref_encrypt(uint8_t rk[11][16], uint8_t s[16])
{
        for (int i = 0; i < 16; i++)
                s[i] ^= rk[0][i];
        for (int r = 1; r <= 10; r++) {
                uint8_t t[16];

                for (int i = 0; i < 16; i++) /* SubBytes and ShiftRows */
                        t[i] = sbox[s[(i + 4 * (i % 4)) % 16]];
                for (int c = 0; c < 4 && r < 10; c++) { /* MixColumns */
                        uint8_t *col = t + 4 * c, a[4];

                        memcpy(a, col, 4);
                        for (int i = 0; i < 4; i++)
                                col[i] = gmul(a[i], 2) ^ gmul(a[(i + 1) % 4], 3) ^ a[(i + 2) % 4] ^ a[(i + 3) % 4];
                }
                for (int i = 0; i < 16; i++)
                        s[i] = t[i] ^ rk[r][i];
        }
}

static void ref_cbc(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t n)
{
        uint8_t rk[11][16], chain[16];

        ref_expand(key, rk);
        memcpy(chain, iv, 16);
        for (size_t b = 0; b < n; b++) {
                for (int i = 0; i < 16; i++)
                        chain[i] ^= in[16 * b + (size_t)i];
                ref_encrypt(rk, chain);
                memcpy(out + 16 * b, chain, 16);
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc, (void)argv;
        ref_init();
        if (sbox[0] != 0x63 || sbox[0x53] != 0xed) /* FIPS-197 figure 7 */
                abort();
        if (!aes128_have_aesni())
                fprintf(stderr, "fuzz-aes: no AES-NI on this CPU; bit-sliced against the reference only\n");
        return 0;
}

/* Encrypts with one implementation, checks against want, and decrypts back. */
static void check_impl(enum aes128_impl impl, const uint8_t *key, const uint8_t *iv, const uint8_t *in,
                       const uint8_t *want, size_t n)
{
        static uint8_t got[MAX_BLOCKS * 16], back[MAX_BLOCKS * 16];
        struct aes128_key k;

        if (aes128_init(&k, key, impl) < 0)
                abort();
        aes128_cbc_encrypt(&k, iv, in, got, n);
        aes128_cbc_decrypt(&k, iv, got, back, n);
        if (memcmp(got, want, 16 * n) != 0 || memcmp(back, in, 16 * n) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t want[MAX_BLOCKS * 16];
        size_t n;

        if (size < 48)
                return 0;
        n = (size - 32) / 16;
        if (n > MAX_BLOCKS)
                n = MAX_BLOCKS;
        ref_cbc(data, data + 16, data + 32, want, n);
        check_impl(AES128_IMPL_PORTABLE, data, data + 16, data + 32, want, n);
        if (aes128_have_aesni())
                check_impl(AES128_IMPL_AESNI, data, data + 16, data + 32, want, n);
        return 0;
}

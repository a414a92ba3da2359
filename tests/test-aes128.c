/* Known-answer tests for AES-128 (FIPS-197 appendix C.1, the key expansion of
 * appendix A.1) and CBC (NIST SP 800-38A, F.2.1 and F.2.2), on every
 * implementation this machine can run, plus agreement between them on random
 * data. */
#include <errno.h>

#include <sodium.h>

#include "core/aes128.h"
#include "build-config.h"
#include "check.h"

static const char *const cbc_key = "2b7e151628aed2a6abf7158809cf4f3c";
static const char *const cbc_iv = "000102030405060708090a0b0c0d0e0f";
static const char *const cbc_pt =
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
static const char *const cbc_ct =
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7";

static void test_fips197(enum aes128_impl impl)
{
        uint8_t key[16], pt[16], ct[16], out[16];
        struct aes128_key k;

        check_unhex("000102030405060708090a0b0c0d0e0f", key, sizeof(key));
        check_unhex("00112233445566778899aabbccddeeff", pt, sizeof(pt));
        check_unhex("69c4e0d86a7b0430d8cdb78070b4c55a", ct, sizeof(ct));
        CHECK_INT(aes128_init(&k, key, impl), 0);
        aes128_encrypt_block(&k, out, pt);
        CHECK_MEM(out, ct, 16);
        aes128_decrypt_block(&k, out, ct);
        CHECK_MEM(out, pt, 16);
        aes128_wipe(&k);
}

static void test_key_expansion(enum aes128_impl impl)
{
        uint8_t key[16], last[16];
        struct aes128_key k;

        check_unhex(cbc_key, key, sizeof(key));
        check_unhex("d014f9a8c9ee2589e13f0cc8b6630ca6", last, sizeof(last));
        CHECK_INT(aes128_init(&k, key, impl), 0);
        CHECK_MEM(k.enc[AES128_ROUNDS], last, 16);
}

static void test_cbc(enum aes128_impl impl)
{
        uint8_t key[16], iv[16], pt[64], ct[64], out[64];
        struct aes128_key k;

        check_unhex(cbc_key, key, sizeof(key));
        check_unhex(cbc_iv, iv, sizeof(iv));
        check_unhex(cbc_pt, pt, sizeof(pt));
        check_unhex(cbc_ct, ct, sizeof(ct));
        CHECK_INT(aes128_init(&k, key, impl), 0);

        aes128_cbc_encrypt(&k, iv, pt, out, 4);
        CHECK_MEM(out, ct, 64);
        aes128_cbc_decrypt(&k, iv, ct, out, 4);
        CHECK_MEM(out, pt, 64);

        /* in place, and with every length 1 to 4 */
        for (size_t n = 1; n <= 4; n++) {
                memcpy(out, ct, 64);
                aes128_cbc_decrypt(&k, iv, out, out, n);
                CHECK_MEM(out, pt, 16 * n);
                memcpy(out, pt, 64);
                aes128_cbc_encrypt(&k, iv, out, out, n);
                CHECK_MEM(out, ct, 16 * n);
        }
}

/* Both paths agree on long random messages (more blocks than one batch). */
static void test_agreement(void)
{
        uint8_t key[16], iv[16], pt[16 * 37], a[sizeof(pt)], b[sizeof(pt)];
        struct aes128_key ka, kb;

        for (unsigned round = 0; round < 20; round++) {
                randombytes_buf(key, sizeof(key));
                randombytes_buf(iv, sizeof(iv));
                randombytes_buf(pt, sizeof(pt));
                CHECK_INT(aes128_init(&ka, key, AES128_IMPL_PORTABLE), 0);
                CHECK_INT(aes128_init(&kb, key, AES128_IMPL_AESNI), 0);
                aes128_cbc_encrypt(&ka, iv, pt, a, round + 1);
                aes128_cbc_encrypt(&kb, iv, pt, b, round + 1);
                CHECK_MEM(a, b, 16 * (round + 1));
                aes128_cbc_decrypt(&ka, iv, a, a, round + 1);
                aes128_cbc_decrypt(&kb, iv, b, b, round + 1);
                CHECK_MEM(a, pt, 16 * (round + 1));
                CHECK_MEM(b, pt, 16 * (round + 1));
        }
}

int main(void)
{
        enum aes128_impl impls[] = { AES128_IMPL_PORTABLE, AES128_IMPL_AESNI };

        if (sodium_init() < 0)
                return 99;
        /* a build that can use AES-NI must use it where the CPU has it */
        if (HAVE_AESNI && check_cpu_has("aes"))
                CHECK(aes128_have_aesni());
        for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
                struct aes128_key k;

                if (aes128_init(&k, (const uint8_t[16]){ 0 }, impls[i]) == -ENOTSUP) {
                        printf("# %s: not available on this machine, not tested\n",
                               aes128_impl_name(impls[i]));
                        continue;
                }
                printf("# testing the %s path\n", aes128_impl_name(impls[i]));
                test_fips197(impls[i]);
                test_key_expansion(impls[i]);
                test_cbc(impls[i]);
        }
        if (aes128_have_aesni())
                test_agreement();
        return check_finish("aes128");
}

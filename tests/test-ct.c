/* Constant time, checked by valgrind: the key and the data are marked
 * undefined for memcheck, which then reports any branch or memory index that
 * depends on them. The AES key expansion, encryption and decryption (CBC,
 * one block and several) must draw no report, on each implementation.
 * With --control, it does a table lookup indexed by a secret byte instead,
 * which memcheck must report: the method can fail.
 * Run under: valgrind --error-exitcode=1 test-ct [--control] */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#include "core/aes128.h"

static int run(enum aes128_impl impl)
{
        uint8_t key[16], iv[16], pt[16 * 9], ct[sizeof(pt)], back[sizeof(pt)];
        struct aes128_key k;
        int r;

        randombytes_buf(key, sizeof(key));
        randombytes_buf(iv, sizeof(iv));
        randombytes_buf(pt, sizeof(pt));
        VALGRIND_MAKE_MEM_UNDEFINED(key, sizeof(key));
        VALGRIND_MAKE_MEM_UNDEFINED(pt, sizeof(pt));
        VALGRIND_MAKE_MEM_UNDEFINED(iv, sizeof(iv));

        r = aes128_init(&k, key, impl);
        if (r == -ENOTSUP) {
                printf("# %s: not on this CPU\n", aes128_impl_name(impl));
                return 0;
        }
        aes128_cbc_encrypt(&k, iv, pt, ct, sizeof(pt) / 16);
        aes128_cbc_decrypt(&k, iv, ct, back, sizeof(ct) / 16);
        aes128_encrypt_block(&k, ct, pt);
        aes128_decrypt_block(&k, back, ct);

        /* only now may the results be looked at */
        VALGRIND_MAKE_MEM_DEFINED(&k, sizeof(k));
        VALGRIND_MAKE_MEM_DEFINED(pt, sizeof(pt));
        VALGRIND_MAKE_MEM_DEFINED(back, sizeof(back));
        aes128_wipe(&k);
        if (memcmp(pt, back, 16) != 0) {
                printf("FAIL: %s does not decrypt what it encrypted\n", aes128_impl_name(impl));
                return 1;
        }
        printf("ok - %s: no report expected from memcheck\n", aes128_impl_name(impl));
        return 0;
}

/* The kind of code the test exists to catch: an S-box table indexed by a
 * secret. */
static int control(void)
{
        static const uint8_t table[256] = { 1, 2, 3 };
        uint8_t secret[1];
        volatile uint8_t out;

        randombytes_buf(secret, sizeof(secret));
        VALGRIND_MAKE_MEM_UNDEFINED(secret, sizeof(secret));
        out = table[secret[0]];
        (void)out;
        return 0;
}

int main(int argc, char **argv)
{
        if (sodium_init() < 0)
                return 99;
        if (!RUNNING_ON_VALGRIND)
                printf("# not under valgrind: this only checks that it runs\n");
        if (argc > 1 && strcmp(argv[1], "--control") == 0)
                return control();
        return run(AES128_IMPL_PORTABLE) | run(AES128_IMPL_AESNI);
}

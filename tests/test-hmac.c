/* Known-answer tests for HMAC-SHA256 (RFC 4231 test cases 1-4, the ones with
 * keys of at most one block), and agreement of the keyed-once state copied
 * per tag with libsodium's streaming HMAC started afresh, on random keys and
 * messages of every length around SHA-256's padding boundaries. */
#include <errno.h>

#include <sodium.h>

#include "check.h"
#include "core/hmac.h"

struct rfc4231_case {
        const char *key, *data, *tag; /* hex */
};

static const struct rfc4231_case rfc4231[] = {
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
          "dddddddddddddddddddddddddddd",
          "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
        { "0102030405060708090a0b0c0d0e0f10111213141516171819",
          "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
          "cdcdcdcdcdcdcdcdcdcdcdcd",
          "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
};

static void test_rfc4231(void)
{
        for (size_t i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
                uint8_t key[64], data[64], want[32], got[32];
                long key_len = check_unhex(rfc4231[i].key, key, sizeof(key));
                long data_len = check_unhex(rfc4231[i].data, data, sizeof(data));
                struct hmac_key k;

                CHECK(key_len >= 0 && data_len >= 0);
                check_unhex(rfc4231[i].tag, want, sizeof(want));
                CHECK_INT(hmac_key_init(&k, key, (size_t)key_len), 0);
                hmac_tag(&k, data, (size_t)data_len, got);
                CHECK_MEM(got, want, sizeof(want));
                hmac_key_wipe(&k);
        }
}

/* Every message length up to five blocks (the 55/56 and 63/64 byte padding
 * edges included) under every key length up to one block. */
static void test_agreement(void)
{
        uint8_t key[HMAC_MAX_KEY_LEN], data[5 * HMAC_BLOCK_LEN], want[32], got[32];
        unsigned bad = 0;

        for (size_t key_len = 0; key_len <= sizeof(key); key_len++) {
                struct hmac_key k;

                randombytes_buf(key, sizeof(key));
                randombytes_buf(data, sizeof(data));
                CHECK_INT(hmac_key_init(&k, key, key_len), 0);
                for (size_t len = 0; len <= sizeof(data); len++) {
                        crypto_auth_hmacsha256_state st;

                        /* the one-shot API only takes 32-byte keys; the streaming one any */
                        crypto_auth_hmacsha256_init(&st, key, key_len);
                        crypto_auth_hmacsha256_update(&st, data, len);
                        crypto_auth_hmacsha256_final(&st, want);
                        hmac_tag(&k, data, len, got);
                        if (memcmp(got, want, sizeof(want)) != 0 && bad++ < 5)
                                fprintf(stderr, "key %zu bytes, message %zu bytes: tags differ\n", key_len, len);
                }
                hmac_key_wipe(&k);
        }
        CHECK_INT(bad, 0);
}

static void test_limits(void)
{
        uint8_t key[HMAC_MAX_KEY_LEN + 1] = { 0 };
        struct hmac_key k;

        CHECK_INT(hmac_key_init(&k, key, sizeof(key)), -EINVAL);
        CHECK_INT(hmac_key_init(&k, key, sizeof(key) - 1), 0);
        hmac_key_wipe(&k);
}

int main(void)
{
        if (sodium_init() < 0)
                return 99;
        test_limits();
        test_rfc4231();
        test_agreement();
        return check_finish("hmac");
}

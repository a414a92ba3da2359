/* Fuzz target: our SHA-NI HMAC-SHA256 against libsodium's, differentially.
 * The first byte picks the key length (0-64), the key follows, the rest is
 * the message. Any difference aborts. Without SHA-NI on the CPU the target
 * only runs libsodium's path (and says so once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/hmac.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc, (void)argv;
        if (sodium_init() < 0)
                abort();
        if (!hmac_have_shani())
                fprintf(stderr, "fuzz-hmac: no SHA-NI on this CPU; only libsodium's path runs\n");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        crypto_auth_hmacsha256_state st;
        uint8_t want[HMAC_TAG_LEN], got[HMAC_TAG_LEN];
        struct hmac_key k;
        size_t key_len;

        if (size < 1)
                return 0;
        key_len = data[0] % (HMAC_MAX_KEY_LEN + 1);
        if (size - 1 < key_len)
                return 0;
        crypto_auth_hmacsha256_init(&st, data + 1, key_len);
        crypto_auth_hmacsha256_update(&st, data + 1 + key_len, size - 1 - key_len);
        crypto_auth_hmacsha256_final(&st, want);
        if (hmac_key_init(&k, data + 1, key_len, HMAC_IMPL_AUTO) < 0)
                abort();
        hmac_tag(&k, data + 1 + key_len, size - 1 - key_len, got);
        if (memcmp(got, want, sizeof(got)) != 0)
                abort();
        return 0;
}

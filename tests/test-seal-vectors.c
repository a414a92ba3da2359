/* The golden packets sealed by the original, each with its key
 * (tests/data/packets.json): every valid one opens to its exact plaintext,
 * parses to its message, re-seals with its IV to the exact packet, and
 * writes back to the same JSON and log text; every reject and
 * authenticated_malformed one is refused. On every AES implementation this
 * machine can run. */
#include <errno.h>

#include <jansson.h>
#include <sodium.h>

#include "check.h"
#include "daemon/key.h"
#include "core/message.h"
#include "core/seal.h"

static json_t *vectors;

static const char *str(json_t *o, const char *name)
{
        const char *s = json_string_value(json_object_get(o, name));

        if (!s) {
                fprintf(stderr, "vector without \"%s\"\n", name);
                exit(99);
        }
        return s;
}

struct impl {
        enum aes128_impl aes;
};

static void load_key(json_t *v, struct seal_key *sk, struct impl impl)
{
        uint8_t key[KEY_LEN];

        CHECK_INT(key_decode(str(v, "key"), key), 0);
        CHECK_INT(seal_key_init(sk, key, impl.aes), 0);
}

/* The vector's packet unhexed into packet (its length in *len) and opened
 * into text with the vector's key, left in sk. */
static int open_vector(json_t *v, struct impl impl, struct seal_key *sk, uint8_t packet[static 8192], long *len,
                       uint8_t text[static SEAL_MAX_PACKET])
{
        *len = check_unhex(str(v, "packet_hex"), packet, 8192);
        load_key(v, sk, impl);
        return seal_open(sk, packet, (size_t)*len, text, SEAL_MAX_PACKET);
}

static void test_valid(json_t *v, struct impl impl)
{
        static uint8_t packet[8192], text[SEAL_MAX_PACKET], again[SEAL_MAX_PACKET];
        char json[MESSAGE_TEXT_MAX], repr[MESSAGE_TEXT_MAX];
        const char *plaintext = str(v, "plaintext");
        json_t *msg = json_object_get(v, "message");
        struct seal_key sk;
        struct message m;
        long len;
        int n = open_vector(v, impl, &sk, packet, &len, text);

        CHECK_INT(n, (long long)strlen(plaintext));
        if (n < 0)
                return;
        CHECK(memcmp(text, plaintext, strlen(plaintext)) == 0);

        CHECK_INT(message_parse(&m, text, (size_t)n), 0);
        CHECK_STR(m.id, json_string_value(json_object_get(msg, "id")));
        CHECK_INT(m.id_len, json_string_length(json_object_get(msg, "id")));
        CHECK_STR(message_type_name(m.type), json_string_value(json_object_get(msg, "type")));
        CHECK_INT(m.data[0], json_integer_value(json_array_get(json_object_get(msg, "data"), 0)));
        CHECK_INT(m.data[1], json_integer_value(json_array_get(json_object_get(msg, "data"), 1)));

        CHECK(message_to_json(&m, json, sizeof(json)) > 0);
        CHECK_STR(json, plaintext);
        CHECK(message_to_repr(&m, repr, sizeof(repr)) > 0);
        CHECK_STR(repr, str(v, "log_repr"));
        {
                /* and the log text reads back to the same message */
                const char *lr = str(v, "log_repr");
                struct message back;

                CHECK_INT(message_parse_repr(&back, lr, strlen(lr)), (long long)strlen(lr));
                CHECK(back.type == m.type && back.id_len == m.id_len && memcmp(back.id, m.id, m.id_len) == 0 &&
                      back.data[0] == m.data[0] && back.data[1] == m.data[1]);
        }

        n = seal_seal(&sk, packet, (const uint8_t *)json, strlen(json), again, sizeof(again));
        CHECK_INT(n, len);
        CHECK(n == len && memcmp(again, packet, (size_t)len) == 0);
        seal_key_wipe(&sk);
}

static void test_reject(json_t *v, struct impl impl)
{
        static uint8_t packet[70000], text[SEAL_MAX_PACKET];
        struct seal_key sk;
        long len = check_unhex(str(v, "packet_hex"), packet, sizeof(packet));

        load_key(v, &sk, impl);
        CHECK(len >= 0);
        CHECK_INT(seal_open(&sk, packet, (size_t)len, text, sizeof(text)), -EBADMSG);
}

static void test_malformed(json_t *v, struct impl impl)
{
        static uint8_t packet[8192], text[SEAL_MAX_PACKET];
        struct seal_key sk;
        struct message m;
        long len;
        int n = open_vector(v, impl, &sk, packet, &len, text);

        /* authentic, so never -EBADMSG; then either the padding or the message is bad */
        CHECK(n != -EBADMSG);
        if (n >= 0)
                CHECK(message_parse(&m, text, (size_t)n) < 0);
        else
                CHECK_INT(n, -EPROTO);
}

static size_t run(const char *group, void (*fn)(json_t *, struct impl), struct impl impl)
{
        json_t *list = json_object_get(vectors, group), *v;
        size_t i;

        json_array_foreach(list, i, v)
                fn(v, impl);
        return json_array_size(list);
}

/* The IV pool: across several refills no IV repeats, none is all zeros,
 * and a handed-out IV no longer sits in the pool. */
static void test_ivs(void)
{
        enum { N = 1000 };
        static uint8_t ivs[N][SEAL_IV_LEN];
        static const uint8_t zero[SEAL_IV_LEN];
        struct seal_ivs pool = { .used = 0 };
        size_t repeats = 0, zeros = 0;

        for (size_t i = 0; i < N; i++) {
                seal_ivs_next(&pool, ivs[i]);
                zeros += memcmp(ivs[i], zero, SEAL_IV_LEN) == 0;
                CHECK_MEM(pool.buf + pool.used - SEAL_IV_LEN, zero, SEAL_IV_LEN);
        }
        for (size_t i = 0; i < N; i++)
                for (size_t j = i + 1; j < N; j++)
                        repeats += memcmp(ivs[i], ivs[j], SEAL_IV_LEN) == 0;
        CHECK_INT(repeats, 0);
        CHECK_INT(zeros, 0);
}

int main(int argc, char **argv)
{
        const struct impl impls[] = {
                { AES128_IMPL_PORTABLE },
                { AES128_IMPL_AESNI },
        };
        json_error_t err;

        if (sodium_init() < 0 || argc != 2)
                return 99;
        vectors = json_load_file(argv[1], 0, &err);
        if (!vectors) {
                fprintf(stderr, "%s: %s\n", argv[1], err.text);
                return 99;
        }
        for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
                const char *aes = aes128_impl_name(impls[i].aes);
                size_t n;

                if (impls[i].aes == AES128_IMPL_AESNI && !aes128_have_aesni()) {
                        printf("# AES %s: not available here, not tested\n", aes);
                        continue;
                }
                n = run("valid", test_valid, impls[i]);
                n += run("reject", test_reject, impls[i]);
                n += run("authenticated_malformed", test_malformed, impls[i]);
                printf("# AES %s: %zu vectors\n", aes, n);
                CHECK(n >= 70); /* the file really held the vectors */
        }
        json_decref(vectors);
        test_ivs();
        return check_finish("vectors");
}

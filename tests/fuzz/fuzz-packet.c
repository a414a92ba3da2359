/* Fuzz target: datagrams into the client and server state machines. The
 * first byte picks the mode: raw (the bytes as they arrive, so almost all
 * fail authentication) or sealed (the bytes are a plaintext the fuzzer's
 * key seals first, so padding, JSON and protocol logic are reached). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/client.h"
#include "core/seal.h"
#include "core/server.h"

static struct seal_key key;
static struct server server;
static struct client client;
static struct client_config cfg;
static struct addr from;
static const struct server_config scfg = { .max_clients = 64, .keepalive_interval_us = 26625000, .keepalive_count = 5,
                                           .probes = { .max_delay_s = 3600, .max_pending = 256, .max_per_client = 8 } };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        static const uint8_t k[16] = "fuzzing-key-0123";
        struct actions a;

        if (sodium_init() < 0 || seal_key_init(&key, k, AES128_IMPL_AUTO) < 0 ||
            server_init(&server, &scfg) < 0 || addr_from_string(&from, "192.0.2.1", 43210) < 0)
                abort();
        memcpy(cfg.id, "home", 5);
        cfg.id_len = 4;
        cfg.server = from;
        cfg.handshake_timeout_us = 5000000;
        cfg.keepalive_interval_us = 26625000;
        cfg.keepalive_count = 5;
        client_start(&client, &cfg, 1000, 1732673216, &a);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t packet[SEAL_MAX_PACKET + 64];
        static const uint8_t iv[SEAL_IV_LEN];
        static uint64_t now = 1000;
        struct opened in;
        struct actions a;
        int len;

        if (size == 0)
                return 0;
        if (data[0] & 1) {
                len = seal_seal(&key, iv, data + 1, size - 1, packet, sizeof(packet));
                if (len < 0)
                        return 0;
        } else {
                len = (int)(size - 1 > sizeof(packet) ? sizeof(packet) : size - 1);
                memcpy(packet, data + 1, (size_t)len);
        }
        now += 1000;
        in.err = seal_open_message(&key, packet, (size_t)len, &in.msg, &in.why);
        server_receive(&server, now, 1732673217, &from, &in, &a);
        client_receive(&client, now, &from, &in, &a);
        client_timer(&client, now, &a);
        server_timer(&server, now, &a);
        /* probe answers come due: a delay of d s is a million calls per
         * second away, so the clock jumps an hour now and then */
        if (data[0] & 2)
                now += 3600000000ULL;
        server_probe_timer(&server, now, &a);
        return 0;
}

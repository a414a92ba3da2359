/* peer: helpers for the protocol tests: a fixed key, and sealing a message as
 * the other end would. */
#pragma once

#include <sodium.h>

#include "core/addr.h"
#include "check.h"
#include "core/actions.h"
#include "core/seal.h"

static inline void peer_key(struct seal_key *k)
{
        static const uint8_t key[16] = "0123456789abcdef";

        if (seal_key_init(k, key, AES128_IMPL_AUTO) < 0)
                exit(99);
}

/* Seals a message into buf; returns the packet length. */
static inline size_t peer_seal(const struct seal_key *k, enum message_type type, const char *id,
                               uint64_t d0, uint64_t d1, uint8_t *buf, size_t cap)
{
        char text[MESSAGE_TEXT_MAX];
        uint8_t iv[SEAL_IV_LEN];
        struct message m;
        ssize_t n;
        int len;

        randombytes_buf(iv, sizeof(iv));
        if (message_init(&m, type, id, strlen(id), d0, d1) < 0)
                exit(99);
        n = message_to_json(&m, text, sizeof(text));
        len = n < 0 ? -1 : seal_seal(k, iv, (const uint8_t *)text, (size_t)n, buf, cap);
        if (len < 0)
                exit(99);
        return (size_t)len;
}

/* Opens a datagram as the daemon does before the core sees it. The result
 * lives until the next call. */
static inline const struct opened *peer_open(const struct seal_key *k, const uint8_t *packet, size_t len)
{
        static struct opened o;

        o.err = seal_open_message(k, packet, len, &o.msg, &o.why);
        return &o;
}

static inline struct addr peer_addr(const char *ip, uint16_t port)
{
        struct addr a;

        if (addr_from_string(&a, ip, port) < 0)
                exit(99);
        return a;
}

/* How many events of a kind an action list holds. */
static inline size_t peer_count(const struct actions *a, enum event_kind kind)
{
        size_t n = 0;

        for (size_t i = 0; i < a->n_events; i++)
                n += a->events[i].kind == kind;
        return n;
}

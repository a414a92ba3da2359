/* server: the server's protocol state machine, free of I/O. It takes a
 * datagram, where it came from and the time, and returns what to log and
 * what to send. Replay rule (PROTOCOL.md): an authentic handshake_init is
 * answered, to the address it came from, only when its handshake id is above
 * the highest one seen from that client id. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "peers.h"
#include "seal.h"

#define SERVER_DEFAULT_MAX_CLIENTS 65536

struct server_stats {
        uint64_t rx, tx, invalid, replays, evicted;
        uint64_t last_rx_us;
        struct addr last_from; /* where the last valid message came from */
        char last_id[MESSAGE_ID_MAX + 1];
        size_t last_id_len;
};

struct server {
        const struct seal_key *key;
        struct peers peers;
        struct server_stats stats;
        uint64_t state_changes; /* highest ids changed: the state file is behind */
};

int server_init(struct server *s, const struct seal_key *key, size_t max_clients);
void server_free(struct server *s);

void server_receive(struct server *s, uint64_t now_us, const struct addr *from,
                    const uint8_t *packet, size_t len, struct actions *out);

/* The one-line status for systemd: clients, packets, the last one seen. */
void server_status(const struct server *s, char *buf, size_t cap);

/* peers: the server's table of clients, keyed by client id. Each entry holds
 * what the server knows of one client: the highest handshake id answered,
 * where it was last seen, counters. Bounded: when full, the client heard
 * from least recently makes room (the caller logs it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/index.h"
#include "core/message.h"

struct peer {
        struct peer *newer, *older; /* recency list: the newest at the head */
        uint64_t hash; /* its id's, in the table's index */
        uint64_t highest_init; /* 0: none seen */
        uint64_t noted_init;   /* the highest_init last given to the state file's writer */
        struct addr addr;      /* where the last message came from */
        uint64_t first_seen_us, last_seen_us;
        uint64_t rx, tx, replays; /* rx 0: not heard since the start (restored from the state file) */
        uint64_t ka_handshake;  /* the handshake the keepalive counter belongs to */
        uint64_t answered_hs;   /* the latest init this server answered since it started */
        uint64_t ka_last;       /* the highest keepalive counter seen in it */
        uint64_t keepalives, lost, duplicates, rebinds;
        bool silent;
        uint32_t probes_pending; /* core/probe-server: answers waiting for this id */
        size_t id_len;
        char id[]; /* id_len bytes and a NUL */
};

struct peers {
        struct index ids; /* of the entries, by id */
        size_t count, max;
        struct peer *newest, *oldest;
};

int peers_init(struct peers *t, size_t max);
void peers_free(struct peers *t);

struct peer *peers_find(const struct peers *t, const char *id, size_t id_len);

/* Adds a client (not yet present) as the most recently heard. Returns
 * -ENOSPC when the table holds its maximum (evict first), -ENOMEM, or 0
 * and the new entry, zeroed but for its id. */
int peers_add(struct peers *t, const char *id, size_t id_len, struct peer **out);

/* Marks a client as just heard from. */
void peers_touch(struct peers *t, struct peer *p);

/* Removes and frees a client. */
void peers_remove(struct peers *t, struct peer *p);

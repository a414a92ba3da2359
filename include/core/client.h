/* client: the client's protocol state machine, free of I/O. It takes the
 * time and an input (start, a timer expiry, a datagram) and returns what to
 * log, what to send and when to wake next. The schedule (the protocol, see
 * README.md "Protocol in brief"):
 * disconnected, a handshake_init at once and then every handshake timeout,
 * each with the next id; once answered, keepalive 1 at once and the others at
 * every keepalive interval; right after the last one, a new handshake. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/actions.h"

#define CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US 5000000ULL
#define CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US 26625000ULL
#define CLIENT_DEFAULT_KEEPALIVE_COUNT 5

/* After this many handshakes in a row unanswered (since the start, the
 * last answer or the last lookup) the client asks for the server's name
 * to be looked up again: 135 s at the default handshake timeout, the bound
 * of WireGuard's reresolve-dns, whose handshakes are retried every 5 s
 * too. A count rather than a time, so that it scales with the timeout. */
#define CLIENT_RERESOLVE_UNANSWERED 27

struct client_config {
        size_t id_len;
        char id[MESSAGE_ID_MAX + 1];
        struct addr server;
        uint64_t handshake_timeout_us;
        uint64_t keepalive_interval_us;
        unsigned keepalive_count;
};

/* Round-trip histogram bounds, in microseconds (Prometheus "le" buckets). */
#define CLIENT_RTT_BUCKETS 12
extern const uint64_t client_rtt_bounds_us[CLIENT_RTT_BUCKETS];

struct client_stats {
        uint64_t inits, answered, keepalives, rx, invalid, ignored;
        uint64_t unanswered, outages;
        uint64_t last_rtt_us, last_outage_us;
        uint64_t outage_us_total; /* the outages that ended, added up */
        uint64_t last_answer_us; /* monotonic time of the latest answer; 0: none */
        uint64_t rx_type[MESSAGE_TYPES];
        uint64_t rtt_count, rtt_sum_us, rtt_buckets[CLIENT_RTT_BUCKETS]; /* not cumulative */
};

struct client {
        struct client_config cfg; /* a copy: the shell's may change under it */
        bool connected;
        uint64_t handshake_id; /* of the latest init sent */
        unsigned keepalive;    /* the last keepalive counter sent */
        uint64_t init_sent_us;
        uint64_t waiting_since_us; /* the first init of this unanswered stretch */
        unsigned waiting_inits;    /* inits sent in it */
        unsigned unanswered_since_lookup; /* handshakes unanswered in a row since the server's address was set */
        uint64_t next_wake_us;
        struct client_stats stats;
};

/* Starts the client at monotonic time now_us; unix_s is the wall clock in
 * whole seconds (the first handshake id is unix_s + 1). */
void client_start(struct client *c, const struct client_config *cfg, uint64_t now_us, uint64_t unix_s,
                  struct actions *out);

/* New settings (a reload): they apply from the next step on. An answer to
 * the handshake in flight still counts if the id stays the same. */
void client_reconfigure(struct client *c, const struct client_config *cfg);

/* The server's address changed (its name was looked up again): a fresh
 * handshake to it at once. An outage under way goes on (the init in
 * flight to the old address is dropped, not counted as unanswered). */
void client_move(struct client *c, const struct addr *server, uint64_t now_us, struct actions *out);

/* The timer: does what is due at now_us (nothing when it is early). Every
 * CLIENT_RERESOLVE_UNANSWERED handshakes in a row unanswered it sets
 * out->reresolve. */
void client_timer(struct client *c, uint64_t now_us, struct actions *out);

/* A datagram from `from`, as the shell opened it. */
void client_receive(struct client *c, uint64_t now_us, const struct addr *from, const struct opened *in,
                    struct actions *out);

/* Time spent in outages up to now_us: those that ended, and the one under
 * way (from its first unanswered handshake). Never goes down. */
uint64_t client_outage_us(const struct client *c, uint64_t now_us);

/* The one-line status for systemd: connected or not, the handshake and its
 * round trip, the keepalive, or how long there has been no answer. */
void client_status(const struct client *c, uint64_t now_us, char *buf, size_t cap);

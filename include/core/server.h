/* server: the server's protocol state machine, free of I/O. It takes a
 * datagram, where it came from and the time, and returns what to log and
 * what to send. The reply rule (README.md "Protocol in brief"): an authentic
 * handshake_init is answered, to the address it came from, only when its
 * handshake id is above the highest one seen from that client id.
 * It also reads the traffic as it comes: a client id from a new address (NAT
 * rebinding), keepalives missing or repeated within a handshake, a client
 * silent for two keepalive intervals and its return (server_timer). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/actions.h"
#include "core/peers.h"
#include "core/probe-server.h"

#define SERVER_DEFAULT_MAX_CLIENTS 65536

/* How far a handshake id may run ahead of the server's clock, in seconds.
 * Clients start their ids at the Unix time and add one per handshake, so a
 * real id stays near the clock; one far ahead would lock its client id
 * out once remembered (up to 2^63-1: for good). A day leaves room for a
 * client's clock set wrong by hours. */
#define SERVER_HANDSHAKE_AHEAD_MAX_S 86400

/* server_timer looks at this many clients at most per call, and asks to be
 * called again at once for the rest: no call holds the loop for long. */
#define SERVER_TIMER_STEPS 4096

/* Invalid datagrams are all counted, but logged one by one only up to
 * these, per second: so many from one source, so many in all. The rest
 * are summed up in one line per source, and one for the others, after the
 * second ("N more invalid datagrams from ADDR in the last second"). */
#define SERVER_INVALID_LOG_PER_SOURCE 10
#define SERVER_INVALID_LOG_MAX 100
#define SERVER_INVALID_SLOTS 64 /* sources followed at once (by hash) */

struct invalid_slot {
        struct addr from;
        uint64_t second;       /* the second its counts are for */
        uint64_t logged, more; /* datagrams logged, and not logged */
};

struct invalid_limit {
        struct invalid_slot slot[SERVER_INVALID_SLOTS];
        uint64_t second, logged, more; /* in all; more: from sources over the total */
        uint64_t due_us;               /* when summaries are to be said (0: none waits) */
};

struct server_config {
        size_t max_clients;
        uint64_t keepalive_interval_us; /* what clients use: silence is two of them */
        unsigned keepalive_count;       /* keepalives per handshake: the rest were lost */
        struct probes_config probes;    /* max_clients is taken from above */
};

struct server_stats {
        uint64_t rx, tx, invalid, replays, evicted, refused;
        uint64_t rebinds, lost, duplicates, silences;
        uint64_t rx_type[MESSAGE_TYPES], tx_type[MESSAGE_TYPES]; /* by enum message_type */
        /* the latest rebinding, for the status line */
        char rebind_id[MESSAGE_ID_MAX + 1];
        size_t rebind_id_len;
        struct addr rebind_old, rebind_new;
        uint64_t last_rx_us;
        struct addr last_from; /* where the last valid message came from */
        char last_id[MESSAGE_ID_MAX + 1];
        size_t last_id_len;
};

struct server {
        struct server_config cfg;
        struct peers peers;
        struct server_stats stats;
        struct probes probes; /* answers to NAT timeout probes, waiting */
        /* The newest of the clients at the old end of the recency list that
         * are silent already or restored and not heard since: server_timer
         * starts after it, not at the oldest (NULL: at the oldest). Those
         * clients are always such a run: heard again, one leaves it. */
        struct peer *quiet_end;
        struct invalid_limit invalid;
};

int server_init(struct server *s, const struct server_config *cfg);
void server_free(struct server *s);

/* New settings (a reload). A max_clients below the clients known forgets
 * the ones heard from least recently at once; returns how many. */
size_t server_reconfigure(struct server *s, const struct server_config *cfg);

/* A datagram from `from`, as the shell opened it; unix_s: the wall clock
 * in seconds, which bounds handshake ids (SERVER_HANDSHAKE_AHEAD_MAX_S;
 * 0: unknown, no bound). out->wake_us, when not 0, is when
 * server_probe_timer has work (a probe was queued). */
void server_receive(struct server *s, uint64_t now_us, uint64_t unix_s, const struct addr *from,
                    const struct opened *in, struct actions *out);

/* The same for a message already opened (the report feeds logged messages
 * through the very rules the live server applies), with no clock. Appends
 * to out, which the caller has reset. */
void server_handle_message(struct server *s, uint64_t now_us, const struct addr *from,
                           const struct message *m, struct actions *out);

/* The client heard least recently among those heard at since_us or later,
 * or NULL: every client heard is moved to the newest end of the recency
 * list, so they are the run from this one on (->newer), oldest first. */
struct peer *server_heard_since(const struct server *s, uint64_t since_us);

/* The timer: declares clients silent, and sums up invalid datagrams not
 * logged one by one. Call it at out->wake_us (first at start); it returns
 * the next time in out->wake_us. After server_receive, call it by
 * s->invalid.due_us if that is sooner. */
void server_timer(struct server *s, uint64_t now_us, struct actions *out);

/* The probes' timer: sends the answers due. Call it at the out->wake_us of
 * server_receive or of its last call; it returns the next in out->wake_us
 * (0: none). */
void server_probe_timer(struct server *s, uint64_t now_us, struct actions *out);

/* The one-line status for systemd: clients, packets, the last one seen. */
void server_status(const struct server *s, char *buf, size_t cap);

/* probe-server (functions probes_*): the server's side of the NAT timeout probe, free of I/O. A client
 * sends {"type": "probe", "data": [probe id, delay]}; the server sends the
 * same data back as "probe_response", delay seconds later, to the address
 * and port the probe came from. If the client's NAT forgot the mapping in
 * the meantime, the answer is dropped there: that is the measurement.
 *
 * Only an authentic probe whose id is above the last one accepted from that
 * client id is answered (a replay gets nothing; the shell keeps those ids
 * across a restart, in probes.state), with a delay up to a
 * maximum, while the pending answers per client id and in all are under
 * their limits: memory is bounded whatever a key holder sends. Refusals are
 * told in one line per interval, not one per packet.
 *
 * Pending answers are timers: probes_timer sends what is due and returns
 * the next wake-up; the shell's timer calls it then. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/actions.h"
#include "core/peers.h"

#define PROBES_DEFAULT_MAX_DELAY_S 3600
#define PROBES_DEFAULT_MAX_PENDING 4096
#define PROBES_MAX_PER_CLIENT 64
/* Refusals are logged at most once in this long (with their count). */
#define PROBES_REFUSAL_LOG_US 60000000ULL

struct probes_config {
        uint64_t max_delay_s;   /* longer delays are refused */
        size_t max_pending;     /* answers waiting, in all; 0: probes are not answered */
        size_t max_per_client;  /* answers waiting per client id */
        size_t max_clients;     /* client ids whose last probe id is remembered */
};

/* One answer waiting for its time. */
struct probes_pending {
        uint64_t due_us;
        uint64_t probe_id, delay_s;
        struct addr to;
        struct peer *client; /* in probes.clients; kept while it has answers waiting */
};

struct probes_stats {
        uint64_t accepted, answered, refused, replays;
};

struct probes {
        struct probes_config cfg;
        /* highest_init holds the highest probe id accepted, probes_pending
         * the answers waiting for that id */
        struct peers clients;
        struct probes_pending *heap; /* a min-heap on due_us */
        size_t n, cap;
        struct probes_stats stats;
        /* refusals not yet logged, and the latest of them */
        uint64_t unlogged;
        uint64_t logged_us; /* when the last refusal line was made; 0: never */
        const char *why;
        struct addr why_from;
        struct message why_msg;
};

int probes_init(struct probes *p, const struct probes_config *cfg);
void probes_free(struct probes *p);

/* New limits: they apply to the probes that come next; answers already
 * waiting are sent as promised. */
void probes_reconfigure(struct probes *p, const struct probes_config *cfg);

/* An authentic probe m from `from`: appends to out the answer (delay 0) or
 * a refusal line (once per interval), and lowers out->wake_us to the next
 * time probes_timer has work (out->wake_us 0: none yet). */
void probes_receive(struct probes *p, uint64_t now_us, const struct addr *from, const struct message *m,
                    struct actions *out);

/* Sends the answers due at now_us (as many as out has room for) and a
 * pending refusal line; sets out->wake_us to the next time it has work, or
 * 0 when it has none. Appends to out, which the caller has reset. */
void probes_timer(struct probes *p, uint64_t now_us, struct actions *out);

/* The client ids that probed at or after since_us (an authentic probe,
 * answered or not), the least recent first (follow ->newer); NULL: none.
 * Ids read from the state file have not probed (last_seen_us 0). */
struct peer *probes_heard_since(const struct probes *p, uint64_t since_us);

/* When probes_timer has work next (monotonic µs), or 0 for never. */
uint64_t probes_next_wake(const struct probes *p);

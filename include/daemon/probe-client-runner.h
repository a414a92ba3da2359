/* probe-client-runner (functions probe_runner_*): one run of the client's
 * NAT timeout probe on an event loop: the I/O around core/probe-client. One
 * connected UDP socket per trial (a fresh NAT mapping each), opened and
 * closed as the core says; probes sealed and answers opened here; the core's timer on a libevent timer. Used by
 * `udp-canary probe` on a loop of its own, and by the client daemon's
 * --probe-every on the daemon's loop, beside the canary's own socket. */
#pragma once

#include <stdint.h>

#include <event2/event.h>

#include "core/actions.h"
#include "core/probe-client.h"
#include "core/seal.h"

struct probe_runner;

struct probe_runner_ops {
        /* A probe sent (EVENT_TX) or a valid message received (EVENT_RX),
         * for the log; may be NULL. */
        void (*packet)(void *arg, enum event_kind kind, const struct message *m, const struct addr *peer);
        /* Something changed (for a progress line); may be NULL. */
        void (*progress)(void *arg, const struct prober *core);
        /* The run is over (err 0), or stopped because a socket could not be
         * opened or the timer armed (err < 0). The owner frees the runner
         * after this returns, never inside it (the rule of daemon/resolve). */
        void (*done)(void *arg, const struct prober *core, int err);
};

/* Starts a run as client id (id_len bytes, up to MESSAGE_ID_MAX) against
 * server (a copy is kept; key and ops are kept by
 * pointer) with cfg; cfg->first_id is set here from the wall clock, so
 * that probe ids stay above those of earlier runs. Returns 0, -ENOMEM, or
 * the error of opening the first sockets. */
int probe_runner_start(struct probe_runner **out, struct event_base *base, const struct seal_key *key,
                       const struct addr *server, const char *id, size_t id_len, const struct prober_config *cfg,
                       const struct probe_runner_ops *ops, void *arg);

/* Stops the run if it is under way (closing its sockets) and frees it. */
void probe_runner_free(struct probe_runner *r);

/* The core: its brackets, for the verdict and metrics. */
const struct prober *probe_runner_core(const struct probe_runner *r);

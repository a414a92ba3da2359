/* client-daemon-trace (functions client_trace_*): the client daemon's
 * trace of where its dead flow stops (core/trace): the copies sent on the
 * client's own socket with the TTL set per datagram, the socket's ICMP
 * errors handed to the core, a timer for the hops that stay silent, each
 * copy's TX line, and one line (a journal entry with CANARY_EVENT=trace)
 * per trace with its result. */
#pragma once

#include <stdint.h>

#include "core/client.h"
#include "daemon/daemon.h"
#include "daemon/udp.h"

struct client_trace;

/* Sends on d's socket (whichever it is at the time) with d's key. Returns
 * 0 or -ENOMEM. */
int client_trace_new(struct client_trace **out, struct daemon *d);
void client_trace_free(struct client_trace *ct);

/* --trace-hops (0: off) and --trace-interval. */
void client_trace_set(struct client_trace *ct, unsigned hops, uint64_t interval_us);

/* The client's core has moved (its timer, a datagram): a trace may start,
 * or end now that the server answers. */
void client_trace_after(struct client_trace *ct, const struct client *c, uint64_t now_us);

/* An ICMP error on the client's socket. */
void client_trace_icmp(struct client_trace *ct, uint64_t now_us, const struct udp_error *e);

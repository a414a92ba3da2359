/* client-daemon-probe (functions client_probe_*): the client daemon's
 * --probe-every: the NAT timeout probe (daemon/probe-client-runner) run in the background on the daemon's loop, on
 * sockets of its own, every so often; each result is logged as a line and
 * a journal entry (CANARY_EVENT=nat_timeout, the bounds as fields) and
 * served as udp_canary_nat_idle_timeout_seconds. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "core/addr.h"
#include "core/seal.h"

/* The first run starts this long after the probe is turned on: the
 * canary's own first handshake goes first. */
#define CLIENT_PROBE_FIRST_US 10000000ULL

struct client_probe;

/* Returns 0 or -ENOMEM. key is kept by pointer (a reload rekeys it in
 * place). */
int client_probe_new(struct client_probe **out, struct event_base *base, const struct seal_key *key);
void client_probe_free(struct client_probe *cp);

/* Probes server as client id, every every_us (0: off, stopping a run
 * under way), trying idles up to max_delay_s. A run starts every_us after
 * the one before started, or when it ends if it takes longer; it lasts at
 * most every_us or the prober's default time bound, the shorter. A new
 * server address stops a run under way against the old one (its result
 * is not logged) and starts one against the new at once; a run not under
 * way starts there when due. */
int client_probe_set(struct client_probe *cp, const struct addr *server, const char *id, size_t id_len,
                     uint64_t every_us, uint64_t max_delay_s);

/* udp_canary_nat_idle_timeout_seconds{kind,bound} of the latest result. */
void client_probe_write_metrics(FILE *out, const struct client_probe *cp);

/* resolve: a server name resolved in the background, retried with backoff
 * until it resolves. At boot a name often does not resolve yet (no network,
 * no DNS); that is no reason to exit. getaddrinfo_a does the lookup on
 * glibc's own thread; a short timer polls it, so the loop never waits for
 * DNS. The object owns its timer; the callbacks get the caller's arg.
 *
 * Lifetime (as for daemon/probe-client-runner): the owner frees the object,
 * after its callbacks return; after done it is idle until then. A
 * resolver_free called from inside a callback all the same takes effect
 * when the callback returns, never under it. */
#pragma once

#include <stdint.h>

#include <event2/event.h>

#include "core/addr.h"

/* The first retry comes after RESOLVE_FIRST_RETRY_US, each next one after
 * twice as long, up to RESOLVE_MAX_RETRY_US. */
#define RESOLVE_FIRST_RETRY_US 1000000ULL
#define RESOLVE_MAX_RETRY_US 60000000ULL

struct resolve_ops {
        void (*done)(void *arg, const struct addr *a);                  /* once, when it resolves */
        void (*failed)(void *arg, const char *why, uint64_t retry_us); /* after each failed try */
};

struct resolver;

/* Starts resolving host:port (family AF_INET, AF_INET6 or 0 for either),
 * the first try after RESOLVE_FIRST_RETRY_US. A retry's or a poll's timer
 * that cannot be armed stops the loop (daemon_event_add).
 * Returns the object, or NULL without memory. */
struct resolver *resolver_new(struct event_base *base, const char *host, uint16_t port, int family,
                              const struct resolve_ops *ops, void *arg);

/* Stops and frees (see Lifetime above). A lookup under way that glibc
 * cannot cancel is left to finish on its own (its request is not freed):
 * this never waits. */
void resolver_free(struct resolver *r);

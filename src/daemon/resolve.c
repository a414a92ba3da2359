/* resolve: background name resolution with backoff (see resolve.h). */
#include "daemon/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

#define POLL_US 20000 /* how often a lookup under way is looked at */

struct resolver {
        struct event *timer;
        const struct resolve_ops *ops;
        void *arg;
        char *host;
        char service[8];
        struct addrinfo hints;
        struct gaicb req;
        bool pending; /* req is glibc's until it ends */
        bool in_callback, free_asked; /* resolver_free during a callback waits for its end */
        uint64_t retry_us;
};

static void destroy(struct resolver *r);

/* Calls done (a non-NULL) or failed; returns true when the resolver was
 * freed meanwhile (and is now gone). */
static bool call_back(struct resolver *r, const struct addr *a, const char *why)
{
        bool gone;

        r->in_callback = true;
        if (a)
                r->ops->done(r->arg, a);
        else
                r->ops->failed(r->arg, why, r->retry_us);
        r->in_callback = false;
        gone = r->free_asked;
        if (gone)
                destroy(r);
        return gone;
}

/* A lookup ended with status (getaddrinfo's): hand the address on, or
 * report the failure and try again later. */
static void finish(struct resolver *r, int status)
{
        struct addrinfo *res = r->req.ar_result;
        struct addr a = { 0 };
        bool found = status == 0 && res && res->ai_addrlen <= sizeof(a.in6);

        r->pending = false;
        r->req.ar_result = NULL;
        if (found) {
                memcpy(&a.in6, res->ai_addr, res->ai_addrlen);
                a.len = res->ai_addrlen;
        }
        if (res)
                freeaddrinfo(res);
        if (call_back(r, found ? &a : NULL, status == EAI_SYSTEM ? strerror(errno) : gai_strerror(status)) || found)
                return;
        (void)daemon_timer_in(r->timer, r->retry_us); /* a failure stops the loop */
        r->retry_us = r->retry_us * 2 > RESOLVE_MAX_RETRY_US ? RESOLVE_MAX_RETRY_US : r->retry_us * 2;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct resolver *r = arg;
        struct gaicb *list[1] = { &r->req };
        int status;

        if (!r->pending) {
                r->req = (struct gaicb){ .ar_name = r->host, .ar_service = r->service, .ar_request = &r->hints };
                status = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
                if (status != 0) {
                        finish(r, status);
                        return;
                }
                r->pending = true;
        }
        status = gai_error(&r->req);
        if (status == EAI_INPROGRESS)
                (void)daemon_timer_in(r->timer, POLL_US); /* a failure stops the loop */
        else
                finish(r, status);
}

struct resolver *resolver_new(struct event_base *base, const char *host, uint16_t port, int family,
                              const struct resolve_ops *ops, void *arg)
{
        struct resolver *r = calloc(1, sizeof(*r));
        struct timeval first = { .tv_sec = (time_t)(RESOLVE_FIRST_RETRY_US / 1000000),
                                 .tv_usec = (suseconds_t)(RESOLVE_FIRST_RETRY_US % 1000000) };

        if (!r)
                return NULL;
        r->ops = ops;
        r->arg = arg;
        r->retry_us = RESOLVE_FIRST_RETRY_US * 2;
        r->hints = (struct addrinfo){ .ai_family = family ? family : AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
        snprintf(r->service, sizeof(r->service), "%u", port);
        r->host = strdup(host);
        r->timer = evtimer_new(base, on_timer, r);
        if (!r->host || !r->timer || event_add(r->timer, &first) < 0) {
                destroy(r);
                return NULL;
        }
        return r;
}

void resolver_free(struct resolver *r)
{
        if (r && r->in_callback)
                r->free_asked = true;
        else if (r)
                destroy(r);
}

static void destroy(struct resolver *r)
{
        if (r->timer)
                event_free(r->timer);
        r->timer = NULL;
        /* A lookup glibc cannot cancel still writes into the request: it is
         * left to glibc (a few hundred bytes, once in a long while) rather
         * than waited for, which could hold the loop for a DNS timeout. */
        if (r->pending && gai_cancel(&r->req) == EAI_NOTCANCELED && gai_error(&r->req) == EAI_INPROGRESS)
                return;
        if (r->pending && r->req.ar_result)
                freeaddrinfo(r->req.ar_result);
        free(r->host);
        free(r);
}

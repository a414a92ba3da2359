/* daemon: what the client and server daemons share: the event base, the
 * clock, signals (SIGINT and SIGTERM stop, SIGHUP reloads), the systemd
 * watchdog, and carrying out the action list the protocol core returns. */
#pragma once

#include <stdint.h>

#include <stdio.h>

#include <event2/event.h>

#include "core/actions.h"
#include "core/seal.h"

struct udp_out;

struct daemon {
        struct event_base *base;
        struct event *stop[2]; /* SIGINT, SIGTERM */
        struct event *hup, *watchdog;
        int exit_code;
        /* Called on SIGHUP: reread what can be reread. Returns 0 or a
         * negative errno (the old settings then stay). */
        int (*reload)(void *arg);
        void *reload_arg;
        char status[256]; /* the last STATUS= sent */
        struct evhttp *http; /* /metrics, when asked for */
        void (*metrics)(FILE *out, void *arg);
        void *metrics_arg;
        struct seal_ivs ivs;
};

/* Monotonic time in microseconds: the protocol core's clock. */
uint64_t daemon_now_us(void);

/* Makes the event base, the signal events and the watchdog timer. */
int daemon_init(struct daemon *d);
void daemon_free(struct daemon *d);

/* Tells systemd it is ready, then runs the loop until SIGINT or SIGTERM.
 * Returns the exit status. */
int daemon_run(struct daemon *d);

/* Logs every event and sends every message of the list on fd. A message
 * that cannot be sent is logged and otherwise dropped, as a lost packet. */
void daemon_perform(struct daemon *d, int fd, const struct seal_key *key, const struct actions *a);
/* Like daemon_perform, but the datagrams wait in out for daemon_send_queued
 * (called here too when out is full): one sendmmsg for a batch of replies. */
void daemon_queue(struct daemon *d, int fd, struct udp_out *out, const struct seal_key *key,
                  const struct actions *a);
void daemon_send_queued(int fd, struct udp_out *out);

/* Serves /metrics on listen ("ADDR:PORT", "[V6]:PORT") from the event loop,
 * written by write(out, arg). Returns 0, -EINVAL for a malformed address,
 * or -EADDRNOTAVAIL when it cannot be bound. */
int daemon_metrics_listen(struct daemon *d, const char *listen, void (*write)(FILE *out, void *arg), void *arg);

/* daemon_metrics_listen for --metrics-listen (NULL: nothing), saying what is
 * wrong on stderr. Returns the exit status: 0, 2 for a malformed address,
 * 1 when it cannot be bound. */
int daemon_metrics_start(struct daemon *d, const char *listen, void (*write)(FILE *out, void *arg), void *arg);

/* Sends STATUS=text to systemd unless it is the one sent last. */
void daemon_status(struct daemon *d, const char *text);

/* Makes a libevent timer fire at the monotonic time wake_us. */
void daemon_timer_at(struct event *timer, uint64_t wake_us);

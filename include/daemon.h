/* daemon: what the client and server daemons share: the clock, signals
 * (SIGINT and SIGTERM stop, SIGHUP reopens the log), and carrying out the
 * action list the protocol core returns. */
#pragma once

#include <stdint.h>

#include <event2/event.h>

#include "event.h"
#include "seal.h"

struct daemon_signals {
        struct event *stop[2]; /* SIGINT, SIGTERM */
        struct event *hup;
        struct event_base *base;
        int exit_code;
};

/* Monotonic time in microseconds: the protocol core's clock. */
uint64_t daemon_now_us(void);

int daemon_signals_add(struct daemon_signals *s, struct event_base *base);
void daemon_signals_free(struct daemon_signals *s);

/* Logs every event and sends every message of the list on fd. A message
 * that cannot be sent is logged and otherwise dropped, as a lost packet. */
void daemon_perform(int fd, const struct seal_key *key, const struct actions *a);

/* Makes a libevent timer fire at the monotonic time wake_us. */
void daemon_timer_at(struct event *timer, uint64_t wake_us);

/* event: what the protocol core reports and asks for. The client and server
 * state machines fill a struct actions (events to log, messages to send, when
 * to wake next); the daemon around them carries it out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "message.h"

enum event_kind {
        EVENT_TX,      /* a message sent */
        EVENT_RX,      /* a valid message received */
        EVENT_INVALID, /* a datagram that is not a valid message */
        EVENT_REPLAY,  /* server: an init not above the highest id seen */
        EVENT_IGNORED, /* client: a valid message that does not fit the state */
        EVENT_EVICTED, /* server: a client forgotten to make room (msg.id: its id) */
};

/* Why an EVENT_IGNORED message was ignored. */
enum event_ignore {
        EVENT_IGNORE_FOREIGN_ADDR, /* not from the server's address */
        EVENT_IGNORE_FOREIGN_ID,   /* another client id */
        EVENT_IGNORE_NOT_RESPONSE, /* anything but a handshake_response */
        EVENT_IGNORE_STALE,        /* a response to an older handshake */
        EVENT_IGNORE_DUPLICATE,    /* the current response again, once connected */
};

struct event {
        enum event_kind kind;
        struct addr peer;
        bool peer_is_server;   /* the client logs its server as "server" */
        bool has_msg;
        struct message msg;
        int err;               /* EVENT_INVALID: seal_open_message's error */
        const char *invalid;   /* EVENT_INVALID: what is wrong; NULL: not authentic */
        enum event_ignore why; /* EVENT_IGNORED */
        uint64_t expected;     /* EVENT_IGNORED: the id waited for; EVENT_REPLAY: the highest seen */
};

#define ACTIONS_MAX_EVENTS 6
#define ACTIONS_MAX_SEND 2

struct actions {
        struct event events[ACTIONS_MAX_EVENTS];
        size_t n_events;
        struct {
                struct message msg;
                struct addr to;
        } send[ACTIONS_MAX_SEND];
        size_t n_send;
        uint64_t wake_us; /* when to call the timer next (monotonic); 0: never */
};

/* Empties the list (cheaply: only the counts). */
void actions_reset(struct actions *a);

/* Appends an event and returns it, zeroed but for kind and peer. */
struct event *actions_event(struct actions *a, enum event_kind kind, const struct addr *peer);

/* Queues msg for sending to `to` and records the matching EVENT_TX. */
void actions_send(struct actions *a, const struct message *msg, const struct addr *to,
                  bool to_server);

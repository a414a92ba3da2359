/* actions: what the protocol core reports and asks for. The client and server
 * state machines fill a struct actions (events to log, messages to send, when
 * to wake next); the daemon around them carries it out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/message.h"

/* A datagram as the shell opened it (seal_open_message): the core judges
 * messages, not bytes, so that only the shell holds the key, and seals and
 * opens on one side of the line. */
struct opened {
        int err;            /* 0: msg is a valid message; -EBADMSG: not authentic */
        const char *why;    /* authentic but not a valid message: what is wrong */
        struct message msg; /* when err is 0 */
};

enum event_kind {
        EVENT_TX,      /* a message sent */
        EVENT_RX,      /* a valid message received */
        EVENT_INVALID, /* a datagram that is not a valid message */
        EVENT_REPLAY,  /* server: an init not above the highest id seen */
        EVENT_IGNORED, /* client: a valid message that does not fit the state */
        EVENT_EVICTED, /* server: a client forgotten to make room (msg.id: its id) */
        /* What the logs mean, detected live: */
        EVENT_NAT_REBIND,   /* server: a client id from a new address (old_peer: the old one) */
        EVENT_LOSS,         /* server: keepalives missing in a handshake (lost) */
        EVENT_DUPLICATE,    /* server: a keepalive counter seen again */
        EVENT_SILENT,       /* server: nothing from a client for two keepalive intervals */
        EVENT_BACK,         /* server: a silent client heard again (duration: how long gone) */
        EVENT_UNANSWERED,   /* client: a handshake unanswered, retried */
        EVENT_OUTAGE_START, /* client: the first retry of a stretch (duration: since the first init) */
        EVENT_OUTAGE_END,   /* client: an answer after retries (duration: the outage) */
        EVENT_REFUSED,      /* server: an authentic message out of bounds (refused, expected) */
        EVENT_INVALID_MORE, /* server: invalid datagrams counted, not logged one by one (count;
                             * peer: their source, or AF_UNSPEC for many sources) */
        EVENT_PROBE_REFUSED, /* server: probes refused (lost: how many; refusal, msg: the latest) */
        EVENT_KIND_COUNT
};

/* Why an EVENT_REFUSED message was refused. */
enum event_refuse {
        EVENT_REFUSE_AHEAD,   /* its handshake id is beyond the clock (expected: the bound) */
        EVENT_REFUSE_COUNTER, /* its keepalive counter is above the count (expected: the count) */
};

/* Why an EVENT_IGNORED message was ignored. */
enum event_ignore {
        EVENT_IGNORE_FOREIGN_ADDR, /* not from the server's address */
        EVENT_IGNORE_FOREIGN_ID,   /* another client id */
        EVENT_IGNORE_NOT_RESPONSE, /* anything but a handshake_response */
        EVENT_IGNORE_STALE,        /* a response to an older handshake */
        EVENT_IGNORE_DUPLICATE,    /* the current response again, once connected */
};

struct core_event {
        enum event_kind kind;
        struct addr peer;
        bool has_msg;
        struct message msg;
        const char *invalid;   /* EVENT_INVALID: what is wrong; NULL: not authentic */
        enum event_ignore why; /* EVENT_IGNORED */
        enum event_refuse refused; /* EVENT_REFUSED */
        uint64_t expected;     /* EVENT_IGNORED: the id waited for; EVENT_REPLAY: the highest seen;
                                * EVENT_REFUSED: the bound */
        struct addr old_peer;  /* EVENT_NAT_REBIND */
        uint64_t lost;         /* EVENT_LOSS */
        uint64_t count;        /* EVENT_INVALID_MORE */
        uint64_t duration_us;  /* EVENT_SILENT, EVENT_BACK, EVENT_OUTAGE_* */
        uint64_t rtt_us;       /* EVENT_RX of an answered handshake_response, EVENT_OUTAGE_END */
        const char *refusal;   /* EVENT_PROBE_REFUSED: why the latest was refused */
};

#define ACTIONS_MAX_EVENTS 8
#define ACTIONS_MAX_SEND 2

struct actions {
        struct core_event events[ACTIONS_MAX_EVENTS];
        size_t n_events;
        struct {
                struct message msg;
                struct addr to;
        } send[ACTIONS_MAX_SEND];
        size_t n_send;
        uint64_t wake_us; /* when to call the timer next (monotonic); 0: never */
        bool reresolve;   /* client: look the server's name up again (the shell does the lookup) */
};

/* Empties the list (cheaply: only the counts and flags). */
void actions_reset(struct actions *a);

/* Appends an event and returns it with kind and peer set, no message, and
 * the other fields cleared but old_peer, count and refused, which the kinds
 * that use them set. */
struct core_event *actions_event(struct actions *a, enum event_kind kind, const struct addr *peer);

/* Queues msg for sending to `to` and records the matching EVENT_TX. */
void actions_send(struct actions *a, const struct message *msg, const struct addr *to);

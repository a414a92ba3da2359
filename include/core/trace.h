/* trace: where a dead flow stops, free of I/O. When the client's handshakes
 * go unanswered, the shell sends copies of a `trace` message on the
 * client's own socket (same addresses and ports, so that they follow the
 * NAT mapping the canary's packets use, as WireGuard's would), one TTL at a
 * time: TTL 1, wait for the router's ICMP time-exceeded or a timeout, TTL 2,
 * ... This module decides when to trace, which TTL goes next and when a hop
 * has timed out, and collects who answered; the shell sends with the TTL
 * set on the datagram and hands back the ICMP errors of its socket.
 * Stops after TRACE_SILENT_STOP silent hops in a row, at the configured
 * number of hops, or at an ICMP error other than time-exceeded (the end of
 * the path: the server's host, or a router refusing). At most one trace
 * per outage and per interval. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/client.h"
#include "core/logtext.h"
#include "core/message.h"

#define TRACE_DEFAULT_HOPS 8
#define TRACE_HOPS_MAX LOGTEXT_TRACE_HOPS_MAX
#define TRACE_DEFAULT_INTERVAL_US 300000000ULL
/* How long each hop's answer is waited for: a router's ICMP comes back
 * within one round trip to it, far below this on any real path. */
#define TRACE_HOP_TIMEOUT_US 1000000ULL
/* Silent hops in a row that end a trace: past a blackhole every hop is. */
#define TRACE_SILENT_STOP 3
/* Unanswered handshakes before a trace: one may be a lost packet. */
#define TRACE_AFTER_UNANSWERED 2
/* Bytes of each copy kept to match an ICMP error's quote to its TTL: the
 * IV, random for every packet. */
#define TRACE_HEAD_LEN 16

struct trace_config {
        unsigned hops;        /* the highest TTL tried; 0: never trace */
        uint64_t interval_us; /* at least this long between two traces' starts */
};

/* An ICMP error from the socket's queue, as the shell read it. */
struct trace_icmp {
        struct addr offender;  /* who sent it (AF_UNSPEC: not told) */
        struct addr dest;      /* where the datagram it quotes was going, with the port */
        bool time_exceeded;    /* else another error: the path ends at the offender */
        const uint8_t *quoted; /* the part of our UDP payload it quotes (often none) */
        size_t quoted_len;
};

/* What the shell is to do after a call. */
struct trace_actions {
        bool send;          /* send msg to `to` with TTL (hop limit) ttl, then call trace_sent */
        unsigned ttl;
        struct message msg;
        struct addr to;
        bool done;          /* the trace is over: log trace->result */
        uint64_t wake_us;   /* call trace_timer at this monotonic time; 0: no timer needed */
};

struct trace {
        struct trace_config cfg;
        bool running;
        unsigned silent;           /* hops in a row with no answer */
        uint64_t due_us;           /* when the current hop times out */
        bool traced;               /* a trace has started before */
        uint64_t last_start_us;    /* and when */
        uint64_t outage_us;        /* the outage (its first init's time) traced last */
        struct message msg;        /* the copies' message; data[1] is the TTL */
        uint8_t head[TRACE_HOPS_MAX][TRACE_HEAD_LEN]; /* each TTL's copy, its first bytes */
        size_t head_len[TRACE_HOPS_MAX];
        struct logtext_trace result; /* n_hops: the TTL in flight while running */
};

void trace_init(struct trace *t, const struct trace_config *cfg);

/* New settings: a trace under way ends at the new number of hops. */
void trace_reconfigure(struct trace *t, const struct trace_config *cfg);

/* After the client's core moved (its timer, an answer): starts a trace
 * when the handshakes have gone unanswered TRACE_AFTER_UNANSWERED times in
 * an outage not traced yet, and the interval allows; drops a trace under
 * way once the client is answered (the path works again: its line would
 * tell of a path that is gone). */
void trace_check(struct trace *t, const struct client *c, uint64_t now_us, struct trace_actions *out);

/* The copy for TTL ttl left: its first bytes, to match the quote of an
 * answer to it. */
void trace_sent(struct trace *t, unsigned ttl, const uint8_t *packet, size_t len);

/* The timer: a hop that has not answered by now is silent. */
void trace_timer(struct trace *t, uint64_t now_us, struct trace_actions *out);

/* An ICMP error on the client's socket. Counted only when it is about a
 * copy of this trace: sent to the traced address and port, and when it
 * quotes any of our payload, quoting one of our copies (whose TTL it then
 * tells; without a quote it is taken for the TTL in flight). */
void trace_answer(struct trace *t, uint64_t now_us, const struct trace_icmp *in, struct trace_actions *out);

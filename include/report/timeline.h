/* timeline: the reconstruction behind `udp-canary report`, free of I/O. It is
 * fed parsed log lines, each tagged with the log (file) it came from, and
 * tells per client id what happened to the flow: which end wrote which log
 * (from the content alone), the two clocks' offset, the clients' timers,
 * every message sent and whether it arrived, outages per direction with
 * their bounds, NAT rebindings and round trips.
 *
 * Times are signed microseconds since the epoch, in the client's clock once
 * timeline_finish() has run (a server log's times are corrected by the
 * offset). A log's time never runs backwards here: a step back (a DST change
 * in a local-time log, a clock set back) shifts the rest of that log forward,
 * so no duration is ever negative. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/index.h"
#include "core/message.h"
#include "report/logline.h"

/* Bounds on what hostile input can make us hold. */
#define TIMELINE_MAX_CLIENTS (1 << 20) /* past it, lines are counted in ignored_clients */
#define TIMELINE_MAX_LOGS 4096
#define TIMELINE_MAX_KEEPALIVE_COUNT 1000
/* Distinct peer addresses kept; past it, a packet's peer is told as none. */
#define TIMELINE_MAX_PEERS (1 << 20)

enum timeline_dir {
        TIMELINE_C2S, /* client to server: handshake_init, keepalive */
        TIMELINE_S2C, /* server to client: handshake_response */
};

enum timeline_direction {
        TIMELINE_BOTH,
        TIMELINE_CLIENT_TO_SERVER,
        TIMELINE_SERVER_TO_CLIENT,
        TIMELINE_UNKNOWN, /* a client's unanswered handshakes: either way */
};

enum timeline_role {
        TIMELINE_ROLE_NONE,
        TIMELINE_ROLE_CLIENT,
        TIMELINE_ROLE_SERVER,
};

/* Which log alone shows an outage (bits). */
#define TIMELINE_SEEN_CLIENT 1u
#define TIMELINE_SEEN_SERVER 2u

/* One TX or RX line of a client id: 32 bytes, as a year of them is held
 * (in a file, and per client while it is worked out). Its order of
 * arrival is where it is among its client's (they are held as put), which
 * ties in time keep. */
struct timeline_packet {
        int64_t t_us;
        uint64_t hs, ctr;
        uint32_t peer; /* its address: timeline_peer(); 0 for none ("TX server") */
        uint16_t log;  /* < TIMELINE_MAX_LOGS */
        uint8_t tx;    /* sent by the log's writer */
        uint8_t type;  /* enum message_type */
};

struct timeline_outage {
        int64_t start_us, end_us; /* best estimate */
        /* bounds of the start and the end; start_min_known is false when no
         * message got through before it in the logs, end_max_known false
         * while it is still going when the logs end */
        int64_t start_min_us, start_max_us, end_min_us, end_max_us;
        bool start_min_known, end_max_known;
        bool ongoing;
        enum timeline_direction direction;
        unsigned seen_by; /* TIMELINE_SEEN_* bits: 0 when only the matching of both logs shows it */
        uint64_t lost;    /* messages lost in it */
        bool server_stopped; /* the server's log shows it not running then */
        bool log_lost;       /* a log lost lines then: what happened is unknown, not counted down */
        int32_t trace; /* the last trace of its client's log within its bounds (timeline.traces), or -1 */
};

struct timeline_span {
        int64_t start_us, end_us;
};

struct timeline_rebind {
        int64_t t_us;
        struct addr old_peer, new_peer;
};

/* Messages of one direction; known is false where the logs cannot tell. */
struct timeline_count {
        bool known;
        uint64_t sent, received, lost;
};

#define TIMELINE_SERVERS_KEPT 4

/* A client's round trips as counts of values, in value order: what a
 * year of them takes is bounded by the number of distinct values, not of
 * round trips. Exact while at most TIMELINE_RTT_BINS values differ (stamps
 * in ms give a few hundred); past it, each value is rounded down to its
 * first `bits` significant bits, fewer step by step until they fit, never
 * fewer than TIMELINE_RTT_MIN_BITS (an error under 1/128 of the value, 0.8
 * %; 128 bins per doubling, so 32 doublings of spread fit). The smallest
 * and largest are kept exact. */
#define TIMELINE_RTT_BINS 4096
#define TIMELINE_RTT_MIN_BITS 8
struct timeline_rtt_bin {
        int64_t us;
        uint64_t n;
};

struct timeline_rtt {
        struct timeline_rtt_bin *v;
        uint64_t count;
        int64_t min_us, max_us;
        uint32_t n_bins; /* TIMELINE_RTT_BINS at most, unless they spread over 32 doublings */
        uint32_t bits;   /* significant bits a value keeps; 0 before the first */
};

/* What a flow (a client id and its server) keeps to be compared with the
 * others (timeline_flow_state): the logs it is in, and when it delivered
 * messages, as bins of timeline.flow_bin_us on its clock (a bit set for a
 * bin with a message received by either end). */
#define TIMELINE_FLOW_LOGS 8
struct timeline_flow {
        uint16_t log[TIMELINE_FLOW_LOGS];
        uint8_t role[TIMELINE_FLOW_LOGS]; /* enum timeline_role: which end wrote it */
        size_t n_logs;                    /* the first TIMELINE_FLOW_LOGS it is in */
        uint8_t *up;                      /* n_bins bits */
        size_t n_bins;
        int64_t from_us; /* the start of the first bin */
};

/* A client's packets in one log, counted as they are read by the end each
 * says its writer is (a client sends inits and keepalives and hears
 * answers; a server the reverse): the log's role for the client, which of
 * them are kept and where, known before its packets are held again. */
struct timeline_log_ends {
        uint64_t as_client, as_server;
        uint32_t log;
};

/* A period in which the idle gaps at the server say where the NAT's idle
 * timeout lies: every gap as long as min_rebound_us or longer came back
 * from a new address or port, every one up to max_kept_us from the same
 * (timeline-scan.c). */
struct timeline_nat_period {
        int64_t from_us, to_us; /* its first forgetting's gap starts, its last gap ends */
        int64_t max_kept_us;    /* -1: none kept */
        int64_t min_rebound_us;
        uint64_t rebinds, kept;
        bool to_end; /* it still holds at its client's last gap */
};

/* The round trips of one column of the page's chart (timeline.rtt_column):
 * when its first was answered, how many, the least, median and most. */
struct timeline_rtt_column {
        int64_t t_us;
        size_t col;
        uint64_t n;
        int64_t min_us, median_us, max_us;
};

/* What the findings and the page read of a client's packets once it is
 * worked out (timeline-scan.c), so that they need not hold them: made
 * while it is written, let go after. */
struct timeline_scan {
        bool made;
        double *rb_gap_s; /* per rebinding: the idle gap at the server before it, NAN when unclear */
        bool *rb_nat;     /* per rebinding: within a nat period */
        struct timeline_nat_period *nat;
        size_t n_nat, cap_nat;
        bool rtt_made; /* with timeline.rtt_column: */
        struct timeline_rtt_column *rtt; /* the columns with round trips, in time order */
        size_t n_rtt, cap_rtt;
};

struct timeline_client {
        size_t id_len;
        size_t at; /* its index in timeline.clients */
        uint32_t last_peer; /* of its last packet: most come from where the last did */
        uint32_t last_ends; /* the ends of its last packet's log: most come from the log the last did */
        struct timeline_log_ends *ends; /* per log it is in, in the order first heard */
        size_t n_ends, cap_ends;
        struct timeline_packet *pk; /* held while the client is worked out */
        size_t n_pk, cap_pk;
        uint64_t packets; /* all its packets, held or handed out */

        /* --- results of timeline_finish() --- */
        bool client_log, server_log;
        int64_t first_us, last_us;
        bool offset_known;
        int64_t offset_us; /* server clock minus client clock */
        size_t offset_pairs;
        uint64_t keepalive_us, handshake_timeout_us;
        unsigned keepalive_count;
        bool keepalive_learned, handshake_timeout_learned;
        struct timeline_count delivery[2]; /* enum timeline_dir */
        struct timeline_count keepalives; /* sent valid with a client log, received with a server log */
        uint64_t inits_sent, answered, inits_received, responses_sent, replays, ignored;
        struct timeline_rtt rtt;
        int64_t resolution_us; /* of the stamps: 1 ms in files */
        struct timeline_outage *outages;
        size_t n_outages, cap_outages;
        struct timeline_rebind *rebinds;
        size_t n_rebinds, cap_rebinds;
        /* the server addresses the client's log sent to, first sent first: a
         * flow is an id and a server (two instances of one machine, IPv4 and
         * IPv6, are two ids each with its server address); n_servers counts
         * them all, up to 16, servers holds the first few */
        struct addr servers[TIMELINE_SERVERS_KEPT];
        size_t n_servers;
        struct timeline_flow flow;
        struct timeline_scan *scan; /* while it is written, else NULL */
        char id[]; /* id_len bytes and a NUL, at most MESSAGE_ID_MAX + 1: as long as it is (a million ids) */
};

/* One input log: its span, and its time steps backwards. */
struct timeline_log {
        bool any;
        int64_t first_us, last_us;
        int64_t shift_us; /* added to every later stamp after a step back */
        uint64_t steps_back;
        uint64_t stamps, stamps_ms, stamps_s; /* how fine its stamps are */
        bool stopped;                   /* its writer logged "Exit" last */
        struct timeline_span *down;     /* from an "Exit" to its next line */
        size_t n_down, cap_down;
        /* from the line before one saying lines were lost to that line:
         * its writer's output lost them (LOGTEXT_LINES_LOST) */
        struct timeline_span *blind;
        size_t n_blind, cap_blind;
        uint64_t lines_lost;
};

/* A client's NAT timeout probe result (--probe-every), as logged. */
#define TIMELINE_MAX_PROBES 4096
#define TIMELINE_PROBE_TEXT 256
struct timeline_probe {
        int64_t t_us;
        uint32_t log; /* the log it came from: a probe line names no client */
        char verdict[TIMELINE_PROBE_TEXT];
};

/* A client's trace of its dead flow, as logged (one line per trace). */
#define TIMELINE_MAX_TRACES 4096
struct timeline_trace {
        int64_t t_us;
        uint32_t log; /* the log it came from: a trace line names no client */
        struct logtext_trace tr;
};

struct timeline {
        struct timeline_client **clients; /* in the order first heard */
        size_t n_clients, cap_clients;
        struct index ids; /* the clients by id (core/index: keyed, so that hostile ids cannot pile up) */
        struct timeline_log *logs;
        size_t n_logs, cap_logs;
        uint64_t lines, invalid, socket_drops, ignored_clients;
        struct timeline_probe *probes; /* in the order read, TIMELINE_MAX_PROBES at most */
        size_t n_probes, cap_probes;
        struct timeline_trace *traces; /* in the order read, TIMELINE_MAX_TRACES at most */
        size_t n_traces, cap_traces;
        struct timeline_peer **peers; /* the packets' addresses, each once */
        size_t n_peers, cap_peers;
        struct index peer_index; /* by the address's bytes (a parsed line's are zeroed first) */
        int64_t flow_bin_us; /* the flows' bins (timeline_flow): one width for all, within TIMELINE_FLOW_BITS */
        uint64_t flow_span_us; /* the logs' span, which no flow's bins exceed */
        /* The column of the page's round trip chart that an answer at t of c
         * falls in, rising with t; NULL when no page is written (the scan
         * then keeps none). */
        size_t (*rtt_column)(const struct timeline_client *c, int64_t t_us);
};

struct timeline_peer {
        struct addr a;
        uint32_t number; /* its index in timeline.peers */
};

/* A packet's peer address. */
static inline const struct addr *timeline_peer(const struct timeline *tl, uint32_t i)
{
        return &tl->peers[i < tl->n_peers ? i : 0]->a;
}

/* Timers to use instead of learning them from the logs: 0 learns. */
struct timeline_opts {
        uint64_t keepalive_us, handshake_timeout_us;
        unsigned keepalive_count;
};

/* Empties tl, and draws the key of its id index. */
void timeline_init(struct timeline *tl);
void timeline_free(struct timeline *tl);

/* Adds one parsed line of log number `log` (any line: stamps and restarts
 * count too). Returns 0, -ENOMEM, or -E2BIG past TIMELINE_MAX_LOGS. */
int timeline_add(struct timeline *tl, unsigned log, const struct logline *l);

/* As timeline_add(), but a packet is handed out rather than held: returns
 * 1 with it in *p and its client's index (in tl->clients) in *client, for
 * the caller to keep elsewhere and give back with timeline_put() when the
 * client is worked out; 0 for a line that is no packet of a client. */
int timeline_add_out(struct timeline *tl, unsigned log, const struct logline *l, struct timeline_packet *p,
                     size_t *client);

/* Holds a packet timeline_add_out() handed out (in the order it did).
 * Returns 0, -ENOMEM, or -EINVAL for no such client. */
int timeline_put(struct timeline *tl, size_t client, const struct timeline_packet *p);

/* Room for n more packets of a client before they are put (timeline_put
 * otherwise takes room for all its packets at the first). Returns 0,
 * -ENOMEM, or -EINVAL for no such client. */
int timeline_reserve(struct timeline *tl, size_t client, size_t n);

/* Works out everything once all lines are in. Returns 0 or -ENOMEM. */
int timeline_finish(struct timeline *tl, const struct timeline_opts *o);

/* Gives back the packets of clients [lo, hi) with timeline_put(). */
typedef int (*timeline_load_fn)(void *ctx, struct timeline *tl, size_t lo, size_t hi);
/* Takes a client worked out, its scan made (c->scan: what its findings and
 * the page read of its packets); its packets may be held or not. */
typedef int (*timeline_each_fn)(void *ctx, const struct timeline *tl, const struct timeline_client *c);

/* Works the clients out in their order, in groups of at most `budget`
 * packets (one client alone when it has more): load (when not NULL) gives
 * a group's packets back, each client is worked out and handed to each(),
 * then its packets are let go; its results stay. So only one group's
 * packets are ever held. Returns 0, -ENOMEM, or what load or each did.
 * In two passes, for what compares the clients (each outage's "others"):
 * each NULL works them all out, each client's packets let go as soon as
 * they are split by end; then o NULL hands each client, worked out
 * already, to each() with its packets given back again for its scan. */
int timeline_finish_each(struct timeline *tl, const struct timeline_opts *o, uint64_t budget, timeline_load_fn load,
                         timeline_each_fn each, void *ctx);

/* Gives back (timeline_put) the packets of client i within their log's
 * span, by_log[log] on the log's own clock, in the order they were put
 * (report_spill_load_span). */
typedef int (*timeline_span_fn)(void *ctx, struct timeline *tl, size_t i, const struct timeline_span *by_log,
                                size_t n_logs);

/* The first pass of timeline_finish_each() (each NULL), but that a client
 * of more than `budget` packets is worked out in windows of window_us of
 * its time (and a margin around each), its packets given back a window at
 * a time by span and let go after it: a client's year is never held
 * whole. The same results. */
int timeline_finish_windowed(struct timeline *tl, const struct timeline_opts *o, uint64_t budget, timeline_load_fn load,
                             timeline_span_fn span, int64_t window_us, void *ctx);

/* The second pass of timeline_finish_each() (o NULL), but that a client of
 * more than `budget` packets is not given back whole: what its findings
 * and the page read of its packets (timeline_scan) is made a window of
 * window_us of its time at a time, by span. each() takes every client with
 * its scan made, which is let go after. */
int timeline_write_each(struct timeline *tl, uint64_t budget, timeline_load_fn load, timeline_span_fn span,
                        int64_t window_us, timeline_each_fn each, void *ctx);

/* Lets go c's scan. */
void timeline_scan_free(struct timeline_client *c);

/* Adds n round trips, sorted (rising), to h. Returns 0 or -ENOMEM. */
int timeline_rtt_add(struct timeline_rtt *h, const int64_t *sorted, size_t n);

/* The i-th smallest round trip of h (i < h->count), as kept: exact at the
 * ends, and between them exact or under 1/128 below it once rounded. */
int64_t timeline_rtt_at(const struct timeline_rtt *h, uint64_t i);

/* The value at fraction num/den of the way, as an index (count - 1) * num /
 * den: the median is 1/2, the 95th percentile 95/100. */
int64_t timeline_rtt_quantile(const struct timeline_rtt *h, unsigned num, unsigned den);

/* Whether every value h holds is as it was given: none rounded yet. */
static inline bool timeline_rtt_exact(const struct timeline_rtt *h)
{
        return h->bits == 0 || h->bits >= 63;
}

void timeline_rtt_free(struct timeline_rtt *h);

/* Sorts n elements of v (each `size` bytes) by cmp (given ctx), keeping
 * equal ones in the order they were: runs already in order merged two by
 * two, through a buffer of n elements taken only when v is not in order
 * already. Returns 0 or -ENOMEM. */
int timeline_stable_sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *ctx);

/* The messages that n packets p received (tx false) or sent, of the types
 * in a mask (bits 1 << type), as indices into p sorted by message (type,
 * handshake, counter): to ask whether one is among them with 8 bytes
 * each, not a copy. p must stay while the set is used. */
struct timeline_msgset {
        const struct timeline_packet *p;
        size_t *i;
        size_t n;
};

int timeline_msgset_make(struct timeline_msgset *s, const struct timeline_packet *p, size_t n, bool tx,
                         unsigned types);
bool timeline_msgset_has(const struct timeline_msgset *s, uint8_t type, uint64_t hs, uint64_t ctr);
/* Whether s holds this message at a time within margin of t (either way);
 * p must be in time order, as each end's packets are once split. */
bool timeline_msgset_near(const struct timeline_msgset *s, uint8_t type, uint64_t hs, uint64_t ctr, int64_t t,
                          int64_t margin);
void timeline_msgset_free(struct timeline_msgset *s);

/* Time down (the union of the outages' best estimates, but those where a
 * log lost lines: unknown) within [from, to). */
int64_t timeline_down_us(const struct timeline_client *c, int64_t from_us, int64_t to_us);

/* Availability in [0, 1] over the client's period. */
double timeline_availability(const struct timeline_client *c);

/* What another flow was doing during an outage of c. */
enum timeline_flow_state {
        TIMELINE_FLOW_UNKNOWN,     /* no log times both flows on one clock, or it cannot tell */
        TIMELINE_FLOW_DOWN,        /* an outage of its own overlaps [start_max, end_min] */
        TIMELINE_FLOW_UP,          /* it delivered messages inside [start_min, end_max] */
        TIMELINE_FLOW_NOT_RUNNING, /* no log of it covers that time */
};

/* The bits all flows' bins may take together (4 MiB): past it, the bins
 * widen, so that a year of logs takes no more than a month (10 clients: 1 s
 * bins over a month, 16 s over a year). A flow is said up in an outage
 * only for a bin wholly inside it: wider bins say so less often, never
 * wrongly. */
#define TIMELINE_FLOW_BITS ((uint64_t)1 << 25)

/* Past this many flows in the logs they are not compared (each outage
 * against every other flow is a time quadratic in them): unknown. */
#define TIMELINE_FLOWS_COMPARED 4096

/* What flow `other` did during outage o of c: compared only through a log
 * both are in (a server's log both were heard in, or one client log file),
 * whose clock times both; flows of different machines otherwise, unknown. */
enum timeline_flow_state timeline_flow_state(const struct timeline *tl, const struct timeline_client *c,
                                             const struct timeline_outage *o, const struct timeline_client *other);

/* The client with this id, or NULL. */
const struct timeline_client *timeline_find(const struct timeline *tl, const char *id, size_t id_len);

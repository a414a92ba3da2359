/* timeline-internal: what the report's timeline files (src/report/timeline*.c)
 * share and nothing else includes: the per-client working set of
 * timeline_finish() and the steps it is made of, one file each:
 *   timeline.c          feeding lines in, the client index, the whole per client
 *   timeline-roles.c    which end wrote each log; the packets split by end
 *   timeline-clock.c    the clients' timers, the two clocks' offset, round trips
 *   timeline-match.c    messages as keys; both logs matched message by message
 *   timeline-client.c   a client's log alone: its handshakes, answered or not
 *   timeline-server.c   a server's log alone: gaps in what it heard
 *   timeline-outages.c  outages from runs of lost messages, put together
 *   timeline-rebind.c   NAT rebindings seen at the server
 *   timeline-rtt.c      round trips kept as counts of values
 *   timeline-trace.c    the client's traces, put on its outages
 *   timeline-flows.c    what a flow keeps to be compared; the comparison
 * Functions return 0 or -ENOMEM.
 *
 * Memory. Every step reads one client's packets in time order per end;
 * no step needs another client's. So `udp-canary report` reads
 * every line once (timeline_add_out: the logs' spans, clocks and stops, the
 * client index, 32 bytes a packet with its address numbered in
 * timeline.peers), puts each packet aside per client (report-spill: chunks
 * in an unlinked temporary file), then works the clients out in groups of
 * at most REPORT_GROUP_PACKETS packets (timeline_finish_each), in two
 * passes: first each is worked out, its packets split by end in place
 * (timeline_split_by_role with take: not held twice); then, all worked out
 * (each outage says what the other flows did then), each is written with
 * its packets given back once more for what its findings and the page
 * read of them (timeline_scan: the idle gaps at the server as they come,
 * the nat periods among them, the round trips in time order for the
 * page, per column), and they go. What stays per client is its results:
 * outages, rebindings, round trips as counts of values (struct
 * timeline_rtt), counts, and what its flow is compared with the others by
 * (timeline_flow: the logs it is in, bins of when it delivered messages,
 * TIMELINE_FLOW_BITS for all clients at most, wider bins for longer
 * logs); per log, its span and stops; and report-spill's index of its
 * chunks, 32 bytes per REPORT_SPILL_CHUNK packets. So memory follows a
 * group's packets, about 1.5 times their 32 bytes while one is worked out
 * (the split; what an end received as indices, timeline_msgset; the
 * outcomes of the server's log alone; what the matching finds goes
 * straight into runs, timeline_runs), not the number of clients or of
 * lines. A client of more packets than a group holds is worked out in windows of
 * time instead (timeline-windows.c, a week in `udp-canary report`), its
 * packets loaded a window and a margin around it at a time
 * (report_spill_load_span: each chunk of report-spill records its log and
 * the span of its times): first what only the whole client gives (the
 * timers, the clock offset, the round trips; each log's role and
 * coverage come from counts made as the lines are read, c->ends), then
 * the outages, rebindings and bins, each step's state carried from one
 * window to the next (the walks, the runs of lost messages, what the
 * client's log alone found after a window's end). A message is looked for
 * at its receiver only within TIMELINE_MATCH_MARGIN_US of its sending, in
 * the whole as in windows, so the two agree. In the second pass such a
 * client's scan is made a window at a time too (timeline_scan_windows),
 * the nat periods found as the gaps come with only the last
 * TIMELINE_NAT_BACK + 1 of them held; what the windows learn of the
 * whole client first is kept as tallies of values (the timers' spacings,
 * the clock's (delay, offset) pairs). The same results as holding
 * everything: tests/test-timeline-windows.c, tests/test-timeline-scan.c,
 * tests/test-report-spill.c. tests/bench/report.sh: 30 days of 10 clients
 * 15 MB, 365 days 15 MB. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/timeline.h"

#define TIMELINE_DAY_US (86400 * (int64_t)1000000)

/* A message as a key: (type, handshake id, counter) is unique per client. */
struct timeline_key {
        uint64_t hs, ctr;
        int64_t t_us;
        uint8_t type;
};

/* What became of one message of a direction, in time order. */
struct timeline_outcome {
        int64_t t_us;
        uint64_t n; /* messages it stands for: inferred runs are kept as two */
        uint8_t delivered;
        uint8_t boundary; /* nothing can be said across it (a restart) */
};

struct timeline_olist {
        struct timeline_outcome *v;
        size_t n, cap;
};

struct timeline_outages {
        struct timeline_outage *v;
        size_t n, cap;
};

/* The client's and server's packets apart, and what holds across analyses. */
struct timeline_split {
        const struct timeline *tl;
        struct timeline_packet *c, *s;
        size_t nc, ns;
        int64_t c_first, c_last, s_first, s_last; /* coverage of each end's logs */
        int64_t res, grace;
        struct timeline_outages by_client, by_server;
        uint8_t *roles; /* per log */
        int64_t off; /* the server's clock minus the client's, once known */
};

static inline int64_t max64(int64_t a, int64_t b)
{
        return a > b ? a : b;
}

static inline int64_t min64(int64_t a, int64_t b)
{
        return a < b ? a : b;
}

/* What a packet says of its log's writer: a client sends inits and
 * keepalives and receives responses; a server the reverse. */
static inline enum timeline_role timeline_packet_role(const struct timeline_packet *p)
{
        bool from_client = p->type != MESSAGE_HANDSHAKE_RESPONSE;

        return from_client == (bool)p->tx ? TIMELINE_ROLE_CLIENT : TIMELINE_ROLE_SERVER;
}

/* --- the steps of timeline_finish(), in their order --- */

/* Of the split, what holds for the whole client, from the counts made as
 * its lines were read (not its packets): each log's role (sp->roles, to
 * be freed), each end's coverage, the stamps' resolution (sp->res, and in
 * c), whether it has a log of each end (c->client_log, server_log). */
int timeline_split_whole(const struct timeline *tl, struct timeline_client *c, struct timeline_split *sp);

/* Splits the packets by their log's role, each end in time order; with
 * take, c's packets go into the split (c->pk is left empty). */
int timeline_split_by_role(const struct timeline *tl, struct timeline_client *c, struct timeline_split *sp, bool take);

/* Learns the timers (unless o gives them) from one end's log. */
int timeline_learn_timers(struct timeline_client *c, const struct timeline_split *sp, const struct timeline_opts *o);

/* A value (and a second, w, that orders those of one value: 0 where one
 * is enough) and how many times it was taken. */
struct timeline_tally {
        int64_t v, w;
        uint64_t n;
};

/* Values taken for an exact median, as tallies: those of v[0, sorted)
 * distinct and in order, those after taken since. When v is full they
 * are put in order and equal ones merged, and it grows only when that
 * leaves it half full or more: so it holds about the values that differ
 * (spacings in ms take few), not all taken; 24 bytes a value where all
 * differ. */
struct timeline_values {
        struct timeline_tally *v;
        size_t n, sorted, cap;
        uint64_t total; /* values taken */
};

/* What learning the timers carries from one span of an end's packets to
 * the next: the last keepalive and the init not yet answered, the
 * spacings so far (their medians exact: struct timeline_values). */
struct timeline_timers {
        bool client_end; /* learned from the client's end (when it has a log), else the server's */
        bool have_ka, have_init;
        struct timeline_packet ka, init;
        uint64_t count; /* the highest keepalive counter */
        struct timeline_values ka_gaps, retry_gaps;
};

/* Takes n more packets of the end, in time order. */
int timeline_timers_take(struct timeline_timers *t, const struct timeline_packet *p, size_t n);
/* The timers from all taken (or o's), into c; lets t's spacings go. */
void timeline_timers_end(struct timeline_client *c, struct timeline_timers *t, const struct timeline_opts *o);

/* The server clock's offset from the client's, from answered handshakes in
 * both logs. */
int timeline_clock_offset(struct timeline_client *c, const struct timeline_split *sp);

/* Puts the server's times on the client's clock. */
void timeline_correct_server(struct timeline_client *c, struct timeline_split *sp);

/* Counts what n packets of an end sent and received (inits, answers,
 * keepalives). */
void timeline_counts_take(struct timeline_client *c, const struct timeline_packet *p, size_t n, bool client_end);
/* The client's period from its first and last packet of each end (cs, ss:
 * NULL for an end without any), on its clock. */
void timeline_period(struct timeline_client *c, const struct timeline_span *cs, const struct timeline_span *ss);

int timeline_round_trips(struct timeline_client *c, const struct timeline_split *sp);
/* The round trips of the client's packets [lo, hi) (sp->c), their inits
 * looked for among all of sp->c; added to c->rtt. */
int timeline_round_trips_take(struct timeline_client *c, const struct timeline_split *sp, size_t lo, size_t hi);

/* One answered handshake's delay and offset, and its answer's key. */
struct timeline_pair {
        int64_t delay, offset;
        uint64_t hs, ctr;
        int64_t t4;
};

/* The pairs taken in up to two looks at the answers, in the same order.
 * The first tallies their (delay, offset)s, which gives the quarter's
 * edge (the delay of its last pair; how many pairs of that delay are in
 * it, edge_in, first by key) and the offsets of the shorter delays; the
 * median of the quarter's offsets, unless it depends on which pairs of
 * the edge's delay are in: then the second takes their offsets, the first
 * edge_in of them as taken, where the answers' keys came in order (they
 * do unless a handshake id went back: then all of them, sorted by key).
 * So what is held is tallies of values (few with 1 ms stamps), not
 * pairs, unless the keys went back (then at worst all pairs). */
struct timeline_pairs {
        unsigned look; /* 0: the first; 1: the second */
        uint64_t n;    /* pairs (of the first look) */
        struct timeline_values cells;   /* the first look's (delay, offset)s */
        struct timeline_values offsets; /* the quarter's, so far */
        bool out_of_order;
        struct timeline_pair last; /* the last taken: its key */
        int64_t edge;
        uint64_t edge_in, edge_seen; /* of the edge's delay: in the quarter; seen on the second look */
        struct timeline_pair *tied;  /* out of order: all of the edge's delay */
        size_t n_tied, cap_tied;
};

/* The pairs of the answers the client received among sp->c[lo, hi), each
 * end of them looked for among all of sp (the server's on its own clock). */
int timeline_pairs_take(struct timeline_pairs *l, const struct timeline_split *sp, size_t lo, size_t hi);
/* After a look at all pairs: 1 where they are to be looked at again, in
 * the same order, from the first (or until timeline_pairs_enough); else
 * the offset, into c, and l let go (0, or -ENOMEM). */
int timeline_pairs_end(struct timeline_client *c, struct timeline_pairs *l);
/* Whether the second look has all it needs before the last pair. */
bool timeline_pairs_enough(const struct timeline_pairs *l);
void timeline_pairs_free(struct timeline_pairs *l);

/* Outages per direction, from both logs or from each alone. */
int timeline_reconstruct(struct timeline_client *c, struct timeline_split *sp, int64_t tail);

/* The rebindings, and the server addresses the client's log sends to
 * (c->servers). */
int timeline_rebindings(struct timeline_client *c, const struct timeline_split *sp);

/* The rebindings taken span by span: the server's addresses (all of them
 * before the first rebinding is taken), the last fresh message's. */
#define TIMELINE_SERVER_ADDRS 16 /* a client names few servers */
struct timeline_rebind_walk {
        struct addr sa[TIMELINE_SERVER_ADDRS];
        size_t n_sa;
        const struct addr *last;
        uint64_t max_init, ka_hs, ka_ctr;
};

void timeline_server_addrs_take(struct timeline_rebind_walk *w, const struct timeline_split *sp, size_t lo, size_t hi);
void timeline_server_addrs_end(struct timeline_client *c, const struct timeline_rebind_walk *w);
/* The rebindings among the server's packets [lo, hi). */
int timeline_rebindings_take(struct timeline_client *c, struct timeline_rebind_walk *w, const struct timeline_split *sp,
                             size_t lo, size_t hi);

/* How long after sending a message its receiver must have logged on
 * before its absence counts as loss: from the round trips. */
int64_t timeline_grace(const struct timeline_client *c, int64_t res);

/* The outages marked (a server stopped, a log lost lines, a client's
 * trace) and the client's period taken to their ends: the last step. */
void timeline_outages_marked(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp);

/* Marks the outages during which a server log shows its server stopped. */
void timeline_mark_stopped(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp);
/* Outages over a span where a log lost lines: unknown, not down. */
void timeline_mark_log_lost(struct timeline_client *c, const struct timeline_split *sp);
/* The flows' bin width, from the logs' span and the number of clients. */
void timeline_flow_bins(struct timeline *tl);
/* What the client keeps to be compared with the other flows. */
int timeline_flow_keep(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp);
/* The same in steps: its logs and its bins, from its period (c->first_us,
 * last_us); then the messages received among n packets p, on its clock. */
int timeline_flow_begin(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp);
void timeline_flow_mark(const struct timeline *tl, struct timeline_client *c, const struct timeline_packet *p, size_t n);
/* Puts on each outage the last trace its client logged within it. */
void timeline_mark_traces(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp);
/* Whether a log of the role lost lines around t (the client's clock). */
bool timeline_blind_at(const struct timeline_split *sp, enum timeline_role role, int64_t t);

/* --- a client worked out over windows of time (timeline-windows.c) --- */

/* Works c out as timeline_finish() does, with the same results, its
 * packets loaded a window of window_us (and margins) at a time and let go
 * after each: twice over its period (timeline-windows.c). */
int timeline_finish_windows(struct timeline *tl, struct timeline_client *c, const struct timeline_opts *o,
                            int64_t window_us, timeline_span_fn load, void *ctx);

/* --- what those steps share --- */

/* qsort(), skipped when v is in order already (as a log's lines mostly
 * are): the same result, since glibc's qsort keeps equal elements in order
 * (a merge sort) and every order used here is total or on equal values. */
void timeline_sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* Which types of message timeline_keys_of() keeps: bits (1 << type), or
 * all; a type past the mask's bits is kept only with all. */
#define TIMELINE_KEYS_ALL (~0u)
#define TIMELINE_KEY_TYPE(t) (1u << (t))
#define TIMELINE_KEY_WANTED(mask, t) ((mask) == TIMELINE_KEYS_ALL || ((t) < 32 && ((mask) >> (t) & 1u)))

/* The messages of one end that it sent (tx) or received, of the types in
 * the mask, sorted by key. */
int timeline_keys_of(const struct timeline_packet *p, size_t n, bool tx, unsigned types, struct timeline_key **out,
                     size_t *n_out);

/* How far in time from its sending a message is looked for at its
 * receiver (either way, for clocks put together only so well): a receipt
 * further off (a copy replayed days later, the message itself lost) does
 * not count as the message got. So a message's fate depends only on the
 * packets within this of it, and a span of time can be worked out from
 * the packets of that span and this margin around it, as the whole is.
 * A day: on real logs, a message arrives within seconds, and a server's
 * clock whose offset is unknown (no handshake answered in both logs) is a
 * time zone off at most. */
#define TIMELINE_MATCH_MARGIN_US TIMELINE_DAY_US

/* The earliest of this message in keys at a time within margin of t
 * (either way), or NULL. */
const struct timeline_key *timeline_key_near(const struct timeline_key *k, size_t n, uint8_t type, uint64_t hs,
                                             uint64_t ctr, int64_t t, int64_t margin);

/* Outages from what became of a direction's messages, taken one by one in
 * time order: a run of at least two lost between two delivered (or a
 * boundary, or the end) is one. */
struct timeline_run {
        bool have_p;          /* a message got through before it */
        int64_t p, l1, ln;    /* that message; the first and last lost */
        uint64_t lost;
};

struct timeline_runs {
        struct timeline_outages *out;
        enum timeline_direction dir;
        int64_t res, slack, tail; /* slack: where lost messages' times are inferred */
        struct timeline_run r;
};

/* What became of the next message (n: how many it stands for). */
int timeline_runs_take(struct timeline_runs *rs, int64_t t_us, uint64_t n, bool delivered, bool boundary);
/* The run still open when the messages end. */
int timeline_runs_end(struct timeline_runs *rs);

/* Each message of direction d sent while the receiver's log covers it
 * (those of the sender's packets [lo, hi)), received or lost, handed to
 * rs in time order as it is found (not listed: a year of them would be
 * held); its receipt looked for among all the receiver's packets of sp
 * within the margin. */
int timeline_match_direction(struct timeline_client *c, const struct timeline_split *sp, enum timeline_dir d,
                             size_t lo, size_t hi, struct timeline_runs *rs);

/* A client's handshakes among its packets [lo, hi) in its log alone,
 * answered or not, added to out in the order sent (last_hs: the last
 * handshake id, carried to the next packets). */
int timeline_client_view(const struct timeline_split *sp, size_t lo, size_t hi, uint64_t *last_hs,
                         struct timeline_olist *out);

/* What a server's log alone shows of each direction: its walk through the
 * messages it heard, on the client's schedule, carried from one span of
 * them to the next. */
struct timeline_server_walk {
        const struct timeline_client *c;
        struct timeline_olist *c2s, *s2c; /* where the outcomes go */
        bool have_p, resp_pending;
        struct timeline_packet p; /* the last fresh message heard */
        uint64_t resp_hs, lost_keepalives, max_init;
        int64_t resp_t;
};

/* The server's packets [lo, hi) walked: outcomes added to w->c2s (in
 * time order but within a gap, where they are inferred: to be sorted)
 * and w->s2c (in the order to be taken). */
int timeline_server_view(struct timeline_client *c, const struct timeline_split *sp, size_t lo, size_t hi,
                         struct timeline_server_walk *w);

/* The outages' reconstruction, taken span by span (timeline_reconstruct
 * is one span): the runs of each view, carried; the outages each makes. */
struct timeline_recon {
        struct timeline_runs client, server_c2s, server_s2c, both[2];
        struct timeline_outages by_client, by_server, by_server_s2c, all[2];
        struct timeline_olist cv, sc, ss; /* what each view found, not yet taken by its runs */
        uint64_t last_hs;
        struct timeline_server_walk w;
};

void timeline_recon_init(struct timeline_recon *r, const struct timeline_client *c, const struct timeline_split *sp,
                         int64_t tail);
/* The client's packets [ca, cb) and the server's [sa, sb) (of sp, in
 * whose packets the answers and receipts are looked for); what the client's
 * log alone found is taken up to `until` (the rest waits for the next
 * span: an answer comes after its init). */
int timeline_recon_take(struct timeline_recon *r, struct timeline_client *c, const struct timeline_split *sp,
                        size_t ca, size_t cb, size_t sa, size_t sb, int64_t until);
/* The outages, put together, into c (and sp->by_client, by_server); r let go. */
int timeline_recon_end(struct timeline_recon *r, struct timeline_client *c, struct timeline_split *sp);
void timeline_recon_free(struct timeline_recon *r);

int timeline_olist_push(struct timeline_olist *l, int64_t t_us, bool delivered, bool boundary);
int timeline_by_outcome_time(const void *a, const void *b);

/* --- timeline-scan.c: what the findings and the page read of a client's
 * packets, once its outages and rebindings are known --- */

#define TIMELINE_NAT_BACK 4096 /* how far back a nat period is looked for: bounded work and room */

struct timeline_scan_gap {
        int64_t from_us, to_us; /* the last server-side packet before, the message */
        size_t rebind;          /* its index in c->rebinds when it rebound, else SIZE_MAX */
};

/* A run of gaps and what they say: the longest kept, the shortest rebound. */
struct timeline_scan_window {
        size_t first, last; /* gaps, by their number */
        int64_t max_kept, min_rebound; /* -1, INT64_MAX when none */
        uint64_t rebinds, kept;
};

/* What is carried from one span of a client's packets to the next. */
struct timeline_scan_walk {
        const struct timeline *tl;
        struct timeline_client *c;
        int64_t *down_a, *down_b; /* the outages' widest bounds, merged */
        size_t n_down;
        /* the idle gaps: the last packet at the server, the address it last
         * came from, the last message the server never received */
        bool have_last;
        uint32_t last_peer;
        int64_t prev_us, lost_us;
        size_t next_rb;
        /* the nat periods: the last TIMELINE_NAT_BACK + 1 gaps, the window
         * being grown and the part of it from its first rebinding (p) */
        struct timeline_scan_gap *ring; /* gap j at j % (TIMELINE_NAT_BACK + 1), once it is full */
        size_t ring_cap, n_gaps, floor;
        struct timeline_scan_window w, p;
        int64_t p_from_us, last_to_us;
        size_t *rb_seq; /* per rebinding: the number of its gap, SIZE_MAX for none */
        size_t rb_cursor;
        /* the round trips of the chart's column being filled */
        int64_t *col_v, col_t;
        size_t col_n, col_cap, col;
};

int timeline_scan_begin(struct timeline_scan_walk *w, const struct timeline *tl, struct timeline_client *c);
/* Takes the span [ca, cb) of the client's end and [sa, sb) of the
 * server's (on the client's clock), the rest of sp around them for
 * looking messages up. */
int timeline_scan_take(struct timeline_scan_walk *w, const struct timeline_split *sp, size_t ca, size_t cb, size_t sa,
                       size_t sb);
/* One more idle gap (from timeline_scan_take, or a test): rebind its
 * rebinding's index, or SIZE_MAX when the flow kept its address. */
int timeline_scan_gap(struct timeline_scan_walk *w, int64_t from, int64_t to, size_t rebind);
/* Ends the walk (also after a failure: k); on success c->scan is made. */
int timeline_scan_end(struct timeline_scan_walk *w, int k);
/* All of a split at once. */
int timeline_scan_split(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp);
/* A client a window of its time at a time (timeline-windows.c). */
int timeline_scan_windows(struct timeline *tl, struct timeline_client *c, int64_t window_us, timeline_span_fn load,
                          void *ctx);

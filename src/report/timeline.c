/* timeline: the entry points of the reconstruction behind `udp-canary
 * report` (see timeline.h): lines fed in (each log's never decreasing
 * clock, its stops, the clients by id in a keyed index), then per client
 * the steps of timeline-internal.h in turn, and the time down. No I/O:
 * lines in, results out. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

_Static_assert(sizeof(struct timeline_packet) == 32, "a year of packets is held: 32 bytes each, no padding");

/* Steps back are carried on from up to a century in all; past that (a clock
 * reset to 1970, hostile stamps) the time just stands still. */
#define MAX_SHIFT_US (36525 * TIMELINE_DAY_US)

static const char *client_id(const void *entry, size_t *len)
{
        const struct timeline_client *c = entry;

        *len = c->id_len;
        return c->id;
}

static const char *peer_bytes(const void *entry, size_t *len)
{
        const struct timeline_peer *p = entry;

        *len = sizeof(p->a);
        return (const char *)&p->a;
}

void timeline_init(struct timeline *tl)
{
        memset(tl, 0, sizeof(*tl));
        index_init(&tl->ids, client_id);
        index_init(&tl->peer_index, peer_bytes);
}

static void client_free(struct timeline_client *c)
{
        free(c->pk);
        free(c->ends);
        timeline_rtt_free(&c->rtt);
        free(c->outages);
        free(c->rebinds);
        free(c->flow.up);
        timeline_scan_free(c);
        free(c);
}

void timeline_free(struct timeline *tl)
{
        for (size_t i = 0; i < tl->n_clients; i++)
                client_free(tl->clients[i]);
        free(tl->clients);
        index_free(&tl->ids);
        for (size_t i = 0; i < tl->n_logs; i++) {
                free(tl->logs[i].down);
                free(tl->logs[i].blind);
        }
        free(tl->logs);
        free(tl->probes);
        free(tl->traces);
        for (size_t i = 0; i < tl->n_peers; i++)
                free(tl->peers[i]);
        free(tl->peers);
        index_free(&tl->peer_index);
        memset(tl, 0, sizeof(*tl));
}

const struct timeline_client *timeline_find(const struct timeline *tl, const char *id, size_t id_len)
{
        return index_find(&tl->ids, index_hash(&tl->ids, id, id_len), id, id_len);
}

/* The client of this id, made when new; NULL past the bound or without
 * memory. Unlike the server's table, the report never evicts. */
static struct timeline_client *client_get(struct timeline *tl, const struct message *m, size_t *at)
{
        uint64_t h = index_hash(&tl->ids, m->id, m->id_len);
        struct timeline_client *c = index_find(&tl->ids, h, m->id, m->id_len);

        if (c) {
                *at = c->at;
                return c;
        }
        if (tl->n_clients >= TIMELINE_MAX_CLIENTS)
                return NULL;
        if (grow_array((void **)&tl->clients, &tl->cap_clients, tl->n_clients + 1,
                       sizeof(struct timeline_client *)) < 0)
                return NULL;
        c = calloc(1, sizeof(*c) + m->id_len + 1);
        if (!c)
                return NULL;
        memcpy(c->id, m->id, m->id_len);
        c->id_len = m->id_len;
        if (index_add(&tl->ids, h, c) < 0) {
                free(c);
                return NULL;
        }
        c->at = *at = tl->n_clients;
        tl->clients[tl->n_clients++] = c;
        return c;
}

static int log_get(struct timeline *tl, unsigned log, struct timeline_log **out)
{
        size_t n = (size_t)log + 1;

        if (log >= TIMELINE_MAX_LOGS)
                return -E2BIG;
        if (n > tl->n_logs) {
                if (grow_array((void **)&tl->logs, &tl->cap_logs, n, sizeof(*tl->logs)) < 0)
                        return -ENOMEM;
                memset(tl->logs + tl->n_logs, 0, (n - tl->n_logs) * sizeof(*tl->logs));
                tl->n_logs = n;
        }
        *out = &tl->logs[log];
        return 0;
}

/* The line's time on the log's own, never decreasing, clock. */
static int64_t log_time(struct timeline_log *lg, uint64_t raw_us)
{
        int64_t t = (int64_t)(raw_us > (uint64_t)INT64_MAX / 4 ? (uint64_t)INT64_MAX / 4 : raw_us);

        lg->stamps++;
        lg->stamps_ms += t % 1000 == 0;
        lg->stamps_s += t % 1000000 == 0;
        if (lg->any && t + lg->shift_us < lg->last_us) {
                lg->steps_back++;
                if (lg->last_us - t <= MAX_SHIFT_US)
                        lg->shift_us = lg->last_us - t; /* a step back: carry on from where the log was */
        }
        t = max64(t + lg->shift_us, lg->any ? lg->last_us : INT64_MIN);
        if (!lg->any)
                lg->first_us = t;
        lg->any = true;
        lg->last_us = t;
        return t;
}

/* The number of an address, the same for the same bytes; the first (0) is
 * the zeroed address a "TX server" line has. Past the bound, 0 too. By
 * bytes: equal bytes are the same address, and two numbers for one address
 * written twice differently (padding) change nothing, as every comparison
 * of peers is addr_equal() on the addresses themselves. */
static int peer_number(struct timeline *tl, struct timeline_client *c, const struct addr *a, uint32_t *out)
{
        uint64_t h;
        struct timeline_peer *p;
        static const struct addr none;

        /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c): by bytes, above */
        if (tl->n_peers == 0 && memcmp(a, &none, sizeof(none)) != 0 && peer_number(tl, c, &none, out) < 0)
                return -ENOMEM;
        /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c): by bytes, above */
        if (c->last_peer < tl->n_peers && memcmp(&tl->peers[c->last_peer]->a, a, sizeof(*a)) == 0) {
                *out = c->last_peer;
                return 0;
        }
        h = index_hash(&tl->peer_index, (const char *)a, sizeof(*a));
        p = index_find(&tl->peer_index, h, (const char *)a, sizeof(*a));
        if (!p && tl->n_peers >= TIMELINE_MAX_PEERS) {
                *out = 0;
                return 0;
        }
        if (!p) {
                if (grow_array((void **)&tl->peers, &tl->cap_peers, tl->n_peers + 1, sizeof(struct timeline_peer *)) < 0 ||
                    !(p = malloc(sizeof(*p))))
                        return -ENOMEM;
                p->a = *a;
                p->number = (uint32_t)tl->n_peers;
                if (index_add(&tl->peer_index, h, p) < 0) {
                        free(p);
                        return -ENOMEM;
                }
                tl->peers[tl->n_peers++] = p;
        }
        *out = c->last_peer = p->number;
        return 0;
}

/* Counts p by the end it says its log's writer is: room from one, doubling
 * (most clients are in one or two logs; a million ids). */
static int count_ends(struct timeline_client *c, const struct timeline_packet *p)
{
        struct timeline_log_ends *e;
        size_t i = c->last_ends;

        if (i >= c->n_ends || c->ends[i].log != p->log)
                for (i = 0; i < c->n_ends && c->ends[i].log != p->log; i++)
                        ;
        if (i == c->n_ends) {
                if (c->n_ends == c->cap_ends) {
                        size_t cap = c->cap_ends ? 2 * c->cap_ends : 1;

                        e = realloc(c->ends, cap * sizeof(*e));
                        if (!e)
                                return -ENOMEM;
                        c->ends = e;
                        c->cap_ends = cap;
                }
                c->ends[c->n_ends++] = (struct timeline_log_ends){ .log = p->log };
        }
        c->last_ends = (uint32_t)i;
        e = &c->ends[i];
        if (timeline_packet_role(p) == TIMELINE_ROLE_CLIENT)
                e->as_client++;
        else
                e->as_server++;
        return 0;
}

/* A probe result, kept as its text; past the bound, dropped. */
static int add_probe(struct timeline *tl, unsigned log, int64_t t, const struct logline *l)
{
        struct timeline_probe *p;
        size_t n = l->text_len < TIMELINE_PROBE_TEXT - 1 ? l->text_len : TIMELINE_PROBE_TEXT - 1;

        if (tl->n_probes >= TIMELINE_MAX_PROBES)
                return 0;
        if (grow_array((void **)&tl->probes, &tl->cap_probes, tl->n_probes + 1, sizeof(*tl->probes)) < 0)
                return -ENOMEM;
        p = &tl->probes[tl->n_probes++];
        p->t_us = t;
        p->log = log;
        memcpy(p->verdict, l->text, n);
        p->verdict[n] = '\0';
        return 0;
}

/* A trace, kept whole; past the bound, dropped. */
static int add_trace(struct timeline *tl, unsigned log, int64_t t, const struct logline *l)
{
        if (tl->n_traces >= TIMELINE_MAX_TRACES)
                return 0;
        if (grow_array((void **)&tl->traces, &tl->cap_traces, tl->n_traces + 1, sizeof(*tl->traces)) < 0)
                return -ENOMEM;
        tl->traces[tl->n_traces++] = (struct timeline_trace){ .t_us = t, .log = log, .tr = l->trace };
        return 0;
}

int timeline_add_out(struct timeline *tl, unsigned log, const struct logline *l, struct timeline_packet *p,
                     size_t *client)
{
        struct timeline_log *lg;
        struct timeline_client *c;
        int64_t t, before;
        int k = log_get(tl, log, &lg);

        if (k < 0)
                return k;
        tl->lines++;
        before = lg->last_us;
        t = log_time(lg, l->t_us);
        if (l->kind == LOGLINE_LINES_LOST) { /* what its writer did since the line before is unknown */
                if (grow_array((void **)&lg->blind, &lg->cap_blind, lg->n_blind + 1, sizeof(*lg->blind)) < 0)
                        return -ENOMEM;
                lg->blind[lg->n_blind++] = (struct timeline_span){ lg->stamps > 1 ? before : t, t };
                lg->lines_lost += l->dropped;
        }
        if (lg->stopped) { /* it ran again: the time between, it did not */
                if (grow_array((void **)&lg->down, &lg->cap_down, lg->n_down + 1, sizeof(*lg->down)) < 0)
                        return -ENOMEM;
                lg->down[lg->n_down++].end_us = t;
        }
        lg->stopped = l->kind == LOGLINE_EXIT;
        if (lg->stopped) {
                if (grow_array((void **)&lg->down, &lg->cap_down, lg->n_down + 1, sizeof(*lg->down)) < 0)
                        return -ENOMEM;
                lg->down[lg->n_down] = (struct timeline_span){ t, t };
        }
        if (l->kind == LOGLINE_INVALID)
                tl->invalid++;
        if (l->kind == LOGLINE_SOCKET_DROPS)
                tl->socket_drops += l->dropped;
        if (l->kind == LOGLINE_INVALID_MORE)
                tl->invalid += l->dropped;
        if (l->kind == LOGLINE_NAT_TIMEOUT)
                return add_probe(tl, log, t, l);
        if (l->kind == LOGLINE_TRACE)
                return add_trace(tl, log, t, l);
        if (l->kind != LOGLINE_TX && l->kind != LOGLINE_RX)
                return 0;
        if (l->msg.type == MESSAGE_PROBE || l->msg.type == MESSAGE_PROBE_RESPONSE)
                return 0; /* probes travel on flows of their own, not the canary's */
        if (l->msg.type == MESSAGE_TRACE)
                return 0; /* a trace's copy that got through: no handshake, no keepalive */
        c = client_get(tl, &l->msg, client);
        if (!c) {
                tl->ignored_clients++;
                return tl->n_clients >= TIMELINE_MAX_CLIENTS ? 0 : -ENOMEM;
        }
        *p = (struct timeline_packet){
                .t_us = t, .hs = l->msg.data[0], .ctr = l->msg.data[1], .log = (uint16_t)log,
                .tx = l->kind == LOGLINE_TX, .type = (uint8_t)l->msg.type,
        };
        if (peer_number(tl, c, &l->peer, &p->peer) < 0 || count_ends(c, p) < 0)
                return -ENOMEM;
        c->packets++;
        return 1;
}

int timeline_put(struct timeline *tl, size_t client, const struct timeline_packet *p)
{
        struct timeline_client *c;

        if (client >= tl->n_clients)
                return -EINVAL;
        c = tl->clients[client];
        /* the count is known: room for them all at once, not up to twice */
        if (!c->pk && c->packets > 0 && c->packets <= SIZE_MAX / sizeof(*c->pk)) {
                c->pk = malloc((size_t)c->packets * sizeof(*c->pk));
                c->cap_pk = c->pk ? (size_t)c->packets : 0;
        }
        if (grow_array((void **)&c->pk, &c->cap_pk, c->n_pk + 1, sizeof(*c->pk)) < 0)
                return -ENOMEM;
        c->pk[c->n_pk++] = *p;
        return 0;
}

int timeline_reserve(struct timeline *tl, size_t client, size_t n)
{
        struct timeline_client *c;
        struct timeline_packet *pk;

        if (client >= tl->n_clients)
                return -EINVAL;
        c = tl->clients[client];
        if (n <= c->cap_pk - c->n_pk)
                return 0;
        if (n > SIZE_MAX / sizeof(*c->pk) - c->n_pk)
                return -ENOMEM;
        /* exactly: a span of a year's packets, not twice it */
        pk = realloc(c->pk, (c->n_pk + n) * sizeof(*c->pk));
        if (!pk)
                return -ENOMEM;
        c->pk = pk;
        c->cap_pk = c->n_pk + n;
        return 0;
}

int timeline_add(struct timeline *tl, unsigned log, const struct logline *l)
{
        struct timeline_packet p;
        size_t client;
        int k = timeline_add_out(tl, log, l, &p, &client);

        return k <= 0 ? k : timeline_put(tl, client, &p);
}

void timeline_counts_take(struct timeline_client *c, const struct timeline_packet *p, size_t n, bool client_end)
{
        for (size_t i = 0; i < n; i++) {
                bool tx = p[i].tx;
                uint8_t type = p[i].type;

                if (client_end) {
                        c->inits_sent += tx && type == MESSAGE_HANDSHAKE_INIT;
                        c->answered += !tx && type == MESSAGE_HANDSHAKE_RESPONSE;
                        c->keepalives.sent += tx && type == MESSAGE_KEEPALIVE;
                } else {
                        c->inits_received += !tx && type == MESSAGE_HANDSHAKE_INIT;
                        c->responses_sent += tx && type == MESSAGE_HANDSHAKE_RESPONSE;
                        c->keepalives.received += !tx && type == MESSAGE_KEEPALIVE;
                }
        }
}

void timeline_period(struct timeline_client *c, const struct timeline_span *cs, const struct timeline_span *ss)
{
        c->first_us = cs ? cs->start_us : ss ? ss->start_us : 0;
        c->last_us = cs ? cs->end_us : c->first_us;
        if (ss) {
                c->first_us = cs ? min64(c->first_us, ss->start_us) : ss->start_us;
                c->last_us = max64(c->last_us, ss->end_us);
        }
}

static void counts(struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_span cs = { 0 }, ss = { 0 };

        timeline_counts_take(c, sp->c, sp->nc, true);
        timeline_counts_take(c, sp->s, sp->ns, false);
        if (sp->nc)
                cs = (struct timeline_span){ sp->c[0].t_us, sp->c[sp->nc - 1].t_us };
        if (sp->ns)
                ss = (struct timeline_span){ sp->s[0].t_us, sp->s[sp->ns - 1].t_us };
        timeline_period(c, sp->nc ? &cs : NULL, sp->ns ? &ss : NULL);
}

static void let_go_packets(struct timeline_client *c)
{
        free(c->pk);
        c->pk = NULL;
        c->n_pk = c->cap_pk = 0;
}

/* How long after sending a message its receiver must have logged on before
 * its absence counts as loss. */
int64_t timeline_grace(const struct timeline_client *c, int64_t res)
{
        int64_t p95 = timeline_rtt_quantile(&c->rtt, 95, 100);

        return min64(max64(2 * p95, 50000) + 2 * res, 5000000);
}

/* Works c out; with let_go, its packets go into their split by end (no
 * later step reads them), so that they are not held twice. */
static int finish_client(const struct timeline *tl, struct timeline_client *c, const struct timeline_opts *o,
                         bool let_go)
{
        struct timeline_split sp = { .tl = tl };
        int k = timeline_split_by_role(tl, c, &sp, let_go);

        k = k < 0 ? k : timeline_learn_timers(c, &sp, o);
        k = k < 0 || !(sp.nc && sp.ns) ? k : timeline_clock_offset(c, &sp);
        if (k < 0)
                goto out;
        sp.off = c->offset_known ? c->offset_us : 0;
        timeline_correct_server(c, &sp);
        counts(c, &sp);
        k = timeline_round_trips(c, &sp);
        sp.grace = timeline_grace(c, sp.res);
        if (sp.nc && sp.ns)
                c->keepalives.known = true;
        k = k < 0 ? k : timeline_reconstruct(c, &sp, c->last_us);
        k = k < 0 ? k : timeline_rebindings(c, &sp);
        k = k < 0 ? k : timeline_flow_keep(tl, c, &sp);
        if (k == 0)
                timeline_outages_marked(tl, c, &sp);
        k = k < 0 || let_go ? k : timeline_scan_split(tl, c, &sp); /* written next: what its findings read */
out:
        free(sp.c);
        free(sp.s);
        free(sp.by_client.v);
        free(sp.by_server.v);
        free(sp.roles);
        return k;
}

void timeline_outages_marked(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp)
{
        timeline_mark_stopped(tl, c, sp);
        timeline_mark_log_lost(c, sp);
        timeline_mark_traces(tl, c, sp);
        for (size_t i = 0; i < c->n_outages; i++)
                c->last_us = max64(c->last_us, c->outages[i].end_us);
}

/* A log that ends with "Exit": its writer was down from there on. */
static void close_logs(struct timeline *tl)
{
        for (size_t i = 0; i < tl->n_logs; i++) {
                struct timeline_log *lg = &tl->logs[i];

                if (lg->stopped) {
                        lg->down[lg->n_down++].end_us = INT64_MAX;
                        lg->stopped = false;
                }
        }
}

int timeline_finish(struct timeline *tl, const struct timeline_opts *o)
{
        int k = 0;

        close_logs(tl);
        timeline_flow_bins(tl);
        for (size_t i = 0; i < tl->n_clients && k == 0; i++)
                k = finish_client(tl, tl->clients[i], o, false);
        return k;
}

/* The end of the group of clients from lo: within the budget, one at least. */
static size_t group_end(const struct timeline *tl, size_t lo, uint64_t budget)
{
        uint64_t sum = tl->clients[lo]->packets;
        size_t hi = lo + 1;

        while (hi < tl->n_clients && sum + tl->clients[hi]->packets <= budget)
                sum += tl->clients[hi++]->packets;
        return hi;
}

/* What the findings of a client worked out already read of its packets,
 * given back: split by end again, on the client's clock. */
static int scan_held(const struct timeline *tl, struct timeline_client *c)
{
        struct timeline_split sp = { .tl = tl };
        int k = timeline_split_by_role(tl, c, &sp, true);

        if (k == 0) {
                timeline_correct_server(c, &sp);
                k = timeline_scan_split(tl, c, &sp);
        }
        free(sp.c);
        free(sp.s);
        free(sp.roles);
        return k;
}

/* timeline_finish_each(), and with span a client over the budget not
 * given back whole: worked out in windows (the first pass), its scan made
 * in windows (the second). */
static int finish_groups(struct timeline *tl, const struct timeline_opts *o, uint64_t budget, timeline_load_fn load,
                         timeline_each_fn each, timeline_span_fn span, int64_t window_us, void *ctx)
{
        int k = 0;

        if (o) {
                close_logs(tl);
                timeline_flow_bins(tl);
        }
        for (size_t lo = 0, hi; lo < tl->n_clients && k == 0; lo = hi) {
                hi = group_end(tl, lo, budget);
                if (span && o && !each && tl->clients[lo]->packets > budget) { /* alone in its group */
                        k = timeline_finish_windows(tl, tl->clients[lo], o, window_us, span, ctx);
                        continue;
                }
                if (span && !o && each && tl->clients[lo]->packets > budget) {
                        k = timeline_scan_windows(tl, tl->clients[lo], window_us, span, ctx);
                        k = k < 0 ? k : each(ctx, tl, tl->clients[lo]);
                        timeline_scan_free(tl->clients[lo]);
                        continue;
                }
                k = load ? load(ctx, tl, lo, hi) : 0;
                for (size_t i = lo; i < hi && k == 0; i++) {
                        struct timeline_client *c = tl->clients[i];

                        k = o ? finish_client(tl, c, o, !each) : scan_held(tl, c);
                        k = k < 0 || !each ? k : each(ctx, tl, c);
                        let_go_packets(c);
                        if (each)
                                timeline_scan_free(c);
                }
        }
        return k;
}

int timeline_finish_each(struct timeline *tl, const struct timeline_opts *o, uint64_t budget, timeline_load_fn load,
                         timeline_each_fn each, void *ctx)
{
        return finish_groups(tl, o, budget, load, each, NULL, 0, ctx);
}

int timeline_finish_windowed(struct timeline *tl, const struct timeline_opts *o, uint64_t budget, timeline_load_fn load,
                             timeline_span_fn span, int64_t window_us, void *ctx)
{
        return finish_groups(tl, o, budget, load, NULL, span, window_us, ctx);
}

int64_t timeline_down_us(const struct timeline_client *c, int64_t from_us, int64_t to_us)
{
        int64_t down = 0, covered = from_us;
        size_t lo = 0, hi = c->n_outages;

        /* outages are sorted and disjoint: the first ending after from_us, on */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (c->outages[mid].end_us <= from_us)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (size_t i = lo; i < c->n_outages && c->outages[i].start_us < to_us; i++) {
                int64_t s = max64(c->outages[i].start_us, covered), e = min64(c->outages[i].end_us, to_us);

                if (e > s && !c->outages[i].log_lost) {
                        down += e - s;
                        covered = e;
                }
        }
        return down;
}

double timeline_availability(const struct timeline_client *c)
{
        int64_t period = c->last_us - c->first_us, down;

        if (period <= 0)
                return 1.0;
        down = timeline_down_us(c, c->first_us, c->last_us);
        return down >= period ? 0.0 : 1.0 - (double)down / (double)period;
}

int timeline_write_each(struct timeline *tl, uint64_t budget, timeline_load_fn load, timeline_span_fn span,
                        int64_t window_us, timeline_each_fn each, void *ctx)
{
        return finish_groups(tl, NULL, budget, load, each, span, window_us, ctx);
}

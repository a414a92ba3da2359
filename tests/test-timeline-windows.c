/* timeline-windows: a client worked out in windows of time, its packets
 * loaded a window at a time (timeline_finish_windowed), has what
 * timeline_finish() finds from all of them at once: on simulated days of
 * both logs and of each alone, outages, retries, a rebinding, a clock
 * offset, a server stopped, a client restarted, a log that lost lines
 * and a clock stepped back, across the windows' cuts, windows of seconds
 * to a week; a spacing and an answer across a cut count (what a window
 * carries to the next); the timers' medians exact in room that follows
 * how many spacings differ, not how many there are. */
#include "timeline-sim.h"

#include <stdlib.h>
#include <string.h>

#include "report/timeline-internal.h"

#define H (3600 * S)

/* A client's packets put aside, as report-spill keeps them. */
struct held {
        struct timeline_packet *v;
        size_t n;
        unsigned loads;
};

static int load_span(void *ctx, struct timeline *tl, size_t i, const struct timeline_span *by_log, size_t n_logs)
{
        struct held *h = ctx;
        int k = 0;

        h->loads++;
        for (size_t m = 0; m < h->n && k == 0; m++) {
                const struct timeline_packet *p = &h->v[m];

                if (p->log < n_logs && p->t_us >= by_log[p->log].start_us && p->t_us < by_log[p->log].end_us)
                        k = timeline_put(tl, i, p);
        }
        return k;
}

/* A group's packets all at once: never asked for, the client over budget. */
static int load_all(void *ctx, struct timeline *tl, size_t lo, size_t hi)
{
        (void)ctx;
        (void)tl;
        CHECK(lo == hi);
        return -EINVAL;
}

/* Takes the client's packets out of tl, into h. */
static void put_aside(struct timeline_client *c, struct held *h)
{
        h->v = c->pk;
        h->n = c->n_pk;
        h->loads = 0;
        c->pk = NULL;
        c->n_pk = c->cap_pk = 0;
}

static void same_rtt(const struct timeline_rtt *x, const struct timeline_rtt *y)
{
        CHECK_INT(x->count, y->count);
        CHECK_INT(x->n_bins, y->n_bins);
        CHECK_INT(x->bits, y->bits);
        CHECK(x->count == 0 || (x->min_us == y->min_us && x->max_us == y->max_us));
        CHECK(x->n_bins != y->n_bins || x->n_bins == 0 || memcmp(x->v, y->v, x->n_bins * sizeof(*x->v)) == 0);
}

static void same_count(const struct timeline_count *x, const struct timeline_count *y)
{
        CHECK(x->known == y->known);
        CHECK_INT(x->sent, y->sent);
        CHECK_INT(x->received, y->received);
        CHECK_INT(x->lost, y->lost);
}

static void same_outage(const struct timeline_outage *x, const struct timeline_outage *y)
{
        CHECK_INT(x->start_us, y->start_us);
        CHECK_INT(x->end_us, y->end_us);
        CHECK_INT(x->start_min_us, y->start_min_us);
        CHECK_INT(x->start_max_us, y->start_max_us);
        CHECK_INT(x->end_min_us, y->end_min_us);
        CHECK_INT(x->end_max_us, y->end_max_us);
        CHECK(x->start_min_known == y->start_min_known && x->end_max_known == y->end_max_known);
        CHECK(x->ongoing == y->ongoing && x->server_stopped == y->server_stopped && x->log_lost == y->log_lost);
        CHECK_INT(x->direction, y->direction);
        CHECK_INT(x->seen_by, y->seen_by);
        CHECK_INT(x->lost, y->lost);
        CHECK_INT(x->trace, y->trace);
}

/* Everything c (in windows) found is what ref (whole) found. */
static void same_client(const struct timeline_client *c, const struct timeline_client *ref)
{
        CHECK(c->client_log == ref->client_log && c->server_log == ref->server_log);
        CHECK_INT(c->first_us, ref->first_us);
        CHECK_INT(c->last_us, ref->last_us);
        CHECK_INT(c->keepalive_us, ref->keepalive_us);
        CHECK_INT(c->keepalive_count, ref->keepalive_count);
        CHECK_INT(c->handshake_timeout_us, ref->handshake_timeout_us);
        CHECK(c->keepalive_learned == ref->keepalive_learned);
        CHECK(c->handshake_timeout_learned == ref->handshake_timeout_learned);
        CHECK(c->offset_known == ref->offset_known);
        CHECK_INT(c->offset_us, ref->offset_us);
        CHECK_INT(c->offset_pairs, ref->offset_pairs);
        same_count(&c->delivery[TIMELINE_C2S], &ref->delivery[TIMELINE_C2S]);
        same_count(&c->delivery[TIMELINE_S2C], &ref->delivery[TIMELINE_S2C]);
        same_count(&c->keepalives, &ref->keepalives);
        CHECK_INT(c->inits_sent, ref->inits_sent);
        CHECK_INT(c->answered, ref->answered);
        CHECK_INT(c->inits_received, ref->inits_received);
        CHECK_INT(c->responses_sent, ref->responses_sent);
        CHECK_INT(c->replays, ref->replays);
        CHECK_INT(c->ignored, ref->ignored);
        CHECK_INT(c->resolution_us, ref->resolution_us);
        same_rtt(&c->rtt, &ref->rtt);
        CHECK_INT(c->n_outages, ref->n_outages);
        for (size_t i = 0; i < c->n_outages && i < ref->n_outages; i++)
                same_outage(&c->outages[i], &ref->outages[i]);
        CHECK_INT(c->n_rebinds, ref->n_rebinds);
        CHECK(c->n_rebinds != ref->n_rebinds || c->n_rebinds == 0 ||
              memcmp(c->rebinds, ref->rebinds, c->n_rebinds * sizeof(*c->rebinds)) == 0);
        CHECK_INT(c->n_servers, ref->n_servers);
        CHECK(memcmp(c->servers, ref->servers, sizeof(c->servers)) == 0);
        CHECK_INT(c->flow.n_logs, ref->flow.n_logs);
        CHECK_INT(c->flow.n_bins, ref->flow.n_bins);
        CHECK_INT(c->flow.from_us, ref->flow.from_us);
        CHECK(c->flow.n_bins != ref->flow.n_bins || memcmp(c->flow.up, ref->flow.up, (c->flow.n_bins + 7) / 8) == 0);
}

/* The simulation worked out whole, and again in windows. */
static void check_sim(const struct sim *proto, int64_t window)
{
        struct sim whole = *proto, win = *proto;
        struct timeline_opts o = { 0 };
        struct timeline_client *c;
        const struct timeline_client *ref;
        struct held h = { 0 };

        ref = run(&whole);
        simulate(&win);
        c = win.tl.n_clients ? win.tl.clients[0] : NULL;
        CHECK(ref && c);
        if (!ref || !c)
                goto out;
        put_aside(c, &h);
        CHECK_INT(timeline_finish_windowed(&win.tl, &o, h.n / 4, load_all, load_span, window, &h), 0);
        /* twice over the windows: of the client's own period, and of the
         * logs' own clocks around it */
        CHECK((h.loads > 2 || window > proto->end) && c->pk == NULL && c->n_pk == 0);
        same_client(c, ref);
        CHECK(ref->rtt.count > 0 || !ref->client_log);
        CHECK(ref->offset_known || !(ref->client_log && ref->server_log));
        CHECK(ref->n_outages >= proto->n_faults);
        if (proto->down_to && proto->server_log) { /* the simulation did stop the server */
                bool stopped = false;

                for (size_t i = 0; i < ref->n_outages; i++)
                        stopped = stopped || ref->outages[i].server_stopped;
                CHECK(stopped);
        }
        free(h.v);
out:
        timeline_free(&whole.tl);
        timeline_free(&win.tl);
}

static const struct fault days_faults[] = {
        { 5 * H + 50 * S, 5 * H + 400 * S, true, false },   /* across the cut at 6 h... */
        { 23 * H + 58 * 60 * S, 24 * H + 300 * S, false, true }, /* ...and at a day */
        { 47 * H, 49 * H, true, true },
};

static void test_days(void)
{
        struct sim s = { .ki = (int64_t)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US,
                         .ht = (int64_t)CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US, .count = 5, .delay = 20000,
                         .offset = 2 * H + 13250000, .end = 3 * 24 * H, .faults = days_faults, .n_faults = 3,
                         .rebind_at = 30 * H, .client_log = true, .server_log = true };
        static const int64_t windows[] = { H, 6 * H, 24 * H, 7 * 24 * H };

        for (size_t i = 0; i < sizeof(windows) / sizeof(*windows); i++) {
                check_sim(&s, windows[i]);
                s.offset = -s.offset; /* the server's clock behind, then ahead */
                check_sim(&s, windows[i]);
        }
        s.server_log = false;
        check_sim(&s, 6 * H);
        s.server_log = true;
        s.client_log = false;
        check_sim(&s, 6 * H);
        s.client_log = true;
        /* the server stopped for an hour across a cut, the client
         * restarted, the server's output lost lines, the client's clock
         * stepped back */
        s.down_from = 35 * H + 50 * 60 * S;
        s.down_to = 36 * H + 50 * 60 * S;
        s.restart_at = 60 * H;
        s.blind_from = 12 * H - 100 * S;
        s.blind_to = 12 * H + 200 * S;
        s.blind_said = true;
        s.step_back_at = 66 * H;
        s.step_back = 30 * S;
        check_sim(&s, 6 * H);
        check_sim(&s, 24 * H);
        s.server_log = false;
        check_sim(&s, 6 * H);
        s.server_log = true;
        s.client_log = false;
        check_sim(&s, 6 * H);
}

static const struct fault hours_faults[] = {
        { 40 * 60 * S, 50 * 60 * S, true, false },
        { 2 * H + 7 * S, 2 * H + 400 * S, false, true },
        { 4 * H, 4 * H + 90 * S, true, true },
};

/* Windows of seconds over hours of a slow path (2 s each way): many a
 * message and its receipt, an init and its answer, a keepalive and the
 * next lie across a cut. */
static void test_short_windows(void)
{
        struct sim s = { .ki = (int64_t)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US,
                         .ht = (int64_t)CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US, .count = 5, .delay = 2 * S,
                         .offset = -(3 * H + 1234567), .end = 6 * H, .faults = hours_faults, .n_faults = 3,
                         .rebind_at = 2 * H + 3 * S, .client_log = true, .server_log = true };

        check_sim(&s, 7 * S);
        check_sim(&s, 13 * S + 1);
        s.server_log = false;
        check_sim(&s, 7 * S);
        s.server_log = true;
        s.client_log = false;
        check_sim(&s, 7 * S);
}

/* A client's log alone: two inits unanswered, then A sent just before a
 * cut and answered just after it, B and C sent between those and lost:
 * one outage of four, since A's answer comes after B and C are lost (its
 * outcome waits for the window it is in). */
static void feed_across(struct timeline *tl)
{
        static const struct {
                int64_t t;
                bool tx;
                uint64_t hs;
        } l[] = { { 20000, true, 1 }, { 22000, true, 2 }, { 24990, true, 3 }, { 25000, true, 4 },
                  { 25010, true, 5 }, { 25020, false, 3 }, { 30000, true, 6 }, { 30010, false, 6 },
                  { 40000, true, 7 }, { 40010, false, 7 } };

        timeline_init(tl);
        for (size_t i = 0; i < sizeof(l) / sizeof(*l); i++) {
                struct logline x = { .kind = l[i].tx ? LOGLINE_TX : LOGLINE_RX, .t_us = (uint64_t)(T0 + l[i].t * 1000),
                                     .peer_is_server = true };

                CHECK(message_init(&x.msg, l[i].tx ? MESSAGE_HANDSHAKE_INIT : MESSAGE_HANDSHAKE_RESPONSE, "a", 1,
                                   l[i].hs, 0) == 0);
                CHECK(addr_from_string(&x.peer, "203.0.113.9", 43210) == 0);
                CHECK_INT(timeline_add(tl, 0, &x), 0);
        }
}

static void test_answer_across(void)
{
        struct timeline whole, win;
        struct timeline_opts o = { 0 };
        struct held h;

        feed_across(&whole);
        CHECK_INT(timeline_finish(&whole, &o), 0);
        CHECK(whole.n_clients == 1 && whole.clients[0]->n_outages == 1 && whole.clients[0]->outages[0].lost == 4);
        feed_across(&win);
        put_aside(win.clients[0], &h);
        CHECK_INT(timeline_finish_windowed(&win, &o, 1, load_all, load_span, 5 * S, &h), 0);
        same_client(win.clients[0], whole.clients[0]);
        free(h.v);
        timeline_free(&whole);
        timeline_free(&win);
}

/* A client's log alone, keepalives 10, 20 and 30 s apart: windows of 25
 * s cut the second and the third spacing, whose median (20 s) is learned
 * only if the last keepalive is carried over each cut. */
static void test_carried(void)
{
        static const int64_t at[] = { 0, 10 * S, 30 * S, 60 * S };
        struct timeline tl;
        struct timeline_opts o = { 0 };
        struct timeline_client *c;
        struct held h;

        timeline_init(&tl);
        for (uint64_t i = 0; i < 4; i++) {
                struct logline l = { .kind = LOGLINE_TX, .t_us = (uint64_t)(T0 + at[i]), .peer_is_server = true };

                CHECK(message_init(&l.msg, MESSAGE_KEEPALIVE, "k", 1, 7, i + 1) == 0);
                CHECK(addr_from_string(&l.peer, "203.0.113.9", 43210) == 0);
                CHECK_INT(timeline_add(&tl, 0, &l), 0);
        }
        c = tl.clients[0];
        put_aside(c, &h);
        CHECK_INT(timeline_finish_windowed(&tl, &o, 1, load_all, load_span, 25 * S, &h), 0);
        CHECK_INT(h.loads, 6);
        CHECK(c->keepalive_learned);
        CHECK_INT(c->keepalive_us, 20 * S);
        CHECK_INT(c->keepalive_count, 4);
        free(h.v);
        timeline_free(&tl);
}

static int by_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return x < y ? -1 : x > y;
}

/* n packets taken in spans of 1 to 97 of them (as windows cut them);
 * the most room their spacings took (tallies). */
static size_t take_in_spans(struct timeline_timers *t, const struct timeline_packet *p, size_t n)
{
        size_t most = 0;

        for (size_t i = 0, len = 1; i < n; i += len, len = len % 97 + 1) {
                CHECK_INT(timeline_timers_take(t, p + i, len < n - i ? len : n - i), 0);
                most = t->ka_gaps.cap > most ? t->ka_gaps.cap : most;
                most = t->retry_gaps.cap > most ? t->retry_gaps.cap : most;
        }
        return most;
}

/* Of n spacings from 1 ms steps above `base` ms, the next (`distinct`
 * steps, skewed to the low ones: the least of two draws). */
static int64_t next_spacing(uint64_t *x, int64_t base, unsigned distinct)
{
        unsigned a, b;

        *x = *x * 6364136223846793005u + 1442695040888963407u;
        a = (unsigned)(*x >> 33) % distinct;
        *x = *x * 6364136223846793005u + 1442695040888963407u;
        b = (unsigned)(*x >> 33) % distinct;
        return (base + (a < b ? a : b)) * 1000;
}

/* A client's n keepalives of one handshake, their spacings of `distinct`
 * values in ms, taken in spans: the keepalive learned is the middle of
 * the spacings sorted, and the room they take follows how many differ
 * (timeline_values grows only when half full once merged: at most four
 * tallies per distinct value, or grow_array's first 16), not n. */
static void test_keepalive_median(unsigned distinct, size_t n)
{
        struct timeline_packet *p = calloc(n, sizeof(*p));
        int64_t *gaps = calloc(n, sizeof(*gaps)), at = T0;
        struct timeline_timers t = { .client_end = true };
        struct timeline_client c = { 0 };
        struct timeline_opts o = { 0 };
        uint64_t x = distinct;
        size_t most;

        CHECK(p && gaps);
        for (size_t i = 0; i < n; i++) {
                p[i] = (struct timeline_packet){ .t_us = at, .hs = 7, .ctr = i + 1, .tx = 1,
                                                 .type = MESSAGE_KEEPALIVE };
                gaps[i] = next_spacing(&x, 26625, distinct);
                at += gaps[i];
        }
        most = take_in_spans(&t, p, n);
        qsort(gaps, n - 1, sizeof(*gaps), by_i64); /* the last one is not taken */
        timeline_timers_end(&c, &t, &o);
        CHECK(c.keepalive_learned);
        CHECK_INT(c.keepalive_us, gaps[(n - 1) / 2]);
        CHECK(most <= (4 * (size_t)distinct > 16 ? 4 * (size_t)distinct : 16));
        CHECK(t.ka_gaps.v == NULL && t.retry_gaps.v == NULL);
        free(p);
        free(gaps);
}

/* A server's log of n inits, each the handshake after the one before:
 * retries (5 s and up to `distinct` ms more) and, every seventh, a
 * spacing of 100 s and more, past 6/10 of the keepalive cycle (o's
 * timers: 106.5 s), so not a retry. The timeout learned is the middle of
 * the retries sorted. */
static void test_retry_median(unsigned distinct, size_t n)
{
        struct timeline_packet *p = calloc(n, sizeof(*p));
        int64_t *gaps = calloc(n, sizeof(*gaps)), at = T0;
        struct timeline_timers t = { .client_end = false };
        struct timeline_client c = { 0 };
        struct timeline_opts o = { .keepalive_us = 26625 * 1000, .keepalive_count = 5 };
        uint64_t x = distinct;
        size_t m = 0, most;

        CHECK(p && gaps);
        for (size_t i = 0; i < n; i++) {
                int64_t g = next_spacing(&x, i % 7 ? 5000 : 100000, distinct);

                p[i] = (struct timeline_packet){ .t_us = at, .hs = 7 + i, .tx = 0, .type = MESSAGE_HANDSHAKE_INIT };
                if (i + 1 < n && i % 7)
                        gaps[m++] = g;
                at += g;
        }
        most = take_in_spans(&t, p, n);
        qsort(gaps, m, sizeof(*gaps), by_i64);
        timeline_timers_end(&c, &t, &o);
        CHECK(c.handshake_timeout_learned);
        CHECK_INT(c.handshake_timeout_us, gaps[m / 2]);
        /* the long spacings too, before the cycle is known */
        CHECK(most <= (8 * (size_t)distinct > 16 ? 8 * (size_t)distinct : 16));
        free(p);
        free(gaps);
}

/* Pairs by delay, then their answers' keys: the quarter's order. */
static int by_pair(const void *a, const void *b)
{
        const struct timeline_pair *x = a, *y = b;

        if (x->delay != y->delay)
                return x->delay < y->delay ? -1 : 1;
        if (x->hs != y->hs)
                return x->hs < y->hs ? -1 : 1;
        return x->t4 < y->t4 ? -1 : x->t4 > y->t4;
}

static int by_cell(const void *a, const void *b)
{
        const struct timeline_pair *x = a, *y = b;

        if (x->delay != y->delay)
                return x->delay < y->delay ? -1 : 1;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The median offset of the n / 4 + 1 pairs first by delay then key, from
 * all of them sorted (as one list of pairs gives it). */
static int64_t offset_of(struct timeline_pair *v, size_t n)
{
        size_t best = n / 4 + 1;
        int64_t *o = calloc(best, sizeof(*o)), m = 0;

        CHECK(o != NULL);
        qsort(v, n, sizeof(*v), by_pair);
        for (size_t i = 0; o && i < best; i++)
                o[i] = v[i].offset;
        if (o) {
                qsort(o, best, sizeof(*o), by_i64);
                m = o[best / 2];
        }
        free(o);
        return m;
}

/* A handshake's four packets: the client's init (t1) and the answer it
 * received (t4), the server's receipt (t2, on its clock) and answer (t3). */
static void handshake(struct timeline_split *sp, uint64_t hs, int64_t t1, int64_t t2, int64_t t3, int64_t t4)
{
        sp->c[sp->nc++] = (struct timeline_packet){ .t_us = t1, .hs = hs, .tx = 1, .type = MESSAGE_HANDSHAKE_INIT };
        sp->c[sp->nc++] = (struct timeline_packet){ .t_us = t4, .hs = hs, .tx = 0, .type = MESSAGE_HANDSHAKE_RESPONSE };
        sp->s[sp->ns++] = (struct timeline_packet){ .t_us = t2, .hs = hs, .tx = 0, .type = MESSAGE_HANDSHAKE_INIT };
        sp->s[sp->ns++] = (struct timeline_packet){ .t_us = t3, .hs = hs, .tx = 1, .type = MESSAGE_HANDSHAKE_RESPONSE };
}

/* Takes the client's packets of sp in spans of 1 to 97 as the windows do
 * (a look stopped where it has enough), looks again where asked; how many
 * looks. The most room the tallies took into *most. */
static unsigned take_pairs(struct timeline_client *c, const struct timeline_split *sp, size_t *most,
                           size_t *most_tied)
{
        struct timeline_pairs l = { 0 };
        unsigned looks = 0;
        int k;

        *most = *most_tied = 0;
        do {
                looks++;
                for (size_t i = 0, len = 1; i < sp->nc && !timeline_pairs_enough(&l); i += len, len = len % 97 + 1) {
                        CHECK_INT(timeline_pairs_take(&l, sp, i, len < sp->nc - i ? i + len : sp->nc), 0);
                        *most = l.cells.cap > *most ? l.cells.cap : *most;
                        *most = l.offsets.cap > *most ? l.offsets.cap : *most;
                        *most_tied = l.cap_tied > *most_tied ? l.cap_tied : *most_tied;
                }
                k = timeline_pairs_end(c, &l);
        } while (k == 1);
        CHECK_INT(k, 0);
        timeline_pairs_free(&l);
        return looks;
}

enum shape { RANDOM, SAME_OFFSET, SAME_DELAY };

/* n answered handshakes 100 s apart, one way 5 ms and up to `spread` ms
 * more (1 ms steps), the other independently, or as long (every offset
 * the same), or the first growing from 5 ms to 5 + spread over the n and
 * the other making the round trip as long as every other (one delay: the
 * quarter, and so its offsets, are the keys' alone); the server 7 s ahead
 * and answering within 2 ms; their handshake ids going back halfway
 * where `back` (a client restarted with its clock behind). The offset is
 * the quarter's median offset as the pairs sorted give it; the tallies
 * take room for the (delay, offset)s that differ (four per, at most:
 * timeline_values), not for the pairs, but for those of the quarter's
 * edge, kept whole when the ids went back. Returns how many looks it
 * took. */
static unsigned test_offset(size_t n, unsigned spread, enum shape shape, bool back)
{
        struct timeline_split sp = { .c = calloc(2 * n, sizeof(*sp.c)), .s = calloc(2 * n, sizeof(*sp.s)) };
        struct timeline_pair *ref = calloc(n, sizeof(*ref));
        struct timeline_client c = { 0 };
        uint64_t x = spread + n;
        size_t most, most_tied, d = 0, at_edge = 0;
        int64_t edge;
        unsigned looks;

        CHECK(sp.c && sp.s && ref);
        for (size_t i = 0; i < n; i++) {
                int64_t t1 = T0 + (int64_t)i * 100 * S;
                int64_t d1 = shape == SAME_DELAY ? (5 + (int64_t)(spread * i / n)) * 1000 : next_spacing(&x, 5, spread);
                int64_t d2 = shape == SAME_OFFSET  ? d1
                             : shape == SAME_DELAY ? (10 + spread) * 1000 - d1
                                                   : next_spacing(&x, 5, spread);
                int64_t t2 = t1 + d1 + 7 * S, t3 = t2 + next_spacing(&x, 0, 3), t4 = t3 - 7 * S + d2;
                uint64_t hs = back && i < n / 2 ? 5000 + i : 1000 + i;

                handshake(&sp, hs, t1, t2, t3, t4);
                ref[i] = (struct timeline_pair){ (t4 - t1) - (t3 - t2), ((t2 - t1) + (t3 - t4)) / 2, hs, 0, t4 };
        }
        looks = take_pairs(&c, &sp, &most, &most_tied);
        CHECK(c.offset_known);
        CHECK_INT(c.offset_pairs, n);
        CHECK_INT(c.offset_us, offset_of(ref, n));
        edge = ref[n / 4].delay; /* ref now in the quarter's order */
        for (size_t i = 0; i < n; i++)
                at_edge += ref[i].delay == edge;
        qsort(ref, n, sizeof(*ref), by_cell);
        for (size_t i = 0; i < n; i++)
                d += i == 0 || by_cell(&ref[i], &ref[i - 1]) != 0;
        CHECK(most <= (4 * d > 16 ? 4 * d : 16));
        CHECK(back ? most_tied <= (2 * at_edge > 16 ? 2 * at_edge : 16) : most_tied == 0);
        free(sp.c);
        free(sp.s);
        free(ref);
        return looks;
}

int main(void)
{
        test_keepalive_median(1, 3);
        test_keepalive_median(7, 5000);
        test_keepalive_median(300, 20001);
        test_keepalive_median(100000, 3000); /* all but a few differ */
        /* every offset the same: known from the first look; so too where
         * the delays (40 of them) leave few of the quarter's edge */
        CHECK_INT(test_offset(4000, 40, SAME_OFFSET, false), 1);
        CHECK_INT(test_offset(4000, 40, RANDOM, false), 1);
        test_offset(4000, 40, RANDOM, true);
        /* one delay, offsets that differ: which pairs are in is the
         * keys', found on a second look (the first of them taken, or all
         * sorted where the ids went back) */
        CHECK_INT(test_offset(4000, 40, SAME_DELAY, false), 2);
        CHECK_INT(test_offset(4000, 40, SAME_DELAY, true), 2);
        CHECK_INT(test_offset(32, 40, SAME_DELAY, false), 2); /* one more would move the median's place */
        CHECK_INT(test_offset(32, 40, SAME_DELAY, true), 2);
        CHECK_INT(test_offset(1, 40, RANDOM, false), 1);
        test_offset(7, 3, RANDOM, true);
        test_retry_median(1, 9);
        test_retry_median(5, 4000);
        test_retry_median(50000, 3000); /* all but a few differ, under 55 s */
        test_carried();
        test_answer_across();
        test_days();
        test_short_windows();
        return check_finish("timeline-windows");
}

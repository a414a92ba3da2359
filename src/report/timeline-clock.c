/* timeline-clock: the clients' timers learned from a log, the offset
 * between the server's clock and the client's (from answered handshakes in
 * both logs), and the round trips a client's log shows. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

#include "core/client.h"
#include "core/grow.h"

static int by_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return x < y ? -1 : x > y;
}

static int by_tally(const void *a, const void *b)
{
        const struct timeline_tally *x = a, *y = b;

        if (x->v != y->v)
                return x->v < y->v ? -1 : 1;
        return x->w < y->w ? -1 : x->w > y->w;
}

/* Puts l's tallies in order, equal ones merged into one. */
static void values_compact(struct timeline_values *l)
{
        size_t m = 0;

        if (l->sorted == l->n)
                return;
        timeline_sort(l->v, l->n, sizeof(*l->v), by_tally);
        for (size_t i = 0; i < l->n; i++) {
                if (m && by_tally(&l->v[m - 1], &l->v[i]) == 0)
                        l->v[m - 1].n += l->v[i].n;
                else
                        l->v[m++] = l->v[i];
        }
        l->n = l->sorted = m;
}

/* Takes n more of (v, w). */
static int values_add(struct timeline_values *l, int64_t v, int64_t w, uint64_t n)
{
        if (l->n == l->cap) {
                values_compact(l);
                /* half full or more once merged: room for more that differ */
                if (l->n * 2 >= l->cap && grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
                        return -ENOMEM;
        }
        l->v[l->n++] = (struct timeline_tally){ v, w, n };
        l->total += n;
        return 0;
}

static int values_push(struct timeline_values *l, int64_t v)
{
        return values_add(l, v, 0, 1);
}

/* The median of l's values: the one at half their count, in order (as
 * of a sorted array, v[n / 2]); 0 for none. */
static int64_t values_median(struct timeline_values *l)
{
        uint64_t i = l->total / 2;

        values_compact(l);
        for (size_t j = 0; j < l->n; j++) {
                if (i < l->v[j].n)
                        return l->v[j].v;
                i -= l->v[j].n;
        }
        return 0;
}

/* The median of l's values, at least `least` of them; 0 where there are
 * fewer, or where it is over a day (no client keeps a flow alive so
 * slowly: not a timer). */
static int64_t timer_of(struct timeline_values *l, uint64_t least)
{
        int64_t v = l->total >= least ? values_median(l) : 0;

        return v > TIMELINE_DAY_US ? 0 : v;
}

/* The spacing of keepalives (k, k+1 of one handshake), their highest
 * counter. */
static int take_keepalive(struct timeline_timers *t, const struct timeline_packet *p)
{
        int k = 0;

        if (p->type != MESSAGE_KEEPALIVE || (bool)p->tx != t->client_end)
                return 0;
        if (t->have_ka && t->ka.hs == p->hs && t->ka.ctr + 1 == p->ctr)
                k = values_push(&t->ka_gaps, p->t_us - t->ka.t_us);
        if (p->ctr > t->count && p->ctr <= TIMELINE_MAX_KEEPALIVE_COUNT)
                t->count = p->ctr;
        t->ka = *p;
        t->have_ka = true;
        return k;
}

/* The spacing of retries: init h then h+1 with nothing from the other end
 * between (a client's log), or nothing of h between (a server's); on a
 * server's, only those sooner than a keepalive cycle count, which is known
 * once all are taken (timeline_timers_end). */
static int take_retry(struct timeline_timers *t, const struct timeline_packet *p)
{
        bool is_init = p->type == MESSAGE_HANDSHAKE_INIT && (bool)p->tx == t->client_end;
        int k = 0;

        if (is_init) {
                int64_t g = t->have_init ? p->t_us - t->init.t_us : 0;

                if (t->have_init && t->init.hs + 1 == p->hs && g > 0)
                        k = values_push(&t->retry_gaps, g);
                t->init = *p;
                t->have_init = true;
        } else if (t->client_end ? !p->tx : p->type == MESSAGE_KEEPALIVE) {
                t->have_init = false; /* answered (client) or it went on (server) */
        }
        return k;
}

int timeline_timers_take(struct timeline_timers *t, const struct timeline_packet *p, size_t n)
{
        int k = 0;

        for (size_t i = 0; i < n && k == 0; i++) {
                k = take_keepalive(t, &p[i]);
                k = k < 0 ? k : take_retry(t, &p[i]);
        }
        return k;
}

/* Of the retries a server's log shows, those sooner than a keepalive
 * cycle of c: a later init is the next handshake, not a retry. */
static void retries_sooner(struct timeline_values *l, const struct timeline_client *c)
{
        int64_t cycle = (int64_t)(c->keepalive_us * (c->keepalive_count > 1 ? c->keepalive_count - 1 : 1));
        size_t m = 0;

        values_compact(l);
        l->total = 0;
        for (size_t i = 0; i < l->n; i++) {
                if (l->v[i].v * 10 < cycle * 6) {
                        l->total += l->v[i].n;
                        l->v[m++] = l->v[i];
                }
        }
        l->n = l->sorted = m;
}

void timeline_timers_end(struct timeline_client *c, struct timeline_timers *t, const struct timeline_opts *o)
{
        int64_t ki = timer_of(&t->ka_gaps, 2), ht;

        c->keepalive_count = o->keepalive_count ? o->keepalive_count
                             : t->count >= 1    ? (unsigned)t->count
                                                : CLIENT_DEFAULT_KEEPALIVE_COUNT;
        c->keepalive_learned = !o->keepalive_us && ki > 0;
        c->keepalive_us = o->keepalive_us ? o->keepalive_us
                          : ki > 0        ? (uint64_t)ki
                                          : CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US;
        if (!t->client_end)
                retries_sooner(&t->retry_gaps, c);
        ht = timer_of(&t->retry_gaps, 1);
        c->handshake_timeout_learned = !o->handshake_timeout_us && ht > 0;
        c->handshake_timeout_us = o->handshake_timeout_us ? o->handshake_timeout_us
                                  : ht > 0                 ? (uint64_t)ht
                                                           : CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        free(t->ka_gaps.v);
        free(t->retry_gaps.v);
        t->ka_gaps = t->retry_gaps = (struct timeline_values){ 0 };
}

int timeline_learn_timers(struct timeline_client *c, const struct timeline_split *sp, const struct timeline_opts *o)
{
        struct timeline_timers t = { .client_end = sp->nc > 0 };
        int k = timeline_timers_take(&t, sp->nc ? sp->c : sp->s, sp->nc ? sp->nc : sp->ns);

        timeline_timers_end(c, &t, o);
        return k;
}

/* Pairs by their answers' keys. */
static int by_answer(const struct timeline_pair *x, const struct timeline_pair *y)
{
        if (x->hs != y->hs)
                return x->hs < y->hs ? -1 : 1;
        if (x->ctr != y->ctr)
                return x->ctr < y->ctr ? -1 : 1;
        return x->t4 < y->t4 ? -1 : x->t4 > y->t4;
}

/* Pairs by delay; equal delays in the order of their answers' keys, so
 * that the quarter does not depend on the order pairs are found in. */
static int by_delay(const void *a, const void *b)
{
        const struct timeline_pair *x = a, *y = b;

        if (x->delay != y->delay)
                return x->delay < y->delay ? -1 : 1;
        return by_answer(x, y);
}

/* One pair of a look (struct timeline_pairs): its delay and offset (the
 * first); its offset if it is of the edge's delay and in the quarter (the
 * second), which it is if it comes before the edge_in-th of them by key:
 * in the order taken, where the keys came in order. */
static int pairs_add(struct timeline_pairs *l, const struct timeline_pair *p)
{
        if (l->look == 0) {
                l->out_of_order |= l->n > 0 && by_answer(p, &l->last) < 0;
                l->last = *p;
                l->n++;
                return values_add(&l->cells, p->delay, p->offset, 1);
        }
        if (p->delay != l->edge)
                return 0;
        if (!l->out_of_order)
                return l->edge_seen++ < l->edge_in ? values_push(&l->offsets, p->offset) : 0;
        if (grow_array((void **)&l->tied, &l->cap_tied, l->n_tied + 1, sizeof(*l->tied)) < 0)
                return -ENOMEM;
        l->tied[l->n_tied++] = *p;
        return 0;
}

#define M TIMELINE_MATCH_MARGIN_US

/* NTP's way: per answered handshake, offset = ((t2 - t1) + (t3 - t4)) / 2
 * and delay = (t4 - t1) - (t3 - t2). Each end of a handshake is looked
 * for within the margin of the one before (the server's clock not yet put
 * on the client's: a time zone off at most). */
int timeline_pairs_take(struct timeline_pairs *l, const struct timeline_split *sp, size_t lo, size_t hi)
{
        struct timeline_key *ctx = NULL, *crx = NULL, *srx = NULL, *stx = NULL;
        size_t nctx, ncrx = 0, nsrx, nstx;
        /* handshakes only: keepalives, most of the packets, pair nothing */
        unsigned init = TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_INIT), resp = TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_RESPONSE);
        int k = timeline_keys_of(sp->c, sp->nc, true, init, &ctx, &nctx);

        k = k < 0 ? k : timeline_keys_of(sp->c + lo, hi - lo, false, resp, &crx, &ncrx);
        k = k < 0 ? k : timeline_keys_of(sp->s, sp->ns, false, init, &srx, &nsrx);
        k = k < 0 ? k : timeline_keys_of(sp->s, sp->ns, true, resp, &stx, &nstx);
        for (size_t i = 0; i < ncrx && k == 0; i++) {
                const struct timeline_key *t4 = &crx[i], *t1, *t2, *t3;

                if (t4->type != MESSAGE_HANDSHAKE_RESPONSE ||
                    !(t1 = timeline_key_near(ctx, nctx, MESSAGE_HANDSHAKE_INIT, t4->hs, t4->ctr, t4->t_us, M)) ||
                    !(t2 = timeline_key_near(srx, nsrx, MESSAGE_HANDSHAKE_INIT, t4->hs, t4->ctr, t1->t_us, M)) ||
                    !(t3 = timeline_key_near(stx, nstx, MESSAGE_HANDSHAKE_RESPONSE, t4->hs, t4->ctr, t2->t_us, M)))
                        continue;
                if (t4->t_us < t1->t_us || t3->t_us < t2->t_us)
                        continue;
                k = pairs_add(l, &(struct timeline_pair){ (t4->t_us - t1->t_us) - (t3->t_us - t2->t_us),
                                                         ((t2->t_us - t1->t_us) + (t3->t_us - t4->t_us)) / 2,
                                                         t4->hs, t4->ctr, t4->t_us });
        }
        free(ctx);
        free(crx);
        free(srx);
        free(stx);
        return k;
}

/* The quarter's edge, from the first look's (delay, offset) tallies in
 * order: the quarter is the n / 4 + 1 pairs of the shortest delays (where
 * the paths are most alike); *all: how many pairs have the edge's delay. */
static void pairs_edge(struct timeline_pairs *l, uint64_t *all)
{
        uint64_t best = l->n / 4 + 1, below = 0;

        *all = 0;
        for (size_t j = 0; j < l->cells.n; j++) {
                if (j && l->cells.v[j].v != l->cells.v[j - 1].v) {
                        if (below + *all >= best)
                                break;
                        below += *all;
                        *all = 0;
                }
                l->edge = l->cells.v[j].v;
                *all += l->cells.v[j].n;
        }
        l->edge_in = best - below;
}

/* Whether the quarter's median offset is known (*median) whichever of
 * the edge's pairs are in it. l->offsets holds the shorter delays'
 * offsets as (offset, 0) and all the edge's as (offset, 1), in order.
 * Going up the offsets, the median is at least the first where the
 * quarter may have passed its middle place (the shorter ones so far and
 * as many of the edge's as may be in: those so far, edge_in at most), and
 * at most the first where it must have (as few as must be: edge_in less
 * those above); where the two are one offset, that is the median. */
static bool pairs_settled(const struct timeline_pairs *l, uint64_t all, int64_t *median)
{
        uint64_t at = (l->offsets.total - all + l->edge_in) / 2, shorter = 0, edge = 0;
        bool have_lo = false;
        int64_t lo = 0;

        for (size_t j = 0; j < l->offsets.n; j++) {
                const struct timeline_tally *t = &l->offsets.v[j];

                *(t->w ? &edge : &shorter) += t->n;
                if (j + 1 < l->offsets.n && l->offsets.v[j + 1].v == t->v)
                        continue; /* the same offset of the edge's delay next */
                if (!have_lo && shorter + (edge < l->edge_in ? edge : l->edge_in) > at) {
                        lo = t->v;
                        have_lo = true;
                }
                if (shorter + (l->edge_in + edge > all ? l->edge_in + edge - all : 0) > at) {
                        *median = t->v;
                        return lo == t->v;
                }
        }
        return false;
}

/* After the first look: the quarter's edge, and the offsets of the
 * shorter delays (l->offsets); the median into c where it is known
 * already (*settled), else for the second look to find. */
static int pairs_first(struct timeline_client *c, struct timeline_pairs *l, bool *settled)
{
        uint64_t all;
        int64_t median;
        size_t m = 0;
        int k = 0;

        values_compact(&l->cells);
        pairs_edge(l, &all);
        for (size_t j = 0; j < l->cells.n && l->cells.v[j].v <= l->edge && k == 0; j++)
                k = values_add(&l->offsets, l->cells.v[j].w, l->cells.v[j].v == l->edge, l->cells.v[j].n);
        free(l->cells.v);
        l->cells = (struct timeline_values){ 0 };
        if (k < 0)
                return k;
        values_compact(&l->offsets);
        *settled = pairs_settled(l, all, &median);
        if (*settled) {
                c->offset_us = median;
                c->offset_known = true;
        }
        l->offsets.total = 0; /* the edge's taken out: the second look takes those in */
        for (size_t j = 0; j < l->offsets.n; j++) {
                if (!l->offsets.v[j].w) {
                        l->offsets.total += l->offsets.v[j].n;
                        l->offsets.v[m++] = l->offsets.v[j];
                }
        }
        l->offsets.n = l->offsets.sorted = m;
        return 0;
}

/* The median offset of the quarter, after the second look. */
static int pairs_offset(struct timeline_client *c, struct timeline_pairs *l)
{
        int k = 0;

        if (l->n_tied)
                timeline_sort(l->tied, l->n_tied, sizeof(*l->tied), by_delay);
        for (size_t i = 0; i < l->n_tied && i < l->edge_in && k == 0; i++)
                k = values_push(&l->offsets, l->tied[i].offset);
        if (k == 0) {
                c->offset_us = values_median(&l->offsets);
                c->offset_known = true;
        }
        return k;
}

int timeline_pairs_end(struct timeline_client *c, struct timeline_pairs *l)
{
        bool settled = true;
        int k = 0;

        c->offset_pairs = l->n;
        if (l->n && l->look == 0)
                k = pairs_first(c, l, &settled);
        else if (l->n)
                k = pairs_offset(c, l);
        if (k == 0 && !settled) {
                l->look = 1;
                return 1;
        }
        timeline_pairs_free(l);
        return k;
}

bool timeline_pairs_enough(const struct timeline_pairs *l)
{
        return l->look == 1 && !l->out_of_order && l->edge_seen >= l->edge_in;
}

void timeline_pairs_free(struct timeline_pairs *l)
{
        free(l->cells.v);
        free(l->offsets.v);
        free(l->tied);
        *l = (struct timeline_pairs){ 0 };
}

int timeline_clock_offset(struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_pairs l = { 0 };
        int k;

        do {
                k = timeline_pairs_take(&l, sp, 0, sp->nc);
                k = k < 0 ? k : timeline_pairs_end(c, &l);
        } while (k == 1);
        timeline_pairs_free(&l);
        return k;
}

/* Puts the server's times on the client's clock. */
void timeline_correct_server(struct timeline_client *c, struct timeline_split *sp)
{
        if (!c->offset_known)
                return;
        for (size_t i = 0; i < sp->ns; i++)
                sp->s[i].t_us -= c->offset_us;
        sp->s_first -= c->offset_us;
        sp->s_last -= c->offset_us;
}

int timeline_round_trips_take(struct timeline_client *c, const struct timeline_split *sp, size_t lo, size_t hi)
{
        struct timeline_key *tx = NULL;
        int64_t *v = NULL;
        size_t ntx, n = 0;
        int k = timeline_keys_of(sp->c, sp->nc, true, TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_INIT), &tx, &ntx);

        if (k < 0)
                return k;
        v = malloc((hi > lo ? hi - lo : 1) * sizeof(*v));
        if (!v) {
                free(tx);
                return -ENOMEM;
        }
        for (size_t i = lo; i < hi; i++) {
                const struct timeline_packet *p = &sp->c[i];
                const struct timeline_key *init;

                if (p->tx || p->type != MESSAGE_HANDSHAKE_RESPONSE)
                        continue;
                init = timeline_key_near(tx, ntx, MESSAGE_HANDSHAKE_INIT, p->hs, p->ctr, p->t_us,
                                         TIMELINE_MATCH_MARGIN_US);
                if (init)
                        v[n++] = max64(0, p->t_us - init->t_us);
        }
        if (n)
                timeline_sort(v, n, sizeof(*v), by_i64);
        k = timeline_rtt_add(&c->rtt, v, n);
        free(v);
        free(tx);
        return k;
}

int timeline_round_trips(struct timeline_client *c, const struct timeline_split *sp)
{
        return timeline_round_trips_take(c, sp, 0, sp->nc);
}

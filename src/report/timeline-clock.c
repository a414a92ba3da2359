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

/* The median of v (sorted in place), or 0 for none. */
static int64_t median(int64_t *v, size_t n)
{
        if (n == 0)
                return 0;
        timeline_sort(v, n, sizeof(*v), by_i64);
        return v[n / 2];
}

static int by_tally(const void *a, const void *b)
{
        const struct timeline_tally *x = a, *y = b;

        return x->v < y->v ? -1 : x->v > y->v;
}

/* Puts l's values in order, equal ones merged into one tally. */
static void values_compact(struct timeline_values *l)
{
        size_t m = 0;

        if (l->sorted == l->n)
                return;
        timeline_sort(l->v, l->n, sizeof(*l->v), by_tally);
        for (size_t i = 0; i < l->n; i++) {
                if (m && l->v[m - 1].v == l->v[i].v)
                        l->v[m - 1].n += l->v[i].n;
                else
                        l->v[m++] = l->v[i];
        }
        l->n = l->sorted = m;
}

static int values_push(struct timeline_values *l, int64_t v)
{
        if (l->n == l->cap) {
                values_compact(l);
                /* half full or more once merged: room for more that differ */
                if (l->n * 2 >= l->cap && grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
                        return -ENOMEM;
        }
        l->v[l->n++] = (struct timeline_tally){ v, 1 };
        l->total++;
        return 0;
}

/* The median of l's values (the one at half their count, in order), at
 * least `least` of them; 0 where there are fewer, or where it is over a
 * day (no client keeps a flow alive so slowly: not a timer). */
static int64_t timer_of(struct timeline_values *l, uint64_t least)
{
        uint64_t i = l->total / 2;
        int64_t v = 0;

        values_compact(l);
        for (size_t j = 0; l->total >= least && l->total > 0 && j < l->n; j++) {
                if (i < l->v[j].n) {
                        v = l->v[j].v;
                        break;
                }
                i -= l->v[j].n;
        }
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

/* Pairs by delay; equal delays in the order of their answers' keys, as
 * they are found, so that spans of them sort as the whole does. */
static int by_delay(const void *a, const void *b)
{
        const struct timeline_pair *x = a, *y = b;

        if (x->delay != y->delay)
                return x->delay < y->delay ? -1 : 1;
        if (x->hs != y->hs)
                return x->hs < y->hs ? -1 : 1;
        if (x->ctr != y->ctr)
                return x->ctr < y->ctr ? -1 : 1;
        return x->t4 < y->t4 ? -1 : x->t4 > y->t4;
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
                if (grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0) {
                        k = -ENOMEM;
                        break;
                }
                l->v[l->n++] = (struct timeline_pair){ (t4->t_us - t1->t_us) - (t3->t_us - t2->t_us),
                                                       ((t2->t_us - t1->t_us) + (t3->t_us - t4->t_us)) / 2,
                                                       t4->hs, t4->ctr, t4->t_us };
        }
        free(ctx);
        free(crx);
        free(srx);
        free(stx);
        return k;
}

/* The median offset of the quarter of the pairs with the shortest delays,
 * where the paths are most alike. */
int timeline_pairs_end(struct timeline_client *c, struct timeline_pairs *l)
{
        size_t best = l->n / 4 + 1;
        int64_t *offsets = NULL;
        int k = 0;

        c->offset_pairs = l->n;
        if (l->n && !(offsets = malloc(best * sizeof(*offsets))))
                k = -ENOMEM;
        if (l->n && offsets) {
                qsort(l->v, l->n, sizeof(*l->v), by_delay);
                for (size_t i = 0; i < best; i++)
                        offsets[i] = l->v[i].offset;
                c->offset_us = median(offsets, best);
                c->offset_known = true;
        }
        free(offsets);
        free(l->v);
        *l = (struct timeline_pairs){ 0 };
        return k;
}

int timeline_clock_offset(struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_pairs l = { 0 };
        int k = timeline_pairs_take(&l, sp, 0, sp->nc);

        if (k < 0) {
                free(l.v);
                return k;
        }
        return timeline_pairs_end(c, &l);
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

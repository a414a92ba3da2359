/* timeline-clock: the clients' timers learned from a log, the offset
 * between the server's clock and the client's (from answered handshakes in
 * both logs), and the round trips a client's log shows. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

#include "core/client.h"

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

/* The median of m spacings in d, m >= least; 0 where there are fewer, or
 * where it is over a day (no client keeps a flow alive so slowly: not a
 * timer). */
static int64_t timer_of(int64_t *d, size_t m, size_t least)
{
        int64_t v = m >= least ? median(d, m) : 0;

        return v > TIMELINE_DAY_US ? 0 : v;
}

/* The spacing of keepalives (k, k+1 of one handshake), their highest
 * counter; d has room for n spacings. */
static int64_t learn_keepalive(const struct timeline_packet *p, size_t n, bool tx, int64_t *d, uint64_t *count)
{
        const struct timeline_packet *prev = NULL;
        size_t m = 0;

        *count = 0;
        for (size_t i = 0; i < n; i++) {
                if (p[i].type != MESSAGE_KEEPALIVE || (bool)p[i].tx != tx)
                        continue;
                if (prev && prev->hs == p[i].hs && prev->ctr + 1 == p[i].ctr)
                        d[m++] = p[i].t_us - prev->t_us;
                if (p[i].ctr > *count && p[i].ctr <= TIMELINE_MAX_KEEPALIVE_COUNT)
                        *count = p[i].ctr;
                prev = &p[i];
        }
        return timer_of(d, m, 2);
}

/* The spacing of retries: init h then h+1 with nothing from the other end
 * between (a client's log), or nothing of h between (a server's), sooner
 * than a keepalive cycle; d has room for n spacings. */
static int64_t learn_retry(const struct timeline_packet *p, size_t n, bool client_end, int64_t cycle, int64_t *d)
{
        const struct timeline_packet *init = NULL;
        size_t m = 0;

        for (size_t i = 0; i < n; i++) {
                bool is_init = p[i].type == MESSAGE_HANDSHAKE_INIT && (bool)p[i].tx == client_end;

                if (is_init) {
                        int64_t g = init ? p[i].t_us - init->t_us : 0;

                        if (init && init->hs + 1 == p[i].hs && g > 0 && (client_end || g * 10 < cycle * 6))
                                d[m++] = g;
                        init = &p[i];
                } else if (client_end ? !p[i].tx : p[i].type == MESSAGE_KEEPALIVE) {
                        init = NULL; /* answered (client) or it went on (server) */
                }
        }
        return timer_of(d, m, 1);
}

int timeline_learn_timers(struct timeline_client *c, const struct timeline_split *sp, const struct timeline_opts *o)
{
        const struct timeline_packet *p = sp->nc ? sp->c : sp->s;
        size_t n = sp->nc ? sp->nc : sp->ns;
        int64_t *d = malloc((n ? n : 1) * sizeof(*d)), ki, ht, cycle;
        uint64_t count = 0;

        if (!d)
                return -ENOMEM;
        ki = learn_keepalive(p, n, sp->nc > 0, d, &count);
        c->keepalive_count = o->keepalive_count ? o->keepalive_count
                             : count >= 1       ? (unsigned)count
                                                : CLIENT_DEFAULT_KEEPALIVE_COUNT;
        c->keepalive_learned = !o->keepalive_us && ki > 0;
        c->keepalive_us = o->keepalive_us ? o->keepalive_us
                          : ki > 0        ? (uint64_t)ki
                                          : CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US;
        cycle = (int64_t)(c->keepalive_us * (c->keepalive_count > 1 ? c->keepalive_count - 1 : 1));
        ht = learn_retry(p, n, sp->nc > 0, cycle, d);
        c->handshake_timeout_learned = !o->handshake_timeout_us && ht > 0;
        c->handshake_timeout_us = o->handshake_timeout_us ? o->handshake_timeout_us
                                  : ht > 0                 ? (uint64_t)ht
                                                           : CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        free(d);
        return 0;
}

struct pair {
        int64_t delay, offset;
};

static int by_delay(const void *a, const void *b)
{
        const struct pair *x = a, *y = b;

        return x->delay < y->delay ? -1 : x->delay > y->delay;
}

#define M TIMELINE_MATCH_MARGIN_US

/* NTP's way: per answered handshake, offset = ((t2 - t1) + (t3 - t4)) / 2
 * and delay = (t4 - t1) - (t3 - t2); the median offset of the quarter with
 * the shortest delays, where the paths are most alike. Each end of a
 * handshake is looked for within the margin of the one before (the
 * server's clock not yet put on the client's: a time zone off at most). */
int timeline_clock_offset(struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_key *ctx = NULL, *crx = NULL, *srx = NULL, *stx = NULL;
        size_t nctx, ncrx, nsrx, nstx, np = 0;
        struct pair *pairs = NULL;
        int64_t *offsets = NULL;
        /* handshakes only: keepalives, most of the packets, pair nothing */
        unsigned init = TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_INIT), resp = TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_RESPONSE);
        int k = timeline_keys_of(sp->c, sp->nc, true, init, &ctx, &nctx);

        k = k < 0 ? k : timeline_keys_of(sp->c, sp->nc, false, resp, &crx, &ncrx);
        k = k < 0 ? k : timeline_keys_of(sp->s, sp->ns, false, init, &srx, &nsrx);
        k = k < 0 ? k : timeline_keys_of(sp->s, sp->ns, true, resp, &stx, &nstx);
        if (k < 0 || !(pairs = malloc((ncrx ? ncrx : 1) * sizeof(*pairs))) ||
            !(offsets = malloc((ncrx ? ncrx : 1) * sizeof(*offsets)))) {
                k = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < ncrx; i++) {
                const struct timeline_key *t4 = &crx[i], *t1, *t2, *t3;

                if (t4->type != MESSAGE_HANDSHAKE_RESPONSE ||
                    !(t1 = timeline_key_near(ctx, nctx, MESSAGE_HANDSHAKE_INIT, t4->hs, t4->ctr, t4->t_us, M)) ||
                    !(t2 = timeline_key_near(srx, nsrx, MESSAGE_HANDSHAKE_INIT, t4->hs, t4->ctr, t1->t_us, M)) ||
                    !(t3 = timeline_key_near(stx, nstx, MESSAGE_HANDSHAKE_RESPONSE, t4->hs, t4->ctr, t2->t_us, M)))
                        continue;
                if (t4->t_us < t1->t_us || t3->t_us < t2->t_us)
                        continue;
                pairs[np++] = (struct pair){ (t4->t_us - t1->t_us) - (t3->t_us - t2->t_us),
                                             ((t2->t_us - t1->t_us) + (t3->t_us - t4->t_us)) / 2 };
        }
        c->offset_pairs = np;
        if (np) {
                size_t best = np / 4 + 1;

                qsort(pairs, np, sizeof(*pairs), by_delay);
                for (size_t i = 0; i < best; i++)
                        offsets[i] = pairs[i].offset;
                c->offset_us = median(offsets, best);
                c->offset_known = true;
        }
out:
        free(ctx);
        free(crx);
        free(srx);
        free(stx);
        free(pairs);
        free(offsets);
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

int timeline_round_trips(struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_key *tx = NULL;
        int64_t *v = NULL;
        size_t ntx, n = 0;
        int k = timeline_keys_of(sp->c, sp->nc, true, TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_INIT), &tx, &ntx);

        if (k < 0)
                return k;
        v = malloc((sp->nc ? sp->nc : 1) * sizeof(*v));
        if (!v) {
                free(tx);
                return -ENOMEM;
        }
        for (size_t i = 0; i < sp->nc; i++) {
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

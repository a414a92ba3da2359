/* timeline-outages: outages from runs of lost messages, and put together:
 * per direction from both logs, from each log alone (for `seen_by`, and
 * where one log does not reach), merged where they overlap, and marked
 * where the server's log shows it stopped.
 *
 * The rule for an outage: at least two messages in a row lost in one
 * direction. A single lost message is loss (counted in delivery), since one
 * loss cannot tell a broken NAT from a random drop. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

#define MIN_RUN 2 /* lost messages in a row that make an outage */

int timeline_olist_push(struct timeline_olist *l, int64_t t_us, bool delivered, bool boundary)
{
        if (grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
                return -ENOMEM;
        l->v[l->n++] = (struct timeline_outcome){ t_us, 1, delivered, boundary };
        return 0;
}

static int outages_push(struct timeline_outages *l, const struct timeline_outage *o)
{
        if (grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
                return -ENOMEM;
        l->v[l->n++] = *o;
        return 0;
}

/* An outage from a run: the best estimate halfway between the last message
 * through and the first lost (and likewise at the end); slack widens the
 * bounds where the times of lost messages are inferred, not logged. */
static int run_emit(const struct timeline_runs *rs, bool have_n, int64_t n, bool ongoing)
{
        const struct timeline_run *r = &rs->r;
        struct timeline_outage o = {
                .start_min_us = r->p - rs->res, .start_max_us = r->l1 + rs->res + rs->slack,
                .end_min_us = r->ln - rs->res - rs->slack, .end_max_us = n + rs->res,
                .start_min_known = r->have_p, .end_max_known = have_n,
                .trace = -1,
                .ongoing = ongoing, .direction = rs->dir, .lost = r->lost,
        };

        if (r->lost < MIN_RUN)
                return 0;
        o.start_us = r->have_p ? r->p + (r->l1 - r->p) / 2 : r->l1;
        o.end_us = have_n ? r->ln + (n - r->ln) / 2 : ongoing ? max64(r->ln, rs->tail) : r->ln;
        if (o.end_min_us < o.start_max_us) /* a run shorter than the slack */
                o.end_min_us = o.start_max_us = o.start_us + (o.end_us - o.start_us) / 2;
        if (!r->have_p)
                o.start_min_us = min64(o.start_us, o.start_max_us);
        if (!have_n)
                o.end_max_us = max64(o.end_us, o.end_min_us);
        return outages_push(rs->out, &o);
}

int timeline_runs_take(struct timeline_runs *rs, int64_t t_us, uint64_t n, bool delivered, bool boundary)
{
        struct timeline_run *r = &rs->r;
        int k = 0;

        if (boundary) {
                k = run_emit(rs, false, 0, false);
                *r = (struct timeline_run){ 0 };
        } else if (delivered) {
                k = run_emit(rs, true, t_us, false);
                *r = (struct timeline_run){ .have_p = true, .p = t_us };
        } else {
                if (r->lost == 0)
                        r->l1 = t_us;
                r->lost += n;
                r->ln = t_us;
        }
        return k;
}

int timeline_runs_end(struct timeline_runs *rs)
{
        return run_emit(rs, false, 0, true);
}

int timeline_by_outcome_time(const void *a, const void *b)
{
        const struct timeline_outcome *x = a, *y = b;

        return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

static int by_start(const void *a, const void *b)
{
        const struct timeline_outage *x = a, *y = b;

        return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* Overlapping outages become one; of two directions, `both`. Its start lies
 * between the earliest bounds, its end between the latest. */
static void merge(struct timeline_outages *l)
{
        size_t out = 0;

        if (l->n == 0)
                return;
        timeline_sort(l->v, l->n, sizeof(*l->v), by_start);
        for (size_t i = 0; i < l->n; i++) {
                struct timeline_outage *o = &l->v[i], *last = out ? &l->v[out - 1] : NULL;

                if (!last || o->start_us > last->end_us) {
                        l->v[out++] = *o;
                        continue;
                }
                if (o->direction != last->direction)
                        last->direction = TIMELINE_BOTH;
                last->start_min_known = last->start_min_known && o->start_min_known;
                last->start_min_us = min64(last->start_min_us, o->start_min_us);
                last->start_max_us = min64(last->start_max_us, o->start_max_us);
                if (o->end_us > last->end_us) {
                        last->end_us = o->end_us;
                        last->end_min_us = o->end_min_us;
                }
                last->end_max_us = max64(last->end_max_us, o->end_max_us);
                last->end_max_known = last->end_max_known && o->end_max_known;
                last->ongoing = last->ongoing || o->ongoing;
                last->lost += o->lost;
                last->seen_by |= o->seen_by;
        }
        l->n = out;
}

/* Whether an outage of l (sorted, disjoint) lies within a's bounds. */
static bool overlaps(const struct timeline_outage *a, const struct timeline_outages *l)
{
        size_t lo = 0, hi = l->n;

        while (lo < hi) { /* the first that ends after a may have begun */
                size_t mid = lo + (hi - lo) / 2;

                if (l->v[mid].end_us < a->start_min_us)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < l->n && l->v[lo].start_us <= a->end_max_us;
}

/* Where the server's log does not reach (it starts later or ends sooner
 * than the client's), nothing can be matched: what the client's log alone
 * shows there is added, direction unknown, rather than nothing. */
static int add_uncovered(struct timeline_outages *all, const struct timeline_split *sp)
{
        for (size_t i = 0; i < sp->by_client.n; i++) {
                struct timeline_outage o = sp->by_client.v[i];
                int k;

                if (overlaps(&o, all) || (o.start_us >= sp->s_first && o.end_us <= sp->s_last - sp->grace))
                        continue;
                o.direction = TIMELINE_UNKNOWN;
                o.seen_by = TIMELINE_SEEN_CLIENT;
                k = outages_push(all, &o);
                if (k < 0)
                        return k;
        }
        merge(all);
        return 0;
}

void timeline_recon_init(struct timeline_recon *r, const struct timeline_client *c, const struct timeline_split *sp,
                         int64_t tail)
{
        /* where the server's log alone infers lost messages, their times
         * are on the client's schedule: a keepalive's spacing, give or take */
        int64_t slack = sp->res + (int64_t)c->keepalive_us / 50;

        *r = (struct timeline_recon){ 0 };
        r->client = (struct timeline_runs){ .out = &r->by_client, .dir = TIMELINE_UNKNOWN, .res = sp->res, .tail = tail };
        r->server_c2s = (struct timeline_runs){
                .out = &r->by_server, .dir = TIMELINE_CLIENT_TO_SERVER, .res = sp->res, .slack = slack, .tail = tail,
        };
        r->server_s2c = (struct timeline_runs){
                .out = &r->by_server_s2c, .dir = TIMELINE_SERVER_TO_CLIENT, .res = sp->res, .tail = tail,
        };
        for (int d = TIMELINE_C2S; d <= TIMELINE_S2C; d++)
                r->both[d] = (struct timeline_runs){
                        .out = &r->all[d], .dir = d == TIMELINE_C2S ? TIMELINE_CLIENT_TO_SERVER : TIMELINE_SERVER_TO_CLIENT,
                        .res = sp->res, .tail = tail,
                };
}

/* Sorts l (what a view found) by time and hands rs those before until,
 * keeping the rest in l, in order. */
static int take_until(struct timeline_runs *rs, struct timeline_olist *l, int64_t until)
{
        size_t i = 0;
        int k = 0;

        if (l->n)
                timeline_sort(l->v, l->n, sizeof(*l->v), timeline_by_outcome_time);
        for (; i < l->n && l->v[i].t_us < until && k == 0; i++)
                k = timeline_runs_take(rs, l->v[i].t_us, l->v[i].n, l->v[i].delivered, l->v[i].boundary);
        if (i) /* none held: no array to move in (l->v NULL) */
                memmove(l->v, l->v + i, (l->n - i) * sizeof(*l->v));
        l->n -= i;
        return k;
}

/* From the server's log alone (no client's), the messages it was sent and
 * got: those it heard, and those inferred lost. */
static void count_alone(struct timeline_client *c, const struct timeline_olist *c2s)
{
        struct timeline_count *cnt = &c->delivery[TIMELINE_C2S];

        for (size_t i = 0; i < c2s->n; i++) {
                cnt->sent += c2s->v[i].boundary ? 0 : c2s->v[i].n;
                cnt->received += c2s->v[i].delivered ? c2s->v[i].n : 0;
        }
}

int timeline_recon_take(struct timeline_recon *r, struct timeline_client *c, const struct timeline_split *sp,
                        size_t ca, size_t cb, size_t sa, size_t sb, int64_t until)
{
        int k = 0;

        if (c->client_log) {
                k = timeline_client_view(sp, ca, cb, &r->last_hs, &r->cv);
                k = k < 0 ? k : take_until(&r->client, &r->cv, until);
        }
        if (k == 0 && c->server_log) {
                r->w.c2s = &r->sc;
                r->w.s2c = &r->ss;
                k = timeline_server_view(c, sp, sa, sb, &r->w);
                if (k == 0 && !c->client_log)
                        count_alone(c, &r->sc);
                /* all it found lies before its last message heard, this span's */
                k = k < 0 ? k : take_until(&r->server_c2s, &r->sc, INT64_MAX);
                for (size_t i = 0; i < r->ss.n && k == 0; i++) /* in the order found */
                        k = timeline_runs_take(&r->server_s2c, r->ss.v[i].t_us, r->ss.v[i].n, r->ss.v[i].delivered,
                                               r->ss.v[i].boundary);
                r->ss.n = 0;
        }
        for (int d = TIMELINE_C2S; d <= TIMELINE_S2C && k == 0 && c->client_log && c->server_log; d++)
                k = d == TIMELINE_C2S ? timeline_match_direction(c, sp, TIMELINE_C2S, ca, cb, &r->both[d])
                                      : timeline_match_direction(c, sp, TIMELINE_S2C, sa, sb, &r->both[d]);
        return k;
}

void timeline_recon_free(struct timeline_recon *r)
{
        free(r->cv.v);
        free(r->sc.v);
        free(r->ss.v);
        free(r->by_client.v);
        free(r->by_server.v);
        free(r->by_server_s2c.v);
        free(r->all[0].v);
        free(r->all[1].v);
        *r = (struct timeline_recon){ 0 };
}

/* Appends b's outages to a's. */
static int outages_append(struct timeline_outages *a, const struct timeline_outages *b)
{
        int k = 0;

        for (size_t i = 0; i < b->n && k == 0; i++)
                k = outages_push(a, &b->v[i]);
        return k;
}

/* Each end's own view put together, for `seen_by` and for a log alone. */
static int single_views_end(struct timeline_recon *r, struct timeline_client *c, struct timeline_split *sp)
{
        int k = timeline_runs_end(&r->client);

        k = k < 0 ? k : timeline_runs_end(&r->server_c2s);
        k = k < 0 ? k : timeline_runs_end(&r->server_s2c);
        k = k < 0 ? k : outages_append(&r->by_server, &r->by_server_s2c);
        if (c->server_log && !c->client_log) {
                c->keepalives.known = true;
                c->keepalives.lost = r->w.lost_keepalives;
                c->delivery[TIMELINE_C2S].known = true;
                c->delivery[TIMELINE_C2S].lost = c->delivery[TIMELINE_C2S].sent - c->delivery[TIMELINE_C2S].received;
        }
        for (size_t i = 0; i < r->by_client.n; i++)
                r->by_client.v[i].seen_by = TIMELINE_SEEN_CLIENT;
        for (size_t i = 0; i < r->by_server.n; i++)
                r->by_server.v[i].seen_by = TIMELINE_SEEN_SERVER;
        merge(&r->by_server);
        merge(&r->by_client);
        sp->by_client = r->by_client;
        sp->by_server = r->by_server;
        r->by_client = r->by_server = (struct timeline_outages){ 0 };
        return k;
}

int timeline_recon_end(struct timeline_recon *r, struct timeline_client *c, struct timeline_split *sp)
{
        struct timeline_outages all = { 0 };
        int k = single_views_end(r, c, sp);

        if (k < 0 || !(c->client_log && c->server_log)) {
                struct timeline_outages *only = c->client_log ? &sp->by_client : &sp->by_server;

                all = *only;
                *only = (struct timeline_outages){ 0 };
                goto out;
        }
        k = timeline_runs_end(&r->both[TIMELINE_C2S]);
        k = k < 0 ? k : timeline_runs_end(&r->both[TIMELINE_S2C]);
        all = r->all[TIMELINE_C2S];
        r->all[TIMELINE_C2S] = (struct timeline_outages){ 0 };
        k = k < 0 ? k : outages_append(&all, &r->all[TIMELINE_S2C]);
        merge(&all);
        for (size_t i = 0; i < all.n; i++)
                all.v[i].seen_by = (overlaps(&all.v[i], &sp->by_client) ? TIMELINE_SEEN_CLIENT : 0) |
                                   (overlaps(&all.v[i], &sp->by_server) ? TIMELINE_SEEN_SERVER : 0);
        k = k < 0 ? k : add_uncovered(&all, sp);
out:
        c->outages = all.v;
        c->n_outages = all.n;
        c->cap_outages = all.cap;
        timeline_recon_free(r);
        return k;
}

int timeline_reconstruct(struct timeline_client *c, struct timeline_split *sp, int64_t tail)
{
        struct timeline_recon r;
        int k;

        timeline_recon_init(&r, c, sp, tail);
        k = timeline_recon_take(&r, c, sp, 0, sp->nc, 0, sp->ns, INT64_MAX);
        if (k < 0) {
                timeline_recon_free(&r);
                return k;
        }
        return timeline_recon_end(&r, c, sp);
}

/* When a server that logged its Exit in log g ran again: its next line
 * there, or, where that log ends with the Exit, the first line of another
 * log of this client's server begun after it (restarted, writing to a new
 * file); INT64_MAX when none says so. */
static int64_t back_at(const struct timeline *tl, const struct timeline_split *sp, size_t g,
                       const struct timeline_span *down)
{
        int64_t end = down->end_us;

        for (size_t h = 0; h < tl->n_logs && down->end_us == INT64_MAX; h++)
                if (h != g && sp->roles[h] == TIMELINE_ROLE_SERVER && tl->logs[h].any &&
                    tl->logs[h].first_us > down->start_us && tl->logs[h].first_us < end)
                        end = tl->logs[h].first_us;
        return end;
}

/* An outage while a server log shows its server stopped is no fault of the
 * path: it is marked so. */
void timeline_mark_stopped(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp)
{
        int64_t off = c->offset_known ? c->offset_us : 0;

        for (size_t g = 0; g < tl->n_logs; g++) {
                const struct timeline_log *lg = &tl->logs[g];

                for (size_t d = 0; d < lg->n_down && sp->roles[g] == TIMELINE_ROLE_SERVER; d++) {
                        int64_t end = back_at(tl, sp, g, &lg->down[d]);

                        for (size_t i = 0; i < c->n_outages; i++)
                                c->outages[i].server_stopped |= lg->down[d].start_us - off < c->outages[i].end_us &&
                                                                (end == INT64_MAX || /* to the end */
                                                                 c->outages[i].start_us < end - off);
                }
        }
}

void timeline_mark_log_lost(struct timeline_client *c, const struct timeline_split *sp)
{
        for (size_t i = 0; i < c->n_outages; i++) {
                struct timeline_outage *o = &c->outages[i];

                for (size_t g = 0; g < sp->tl->n_logs && !o->log_lost; g++) {
                        const struct timeline_log *lg = &sp->tl->logs[g];
                        int64_t off = sp->roles[g] == TIMELINE_ROLE_SERVER ? sp->off : 0;

                        for (size_t b = 0; b < lg->n_blind && !o->log_lost; b++)
                                o->log_lost = sp->roles[g] != TIMELINE_ROLE_NONE &&
                                              lg->blind[b].start_us - off <= o->end_us &&
                                              o->start_us <= lg->blind[b].end_us - off;
                }
                if (o->log_lost)
                        o->direction = TIMELINE_UNKNOWN;
        }
}

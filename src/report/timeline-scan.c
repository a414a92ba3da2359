/* timeline-scan: what the findings and the page read of a client's packets
 * once its outages and rebindings are known, so that they need not hold
 * them: the idle gaps at the server (how long the flow was idle before
 * each message the server received, and whether it came from the same
 * address), and of them the idle time before each rebinding and the
 * periods in which every longer gap rebound and every shorter one kept (a
 * NAT's idle timeout); and the client's round trips in time order. Taken
 * a span of packets at a time (timeline-windows.c) or all at once, the
 * same: the walk carries what it judges by, and of the gaps holds only the
 * last TIMELINE_NAT_BACK + 1. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define RING (TIMELINE_NAT_BACK + 1)
#define NAT_MIN_REBINDS 3
#define KEPT SIZE_MAX

/* --- the outages: the idle time at the NAT is not known across them --- */

struct bounds {
        int64_t a, b;
};

static int by_a(const void *x, const void *y)
{
        const struct bounds *p = x, *q = y;

        return (p->a > q->a) - (p->a < q->a);
}

/* The outages' widest bounds, merged: messages may have been lost in them. */
static int down_spans(struct timeline_scan_walk *w, const struct timeline_client *c)
{
        size_t n = c->n_outages ? c->n_outages : 1;
        struct bounds *v = malloc(n * sizeof(*v));

        w->down_a = malloc(n * sizeof(*w->down_a));
        w->down_b = malloc(n * sizeof(*w->down_b));
        if (!v || !w->down_a || !w->down_b) {
                free(v);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_outages; i++) {
                const struct timeline_outage *o = &c->outages[i];

                v[i].a = o->start_min_known ? o->start_min_us : o->start_us;
                v[i].b = o->end_max_known ? o->end_max_us : INT64_MAX;
        }
        qsort(v, c->n_outages, sizeof(*v), by_a);
        for (size_t i = 0; i < c->n_outages; i++) {
                if (w->n_down && v[i].a <= w->down_b[w->n_down - 1]) {
                        w->down_b[w->n_down - 1] = max64(v[i].b, w->down_b[w->n_down - 1]);
                        continue;
                }
                w->down_a[w->n_down] = v[i].a;
                w->down_b[w->n_down++] = v[i].b;
        }
        free(v);
        return 0;
}

/* Whether a merged outage overlaps (from, to). */
static bool down_inside(const struct timeline_scan_walk *w, int64_t from, int64_t to)
{
        size_t lo = 0, hi = w->n_down;

        while (lo < hi) { /* the spans starting before to */
                size_t mid = lo + (hi - lo) / 2;

                if (w->down_a[mid] < to)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo > 0 && w->down_b[lo - 1] > from;
}

/* --- nat periods: the longest runs of gaps in which every rebound one is
 * longer than every kept one, of NAT_MIN_REBINDS rebindings or more --- */

static const struct timeline_scan_gap *gap_at(const struct timeline_scan_walk *w, size_t i)
{
        return &w->ring[i % RING];
}

static void window_take(struct timeline_scan_window *x, const struct timeline_scan_gap *g)
{
        int64_t d = g->to_us - g->from_us;

        if (g->rebind != KEPT) {
                x->rebinds++;
                x->min_rebound = min64(d, x->min_rebound);
        } else {
                x->kept++;
                x->max_kept = max64(d, x->max_kept);
        }
}

static bool fits(const struct timeline_scan_window *x, const struct timeline_scan_gap *g)
{
        int64_t d = g->to_us - g->from_us;

        return g->rebind != KEPT ? d > x->max_kept : d < x->min_rebound;
}

/* p is the window from its first rebinding on (gaps kept before it may be
 * of a NAT that did not forget yet). Gap g just joined w at its end: */
static void p_append(struct timeline_scan_walk *w, const struct timeline_scan_gap *g)
{
        if (!w->p.rebinds && g->rebind == KEPT)
                return;
        if (!w->p.rebinds) {
                w->p = (struct timeline_scan_window){ w->w.last, w->w.last, -1, INT64_MAX, 0, 0 };
                w->p_from_us = g->from_us;
        }
        w->p.last = w->w.last;
        window_take(&w->p, g);
}

/* ... or at its front: a rebinding there is p's new first, p all of w. */
static void p_prepend(struct timeline_scan_walk *w, const struct timeline_scan_gap *g)
{
        if (g->rebind == KEPT)
                return;
        w->p = w->w;
        w->p_from_us = g->from_us;
}

/* The longest run of gaps ending at gap j that holds together, back to the
 * floor and at most TIMELINE_NAT_BACK. */
static void window_back(struct timeline_scan_walk *w, size_t j)
{
        w->w = (struct timeline_scan_window){ j, j, -1, INT64_MAX, 0, 0 };
        w->p = w->w;
        window_take(&w->w, gap_at(w, j));
        p_prepend(w, gap_at(w, j));
        while (w->w.first > w->floor && j - w->w.first < TIMELINE_NAT_BACK && fits(&w->w, gap_at(w, w->w.first - 1))) {
                window_take(&w->w, gap_at(w, --w->w.first));
                p_prepend(w, gap_at(w, w->w.first));
        }
        w->last_to_us = gap_at(w, j)->to_us;
}

/* Marks the rebindings whose gaps are p's. Their gaps come in their order;
 * one without a gap at or past the last gap's time may yet get one. */
static void nat_mark(struct timeline_scan_walk *w)
{
        const struct timeline_client *c = w->c;

        while (w->rb_cursor < c->n_rebinds) {
                size_t i = w->rb_cursor, seq = w->rb_seq[i];

                if (seq == SIZE_MAX && c->rebinds[i].t_us >= w->last_to_us)
                        break;
                if (seq != SIZE_MAX && seq > w->p.last)
                        break;
                c->scan->rb_nat[i] = seq != SIZE_MAX && seq >= w->p.first;
                w->rb_cursor++;
        }
}

/* A period, when the window is one: its rebindings marked. */
static int nat_emit(struct timeline_scan_walk *w, bool to_end)
{
        struct timeline_scan *s = w->c->scan;
        const struct timeline_scan_window *p = &w->p;

        if (w->w.rebinds < NAT_MIN_REBINDS)
                return 0;
        nat_mark(w);
        if (s->n_nat == s->cap_nat) {
                size_t cap = s->cap_nat ? 2 * s->cap_nat : 4;
                struct timeline_nat_period *v = realloc(s->nat, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                s->nat = v;
                s->cap_nat = cap;
        }
        s->nat[s->n_nat++] = (struct timeline_nat_period){ w->p_from_us, w->last_to_us, p->kept ? p->max_kept : -1,
                                                           p->min_rebound, p->rebinds, p->kept, to_end };
        return 0;
}

/* Room in the ring for one more gap: taken as the gaps come, so that a
 * client of few (most of 100,000 ids) takes little. */
static int ring_room(struct timeline_scan_walk *w)
{
        size_t cap = w->ring_cap ? 2 * w->ring_cap : 16;
        struct timeline_scan_gap *v;

        if (w->n_gaps < w->ring_cap || w->ring_cap == RING)
                return 0;
        cap = cap < RING ? cap : RING;
        v = realloc(w->ring, cap * sizeof(*v));
        if (!v)
                return -ENOMEM;
        w->ring = v;
        w->ring_cap = cap;
        return 0;
}

/* One more gap, in time order. */
int timeline_scan_gap(struct timeline_scan_walk *w, int64_t from, int64_t to, size_t rebind)
{
        size_t j = w->n_gaps;
        struct timeline_scan_gap *g;
        int k = ring_room(w);

        if (k < 0)
                return k;
        w->n_gaps++;
        g = &w->ring[j % RING];

        *g = (struct timeline_scan_gap){ from, to, rebind };
        if (rebind != KEPT)
                w->rb_seq[rebind] = j;
        if (j == 0) {
                window_back(w, 0);
                return 0;
        }
        if (fits(&w->w, g)) {
                w->w.last = j;
                window_take(&w->w, g);
                p_append(w, g);
                w->last_to_us = to;
                return 0;
        }
        k = nat_emit(w, false);
        if (w->w.rebinds >= NAT_MIN_REBINDS)
                w->floor = j; /* no gap in two periods */
        window_back(w, j);
        return k;
}

/* --- the idle gaps: one per message the server received after one it
 * handled, where nothing may have been lost in between --- */

/* The rebinding that a message at t from peer is, or KEPT. */
static size_t rebind_at(struct timeline_scan_walk *w, const struct addr *peer, int64_t t)
{
        const struct timeline_client *c = w->c;

        while (w->next_rb < c->n_rebinds && c->rebinds[w->next_rb].t_us < t)
                w->next_rb++;
        if (w->next_rb < c->n_rebinds && c->rebinds[w->next_rb].t_us == t && addr_equal(&c->rebinds[w->next_rb].new_peer, peer))
                return w->next_rb++;
        return KEPT;
}

/* A packet at the server, on the client's clock, in time order. */
static int server_take(struct timeline_scan_walk *w, const struct timeline_packet *m)
{
        const struct addr *peer = timeline_peer(w->tl, m->peer);
        size_t rb = m->tx ? KEPT : rebind_at(w, peer, m->t_us);
        bool clear = w->have_last && !down_inside(w, w->prev_us, m->t_us) && w->lost_us <= w->prev_us;
        int k = 0;

        if (!m->tx && rb != KEPT && clear) {
                w->c->scan->rb_gap_s[rb] = (double)(m->t_us - w->prev_us) / 1e6;
                k = timeline_scan_gap(w, w->prev_us, m->t_us, rb);
        } else if (!m->tx && clear && addr_equal(timeline_peer(w->tl, w->last_peer), peer)) {
                k = timeline_scan_gap(w, w->prev_us, m->t_us, KEPT);
        }
        if (!m->tx && (rb != KEPT || !w->have_last)) {
                w->last_peer = m->peer;
                w->have_last = true;
        }
        w->prev_us = m->t_us;
        return k;
}

/* The client's messages in [ca, cb) that the server never received (they
 * may have crossed the NAT: the idle time there is not known), taken in
 * time order with the server's [sa, sb), one of theirs before one of its
 * at the same time. */
static int gaps_take(struct timeline_scan_walk *w, const struct timeline_split *sp, size_t ca, size_t cb, size_t sa,
                     size_t sb)
{
        struct timeline_msgset heard = { 0 };
        int k = w->c->server_log ? timeline_msgset_make(&heard, sp->s, sp->ns, false,
                                                        1u << MESSAGE_HANDSHAKE_INIT | 1u << MESSAGE_KEEPALIVE)
                                 : 0;

        for (size_t i = ca, j = sa; k == 0 && (i < cb || j < sb);) {
                const struct timeline_packet *p;

                if (j < sb && (i == cb || sp->s[j].t_us <= sp->c[i].t_us)) {
                        k = server_take(w, &sp->s[j++]);
                        continue;
                }
                p = &sp->c[i++];
                if (w->c->server_log && p->tx && !timeline_msgset_near(&heard, p->type, p->hs, p->ctr, p->t_us,
                                                                      TIMELINE_MATCH_MARGIN_US))
                        w->lost_us = p->t_us;
        }
        timeline_msgset_free(&heard);
        return k;
}

/* --- the round trips, for the page's chart: per column, in time order,
 * only the column being filled held --- */

static int by_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

/* The column filled so far, summed up. */
static int column_end(struct timeline_scan_walk *w)
{
        struct timeline_scan *s = w->c->scan;
        const int64_t *v = w->col_v;
        size_t n = w->col_n;

        if (!n)
                return 0;
        if (s->n_rtt == s->cap_rtt) {
                size_t cap = s->cap_rtt ? 2 * s->cap_rtt : 64;
                struct timeline_rtt_column *r = realloc(s->rtt, cap * sizeof(*r));

                if (!r)
                        return -ENOMEM;
                s->rtt = r;
                s->cap_rtt = cap;
        }
        qsort(w->col_v, n, sizeof(*v), by_i64);
        s->rtt[s->n_rtt++] = (struct timeline_rtt_column){ w->col_t, w->col, n, v[0], v[(n - 1) / 2], v[n - 1] };
        w->col_n = 0;
        return 0;
}

/* A round trip answered at t, in time order. */
static int column_take(struct timeline_scan_walk *w, int64_t t, int64_t rtt)
{
        size_t col = w->tl->rtt_column(w->c, t);
        int k = col != w->col ? column_end(w) : 0;

        if (k < 0)
                return k;
        if (!w->col_n) {
                w->col = col;
                w->col_t = t;
        }
        if (w->col_n == w->col_cap) {
                size_t cap = w->col_cap ? 2 * w->col_cap : 64;
                int64_t *v = realloc(w->col_v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                w->col_v = v;
                w->col_cap = cap;
        }
        w->col_v[w->col_n++] = rtt;
        return 0;
}

static int rtt_take(struct timeline_scan_walk *w, const struct timeline_split *sp, size_t ca, size_t cb)
{
        struct timeline_key *tx = NULL;
        size_t ntx;
        int k = timeline_keys_of(sp->c, sp->nc, true, TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_INIT), &tx, &ntx);

        for (size_t i = ca; k == 0 && i < cb; i++) {
                const struct timeline_packet *p = &sp->c[i];
                const struct timeline_key *init;

                if (p->tx || p->type != MESSAGE_HANDSHAKE_RESPONSE)
                        continue;
                init = timeline_key_near(tx, ntx, MESSAGE_HANDSHAKE_INIT, p->hs, p->ctr, p->t_us, TIMELINE_MATCH_MARGIN_US);
                if (init)
                        k = column_take(w, p->t_us, max64(0, p->t_us - init->t_us));
        }
        free(tx);
        return k;
}

/* --- the walk --- */

int timeline_scan_begin(struct timeline_scan_walk *w, const struct timeline *tl, struct timeline_client *c)
{
        size_t n = c->n_rebinds ? c->n_rebinds : 1;
        struct timeline_scan *s;

        timeline_scan_free(c);
        *w = (struct timeline_scan_walk){ .tl = tl, .c = c, .lost_us = INT64_MIN };
        s = c->scan = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        w->rb_seq = malloc(n * sizeof(*w->rb_seq));
        s->rb_gap_s = malloc(n * sizeof(*s->rb_gap_s));
        s->rb_nat = calloc(n, sizeof(*s->rb_nat));
        if (!w->rb_seq || !s->rb_gap_s || !s->rb_nat)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_rebinds; i++) {
                s->rb_gap_s[i] = NAN;
                w->rb_seq[i] = SIZE_MAX;
        }
        return down_spans(w, c);
}

int timeline_scan_take(struct timeline_scan_walk *w, const struct timeline_split *sp, size_t ca, size_t cb, size_t sa,
                       size_t sb)
{
        int k = gaps_take(w, sp, ca, cb, sa, sb);

        return k < 0 || !w->tl->rtt_column ? k : rtt_take(w, sp, ca, cb);
}

int timeline_scan_end(struct timeline_scan_walk *w, int k)
{
        if (k == 0 && w->n_gaps)
                k = nat_emit(w, true);
        k = k < 0 ? k : column_end(w);
        free(w->col_v);
        free(w->down_a);
        free(w->down_b);
        free(w->ring);
        free(w->rb_seq);
        if (k < 0) {
                timeline_scan_free(w->c);
        } else {
                w->c->scan->made = true;
                w->c->scan->rtt_made = w->tl->rtt_column != NULL;
        }
        return k;
}

int timeline_scan_split(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_scan_walk w;
        int k = timeline_scan_begin(&w, tl, c);

        k = k < 0 ? k : timeline_scan_take(&w, sp, 0, sp->nc, 0, sp->ns);
        return timeline_scan_end(&w, k);
}

void timeline_scan_free(struct timeline_client *c)
{
        struct timeline_scan *s = c->scan;

        if (s) {
                free(s->rb_gap_s);
                free(s->rb_nat);
                free(s->nat);
                free(s->rtt);
                free(s);
        }
        c->scan = NULL;
}

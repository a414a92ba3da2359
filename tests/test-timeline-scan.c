/* timeline-scan: the nat periods found from the idle gaps as they come,
 * holding only the last TIMELINE_NAT_BACK + 1, are those found with all of
 * them held (the way findings-nat.c found them before, kept here as the
 * reference): on random gaps of NATs that forget after a threshold, with
 * noise, long runs kept, rebindings without a gap of their own, and more
 * gaps than the look-back holds. */
#include "check.h"

#include <math.h>

#include "report/timeline-internal.h"

#define S ((int64_t)1000000)
#define MIN_REBINDS 3

/* --- the reference: every gap held --- */

struct ref_window {
        size_t first, last;
        int64_t max_kept, min_rebound;
        uint64_t rebinds, kept;
};

static void ref_take(struct ref_window *w, const struct timeline_scan_gap *g)
{
        int64_t d = g->to_us - g->from_us;

        if (g->rebind != SIZE_MAX) {
                w->rebinds++;
                w->min_rebound = d < w->min_rebound ? d : w->min_rebound;
        } else {
                w->kept++;
                w->max_kept = d > w->max_kept ? d : w->max_kept;
        }
}

static bool ref_fits(const struct ref_window *w, const struct timeline_scan_gap *g)
{
        int64_t d = g->to_us - g->from_us;

        return g->rebind != SIZE_MAX ? d > w->max_kept : d < w->min_rebound;
}

static void ref_back(const struct timeline_scan_gap *g, size_t j, size_t floor, struct ref_window *w)
{
        *w = (struct ref_window){ j, j, -1, INT64_MAX, 0, 0 };
        ref_take(w, &g[j]);
        while (w->first > floor && j - w->first < TIMELINE_NAT_BACK && ref_fits(w, &g[w->first - 1]))
                ref_take(w, &g[--w->first]);
}

struct ref_out {
        struct timeline_nat_period v[4096];
        size_t n;
        bool rb_nat[16384];
};

static void ref_emit(const struct timeline_scan_gap *g, const struct ref_window *w, bool to_end, struct ref_out *o)
{
        struct ref_window p = { w->first, w->last, -1, INT64_MAX, 0, 0 };

        if (w->rebinds < MIN_REBINDS)
                return;
        while (g[p.first].rebind == SIZE_MAX)
                p.first++;
        for (size_t i = p.first; i <= p.last; i++) {
                ref_take(&p, &g[i]);
                if (g[i].rebind != SIZE_MAX)
                        o->rb_nat[g[i].rebind] = true;
        }
        o->v[o->n++] = (struct timeline_nat_period){ g[p.first].from_us, g[p.last].to_us, p.kept ? p.max_kept : -1,
                                                     p.min_rebound, p.rebinds, p.kept, to_end };
}

static void ref_periods(const struct timeline_scan_gap *g, size_t n, struct ref_out *o)
{
        struct ref_window w;
        size_t floor = 0;

        if (!n)
                return;
        ref_back(g, 0, 0, &w);
        for (size_t j = 1; j < n; j++) {
                if (ref_fits(&w, &g[j])) {
                        w.last = j;
                        ref_take(&w, &g[j]);
                        continue;
                }
                ref_emit(g, &w, false, o);
                if (w.rebinds >= MIN_REBINDS)
                        floor = j;
                ref_back(g, j, floor, &w);
        }
        ref_emit(g, &w, true, o);
}

/* --- random gaps --- */

static uint64_t rng = 1;

static uint64_t next(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static int64_t between(int64_t lo, int64_t hi)
{
        return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
}

/* n gaps of a NAT that forgets after `forget` (noise in a thousand flip
 * it), a stretch of them kept whatever their length; and rebindings with
 * no gap of their own between them. */
static size_t make(struct timeline_scan_gap *g, size_t n, struct timeline_client *c, unsigned noise)
{
        int64_t t = 1700000000 * S, forget = between(5, 90) * S;
        size_t quiet_from = (size_t)between(0, (int64_t)n), quiet_len = (size_t)between(0, 6000);

        for (size_t i = 0; i < n; i++) {
                int64_t d = between(S / 10, 3 * forget);
                bool rebind = d >= forget;

                if (next() % 1000 < noise)
                        rebind = !rebind;
                if (i >= quiet_from && i < quiet_from + quiet_len)
                        rebind = false;
                if (next() % 8 == 0)
                        t += between(1, 600) * S; /* a gap left out: messages lost, an outage */
                if (next() % 50 == 0) /* a rebinding whose idle time was not clear */
                        c->rebinds[c->n_rebinds++].t_us = t + 1;
                g[i] = (struct timeline_scan_gap){ t + 2, t + 2 + d, rebind ? c->n_rebinds : SIZE_MAX };
                if (rebind)
                        c->rebinds[c->n_rebinds++].t_us = t + 2 + d;
                t += 2 + d;
                if (next() % 20 == 0) /* a forgetting of another kind in a period */
                        forget = between(5, 90) * S;
        }
        return n;
}

/* Returns the periods found. */
static size_t test_random(unsigned seed, size_t n, unsigned noise)
{
        static struct timeline_scan_gap g[20000];
        static struct ref_out o;
        static struct timeline_rebind rebinds[16384];
        struct timeline tl = { 0 };
        struct timeline_client c = { .rebinds = rebinds };
        struct timeline_scan_walk w;

        rng = seed * 2654435761u + 1;
        memset(&o, 0, sizeof(o));
        make(g, n, &c, noise);
        ref_periods(g, n, &o);
        CHECK_INT(timeline_scan_begin(&w, &tl, &c), 0);
        for (size_t i = 0; i < n; i++)
                CHECK_INT(timeline_scan_gap(&w, g[i].from_us, g[i].to_us, g[i].rebind), 0);
        CHECK_INT(timeline_scan_end(&w, 0), 0);
        CHECK(c.scan && c.scan->made);
        CHECK_INT(c.scan->n_nat, o.n);
        for (size_t i = 0; i < o.n && i < c.scan->n_nat; i++) {
                const struct timeline_nat_period *a = &c.scan->nat[i], *b = &o.v[i];

                CHECK(a->from_us == b->from_us && a->to_us == b->to_us && a->max_kept_us == b->max_kept_us &&
                      a->min_rebound_us == b->min_rebound_us && a->rebinds == b->rebinds && a->kept == b->kept &&
                      a->to_end == b->to_end);
        }
        for (size_t i = 0; i < c.n_rebinds; i++)
                CHECK_INT(c.scan->rb_nat[i], o.rb_nat[i]);
        for (size_t i = 0; i < c.n_rebinds; i++) /* the idle gap is the scan's to find from packets: none here */
                CHECK(isnan(c.scan->rb_gap_s[i]));
        timeline_scan_free(&c);
        return o.n;
}

/* A window looked back for as far as it goes: a long run kept, each
 * pause a little shorter than the one before, then rebindings each just
 * below or above the longest pause within TIMELINE_NAT_BACK of it. */
static void test_look_back(void)
{
        static struct timeline_scan_gap g[8000];
        static struct ref_out o;
        static struct timeline_rebind rebinds[64];
        struct timeline tl = { 0 };
        struct timeline_client c = { .rebinds = rebinds };
        struct timeline_scan_walk w;
        int64_t t = 1700000000 * S;
        size_t n = 0;

        memset(&o, 0, sizeof(o));
        for (int64_t i = 0; i < 6000; i++, n++) {
                g[n] = (struct timeline_scan_gap){ t, t + 10 * S + (6000 - i) * 1000, SIZE_MAX };
                t = g[n].to_us;
        }
        for (int64_t i = 0; i < 40; i++, n++) {
                g[n] = (struct timeline_scan_gap){ t, t + 10 * S + 4100000 - i * 3000, c.n_rebinds };
                t = rebinds[c.n_rebinds++].t_us = g[n].to_us;
        }
        ref_periods(g, n, &o);
        CHECK_INT(timeline_scan_begin(&w, &tl, &c), 0);
        for (size_t i = 0; i < n; i++)
                CHECK_INT(timeline_scan_gap(&w, g[i].from_us, g[i].to_us, g[i].rebind), 0);
        CHECK_INT(timeline_scan_end(&w, 0), 0);
        CHECK_INT(c.scan->n_nat, o.n);
        CHECK(o.n > 0);
        for (size_t i = 0; i < o.n && i < c.scan->n_nat; i++)
                CHECK(c.scan->nat[i].from_us == o.v[i].from_us && c.scan->nat[i].kept == o.v[i].kept &&
                      c.scan->nat[i].rebinds == o.v[i].rebinds && c.scan->nat[i].max_kept_us == o.v[i].max_kept_us);
        for (size_t i = 0; i < c.n_rebinds; i++)
                CHECK_INT(c.scan->rb_nat[i], o.rb_nat[i]);
        timeline_scan_free(&c);
}

int main(void)
{
        size_t periods = 0;

        for (unsigned seed = 1; seed <= 60; seed++)
                periods += test_random(seed, seed % 3 ? 2000 : 12000, seed % 4 == 0 ? 0 : seed % 40);
        CHECK(periods > 100); /* the cases are not all alike: they have periods */
        test_look_back();
        printf("timeline-scan: %u passed, %u failed (%zu periods)\n", check_passed, check_failed, periods);
        return check_failed ? 1 : 0;
}

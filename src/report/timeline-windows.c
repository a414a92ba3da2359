/* timeline-windows: a client's working out over windows of time, its
 * packets given back a span at a time (report_spill_load_span), so that a
 * year of them is never held at once. What is here: the values the
 * windows need of the whole client first (timeline_learn_windows: the
 * timers, the clock offset, the round trips), each window's messages
 * looked up among its packets and the margin around it
 * (TIMELINE_MATCH_MARGIN_US), the state of each step carried from one
 * window to the next: the same values as from all its packets at once. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

#define M TIMELINE_MATCH_MARGIN_US
/* Past this many windows (a log whose stamps jump years), they widen. */
#define MOST_WINDOWS 4096

/* What a window of [a, b) loads of each log, on the log's own clock: a
 * client's log, the margin around it, where an answer's init lies; a
 * server's, three margins, where the handshake's other three ends lie
 * while the offset is not known (each within a margin of the one
 * before). */
static void window_spans(const struct timeline *tl, const struct timeline_split *sp, int64_t a, int64_t b,
                         struct timeline_span *by_log)
{
        for (size_t g = 0; g < tl->n_logs; g++) {
                int64_t m = sp->roles[g] == TIMELINE_ROLE_CLIENT ? M : 3 * M;

                by_log[g] = sp->roles[g] == TIMELINE_ROLE_NONE ? (struct timeline_span){ 0, 0 }
                                                               : (struct timeline_span){ a - m, b + m };
        }
}

/* The first of n packets in time order at or past t. */
static size_t first_at(const struct timeline_packet *p, size_t n, int64_t t)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (p[mid].t_us < t)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

struct learning {
        struct timeline_timers timers;
        struct timeline_pairs pairs;
};

/* One window's packets, split by end, the window [a, b) their own: what
 * each step takes of them. */
static int learn_window(struct timeline_client *c, const struct timeline_split *sp, int64_t a, int64_t b,
                        struct learning *l)
{
        size_t ca = first_at(sp->c, sp->nc, a), cb = first_at(sp->c, sp->nc, b);
        size_t sa = first_at(sp->s, sp->ns, a), sb = first_at(sp->s, sp->ns, b);
        int k = l->timers.client_end ? timeline_timers_take(&l->timers, sp->c + ca, cb - ca)
                                     : timeline_timers_take(&l->timers, sp->s + sa, sb - sa);

        k = k < 0 || !(c->client_log && c->server_log) ? k : timeline_pairs_take(&l->pairs, sp, ca, cb);
        return k < 0 ? k : timeline_round_trips_take(c, sp, ca, cb);
}

/* Loads the window [a, b) and its margins, splits it (the client's own
 * count of lines at odds with their log untouched: a window's margins
 * are another's too) and learns from it. */
static int load_window(struct timeline *tl, struct timeline_client *c, int64_t a, int64_t b,
                       struct timeline_span *by_log, timeline_span_fn load, void *ctx, struct learning *l)
{
        struct timeline_split sp = { .tl = tl };
        uint64_t ignored = c->ignored;
        int k = timeline_split_whole(tl, c, &sp);

        if (k == 0)
                window_spans(tl, &sp, a, b, by_log);
        free(sp.roles);
        sp.roles = NULL;
        k = k < 0 ? k : load(ctx, tl, c->at, by_log, tl->n_logs);
        k = k < 0 ? k : timeline_split_by_role(tl, c, &sp, true);
        c->ignored = ignored;
        k = k < 0 ? k : learn_window(c, &sp, a, b, l);
        free(sp.c);
        free(sp.s);
        free(sp.roles);
        free(c->pk);
        c->pk = NULL;
        c->n_pk = c->cap_pk = 0;
        return k;
}

int timeline_learn_windows(struct timeline *tl, struct timeline_client *c, const struct timeline_opts *o,
                           int64_t window_us, timeline_span_fn load, void *ctx)
{
        struct timeline_split whole = { .tl = tl };
        struct learning l = { 0 };
        struct timeline_span *by_log = calloc(tl->n_logs ? tl->n_logs : 1, sizeof(*by_log));
        int64_t lo, hi;
        int k = by_log ? timeline_split_whole(tl, c, &whole) : -ENOMEM;

        if (k < 0)
                goto out;
        /* each end's windows on its own clock: the offset is not known yet */
        lo = c->client_log && c->server_log ? min64(whole.c_first, whole.s_first)
             : c->client_log                ? whole.c_first
                                            : whole.s_first;
        hi = c->client_log && c->server_log ? max64(whole.c_last, whole.s_last)
             : c->client_log                ? whole.c_last
                                            : whole.s_last;
        if (window_us <= 0 || (hi - lo) / window_us >= MOST_WINDOWS)
                window_us = (hi - lo) / MOST_WINDOWS + 1;
        l.timers.client_end = c->client_log;
        for (int64_t a = lo; k == 0 && (c->client_log || c->server_log) && a <= hi; a += window_us)
                k = load_window(tl, c, a, a + window_us, by_log, load, ctx, &l);
        timeline_timers_end(c, &l.timers, o);
        k = k < 0 ? k : timeline_pairs_end(c, &l.pairs);
out:
        free(l.pairs.v);
        free(whole.roles);
        free(by_log);
        return k;
}

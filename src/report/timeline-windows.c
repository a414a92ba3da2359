/* timeline-windows: a client worked out over windows of time, its packets
 * given back a window at a time (report_spill_load_span) and let go after
 * it, so that a year of them is never held at once; the same results as
 * timeline_finish() from all of them at once. In two passes over the
 * windows: the first learns what the second needs of the whole client
 * (the timers, the clock offset, the round trips,
 * the counts and the period, the server's addresses), on each end's own
 * clock (and, where the clock offset's pairs leave it open which are in
 * the quarter it is the median of, those pairs again: struct
 * timeline_pairs); the second (on the client's clock, the server's put on it)
 * reconstructs the outages, the rebindings and the flow's bins. Each
 * window's messages are looked up among its packets and the margin
 * around it (TIMELINE_MATCH_MARGIN_US), and each step's state is carried
 * from one window to the next (timeline-internal.h: the steps' _take). */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

#define M TIMELINE_MATCH_MARGIN_US
/* Past this many windows (a log whose stamps jump years), they widen. */
#define MOST_WINDOWS 4096

/* What the first pass carries from one window to the next. */
struct learning {
        struct timeline_timers timers;
        struct timeline_pairs pairs;
        struct timeline_rebind_walk rebind;
        bool any_c, any_s;
        struct timeline_span cs, ss; /* each end's first and last packet, on its own clock */
};

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

/* What a window [a, b) loads of each log, on the log's own clock (a
 * server's is the client's plus off): the margin around it on the
 * client's; on the server's, `sm` margins (while the offset is not known,
 * a handshake's other three ends lie each within a margin of the one
 * before: three). */
static void window_spans(const struct timeline *tl, const uint8_t *roles, int64_t a, int64_t b, int64_t sm,
                         int64_t off, struct timeline_span *by_log)
{
        for (size_t g = 0; g < tl->n_logs; g++)
                by_log[g] = roles[g] == TIMELINE_ROLE_CLIENT   ? (struct timeline_span){ a - M, b + M }
                            : roles[g] == TIMELINE_ROLE_SERVER ? (struct timeline_span){ a - sm + off, b + sm + off }
                                                               : (struct timeline_span){ 0, 0 };
}

/* The window's packets, split by end into sp (the server's on its own
 * clock); c's let go. */
static int load_split(struct timeline *tl, struct timeline_client *c, const struct timeline_span *by_log,
                      timeline_span_fn load, void *ctx, struct timeline_split *sp)
{
        int k = load(ctx, tl, c->at, by_log, tl->n_logs);

        k = k < 0 ? k : timeline_split_by_role(tl, c, sp, true);
        free(c->pk);
        c->pk = NULL;
        c->n_pk = c->cap_pk = 0;
        return k;
}

static void span_take(struct timeline_span *s, bool *any, const struct timeline_packet *p, size_t n)
{
        if (!n)
                return;
        s->start_us = *any ? min64(s->start_us, p[0].t_us) : p[0].t_us;
        s->end_us = *any ? max64(s->end_us, p[n - 1].t_us) : p[n - 1].t_us;
        *any = true;
}

/* What the first pass takes of a window [a, b) of each end's own clock;
 * on the pairs' second look (struct timeline_pairs), only the pairs. */
static int learn_window(struct timeline_client *c, const struct timeline_split *sp, int64_t a, int64_t b,
                        struct learning *l)
{
        size_t ca = first_at(sp->c, sp->nc, a), cb = first_at(sp->c, sp->nc, b);
        size_t sa = first_at(sp->s, sp->ns, a), sb = first_at(sp->s, sp->ns, b);
        int k = 0;

        if (l->pairs.look)
                return timeline_pairs_take(&l->pairs, sp, ca, cb);
        k = l->timers.client_end ? timeline_timers_take(&l->timers, sp->c + ca, cb - ca)
                                 : timeline_timers_take(&l->timers, sp->s + sa, sb - sa);
        k = k < 0 || !(c->client_log && c->server_log) ? k : timeline_pairs_take(&l->pairs, sp, ca, cb);
        k = k < 0 ? k : timeline_round_trips_take(c, sp, ca, cb);
        timeline_counts_take(c, sp->c + ca, cb - ca, true);
        timeline_counts_take(c, sp->s + sa, sb - sa, false);
        span_take(&l->cs, &l->any_c, sp->c + ca, cb - ca);
        span_take(&l->ss, &l->any_s, sp->s + sa, sb - sa);
        timeline_server_addrs_take(&l->rebind, sp, ca, cb);
        return k;
}

/* The windows of window_us over [lo, hi], fewer and wider past
 * MOST_WINDOWS: the width to step by. */
static int64_t window_width(int64_t lo, int64_t hi, int64_t window_us)
{
        return window_us <= 0 || (hi - lo) / window_us >= MOST_WINDOWS ? (hi - lo) / MOST_WINDOWS + 1 : window_us;
}

/* The first pass's windows over [lo, hi] of each end's own clock: the
 * offset is not known yet. */
static int learn_windows(struct timeline *tl, struct timeline_client *c, const struct timeline_split *whole,
                         int64_t lo, int64_t hi, int64_t w, timeline_span_fn load, void *ctx, struct learning *l,
                         struct timeline_span *by_log)
{
        int k = 0;

        for (int64_t a = lo; k == 0 && (c->client_log || c->server_log) && a <= hi && !timeline_pairs_enough(&l->pairs);
             a += w) {
                struct timeline_split sp = { .tl = tl };

                window_spans(tl, whole->roles, a, a + w, 3 * M, 0, by_log);
                k = load_split(tl, c, by_log, load, ctx, &sp);
                k = k < 0 ? k : learn_window(c, &sp, a, a + w, l);
                free(sp.c);
                free(sp.s);
                free(sp.roles);
        }
        return k;
}

static int learn(struct timeline *tl, struct timeline_client *c, const struct timeline_opts *o,
                 const struct timeline_split *whole, int64_t window_us, timeline_span_fn load, void *ctx,
                 struct learning *l, struct timeline_span *by_log)
{
        int64_t lo = c->client_log && c->server_log ? min64(whole->c_first, whole->s_first)
                     : c->client_log                ? whole->c_first
                                                    : whole->s_first;
        int64_t hi = c->client_log && c->server_log ? max64(whole->c_last, whole->s_last)
                     : c->client_log                ? whole->c_last
                                                    : whole->s_last;
        int64_t w = window_width(lo, hi, window_us);
        int k;

        l->timers.client_end = c->client_log;
        k = learn_windows(tl, c, whole, lo, hi, w, load, ctx, l, by_log);
        timeline_timers_end(c, &l->timers, o);
        k = k < 0 ? k : timeline_pairs_end(c, &l->pairs);
        if (k == 1) { /* the pairs' second look */
                k = learn_windows(tl, c, whole, lo, hi, w, load, ctx, l, by_log);
                k = k < 0 ? k : timeline_pairs_end(c, &l->pairs);
        }
        timeline_server_addrs_end(c, &l->rebind);
        return k;
}

/* What the second pass takes of a window [a, b) of the client's clock. */
static int rebuild_window(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp,
                          int64_t a, int64_t b, struct timeline_recon *r, struct timeline_rebind_walk *rw)
{
        size_t ca = first_at(sp->c, sp->nc, a), cb = first_at(sp->c, sp->nc, b);
        size_t sa = first_at(sp->s, sp->ns, a), sb = first_at(sp->s, sp->ns, b);
        int k = timeline_recon_take(r, c, sp, ca, cb, sa, sb, b);

        k = k < 0 ? k : timeline_rebindings_take(c, rw, sp, sa, sb);
        timeline_flow_mark(tl, c, sp->c + ca, cb - ca);
        timeline_flow_mark(tl, c, sp->s + sa, sb - sa);
        return k;
}

/* The second pass, over the client's period on its clock. */
static int rebuild(struct timeline *tl, struct timeline_client *c, struct timeline_split *whole, int64_t window_us,
                   timeline_span_fn load, void *ctx, struct timeline_rebind_walk *rw, struct timeline_span *by_log)
{
        struct timeline_recon r;
        int64_t lo = c->first_us, hi = c->last_us, w = window_width(lo, hi, window_us);
        int k = timeline_flow_begin(tl, c, whole);

        timeline_recon_init(&r, c, whole, c->last_us);
        for (int64_t a = lo; k == 0 && (c->client_log || c->server_log) && a <= hi; a += w) {
                struct timeline_split sp = { .tl = tl };

                window_spans(tl, whole->roles, a, a + w, M, whole->off, by_log);
                k = load_split(tl, c, by_log, load, ctx, &sp);
                if (k == 0) {
                        timeline_correct_server(c, &sp);
                        sp.off = whole->off;
                        sp.grace = whole->grace;
                        k = rebuild_window(tl, c, &sp, a, a + w, &r, rw);
                }
                free(sp.c);
                free(sp.s);
                free(sp.roles);
        }
        if (k < 0) {
                timeline_recon_free(&r);
                return k;
        }
        return timeline_recon_end(&r, c, whole);
}

int timeline_finish_windows(struct timeline *tl, struct timeline_client *c, const struct timeline_opts *o,
                            int64_t window_us, timeline_span_fn load, void *ctx)
{
        struct timeline_split whole = { .tl = tl };
        struct learning l = { 0 };
        struct timeline_span *by_log = calloc(tl->n_logs ? tl->n_logs : 1, sizeof(*by_log));
        int k = by_log ? timeline_split_whole(tl, c, &whole) : -ENOMEM;

        k = k < 0 ? k : learn(tl, c, o, &whole, window_us, load, ctx, &l, by_log);
        if (k < 0)
                goto out;
        whole.off = c->offset_known ? c->offset_us : 0;
        timeline_correct_server(c, &whole); /* its coverage */
        if (l.any_s) {
                l.ss.start_us -= whole.off;
                l.ss.end_us -= whole.off;
        }
        timeline_period(c, l.any_c ? &l.cs : NULL, l.any_s ? &l.ss : NULL);
        whole.grace = timeline_grace(c, whole.res);
        if (c->client_log && c->server_log)
                c->keepalives.known = true;
        k = rebuild(tl, c, &whole, window_us, load, ctx, &l.rebind, by_log);
        if (k == 0)
                timeline_outages_marked(tl, c, &whole);
out:
        timeline_pairs_free(&l.pairs);
        free(whole.by_client.v);
        free(whole.by_server.v);
        free(whole.roles);
        free(by_log);
        return k;
}

int timeline_scan_windows(struct timeline *tl, struct timeline_client *c, int64_t window_us, timeline_span_fn load,
                          void *ctx)
{
        struct timeline_split whole = { .tl = tl };
        struct timeline_scan_walk sw;
        struct timeline_span *by_log = calloc(tl->n_logs ? tl->n_logs : 1, sizeof(*by_log));
        int64_t lo = c->first_us, hi = c->last_us, w = window_width(lo, hi, window_us);
        int64_t off = c->offset_known ? c->offset_us : 0;
        int k = by_log ? timeline_split_whole(tl, c, &whole) : -ENOMEM;
        bool begun = k == 0;

        k = begun ? timeline_scan_begin(&sw, tl, c) : k;
        for (int64_t a = lo; k == 0 && (c->client_log || c->server_log) && a <= hi; a += w) {
                struct timeline_split sp = { .tl = tl };

                window_spans(tl, whole.roles, a, a + w, M, off, by_log);
                k = load_split(tl, c, by_log, load, ctx, &sp);
                if (k == 0) {
                        size_t ca = first_at(sp.c, sp.nc, a), cb = first_at(sp.c, sp.nc, a + w);
                        size_t sa, sb;

                        timeline_correct_server(c, &sp);
                        sa = first_at(sp.s, sp.ns, a);
                        sb = first_at(sp.s, sp.ns, a + w);
                        k = timeline_scan_take(&sw, &sp, ca, cb, sa, sb);
                }
                free(sp.c);
                free(sp.s);
                free(sp.roles);
        }
        k = begun ? timeline_scan_end(&sw, k) : k;
        free(whole.roles);
        free(by_log);
        return k;
}

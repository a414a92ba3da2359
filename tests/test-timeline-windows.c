/* timeline-windows: what a client's windows of time need of the whole
 * client first (the timers, the clock offset, the round trips), learned
 * with its packets loaded a window at a time, is what timeline_finish()
 * learns from all of them: on simulated days of both logs and of each
 * alone, outages, retries, a rebinding and a clock offset across the
 * windows' cuts, windows of an hour to a week; and a spacing across a cut
 * counts (what a window carries to the next). */
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

static void same_learned(const struct timeline_client *w, const struct timeline_client *c)
{
        CHECK_INT(w->keepalive_us, c->keepalive_us);
        CHECK_INT(w->keepalive_count, c->keepalive_count);
        CHECK_INT(w->handshake_timeout_us, c->handshake_timeout_us);
        CHECK(w->keepalive_learned == c->keepalive_learned);
        CHECK(w->handshake_timeout_learned == c->handshake_timeout_learned);
        CHECK(w->offset_known == c->offset_known);
        CHECK_INT(w->offset_us, c->offset_us);
        CHECK_INT(w->offset_pairs, c->offset_pairs);
        CHECK_INT(w->ignored, 0); /* counted as the windows are worked out, not while learning */
        same_rtt(&w->rtt, &c->rtt);
}

/* The simulation worked out whole, and learned again in windows. */
static void check_sim(const struct sim *proto, int64_t window)
{
        struct sim whole = *proto, win = *proto;
        struct timeline_opts o = { 0 };
        struct timeline_client *c;
        const struct timeline_client *ref;
        struct held h;

        ref = run(&whole);
        simulate(&win);
        c = win.tl.n_clients ? win.tl.clients[0] : NULL;
        CHECK(ref && c);
        if (!ref || !c)
                goto out;
        put_aside(c, &h);
        CHECK_INT(timeline_learn_windows(&win.tl, c, &o, window, load_span, &h), 0);
        CHECK((h.loads > 1 || window > proto->end) && c->pk == NULL && c->n_pk == 0);
        same_learned(c, ref);
        CHECK(ref->rtt.count > 0 || !ref->client_log);
        CHECK(ref->offset_known || !(ref->client_log && ref->server_log));
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
        CHECK_INT(timeline_learn_windows(&tl, c, &o, 25 * S, load_span, &h), 0);
        CHECK_INT(h.loads, 3);
        CHECK(c->keepalive_learned);
        CHECK_INT(c->keepalive_us, 20 * S);
        CHECK_INT(c->keepalive_count, 4);
        free(h.v);
        timeline_free(&tl);
}

int main(void)
{
        test_carried();
        test_days();
        return check_finish("timeline-windows");
}

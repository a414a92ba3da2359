/* The reconstruction from both logs (report/timeline-match.c, with
 * timeline-clock.c and timeline-outages.c) on simulated logs: each fault
 * found with its direction and the truth inside its bounds, the clock
 * offset between the two logs and the timers learned, the NAT rebinding
 * (timeline-rebind.c), and single losses counted as loss, not outages;
 * a receipt further than the margin from its sending (a copy replayed
 * days later) is no receipt of it. */
#include "timeline-sim.h"

#include "report/timeline-internal.h"

static void test_both_logs_offset(void)
{
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .offset = 2 * 3600 * S + 13250000,
                         .end = 90 * S, .faults = faults, .n_faults = 3, .rebind_at = 30 * S,
                         .client_log = true, .server_log = true };
        const struct timeline_client *c;
        const struct timeline_outage *o;

        c = run(&s);
        if (!c)
                goto out;
        CHECK(c->client_log && c->server_log);
        CHECK(c->offset_known);
        within(c->offset_us, s.offset, 1000);
        within((int64_t)c->keepalive_us, S, 1000);
        within((int64_t)c->handshake_timeout_us, S, 1000);
        CHECK_INT(c->keepalive_count, 5);
        CHECK_INT(c->n_outages, 3);
        o = found(c, &faults[0], 0);
        CHECK(o && o->direction == TIMELINE_CLIENT_TO_SERVER);
        if (o) {
                within(o->start_us, T0 + faults[0].start, S);
                within(o->end_us, T0 + faults[0].end, S);
        }
        o = found(c, &faults[1], 0);
        CHECK(o && o->direction == TIMELINE_SERVER_TO_CLIENT);
        o = found(c, &faults[2], 0);
        CHECK(o && (o->direction == TIMELINE_CLIENT_TO_SERVER || o->direction == TIMELINE_BOTH));
        CHECK(c->delivery[TIMELINE_C2S].known && c->delivery[TIMELINE_S2C].known);
        CHECK(c->delivery[TIMELINE_S2C].lost >= 4);
        CHECK_INT(c->n_rebinds, 1);
        if (c->n_rebinds)
                within(c->rebinds[0].t_us, T0 + 30 * S, S + 10000);
        for (size_t i = 0; i < c->rtt.n_bins; i++)
                within(c->rtt.v[i].us, 2 * s.delay, 1000);
        if (c->rtt.count) {
                within(c->rtt.min_us, 2 * s.delay, 1000);
                within(c->rtt.max_us, 2 * s.delay, 1000);
        }
out:
        timeline_free(&s.tl);
}

/* The clients' default timers over hours: learned, and a long blackhole. */
static void test_default_timers(void)
{
        static const struct fault f[] = { { 3600 * S, 3600 * S + 300 * S, true, true } };
        struct sim s = { .ki = (int64_t)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US,
                         .ht = (int64_t)CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US, .count = 5, .delay = 20000,
                         .offset = -(5 * 3600 * S + 7 * S), .end = 3 * 3600 * S, .faults = f, .n_faults = 1,
                         .client_log = true, .server_log = true };
        const struct timeline_client *c;
        const struct timeline_outage *o;

        c = run(&s);
        if (c) {
                within((int64_t)c->keepalive_us, s.ki, 1000);
                within((int64_t)c->handshake_timeout_us, s.ht, 1000);
                within(c->offset_us, s.offset, 1000);
                CHECK_INT(c->n_outages, 1);
                o = found(c, &f[0], 0);
                if (o) {
                        within(o->start_us, T0 + f[0].start, s.ki);
                        within(o->end_us, T0 + f[0].end, s.ki);
                }
                CHECK_INT(c->n_rebinds, 0);
        }
        timeline_free(&s.tl);
}

/* Isolated single losses are loss, not outages. */
static void test_loss_is_not_outage(void)
{
        static const struct fault f[] = {
                { 1500000, 2300000, true, false }, /* keepalive 3 of the first handshake */
                { 9800000, 10300000, true, false }, /* and of the third */
        };
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .end = 50 * S, .faults = f, .n_faults = 2,
                         .client_log = true, .server_log = true };
        const struct timeline_client *c;

        c = run(&s);
        if (c) {
                CHECK_INT(c->n_outages, 0);
                CHECK_INT(c->delivery[TIMELINE_C2S].lost, 2);
                CHECK_INT(c->keepalives.lost, 2);
        }
        timeline_free(&s.tl);
}

/* The server's output lost 10 s of its lines: where it says so, nothing
 * there counts as lost or down (unknown); where it does not, the gap
 * reads as an outage, client to server. */
static void test_log_lost(bool said)
{
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .offset = 7 * S, .end = 60 * S,
                         .client_log = true, .server_log = true, .blind_from = 20 * S, .blind_to = 30 * S,
                         .blind_said = said };
        const struct timeline_client *c = run(&s);
        size_t marked = 0;

        if (!c)
                goto out;
        CHECK(c->offset_known);
        CHECK(c->n_outages >= (said ? 0u : 1u));
        for (size_t i = 0; i < c->n_outages; i++)
                marked += c->outages[i].log_lost;
        if (said) {
                CHECK_INT(s.tl.logs[1].lines_lost, 9);
                CHECK_INT(marked, c->n_outages);
                CHECK_INT(c->delivery[TIMELINE_C2S].lost, 0);
                CHECK(timeline_availability(c) == 1.0);
        } else {
                CHECK_INT(marked, 0);
                CHECK(c->delivery[TIMELINE_C2S].lost >= 10);
                CHECK(timeline_availability(c) < 0.9);
        }
out:
        timeline_free(&s.tl);
}

/* A line of client "r" in log 0 (its own) or 1 (its server's). */
static void line_r(struct timeline *tl, unsigned log, int64_t t, bool tx, enum message_type type, uint64_t ctr)
{
        struct logline l = { .kind = tx ? LOGLINE_TX : LOGLINE_RX, .t_us = (uint64_t)(T0 + t) };

        CHECK(message_init(&l.msg, type, "r", 1, 1, ctr) == 0);
        CHECK(addr_from_string(&l.peer, log ? "198.51.100.9" : "203.0.113.9", 43210) == 0);
        l.peer_is_server = log == 0;
        CHECK_INT(timeline_add(tl, log, &l), 0);
}

/* Keepalives 1..60 every 10 s after an answered handshake; the server
 * heard 20..29 only replayed, late by `late` (its lines in time order). */
static void test_replayed_late(int64_t late, bool counted)
{
        struct timeline tl;
        struct timeline_opts o = { 0 };
        const struct timeline_client *c;

        timeline_init(&tl);
        line_r(&tl, 0, 0, true, MESSAGE_HANDSHAKE_INIT, 0);
        line_r(&tl, 0, 10000, false, MESSAGE_HANDSHAKE_RESPONSE, 0);
        for (uint64_t i = 1; i <= 60; i++)
                line_r(&tl, 0, (int64_t)i * 10 * S, true, MESSAGE_KEEPALIVE, i);
        line_r(&tl, 1, 5000, false, MESSAGE_HANDSHAKE_INIT, 0);
        line_r(&tl, 1, 5000, true, MESSAGE_HANDSHAKE_RESPONSE, 0);
        for (uint64_t i = 1; i <= 60; i++)
                if (i < 20 || i > 29)
                        line_r(&tl, 1, (int64_t)i * 10 * S + 5000, false, MESSAGE_KEEPALIVE, i);
        for (uint64_t i = 20; i <= 29; i++)
                line_r(&tl, 1, (int64_t)i * 10 * S + late, false, MESSAGE_KEEPALIVE, i);
        CHECK_INT(timeline_finish(&tl, &o), 0);
        c = timeline_find(&tl, "r", 1);
        CHECK(c && c->client_log && c->server_log && c->delivery[TIMELINE_C2S].known);
        if (c) {
                CHECK_INT(c->delivery[TIMELINE_C2S].sent, 60);
                CHECK_INT(c->delivery[TIMELINE_C2S].lost, counted ? 10 : 0);
                CHECK(!counted || (c->n_outages >= 1 && c->outages[0].direction == TIMELINE_CLIENT_TO_SERVER &&
                                   c->outages[0].lost == 10));
        }
        timeline_free(&tl);
}

/* The copies of one message, in time order: found only within the margin. */
static void test_near(void)
{
        struct timeline_packet p[5] = {
                { .t_us = 100, .hs = 1, .ctr = 1, .type = MESSAGE_KEEPALIVE },
                { .t_us = 200, .hs = 1, .ctr = 2, .type = MESSAGE_KEEPALIVE },
                { .t_us = 300, .hs = 1, .ctr = 1, .type = MESSAGE_KEEPALIVE },
                { .t_us = 900, .hs = 1, .ctr = 1, .type = MESSAGE_KEEPALIVE },
                { .t_us = 950, .hs = 1, .ctr = 3, .type = MESSAGE_KEEPALIVE },
        };
        struct timeline_msgset m;

        CHECK_INT(timeline_msgset_make(&m, p, 5, false, TIMELINE_KEYS_ALL), 0);
        CHECK(timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 1, 150, 50));
        CHECK(timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 1, 350, 50));
        CHECK(!timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 1, 351, 50));
        CHECK(!timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 1, 600, 250));
        CHECK(timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 1, 600, 300));
        CHECK(timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 1, 1000, 100));
        CHECK(!timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 2, 300, 99));
        CHECK(timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 2, 300, 100));
        CHECK(!timeline_msgset_near(&m, MESSAGE_KEEPALIVE, 1, 4, 950, 1000));
        CHECK(!timeline_msgset_near(&m, MESSAGE_HANDSHAKE_INIT, 1, 1, 100, 1000));
        timeline_msgset_free(&m);
}

int main(void)
{
        test_near();
        test_replayed_late(2 * TIMELINE_DAY_US, true);
        test_replayed_late(TIMELINE_DAY_US / 2, false);
        test_both_logs_offset();
        test_log_lost(true);
        test_log_lost(false);
        test_default_timers();
        test_loss_is_not_outage();
        return check_finish("timeline-match");
}

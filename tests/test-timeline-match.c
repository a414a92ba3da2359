/* The reconstruction from both logs (report/timeline-match.c, with
 * timeline-clock.c and timeline-outages.c) on simulated logs: each fault
 * found with its direction and the truth inside its bounds, the clock
 * offset between the two logs and the timers learned, the NAT rebinding
 * (timeline-rebind.c), and single losses counted as loss, not outages. */
#include "timeline-sim.h"

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

int main(void)
{
        test_both_logs_offset();
        test_log_lost(true);
        test_log_lost(false);
        test_default_timers();
        test_loss_is_not_outage();
        return check_finish("timeline-match");
}

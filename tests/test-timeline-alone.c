/* The reconstruction from one log alone (report/timeline-client.c,
 * timeline-server.c) on simulated logs: what that log can show of each
 * fault (a client's log no direction, a server's the direction it can
 * tell), and nothing it cannot; keepalives lost counted from a server's
 * log as from both. */
#include "timeline-sim.h"

static void test_one_log(bool client)
{
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .offset = 3 * S, .end = 90 * S,
                         .faults = faults, .n_faults = 3, .rebind_at = 30 * S, .client_log = client,
                         .server_log = !client };
        const struct timeline_client *c;
        int64_t shift = client ? 0 : s.offset; /* a server log alone keeps its own clock */

        c = run(&s);
        if (!c)
                goto out;
        CHECK(c->client_log == client && c->server_log == !client);
        CHECK(!c->offset_known);
        CHECK_INT(c->n_outages, 3);
        for (size_t i = 0; i < 3; i++) {
                const struct timeline_outage *o = found(c, &faults[i], shift);

                if (!o)
                        continue;
                if (client)
                        CHECK(o->direction == TIMELINE_UNKNOWN);
                else
                        CHECK(o->direction == (faults[i].c2s ? TIMELINE_CLIENT_TO_SERVER : TIMELINE_SERVER_TO_CLIENT));
        }
        CHECK_INT(c->n_rebinds, client ? 0 : 1);
        CHECK(c->delivery[TIMELINE_C2S].known == !client);
        CHECK(!c->delivery[TIMELINE_S2C].known);
        CHECK(client ? c->rtt.count > 0 : c->rtt.count == 0);
out:
        timeline_free(&s.tl);
}

/* The last keepalives of a cycle lost, the next handshake heard: a server's
 * log alone counts them as both logs do (issue 22: they joined the
 * outcomes but not the count). */
static void test_keepalives_lost_before_handshake(void)
{
        /* the first cycle: its answer at 6 ms, keepalives 1..5 a second apart
         * from there, the next init 1 ms after keepalive 5; 3, 4 and 5 lost */
        static const struct fault f[] = { { 6000 + 1500000, 6000 + 4 * S + 500, true, false } };
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .end = 30 * S, .faults = f, .n_faults = 1 };

        for (int both = 0; both <= 1; both++) {
                const struct timeline_client *c;

                s.client_log = both;
                s.server_log = true;
                c = run(&s);
                if (c) {
                        CHECK(c->keepalives.known);
                        CHECK_INT(c->keepalives.lost, 3);
                        CHECK_INT(c->delivery[TIMELINE_C2S].lost, 3);
                }
                timeline_free(&s.tl);
        }
}

int main(void)
{
        test_one_log(true);
        test_one_log(false);
        test_keepalives_lost_before_handshake();
        return check_finish("timeline-alone");
}

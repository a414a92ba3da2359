/* The reconstruction from one log alone (report/timeline-client.c,
 * timeline-server.c) on simulated logs: what that log can show of each
 * fault (a client's log no direction, a server's the direction it can
 * tell), and nothing it cannot. */
#include "timeline-sim.h"

static void test_one_log(bool client)
{
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .offset = 3 * S, .end = 90 * S,
                         .faults = faults, .n_faults = 3, .rebind_at = 30 * S, .client_log = client,
                         .server_log = !client };
        const struct timeline_client *c;
        int64_t shift = client ? 0 : s.offset; /* a server log alone keeps its own clock */

        simulate(&s);
        finish(&s);
        c = home(&s);
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
        CHECK(client ? c->n_rtt > 0 : c->n_rtt == 0);
out:
        timeline_free(&s.tl);
}

int main(void)
{
        test_one_log(true);
        test_one_log(false);
        return check_finish("timeline-alone");
}

/* Feeding the timeline (report/timeline.c, timeline-roles.c): a log's
 * clock stepping back, the role of a log from what it holds, a trace's
 * lines left out, and hostile lines: no wrapped number, nothing inferred
 * past the bounds. */
#include "timeline-sim.h"

/* A client log whose clock steps back an hour (a DST change) in the middle. */
static void test_step_back(void)
{
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .end = 90 * S, .faults = faults,
                         .n_faults = 3, .client_log = true, .server_log = true, .step_back_at = 50 * S + 1000,
                         .step_back = 3600 * S };
        const struct timeline_client *c;

        c = run(&s);
        if (!c)
                goto out;
        CHECK_INT(s.tl.logs[0].steps_back, 1);
        CHECK(c->last_us >= c->first_us && c->last_us - c->first_us < 2 * 3600 * S);
        CHECK(c->rtt.count == 0 || (c->rtt.min_us >= 0 && c->rtt.max_us < 10 * S));
        for (size_t i = 0; i < c->n_outages; i++) {
                const struct timeline_outage *o = &c->outages[i];

                CHECK(o->end_us >= o->start_us && o->end_us - o->start_us < 3600 * S);
                CHECK(o->end_min_us >= o->start_max_us);
        }
        CHECK(timeline_availability(c) >= 0.0 && timeline_availability(c) <= 1.0);
out:
        timeline_free(&s.tl);
}

/* The role comes from what a log holds, whatever names its peer. */
static void test_roles(void)
{
        struct timeline tl;
        struct timeline_opts o = { 0 };
        struct logline l = { .kind = LOGLINE_RX, .peer_is_server = true, .t_us = (uint64_t)T0 };
        const struct timeline_client *c;

        timeline_init(&tl);
        /* a server's log whose lines name the peer like an old client's did */
        CHECK(message_init(&l.msg, MESSAGE_HANDSHAKE_INIT, "x", 1, 5, 0) == 0);
        CHECK(timeline_add(&tl, 0, &l) == 0);
        l.kind = LOGLINE_TX;
        l.msg.type = MESSAGE_HANDSHAKE_RESPONSE;
        CHECK(timeline_add(&tl, 0, &l) == 0);
        CHECK(timeline_finish(&tl, &o) == 0);
        c = timeline_find(&tl, "x", 1);
        CHECK(c && c->server_log && !c->client_log);
        CHECK(timeline_add(&tl, TIMELINE_MAX_LOGS, &l) == -E2BIG);
        timeline_free(&tl);
}

/* A trace's copies, sent and received, and its result line are not the
 * canary's flow: no client is made of them, as of probes. */
static void test_trace_skipped(void)
{
        struct timeline tl;
        struct timeline_opts o = { 0 };
        struct logline l = { .kind = LOGLINE_TX, .t_us = (uint64_t)T0 };
        const char *text = "Trace to 203.0.113.2:43210 after handshake 5: 1 *, 2 *, 3 *; no hop answered";

        timeline_init(&tl);
        CHECK(addr_from_string(&l.peer, "203.0.113.2", 43210) == 0);
        CHECK(message_init(&l.msg, MESSAGE_TRACE, "t", 1, 5, 1) == 0);
        CHECK(timeline_add(&tl, 0, &l) == 0);
        l.kind = LOGLINE_RX;
        l.msg.data[1] = 2;
        CHECK(timeline_add(&tl, 1, &l) == 0);
        CHECK(logline_parse_body(&l, text, strlen(text)) == 0);
        CHECK_INT(l.kind, LOGLINE_TRACE);
        CHECK(timeline_add(&tl, 0, &l) == 0);
        CHECK(timeline_finish(&tl, &o) == 0);
        CHECK(timeline_find(&tl, "t", 1) == NULL);
        CHECK_INT(tl.n_clients, 0);
        timeline_free(&tl);
}

/* Hostile lines: extreme stamps jumping back and forth, ids and counters
 * at the limits; nothing wraps, nothing is inferred past bounds. */
static void test_hostile(void)
{
        static const uint64_t stamps[] = { 0, 253402300799000000ULL, 1, 253402300799000000ULL / 2, 7 };
        static const uint64_t big[] = { 0, 1, INT64_MAX, (uint64_t)INT64_MAX - 1, 5, 1000001 };
        struct timeline tl;
        struct timeline_opts o = { 0 };

        timeline_init(&tl);
        for (unsigned i = 0; i < 400; i++) {
                struct logline l = { .kind = i % 3 ? LOGLINE_RX : LOGLINE_TX, .t_us = stamps[i % 5] };

                CHECK(addr_from_string(&l.peer, "192.0.2.1", (uint16_t)(i % 7)) == 0);
                CHECK(message_init(&l.msg, (enum message_type)(i % 3), "h", 1, big[i % 6], big[(i / 6) % 6]) == 0);
                CHECK(timeline_add(&tl, i % 2, &l) == 0);
        }
        CHECK(timeline_finish(&tl, &o) == 0);
        for (size_t i = 0; i < tl.n_clients; i++) {
                const struct timeline_client *c = tl.clients[i];

                CHECK(c->last_us >= c->first_us);
                CHECK(c->keepalive_us <= 86400ULL * S && c->handshake_timeout_us <= 86400ULL * S);
                for (size_t j = 0; j < c->n_outages; j++)
                        CHECK(c->outages[j].end_us >= c->outages[j].start_us &&
                              c->outages[j].lost <= 2 * 400);
                CHECK(c->rtt.count == 0 || c->rtt.min_us >= 0);
        }
        timeline_free(&tl);
}

int main(void)
{
        test_step_back();
        test_roles();
        test_trace_skipped();
        test_hostile();
        return check_finish("timeline");
}

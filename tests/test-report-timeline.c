/* The reconstruction (timeline.c) on synthetic logs in virtual time: a small
 * simulation of the protocol's schedule through a path with faults writes a
 * client's and a server's lines, and the timeline must find each fault, its
 * direction, the truth inside its bounds, the clock offset between the two
 * logs, the NAT rebinding, and nothing else; from each log alone, what that
 * log can show; and no wrapped number when a clock steps back. */
#include <errno.h>

#include "check.h"
#include "core/client.h"
#include "report/timeline.h"

#define S 1000000LL
#define T0 (1795600000LL * S)

struct fault {
        int64_t start, end; /* offsets from T0 */
        bool c2s, s2c;
};

struct sim {
        int64_t ki, ht, delay, offset, end;
        unsigned count;
        const struct fault *faults;
        size_t n_faults;
        int64_t rebind_at; /* the client's NAT port changes then; 0: never */
        bool client_log, server_log;
        int64_t step_back_at, step_back; /* the client's clock steps back */
        /* the server's output loses its lines in [blind_from, blind_to),
         * and says so (or not, when !blind_said) at its next line */
        int64_t blind_from, blind_to;
        bool blind_said, blind_told;
        struct timeline tl;
};

static bool dropped(const struct sim *s, int64_t t, bool c2s)
{
        for (size_t i = 0; i < s->n_faults; i++)
                if (t >= s->faults[i].start && t < s->faults[i].end && (c2s ? s->faults[i].c2s : s->faults[i].s2c))
                        return true;
        return false;
}

static void line(struct sim *s, unsigned log, int64_t t, bool tx, enum message_type type, uint64_t hs, uint64_t ctr)
{
        struct logline l = { .kind = tx ? LOGLINE_TX : LOGLINE_RX };
        int64_t when = T0 + t;

        if (log == 0) {
                if (!s->client_log)
                        return;
                if (s->step_back_at && t >= s->step_back_at)
                        when -= s->step_back;
                l.peer = (struct addr){ 0 };
                CHECK(addr_from_string(&l.peer, "203.0.113.9", 43210) == 0);
        } else {
                if (!s->server_log || (t >= s->blind_from && t < s->blind_to))
                        return;
                when += s->offset;
                if (s->blind_to && t >= s->blind_to && s->blind_said && !s->blind_told) {
                        struct logline lost = { .kind = LOGLINE_LINES_LOST, .t_us = (uint64_t)when, .dropped = 9 };

                        CHECK(timeline_add(&s->tl, log, &lost) == 0);
                        s->blind_told = true;
                }
                CHECK(addr_from_string(&l.peer, "198.51.100.7",
                                       s->rebind_at && t >= s->rebind_at ? 50001 : 40000) == 0);
        }
        l.t_us = (uint64_t)when;
        CHECK(message_init(&l.msg, type, "home", 4, hs, ctr) == 0);
        CHECK(timeline_add(&s->tl, log, &l) == 0);
}

/* A message from the client at t: logged sent, and received when it passes. */
static bool c2s(struct sim *s, int64_t t, enum message_type type, uint64_t hs, uint64_t ctr)
{
        line(s, 0, t, true, type, hs, ctr);
        if (dropped(s, t, true))
                return false;
        line(s, 1, t + s->delay, false, type, hs, ctr);
        return true;
}

/* The protocol's schedule (PROTOCOL.md) through the faulty path. */
static void simulate(struct sim *s)
{
        uint64_t hs = (uint64_t)(T0 / S);
        int64_t t = 0;

        timeline_init(&s->tl);
        while (t < s->end) {
                int64_t ans = t + 2 * s->delay;

                hs++;
                if (!c2s(s, t, MESSAGE_HANDSHAKE_INIT, hs, 0)) {
                        t += s->ht;
                        continue;
                }
                line(s, 1, t + s->delay, true, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                if (dropped(s, t + s->delay, false)) {
                        t += s->ht;
                        continue;
                }
                line(s, 0, ans, false, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                for (unsigned k = 1; k <= s->count; k++)
                        c2s(s, ans + (k - 1) * s->ki, MESSAGE_KEEPALIVE, hs, k);
                t = ans + (s->count - 1) * s->ki + 1000;
        }
}

static void finish(struct sim *s)
{
        struct timeline_opts o = { 0 };

        CHECK(timeline_finish(&s->tl, &o) == 0);
}

static const struct timeline_client *home(const struct sim *s)
{
        const struct timeline_client *c = timeline_find(&s->tl, "home", 4);

        CHECK(c != NULL);
        return c;
}

/* The one outage over the fault (times in the client's clock), its bounds
 * holding the truth. */
static const struct timeline_outage *found(const struct timeline_client *c, const struct fault *f, int64_t shift)
{
        const struct timeline_outage *hit = NULL;
        int64_t a = T0 + f->start + shift, b = T0 + f->end + shift;
        unsigned n = 0;

        for (size_t i = 0; c && i < c->n_outages; i++)
                if (c->outages[i].start_us < b && a < c->outages[i].end_us) {
                        hit = &c->outages[i];
                        n++;
                }
        CHECK_INT(n, 1);
        if (!hit)
                return NULL;
        CHECK(!hit->start_min_known || hit->start_min_us <= a);
        CHECK(a <= hit->start_max_us);
        CHECK(hit->end_min_us <= b);
        CHECK(!hit->end_max_known || b <= hit->end_max_us);
        return hit;
}

static void within(int64_t got, int64_t want, int64_t tol)
{
        CHECK(got - want <= tol && want - got <= tol);
}

static const struct fault faults[] = {
        { 20 * S, 24 * S, true, false },      /* to the server only */
        { 40 * S, 45 * S, false, true },      /* to the client only */
        { 60 * S, 64500000, true, true },     /* both */
};

static void test_both_logs_offset(void)
{
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .offset = 2 * 3600 * S + 13250000,
                         .end = 90 * S, .faults = faults, .n_faults = 3, .rebind_at = 30 * S,
                         .client_log = true, .server_log = true };
        const struct timeline_client *c;
        const struct timeline_outage *o;

        simulate(&s);
        finish(&s);
        c = home(&s);
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
        for (size_t i = 0; i < c->n_rtt; i++)
                within(c->rtt_us[i], 2 * s.delay, 1000);
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

        simulate(&s);
        finish(&s);
        c = home(&s);
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

        simulate(&s);
        finish(&s);
        c = home(&s);
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
        const struct timeline_client *c;
        size_t marked = 0;

        simulate(&s);
        finish(&s);
        c = home(&s);
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

/* A client log whose clock steps back an hour (a DST change) in the middle. */
static void test_step_back(void)
{
        struct sim s = { .ki = S, .ht = S, .count = 5, .delay = 3000, .end = 90 * S, .faults = faults,
                         .n_faults = 3, .client_log = true, .server_log = true, .step_back_at = 50 * S + 1000,
                         .step_back = 3600 * S };
        const struct timeline_client *c;

        simulate(&s);
        finish(&s);
        c = home(&s);
        if (!c)
                goto out;
        CHECK_INT(s.tl.logs[0].steps_back, 1);
        CHECK(c->last_us >= c->first_us && c->last_us - c->first_us < 2 * 3600 * S);
        for (size_t i = 0; i < c->n_rtt; i++)
                CHECK(c->rtt_us[i] >= 0 && c->rtt_us[i] < 10 * S);
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
                for (size_t j = 0; j < c->n_rtt; j++)
                        CHECK(c->rtt_us[j] >= 0);
        }
        timeline_free(&tl);
}

int main(void)
{
        test_both_logs_offset();
        test_log_lost(true);
        test_log_lost(false);
        test_default_timers();
        test_one_log(true);
        test_one_log(false);
        test_loss_is_not_outage();
        test_step_back();
        test_roles();
        test_hostile();
        return check_finish("report-timeline");
}

/* The trace's core in virtual time, beside the real client core: no trace
 * before two unanswered handshakes; TTL 1, 2, ... one at a time, each
 * answered or timed out after TRACE_HOP_TIMEOUT_US; the end after three
 * silent hops or at N; an ICMP error about another datagram, another
 * destination or quoting other bytes ignored; a late answer put on its own
 * hop; one trace per outage and per interval; none once answered; and the
 * line each trace leaves, read back as the report reads it. */
#include <errno.h>
#include <inttypes.h>

#include "core/client.h"
#include "core/logtext.h"
#include "core/trace.h"
#include "peer.h"
#include "report/logline.h"

#define S 1000000ULL
#define T0 (1000 * S)
#define UNIX0 1732673216ULL
#define RTT_US 5000 /* a router's answer, this long after the copy */

/* A path: the routers' addresses, and the first TTL whose copy is dropped
 * unanswered (a blackhole), with everything past it. */
struct path {
        const char *hop[TRACE_HOPS_MAX];
        unsigned dark_from; /* 0: every listed hop answers */
};

struct sim {
        struct client c;
        struct trace t;
        struct addr server;
        uint64_t now;
        unsigned sent[TRACE_HOPS_MAX * 4]; /* the TTLs, in order */
        uint64_t sent_at[TRACE_HOPS_MAX * 4];
        size_t n_sent;
        uint8_t packet[TRACE_HOPS_MAX][TRACE_HEAD_LEN + 8];
        bool answer_due;
        uint64_t answer_at;
        unsigned answer_ttl;
        size_t done; /* traces finished */
        struct logtext_trace last;
};

static struct seal_key key;

static void setup(struct sim *s, unsigned hops, uint64_t interval_us)
{
        struct client_config cfg = { .id = "home", .id_len = 4,
                                     .handshake_timeout_us = CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US,
                                     .keepalive_interval_us = CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US,
                                     .keepalive_count = CLIENT_DEFAULT_KEEPALIVE_COUNT };
        struct trace_config tc = { .hops = hops, .interval_us = interval_us };
        struct actions a;

        memset(s, 0, sizeof(*s));
        s->server = peer_addr("203.0.113.2", 43210);
        cfg.server = s->server;
        s->now = T0;
        client_start(&s->c, &cfg, s->now, UNIX0, &a);
        trace_init(&s->t, &tc);
}

/* Carries out what the trace asked: a copy "sent" (its first bytes made
 * up and handed back, as the shell does), its answer scheduled when the
 * path has a router there that answers. */
static void carry_out(struct sim *s, const struct path *p, const struct trace_actions *ta)
{
        if (ta->done) {
                s->done++;
                s->last = s->t.result;
        }
        if (!ta->send)
                return;
        CHECK_INT(ta->msg.type, MESSAGE_TRACE);
        CHECK_INT(ta->msg.data[0], s->c.handshake_id);
        CHECK_INT(ta->msg.data[1], ta->ttl);
        CHECK(addr_equal(&ta->to, &s->server));
        if (s->n_sent < sizeof(s->sent) / sizeof(s->sent[0])) {
                s->sent_at[s->n_sent] = s->now;
                s->sent[s->n_sent++] = ta->ttl;
        }
        randombytes_buf(s->packet[ta->ttl - 1], sizeof(s->packet[0]));
        trace_sent(&s->t, ta->ttl, s->packet[ta->ttl - 1], sizeof(s->packet[0]));
        s->answer_due = ta->ttl - 1 < TRACE_HOPS_MAX && p->hop[ta->ttl - 1] &&
                        (p->dark_from == 0 || ta->ttl < p->dark_from);
        s->answer_at = s->now + RTT_US;
        s->answer_ttl = ta->ttl;
}

static struct trace_icmp icmp_from(const struct sim *s, const char *router, unsigned ttl, size_t quote)
{
        struct trace_icmp in = { .dest = s->server, .time_exceeded = true, .quoted = s->packet[ttl - 1],
                                 .quoted_len = quote };

        in.offender = peer_addr(router, 0);
        return in;
}

/* Runs the client (never answered: the server is past the blackhole) and
 * the trace on their timers until `until`. */
static void run(struct sim *s, const struct path *p, uint64_t until)
{
        struct trace_actions ta;
        struct actions a;

        for (;;) {
                uint64_t next = s->c.next_wake_us, tw = s->t.running ? s->t.due_us : 0;

                if (tw && tw < next)
                        next = tw;
                if (s->answer_due && s->answer_at < next)
                        next = s->answer_at;
                if (next > until)
                        break;
                s->now = next;
                if (s->answer_due && s->answer_at == next) {
                        struct trace_icmp in = icmp_from(s, p->hop[s->answer_ttl - 1], s->answer_ttl, 0);

                        s->answer_due = false;
                        trace_answer(&s->t, s->now, &in, &ta);
                } else if (s->c.next_wake_us == next) {
                        client_timer(&s->c, s->now, &a);
                        trace_check(&s->t, &s->c, s->now, &ta);
                } else {
                        trace_timer(&s->t, s->now, &ta);
                }
                carry_out(s, p, &ta);
        }
}

/* The line a trace leaves, parsed back by the report's reader. */
static void check_line(const struct logtext_trace *t, const char *expect)
{
        char body[LOG_LINE_MAX];
        ssize_t n = logtext_format_trace(t, body, sizeof(body));
        struct logline l;

        CHECK(n > 0);
        if (n <= 0)
                return;
        CHECK_STR(body, expect);
        CHECK_INT(logline_parse_body(&l, body, (size_t)n), 0);
        CHECK_INT(l.kind, LOGLINE_TRACE);
        CHECK(addr_equal(&l.trace.to, &t->to));
        CHECK_INT(l.trace.handshake, t->handshake);
        CHECK_INT(l.trace.n_hops, t->n_hops);
        for (unsigned i = 0; i < t->n_hops; i++) {
                CHECK_INT(l.trace.hop[i].sa.sa_family, t->hop[i].sa.sa_family);
                CHECK(t->hop[i].sa.sa_family == AF_UNSPEC || addr_equal(&l.trace.hop[i], &t->hop[i]));
        }
        CHECK_INT(logtext_trace_last(&l.trace), logtext_trace_last(t));
}

/* A blackhole past the carrier NAT: hop 1 answers, 2, 3, 4 are silent. */
static void test_blackhole_after_nat(void)
{
        static struct sim s;
        struct path p = { .hop = { "100.64.0.1", "192.0.2.2", "203.0.113.1" }, .dark_from = 2 };
        uint64_t hs_at_trace;

        setup(&s, TRACE_DEFAULT_HOPS, TRACE_DEFAULT_INTERVAL_US);
        /* inits at 0, 5, 10 s: the one at 10 s follows the second unanswered */
        run(&s, &p, T0 + 2 * CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US - 1);
        CHECK_INT(s.n_sent, 0);
        run(&s, &p, T0 + 2 * CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US);
        CHECK_INT(s.n_sent, 1);
        hs_at_trace = s.c.handshake_id;
        CHECK_INT(hs_at_trace, UNIX0 + 3);
        run(&s, &p, T0 + 60 * S);
        CHECK_INT(s.done, 1);
        CHECK_INT(s.n_sent, 4); /* 1 answered, then three silent */
        for (size_t i = 0; i < s.n_sent && i < 4; i++)
                CHECK_INT(s.sent[i], i + 1);
        /* TTL 2 leaves as soon as TTL 1 is answered; each later one a hop timeout after */
        CHECK_INT(s.sent_at[1] - s.sent_at[0], RTT_US);
        CHECK_INT(s.sent_at[2] - s.sent_at[1], TRACE_HOP_TIMEOUT_US);
        CHECK_INT(s.sent_at[3] - s.sent_at[2], TRACE_HOP_TIMEOUT_US);
        CHECK_INT(s.last.n_hops, 4);
        CHECK_INT(logtext_trace_last(&s.last), 1);
        CHECK(logtext_shared_space(&s.last.hop[0]));
        check_line(&s.last, "Trace to 203.0.113.2:43210 after handshake 1732673219: 1 100.64.0.1, 2 *, 3 *, 4 *"
                            "; last hop that answered: 1 100.64.0.1, a carrier NAT (RFC 6598 shared address)");
        /* the outage goes on: no second trace in it */
        run(&s, &p, T0 + 600 * S);
        CHECK_INT(s.done, 1);
        CHECK_INT(s.n_sent, 4);
}

/* Every hop answers: the trace stops at N. A router's address outside
 * 100.64.0.0/10 is not called a carrier NAT. */
static void test_stops_at_n(void)
{
        static struct sim s;
        struct path p = { .hop = { "198.51.100.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5" } };

        setup(&s, 3, TRACE_DEFAULT_INTERVAL_US);
        run(&s, &p, T0 + 60 * S);
        CHECK_INT(s.done, 1);
        CHECK_INT(s.n_sent, 3);
        check_line(&s.last, "Trace to 203.0.113.2:43210 after handshake 1732673219: 1 198.51.100.1, 2 192.0.2.2, "
                            "3 192.0.2.3; last hop that answered: 3 192.0.2.3");
}

/* Nobody answers; 0 hops never traces. */
static void test_silent_and_off(void)
{
        static struct sim s;
        struct path p = { .hop = { "198.51.100.1" }, .dark_from = 1 };

        setup(&s, TRACE_DEFAULT_HOPS, TRACE_DEFAULT_INTERVAL_US);
        run(&s, &p, T0 + 60 * S);
        CHECK_INT(s.done, 1);
        CHECK_INT(s.n_sent, TRACE_SILENT_STOP);
        CHECK_INT(logtext_trace_last(&s.last), 0);
        check_line(&s.last, "Trace to 203.0.113.2:43210 after handshake 1732673219: 1 *, 2 *, 3 *; no hop answered");

        setup(&s, 0, TRACE_DEFAULT_INTERVAL_US);
        run(&s, &p, T0 + 600 * S);
        CHECK_INT(s.n_sent, 0);
        CHECK_INT(s.done, 0);
}

/* Errors that are not about this trace's copies change nothing; an answer
 * quoting an earlier copy's bytes lands on that hop; an error other than
 * time-exceeded ends the trace there. */
static void test_cross_checks(void)
{
        static struct sim s;
        struct path none = { .dark_from = 1 };
        struct trace_actions ta;
        struct trace_icmp in;
        uint8_t other[TRACE_HEAD_LEN];

        setup(&s, TRACE_DEFAULT_HOPS, TRACE_DEFAULT_INTERVAL_US);
        run(&s, &none, T0 + 2 * CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US);
        CHECK_INT(s.n_sent, 1);
        CHECK(s.t.running);

        in = icmp_from(&s, "198.51.100.1", 1, 0);
        in.dest = peer_addr("203.0.113.2", 43211); /* another port: another flow's */
        trace_answer(&s.t, s.now, &in, &ta);
        CHECK(!ta.send && !ta.done);
        CHECK_INT(s.t.result.hop[0].sa.sa_family, AF_UNSPEC);

        memset(other, 0xa5, sizeof(other));
        in = icmp_from(&s, "198.51.100.1", 1, sizeof(other));
        in.quoted = other; /* quotes bytes we never sent */
        trace_answer(&s.t, s.now, &in, &ta);
        CHECK(!ta.send && !ta.done);
        CHECK_INT(s.t.result.hop[0].sa.sa_family, AF_UNSPEC);

        in = icmp_from(&s, "198.51.100.1", 1, 8); /* 8 bytes of our copy: enough to match */
        trace_answer(&s.t, s.now + RTT_US, &in, &ta);
        CHECK(ta.send && ta.ttl == 2);
        s.now += RTT_US;
        carry_out(&s, &none, &ta);

        /* TTL 2 in flight: a late answer quoting TTL 1's copy is put on hop 1 */
        in = icmp_from(&s, "198.51.100.9", 1, TRACE_HEAD_LEN);
        trace_answer(&s.t, s.now + 1, &in, &ta);
        CHECK(!ta.send && !ta.done);
        CHECK(addr_equal(&s.t.result.hop[0], &in.offender));
        CHECK_INT(s.t.result.n_hops, 2);

        /* the server's host says its port is closed: the end of the path */
        in = icmp_from(&s, "203.0.113.2", 2, TRACE_HEAD_LEN);
        in.time_exceeded = false;
        trace_answer(&s.t, s.now + 2, &in, &ta);
        CHECK(ta.done && !ta.send);
        CHECK(!s.t.running);
        CHECK_INT(logtext_trace_last(&s.t.result), 2);
}

/* An answer ends the outage: a trace under way is dropped without a line.
 * The next outage within the interval gets none; one after it does. */
static void test_answered_and_interval(void)
{
        static struct sim s;
        struct path none = { .dark_from = 1 };
        const uint64_t interval = 120 * S;
        struct trace_actions ta;
        struct actions a;
        uint8_t pkt[512];
        size_t len;

        setup(&s, TRACE_DEFAULT_HOPS, interval);
        run(&s, &none, T0 + 2 * CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US);
        CHECK(s.t.running);
        len = peer_seal(&key, MESSAGE_HANDSHAKE_RESPONSE, "home", s.c.handshake_id, 0, pkt, sizeof(pkt));
        client_receive(&s.c, s.now + 10000, &s.server, peer_open(&key, pkt, len), &a);
        CHECK(s.c.connected);
        trace_check(&s.t, &s.c, s.now + 10000, &ta);
        CHECK(!s.t.running && !ta.done && !ta.send && ta.wake_us == 0);
        s.answer_due = false;

        /* a second outage (after the cycle's last keepalive, 116.5 s in)
         * within the interval: unanswered twice at 126.5 s, and no trace */
        run(&s, &none, T0 + 2 * CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US + interval - S);
        CHECK(!s.c.connected && s.c.waiting_inits > TRACE_AFTER_UNANSWERED);
        CHECK_INT(s.n_sent, 1);
        /* it goes on past the interval: its trace starts at the next init */
        run(&s, &none, T0 + 2 * CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US + interval + CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US);
        CHECK(s.n_sent >= 2);
        CHECK_INT(s.sent[1], 1); /* a new trace, from TTL 1 */
        CHECK(s.sent_at[1] - s.sent_at[0] >= interval);
        CHECK(s.sent_at[1] - s.sent_at[0] < interval + CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US + 1);
}

/* Lines that are not a trace's exact text are no trace. */
static void test_parse_refuses(void)
{
        static const char *const bad[] = {
                "Trace to 203.0.113.2:43210 after handshake 5: 1 *, 2 *; last hop that answered: 1 192.0.2.1",
                "Trace to 203.0.113.2:43210 after handshake 5: 1 192.0.2.1; no hop answered",
                "Trace to 203.0.113.2:43210 after handshake 5: 2 192.0.2.1; last hop that answered: 2 192.0.2.1",
                "Trace to 203.0.113.2:43210 after handshake 5: 1 100.64.0.1; last hop that answered: 1 100.64.0.1",
                "Trace to 203.0.113.2 after handshake 5: 1 *; no hop answered",
                "Trace to 203.0.113.2:43210 after handshake 5: 1 nowhere; no hop answered",
                "Trace to 203.0.113.2:43210 after handshake 5: 1 *; no hop answered!",
                "Trace to [2001:db8::1]:43210 after handshake 5: 1 2001:db8::9; last hop that answered: 1 2001:db8::8",
        };
        struct logtext_trace t;
        const char *good = "Trace to [2001:db8::1]:43210 after handshake 5: 1 2001:db8::9, 2 *, 3 *, 4 *"
                           "; last hop that answered: 1 2001:db8::9";

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                CHECK_INT(logtext_parse_trace(&t, bad[i], strlen(bad[i])), -EINVAL);
        CHECK_INT(logtext_parse_trace(&t, good, strlen(good)), 0);
        CHECK_INT(t.n_hops, 4);
        CHECK_INT(logtext_trace_last(&t), 1);
        check_line(&t, good);
}

int main(void)
{
        if (sodium_init() < 0)
                return 99;
        peer_key(&key);
        test_blackhole_after_nat();
        test_stops_at_n();
        test_silent_and_off();
        test_cross_checks();
        test_answered_and_interval();
        test_parse_refuses();
        return check_finish("trace");
}

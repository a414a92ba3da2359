/* The client's state machine in virtual time: exact send times and ids over
 * several answered cycles, retries while unanswered, and every kind of
 * answer that must be ignored. */
#include <inttypes.h>

#include "core/client.h"
#include "peer.h"

#define S 1000000ULL /* one second in microseconds */
#define T0 (1000 * S)
#define UNIX0 1732673216ULL

static struct seal_key key;
static struct client_config cfg;
static struct addr server;

static void setup(void)
{
        memset(&cfg, 0, sizeof(cfg));
        strcpy(cfg.id, "home");
        cfg.id_len = 4;
        server = peer_addr("192.0.2.1", 43210);
        cfg.server = server;
        cfg.handshake_timeout_us = CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        cfg.keepalive_interval_us = CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US;
        cfg.keepalive_count = CLIENT_DEFAULT_KEEPALIVE_COUNT;
}

/* One sent message as the test sees it. */
struct sent {
        uint64_t at;
        enum message_type type;
        uint64_t d0, d1;
};

static size_t record(const struct actions *a, uint64_t now, struct sent *log, size_t n)
{
        for (size_t i = 0; i < a->n_send; i++) {
                CHECK(addr_equal(&a->send[i].to, &server));
                CHECK_STR(a->send[i].msg.id, "home");
                log[n++] = (struct sent){ now, a->send[i].msg.type, a->send[i].msg.data[0],
                                          a->send[i].msg.data[1] };
        }
        CHECK_INT(peer_count(a, EVENT_TX), a->n_send);
        return n;
}

static void answer(struct client *c, uint64_t now, uint64_t id, struct actions *out)
{
        uint8_t pkt[512];
        size_t len = peer_seal(&key, MESSAGE_HANDSHAKE_RESPONSE, "home", id, 0, pkt, sizeof(pkt));

        client_receive(c, now, &server, peer_open(&key, pkt, len), out);
}

/* Three cycles, each answered after a round trip of rtt. The server answers
 * every init; everything runs on the timer the client asks for. */
static void test_answered_cycles(void)
{
        const uint64_t rtt = 30000, ka = CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US;
        struct sent log[64];
        struct actions a;
        struct client c;
        uint64_t now = T0, cycle_start;
        size_t n = 0;

        client_start(&c, &cfg, now, UNIX0, &a);
        n = record(&a, now, log, n);
        CHECK_INT(a.wake_us, T0 + 5 * S);
        for (unsigned cycle = 0; cycle < 3; cycle++) {
                cycle_start = now;
                now += rtt;
                answer(&c, now, c.handshake_id, &a);
                CHECK(c.connected);
                CHECK_INT(c.stats.last_rtt_us, rtt);
                n = record(&a, now, log, n);
                while (c.connected) {
                        now = a.wake_us;
                        client_timer(&c, now, &a);
                        n = record(&a, now, log, n);
                }
                /* answer at cycle start + rtt, then 4 intervals */
                CHECK_INT(now - cycle_start, rtt + 4 * ka);
        }

        /* expected: init(id k), ka 1..5 at t_answer + i*ka, then init(k+1) with ka 5 */
        CHECK_INT(n, 1 + 3 * 6);
        uint64_t t = T0;
        for (unsigned cycle = 0, i = 0; cycle < 3; cycle++) {
                uint64_t id = UNIX0 + 1 + cycle;

                CHECK_INT(log[i].type, MESSAGE_HANDSHAKE_INIT);
                CHECK_INT(log[i].d0, id);
                CHECK_INT(log[i].d1, 0);
                CHECK_INT(log[i].at, t);
                i++;
                t += rtt;
                for (unsigned k = 1; k <= 5; k++, i++) {
                        CHECK_INT(log[i].type, MESSAGE_KEEPALIVE);
                        CHECK_INT(log[i].d0, id);
                        CHECK_INT(log[i].d1, k);
                        CHECK_INT(log[i].at, t + (k - 1) * ka);
                }
                t += 4 * ka;
        }
        CHECK_INT(log[n - 1].type, MESSAGE_HANDSHAKE_INIT);
        CHECK_INT(log[n - 1].d0, UNIX0 + 4);
        CHECK_INT(log[n - 1].at, log[n - 2].at); /* at once after keepalive 5 */
}

/* Unanswered: an init every 5 s with rising ids, then an answer to the
 * latest connects; an answer to an older one does not. */
static void test_unanswered_retries(void)
{
        struct actions a;
        struct client c;
        uint64_t now = T0;

        client_start(&c, &cfg, now, UNIX0, &a);
        for (unsigned i = 1; i <= 10; i++) {
                CHECK_INT(a.wake_us, now + 5 * S);
                now = a.wake_us;
                client_timer(&c, now, &a);
                CHECK_INT(a.n_send, 1);
                CHECK_INT(a.send[0].msg.type, MESSAGE_HANDSHAKE_INIT);
                CHECK_INT(a.send[0].msg.data[0], UNIX0 + 1 + i);
                CHECK_INT(now, T0 + i * 5 * S);
        }
        /* a timer that fires early does nothing */
        client_timer(&c, now + 1, &a);
        CHECK_INT(a.n_send, 0);
        CHECK_INT(a.wake_us, now + 5 * S);

        answer(&c, now + 100, UNIX0 + 5, &a); /* late answer to an old init */
        CHECK(!c.connected);
        CHECK_INT(a.n_send, 0);
        CHECK_INT(peer_count(&a, EVENT_IGNORED), 1);
        CHECK_INT(a.events[1].why, EVENT_IGNORE_STALE);
        CHECK_INT(a.wake_us, now + 5 * S); /* schedule unchanged */

        answer(&c, now + 200, UNIX0 + 11, &a);
        CHECK(c.connected);
        CHECK_INT(a.n_send, 1);
        CHECK_INT(a.send[0].msg.type, MESSAGE_KEEPALIVE);
        CHECK_INT(a.send[0].msg.data[1], 1);
}

static void expect_ignored(struct client *c, const struct addr *from, enum message_type type,
                           const char *id, uint64_t d0, enum event_ignore why)
{
        uint8_t pkt[512];
        size_t len = peer_seal(&key, type, id, d0, 0, pkt, sizeof(pkt));
        struct actions a;
        bool was = c->connected;
        unsigned ka = c->keepalive;

        client_receive(c, T0 + 1, from, peer_open(&key, pkt, len), &a);
        CHECK_INT(a.n_send, 0);
        CHECK_INT(a.n_events, 2);
        CHECK_INT(a.events[0].kind, EVENT_RX);
        CHECK_INT(a.events[1].kind, EVENT_IGNORED);
        CHECK_INT(a.events[1].why, why);
        CHECK_INT(c->connected, was);
        CHECK_INT(c->keepalive, ka);
}

static void test_ignored(void)
{
        struct addr other = peer_addr("192.0.2.99", 43210), other_port = peer_addr("192.0.2.1", 4);
        struct actions a;
        struct client c;
        uint64_t id;

        client_start(&c, &cfg, T0, UNIX0, &a);
        id = c.handshake_id;
        /* its own init reflected back does not connect it (the original's weakness) */
        expect_ignored(&c, &server, MESSAGE_HANDSHAKE_INIT, "home", id, EVENT_IGNORE_NOT_RESPONSE);
        expect_ignored(&c, &server, MESSAGE_KEEPALIVE, "home", id, EVENT_IGNORE_NOT_RESPONSE);
        expect_ignored(&c, &server, MESSAGE_HANDSHAKE_RESPONSE, "hom", id, EVENT_IGNORE_FOREIGN_ID);
        expect_ignored(&c, &server, MESSAGE_HANDSHAKE_RESPONSE, "home2", id, EVENT_IGNORE_FOREIGN_ID);
        expect_ignored(&c, &other, MESSAGE_HANDSHAKE_RESPONSE, "home", id, EVENT_IGNORE_FOREIGN_ADDR);
        expect_ignored(&c, &other_port, MESSAGE_HANDSHAKE_RESPONSE, "home", id, EVENT_IGNORE_FOREIGN_ADDR);
        expect_ignored(&c, &server, MESSAGE_HANDSHAKE_RESPONSE, "home", id + 1, EVENT_IGNORE_STALE);
        CHECK(!c.connected);

        answer(&c, T0 + 2, id, &a);
        CHECK(c.connected);
        /* a second copy once connected: ignored, no extra keepalive */
        expect_ignored(&c, &server, MESSAGE_HANDSHAKE_RESPONSE, "home", id, EVENT_IGNORE_DUPLICATE);
        CHECK_INT(c.keepalive, 1);
}

/* Garbage is logged as invalid and changes nothing. */
static void test_invalid(void)
{
        uint8_t junk[200];
        struct actions a;
        struct client c;

        client_start(&c, &cfg, T0, UNIX0, &a);
        for (size_t len = 0; len < sizeof(junk); len += 7) {
                randombytes_buf(junk, len);
                client_receive(&c, T0 + 1, &server, peer_open(&key, junk, len), &a);
                CHECK_INT(a.n_events, 1);
                CHECK_INT(a.events[0].kind, EVENT_INVALID);
                CHECK(a.events[0].invalid == NULL);
                CHECK_INT(a.n_send, 0);
        }
        CHECK(!c.connected);
        CHECK_INT(c.stats.invalid, (sizeof(junk) + 6) / 7);
}

/* Custom timers and a keepalive count of 1: init, answer, ka 1, init at once. */
static void test_custom_timers(void)
{
        struct actions a;
        struct client c;

        cfg.handshake_timeout_us = 300000;
        cfg.keepalive_interval_us = 200000;
        cfg.keepalive_count = 1;
        client_start(&c, &cfg, T0, UNIX0, &a);
        CHECK_INT(a.wake_us, T0 + 300000);
        answer(&c, T0 + 10, UNIX0 + 1, &a);
        CHECK_INT(a.n_send, 2);
        CHECK_INT(a.send[0].msg.type, MESSAGE_KEEPALIVE);
        CHECK_INT(a.send[1].msg.type, MESSAGE_HANDSHAKE_INIT);
        CHECK_INT(a.send[1].msg.data[0], UNIX0 + 2);
        CHECK(!c.connected);
        CHECK_INT(a.wake_us, T0 + 10 + 300000);
        setup();
}

/* The STATUS= headline in each state. */
static void test_status(void)
{
        struct actions a;
        struct client c;
        char buf[256];
        uint64_t now = T0;

        client_start(&c, &cfg, now, UNIX0, &a);
        client_status(&c, now, buf, sizeof(buf));
        CHECK_STR(buf, "Handshaking: handshake 1732673217 sent");
        for (unsigned i = 0; i < 6; i++) {
                now = a.wake_us;
                client_timer(&c, now, &a);
        }
        client_status(&c, now + 2 * S, buf, sizeof(buf));
        CHECK_STR(buf, "No answer for 32.0 s: 7 handshakes unanswered, latest 1732673223");
        answer(&c, now + 2 * S + 45000, c.handshake_id, &a);
        client_status(&c, now + 3 * S, buf, sizeof(buf));
        CHECK_STR(buf, "Connected: handshake 1732673223 answered in 2045 ms, keepalive 1 of 5; outages: 1, the last 32.0 s");
        /* a new stretch starts at the next init */
        for (unsigned i = 0; i < 4; i++) {
                now = a.wake_us;
                client_timer(&c, now, &a);
        }
        client_status(&c, now, buf, sizeof(buf));
        CHECK_STR(buf, "Handshaking: handshake 1732673224 sent; outages: 1, the last 32.0 s");
}

/* An outage, as the client sees it: each retry says the last init went
 * unanswered; the first retry starts the outage; the answer ends it with its
 * length, measured from the first unanswered init. A late answer to an old
 * init is named as such. */
static void test_outage_events(void)
{
        struct actions a;
        struct client c;
        uint64_t now = T0, start = T0;

        client_start(&c, &cfg, now, UNIX0, &a);
        CHECK_INT(peer_count(&a, EVENT_UNANSWERED), 0);
        CHECK_INT(client_outage_us(&c, now + 4 * S), 0); /* one init unanswered is no outage yet */
        now += 5 * S;
        client_timer(&c, now, &a);
        CHECK_INT(peer_count(&a, EVENT_UNANSWERED), 1);
        CHECK_INT(peer_count(&a, EVENT_OUTAGE_START), 1);
        CHECK_INT(client_outage_us(&c, now), 5 * S); /* under way: counted from the first init */
        CHECK_INT(a.events[0].expected, UNIX0 + 1);
        CHECK_INT(a.events[0].duration_us, 5 * S);
        CHECK_INT(a.events[1].duration_us, 5 * S);
        for (unsigned i = 0; i < 3; i++) {
                now += 5 * S;
                client_timer(&c, now, &a);
                CHECK_INT(peer_count(&a, EVENT_UNANSWERED), 1);
                CHECK_INT(peer_count(&a, EVENT_OUTAGE_START), 0); /* one start per outage */
        }
        answer(&c, now + 1 * S, UNIX0 + 2, &a); /* late: an older init */
        CHECK_INT(a.events[1].kind, EVENT_IGNORED);
        CHECK_INT(a.events[1].why, EVENT_IGNORE_STALE);
        answer(&c, now + 2 * S, c.handshake_id, &a);
        CHECK(c.connected);
        CHECK_INT(peer_count(&a, EVENT_OUTAGE_END), 1);
        CHECK_INT(a.events[0].kind, EVENT_RX);
        CHECK_INT(a.events[0].rtt_us, 2 * S);
        CHECK_INT(a.events[1].kind, EVENT_OUTAGE_END);
        CHECK_INT(a.events[1].duration_us, now + 2 * S - start); /* 22 s: from the first init */
        CHECK_INT(a.events[1].rtt_us, 2 * S);
        CHECK_INT(client_outage_us(&c, now + 60 * S), 22 * S); /* ended: it stays as it was */

        /* an ordinary cycle afterwards has no outage */
        while (c.connected) {
                now = a.wake_us;
                client_timer(&c, now, &a);
        }
        answer(&c, now + 30000, c.handshake_id, &a);
        CHECK_INT(peer_count(&a, EVENT_OUTAGE_END), 0);
        CHECK_INT(a.events[0].rtt_us, 30000);
        CHECK_INT(c.stats.outages, 1);
        CHECK_INT(client_outage_us(&c, now + S), 22 * S);
}

/* Runs the timer of an unanswered client until it asks for a lookup;
 * returns when, or 0 if it did not within twice the bound. */
static uint64_t until_reresolve(struct client *c, struct actions *a)
{
        for (unsigned i = 0; i < 2 * CLIENT_RERESOLVE_UNANSWERED; i++) {
                uint64_t now = a->wake_us;

                client_timer(c, now, a);
                if (a->reresolve)
                        return now;
        }
        return 0;
}

/* Unanswered handshakes ask for a new lookup after exactly
 * CLIENT_RERESOLVE_UNANSWERED of them (135 s at the default timeout), and
 * again after as many more; never while answered. */
static void test_reresolve(void)
{
        const uint64_t bound = CLIENT_RERESOLVE_UNANSWERED * CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        struct actions a;
        struct client c;
        uint64_t now = T0;
        unsigned asked = 0;

        CHECK_INT(bound, 135 * S); /* WireGuard's reresolve-dns bound at the defaults */
        client_start(&c, &cfg, now, UNIX0, &a);
        CHECK(!a.reresolve);
        while (now < T0 + 3 * bound) {
                now = a.wake_us;
                client_timer(&c, now, &a);
                CHECK_INT(a.n_send, 1);
                if (a.reresolve) {
                        asked++;
                        CHECK_INT(now, T0 + asked * bound);
                }
        }
        CHECK_INT(asked, 3);

        /* an answer ends the count; a connected client never asks */
        answer(&c, now + 1000, c.handshake_id, &a);
        CHECK(!a.reresolve);
        for (unsigned i = 0; i < 10 * CLIENT_RERESOLVE_UNANSWERED; i++) {
                if (!c.connected)
                        answer(&c, now + 1000, c.handshake_id, &a);
                now = a.wake_us;
                client_timer(&c, now, &a);
                CHECK(!a.reresolve);
        }

        /* the next silence counts from its own first unanswered init */
        while (c.connected) {
                now = a.wake_us;
                client_timer(&c, now, &a);
        }
        CHECK_INT(until_reresolve(&c, &a), now + bound);
}

/* A new address: an init to it at once with the next id; answers from the
 * old one are ignored; an outage goes on through the move, without an
 * unanswered init counted for it, and the lookup count starts again. */
static void test_move(void)
{
        const uint64_t timeout = CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        struct addr moved = peer_addr("2001:db8::1", 43210), old = server;
        struct actions a;
        struct client c;
        uint64_t now = T0, id;

        client_start(&c, &cfg, now, UNIX0, &a);
        answer(&c, now + 1000, c.handshake_id, &a);
        CHECK(c.connected);
        now += 2 * S;
        id = c.handshake_id;
        client_move(&c, &moved, now, &a);
        CHECK(!c.connected);
        CHECK_INT(a.n_send, 1);
        CHECK(addr_equal(&a.send[0].to, &moved));
        CHECK_INT(a.send[0].msg.type, MESSAGE_HANDSHAKE_INIT);
        CHECK_INT(a.send[0].msg.data[0], id + 1);
        CHECK_INT(peer_count(&a, EVENT_UNANSWERED), 0);
        CHECK_INT(a.wake_us, now + timeout);
        CHECK_INT(c.waiting_inits, 1); /* a fresh stretch: no outage */

        /* the old address's answer is foreign now; the new one's counts */
        expect_ignored(&c, &old, MESSAGE_HANDSHAKE_RESPONSE, "home", id + 1, EVENT_IGNORE_FOREIGN_ADDR);
        server = moved;
        answer(&c, now + 1000, id + 1, &a);
        CHECK(c.connected);
        server = old;

        /* in an outage: it goes on, and the count of unanswered inits
         * towards the next lookup starts again at the move */
        while (c.connected) {
                now = a.wake_us;
                client_timer(&c, now, &a);
        }
        for (unsigned i = 0; i < 3; i++) {
                now = a.wake_us;
                client_timer(&c, now, &a);
        }
        uint64_t outage = client_outage_us(&c, now), stats_unanswered = c.stats.unanswered;

        CHECK(outage > 0);
        now += S;
        client_move(&c, &old, now, &a);
        CHECK_INT(peer_count(&a, EVENT_UNANSWERED), 0);
        CHECK_INT(peer_count(&a, EVENT_OUTAGE_START), 0);
        CHECK_INT(c.stats.unanswered, stats_unanswered);
        CHECK_INT(client_outage_us(&c, now), outage + S);
        CHECK_INT(until_reresolve(&c, &a), now + CLIENT_RERESOLVE_UNANSWERED * timeout);
}

int main(void)
{
        if (sodium_init() < 0)
                return 99;
        peer_key(&key);
        setup();
        test_answered_cycles();
        test_unanswered_retries();
        test_ignored();
        test_invalid();
        test_custom_timers();
        test_status();
        test_outage_events();
        test_reresolve();
        test_move();
        return check_finish("client");
}

/* The server's state machine: the replay rule per client id, answers going
 * to where the init came from, many clients at once with ids of every
 * allowed form, nothing but inits answered, a bounded table. */
#include "peer.h"
#include "core/server.h"

static struct seal_key key;

static const struct server_config *limits(size_t max)
{
        static struct server_config c;

        c = (struct server_config){ .max_clients = max, .keepalive_interval_us = 26625000, .keepalive_count = 5 };
        return &c;
}

static void deliver(struct server *s, const struct addr *from, enum message_type type,
                    const char *id, uint64_t d0, uint64_t d1, struct actions *out)
{
        uint8_t pkt[4096];
        size_t len = peer_seal(&key, type, id, d0, d1, pkt, sizeof(pkt));

        server_receive(s, 1000, 0, from, peer_open(&key, pkt, len), out);
}

static void test_replay_rule(void)
{
        struct addr a = peer_addr("198.51.100.7", 40000), b = peer_addr("198.51.100.8", 50000);
        struct actions out;
        struct server s;

        CHECK_INT(server_init(&s, limits(16)), 0);
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 100, 0, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_INT(out.send[0].msg.type, MESSAGE_HANDSHAKE_RESPONSE);
        CHECK_INT(out.send[0].msg.data[0], 100);
        CHECK_STR(out.send[0].msg.id, "home");
        CHECK(addr_equal(&out.send[0].to, &a));
        CHECK_INT(out.n_events, 2);
        CHECK_INT(out.events[0].kind, EVENT_RX);
        CHECK_INT(out.events[1].kind, EVENT_TX);

        /* the same id again, and a lower one: replays, not answered */
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 100, 0, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(peer_count(&out, EVENT_REPLAY), 1);
        CHECK_INT(out.events[1].expected, 100);
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 7, 0, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(s.stats.replays, 2);

        /* a higher one from a new address (NAT rebinding): answered there */
        deliver(&s, &b, MESSAGE_HANDSHAKE_INIT, "home", 101, 0, &out);
        CHECK_INT(out.n_send, 1);
        CHECK(addr_equal(&out.send[0].to, &b));

        /* a response echoes the init unchanged but for type, data[1] too */
        deliver(&s, &b, MESSAGE_HANDSHAKE_INIT, "home", 150, 9, &out);
        CHECK_INT(out.send[0].msg.data[1], 9);

        /* ids start at 0 per client: 0 itself is never answered */
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "zero", 0, 0, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(peer_count(&out, EVENT_REPLAY), 1);
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "zero", 1, 0, &out);
        CHECK_INT(out.n_send, 1);
        server_free(&s);
}

static void test_not_answered(void)
{
        struct addr a = peer_addr("198.51.100.7", 40000);
        struct actions out;
        struct server s;

        CHECK_INT(server_init(&s, limits(16)), 0);
        for (unsigned k = 1; k <= 5; k++) {
                deliver(&s, &a, MESSAGE_KEEPALIVE, "home", 100, k, &out);
                CHECK_INT(out.n_send, 0);
                CHECK_INT(out.n_events, 1);
                CHECK_INT(out.events[0].kind, EVENT_RX);
        }
        deliver(&s, &a, MESSAGE_HANDSHAKE_RESPONSE, "home", 100, 0, &out);
        CHECK_INT(out.n_send, 0);
        /* keepalives do not raise the highest id: an init with it is answered */
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 100, 0, &out);
        CHECK_INT(out.n_send, 1);

        /* junk, and a packet sealed with another key */
        uint8_t junk[100] = { 0 };
        server_receive(&s, 1, 0, &a, peer_open(&key, junk, sizeof(junk)), &out);
        CHECK_INT(out.n_events, 1);
        CHECK_INT(out.events[0].kind, EVENT_INVALID);
        CHECK_INT(s.stats.invalid, 1);
        CHECK_INT(s.peers.count, 1); /* unauthenticated input made no entry */
        server_free(&s);
}

/* A client's trace copies, from its own address, a new one, or with an
 * id already answered: logged as received, and nothing else (no answer,
 * no replay, no rebinding, no table entry, not invalid). */
static void test_trace_ignored(void)
{
        struct addr a = peer_addr("198.51.100.7", 40000), b = peer_addr("198.51.100.8", 50000);
        struct actions out;
        struct server s;

        CHECK_INT(server_init(&s, limits(16)), 0);
        deliver(&s, &a, MESSAGE_TRACE, "stranger", 5, 3, &out);
        CHECK_INT(out.n_events, 1);
        CHECK_INT(out.events[0].kind, EVENT_RX);
        CHECK_INT(out.events[0].msg.type, MESSAGE_TRACE);
        CHECK_INT(s.peers.count, 0);
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 100, 0, &out);
        for (unsigned ttl = 1; ttl <= 3; ttl++) {
                deliver(&s, ttl == 2 ? &b : &a, MESSAGE_TRACE, "home", ttl == 3 ? 99 : 100, ttl, &out);
                CHECK_INT(out.n_send, 0);
                CHECK_INT(out.n_events, 1);
                CHECK_INT(out.events[0].kind, EVENT_RX);
        }
        CHECK_INT(s.stats.replays + s.stats.rebinds + s.stats.invalid + s.stats.refused, 0);
        CHECK_INT(s.peers.count, 1);
        CHECK_INT(s.stats.rx_type[MESSAGE_TRACE], 4);
        /* the client's next init is answered as if no trace had come */
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 101, 0, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_INT(peer_count(&out, EVENT_NAT_REBIND), 0);
        server_free(&s);
}

/* Several clients interleaved, with awkward ids: each has its own counter. */
static void test_many_clients(void)
{
        static const char *const ids[] = {
                "home", "", "caf\xc3\xa9", "emoji-\xf0\x9f\x98\x80", "tab\tnl\n", "ctl\x01\x1f",
                "quote'and\"dq", "back\\slash", "\xe2\x80\xa8sep", "del\x7f/slash",
        };
        enum { N = sizeof(ids) / sizeof(ids[0]) };
        char long_id[MESSAGE_ID_MAX + 1];
        struct actions out;
        struct server s;

        CHECK_INT(server_init(&s, limits(1000)), 0);
        for (uint64_t round = 1; round <= 5; round++) {
                for (size_t i = 0; i < N; i++) {
                        struct addr from = peer_addr("203.0.113.5", (uint16_t)(1000 + i));

                        deliver(&s, &from, MESSAGE_HANDSHAKE_INIT, ids[i], 5000 + round, 0, &out);
                        CHECK_INT(out.n_send, 1);
                        CHECK_INT(out.send[0].msg.id_len, strlen(ids[i]));
                        CHECK(memcmp(out.send[0].msg.id, ids[i], strlen(ids[i])) == 0);
                        CHECK_INT(addr_port(&out.send[0].to), 1000 + i);
                }
        }
        CHECK_INT(s.peers.count, N);

        memset(long_id, 'x', MESSAGE_ID_MAX);
        long_id[MESSAGE_ID_MAX] = '\0';
        deliver(&s, &out.send[0].to, MESSAGE_HANDSHAKE_INIT, long_id, 1, 0, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_INT(s.peers.count, N + 1);
        server_free(&s);
}

/* A full table forgets the client heard from least recently, and says so. */
static void test_full_table(void)
{
        struct addr a = peer_addr("198.51.100.7", 40000);
        struct actions out;
        struct server s;
        char id[16];

        CHECK_INT(server_init(&s, limits(100)), 0);
        for (unsigned i = 0; i < 100; i++) {
                snprintf(id, sizeof(id), "c%u", i);
                deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, id, 10, 0, &out);
                CHECK_INT(out.n_send, 1);
        }
        /* c0 speaks again: now c1 is the oldest */
        deliver(&s, &a, MESSAGE_KEEPALIVE, "c0", 10, 1, &out);
        for (unsigned i = 100; i < 300; i++) {
                snprintf(id, sizeof(id), "c%u", i);
                deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, id, 10, 0, &out);
                CHECK_INT(out.n_send, 1);
                CHECK_INT(peer_count(&out, EVENT_EVICTED), 1);
                CHECK_INT(s.peers.count, 100);
        }
        CHECK_INT(s.stats.evicted, 200);
        CHECK(peers_find(&s.peers, "c0", 2) == NULL); /* evicted after c1..c99 in turn */
        CHECK(peers_find(&s.peers, "c1", 2) == NULL);
        CHECK(peers_find(&s.peers, "c299", 4) != NULL);
        CHECK(peers_find(&s.peers, "c200", 4) != NULL);
        CHECK(peers_find(&s.peers, "c199", 4) == NULL);
        /* every survivor is still found after all the removals */
        for (unsigned i = 200; i < 300; i++) {
                snprintf(id, sizeof(id), "c%u", i);
                CHECK(peers_find(&s.peers, id, strlen(id)) != NULL);
        }
        /* a forgotten client's replay is answered again: the price of eviction */
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "c1", 10, 0, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_STR(out.events[1].msg.id, "c200");
        server_free(&s);
}

static void test_status(void)
{
        struct addr a = peer_addr("198.51.100.7", 40000);
        struct actions out;
        struct server s;
        char buf[256];

        CHECK_INT(server_init(&s, limits(16)), 0);
        server_status(&s, buf, sizeof(buf));
        CHECK_STR(buf, "0 clients; 0 in, 0 out, 0 invalid, 0 replays");
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 5, 0, &out);
        deliver(&s, &a, MESSAGE_HANDSHAKE_INIT, "home", 5, 0, &out);
        server_receive(&s, 1, 0, &a, peer_open(&key, (const uint8_t *)"x", 1), &out);
        server_status(&s, buf, sizeof(buf));
        CHECK_STR(buf, "1 client; 2 in, 1 out, 1 invalid, 1 replays; last from 'home' at 198.51.100.7:40000");
        server_free(&s);
}

static void deliver_at(struct server *s, uint64_t now, const struct addr *from, enum message_type type,
                       const char *id, uint64_t d0, uint64_t d1, struct actions *out)
{
        uint8_t pkt[4096];
        size_t len = peer_seal(&key, type, id, d0, d1, pkt, sizeof(pkt));

        server_receive(s, now, 0, from, peer_open(&key, pkt, len), out);
}

static const struct core_event *find(const struct actions *a, enum event_kind kind)
{
        for (size_t i = 0; i < a->n_events; i++)
                if (a->events[i].kind == kind)
                        return &a->events[i];
        return NULL;
}

/* A server restarted in the middle of a handshake hears its keepalives
 * from the third on: the first two were not lost on the network, nobody
 * listened. What goes missing after the first it hears is lost. */
static void test_loss_after_restart(void)
{
        struct addr a = peer_addr("203.0.113.9", 4500);
        const struct core_event *ev;
        struct actions out;
        struct server s;
        uint64_t now = 1000000;

        CHECK_INT(server_init(&s, limits(16)), 0);
        deliver_at(&s, now, &a, MESSAGE_KEEPALIVE, "home", 500, 3, &out);
        CHECK(find(&out, EVENT_LOSS) == NULL);
        deliver_at(&s, now += 1000, &a, MESSAGE_KEEPALIVE, "home", 500, 5, &out);
        ev = find(&out, EVENT_LOSS);
        CHECK(ev && ev->lost == 1 && ev->expected == 500);
        /* the next handshake, answered here: counted from its start */
        deliver_at(&s, now += 1000, &a, MESSAGE_HANDSHAKE_INIT, "home", 501, 0, &out);
        CHECK(find(&out, EVENT_LOSS) == NULL);
        deliver_at(&s, now += 1000, &a, MESSAGE_KEEPALIVE, "home", 501, 2, &out);
        ev = find(&out, EVENT_LOSS);
        CHECK(ev && ev->lost == 1 && ev->expected == 501);
        CHECK_INT(s.stats.lost, 2);
        server_free(&s);
}

/* What the server reads from a client's traffic: a new address, missing and
 * repeated keepalives (also those missing at a handshake's end), silence
 * and return, all in virtual time. */
static void test_detection(void)
{
        const uint64_t S = 1000000, KA = 26625000;
        struct addr a = peer_addr("203.0.113.9", 4500), b = peer_addr("203.0.113.9", 61000);
        const struct core_event *ev;
        struct actions out;
        struct server s;
        uint64_t now = 1000 * S;

        CHECK_INT(server_init(&s, limits(16)), 0);
        deliver_at(&s, now, &a, MESSAGE_HANDSHAKE_INIT, "home", 100, 0, &out);
        deliver_at(&s, now, &a, MESSAGE_KEEPALIVE, "home", 100, 1, &out);
        CHECK_INT(out.n_events, 1);
        /* 2 and 3 lost */
        deliver_at(&s, now += KA, &a, MESSAGE_KEEPALIVE, "home", 100, 4, &out);
        ev = find(&out, EVENT_LOSS);
        CHECK(ev && ev->lost == 2 && ev->expected == 100);
        /* 4 again: a duplicate */
        deliver_at(&s, now += 1000, &a, MESSAGE_KEEPALIVE, "home", 100, 4, &out);
        CHECK(find(&out, EVENT_DUPLICATE) != NULL);
        CHECK(find(&out, EVENT_LOSS) == NULL);
        /* the next handshake: keepalive 5 never came */
        deliver_at(&s, now += KA, &a, MESSAGE_HANDSHAKE_INIT, "home", 101, 0, &out);
        ev = find(&out, EVENT_LOSS);
        CHECK(ev && ev->lost == 1 && ev->expected == 100);
        CHECK_INT(s.stats.lost, 3);
        CHECK_INT(s.stats.duplicates, 1);
        /* a complete handshake loses nothing */
        for (unsigned k = 1; k <= 5; k++) {
                deliver_at(&s, now += 1000, &a, MESSAGE_KEEPALIVE, "home", 101, k, &out);
                CHECK(find(&out, EVENT_LOSS) == NULL && find(&out, EVENT_DUPLICATE) == NULL);
        }
        deliver_at(&s, now += 1000, &a, MESSAGE_HANDSHAKE_INIT, "home", 102, 0, &out);
        CHECK(find(&out, EVENT_LOSS) == NULL);
        CHECK_INT(s.stats.lost, 3);

        /* the NAT re-maps the flow */
        deliver_at(&s, now += 1000, &b, MESSAGE_KEEPALIVE, "home", 102, 1, &out);
        ev = find(&out, EVENT_NAT_REBIND);
        CHECK(ev && addr_equal(&ev->old_peer, &a) && addr_equal(&ev->peer, &b));
        CHECK_INT(s.stats.rebinds, 1);
        deliver_at(&s, now += 1000, &b, MESSAGE_KEEPALIVE, "home", 102, 2, &out);
        CHECK(find(&out, EVENT_NAT_REBIND) == NULL);

        /* silence after two keepalive intervals, then the return */
        server_timer(&s, now + 1000, &out);
        CHECK_INT(out.n_events, 0);
        CHECK_INT(out.wake_us, now + 2 * KA);
        server_timer(&s, now + 2 * KA, &out);
        ev = find(&out, EVENT_SILENT);
        CHECK(ev && ev->duration_us == 2 * KA && ev->msg.data[1] == 2);
        server_timer(&s, now + 3 * KA, &out);
        CHECK(find(&out, EVENT_SILENT) == NULL); /* said once */
        deliver_at(&s, now + 10 * KA, &b, MESSAGE_HANDSHAKE_INIT, "home", 103, 0, &out);
        ev = find(&out, EVENT_BACK);
        CHECK(ev && ev->duration_us == 10 * KA);
        server_free(&s);
}

/* A captured message sent again from the attacker's own address: an init
 * not above the highest, a keepalive counter already seen, a keepalive of
 * an older handshake, a response sent back. Each is logged and counted,
 * and changes nothing else: no rebinding to the attacker, no return of a
 * client that is gone, no new last-seen time, no new address. */
static void test_replay_changes_nothing(void)
{
        const uint64_t S = 1000000, KA = 26625000;
        struct addr home = peer_addr("203.0.113.9", 4500), evil = peer_addr("192.0.2.66", 6666);
        struct actions out;
        struct server s;
        struct peer *p;
        uint64_t now = 1000 * S, seen;
        char status[256];

        CHECK_INT(server_init(&s, limits(16)), 0);
        deliver_at(&s, now, &home, MESSAGE_HANDSHAKE_INIT, "home", 100, 0, &out);
        deliver_at(&s, now, &home, MESSAGE_KEEPALIVE, "home", 100, 1, &out);
        deliver_at(&s, now, &home, MESSAGE_KEEPALIVE, "home", 100, 2, &out);
        deliver_at(&s, now += 1000, &home, MESSAGE_HANDSHAKE_INIT, "home", 101, 0, &out);
        deliver_at(&s, now, &home, MESSAGE_KEEPALIVE, "home", 101, 1, &out);
        seen = now;
        /* the client goes away */
        server_timer(&s, now + 2 * KA, &out);
        CHECK(find(&out, EVENT_SILENT) != NULL);
        now += 10 * KA;

        deliver_at(&s, now, &evil, MESSAGE_HANDSHAKE_INIT, "home", 101, 0, &out);
        CHECK_INT(out.n_events, 2);
        CHECK(find(&out, EVENT_RX) && find(&out, EVENT_REPLAY));
        CHECK_INT(out.n_send, 0);
        deliver_at(&s, now, &evil, MESSAGE_HANDSHAKE_INIT, "home", 7, 0, &out);
        CHECK_INT(out.n_events, 2);
        CHECK(find(&out, EVENT_REPLAY) != NULL);
        deliver_at(&s, now, &evil, MESSAGE_KEEPALIVE, "home", 101, 1, &out);
        CHECK_INT(out.n_events, 2);
        CHECK(find(&out, EVENT_DUPLICATE) != NULL);
        deliver_at(&s, now, &evil, MESSAGE_KEEPALIVE, "home", 100, 2, &out);
        CHECK_INT(out.n_events, 1); /* a straggler: its RX line alone */
        deliver_at(&s, now, &evil, MESSAGE_HANDSHAKE_RESPONSE, "home", 101, 0, &out);
        CHECK_INT(out.n_events, 1);
        CHECK_INT(s.stats.replays, 2);
        CHECK_INT(s.stats.duplicates, 1);
        CHECK_INT(s.stats.rebinds, 0);

        p = peers_find(&s.peers, "home", 4);
        CHECK(p != NULL);
        CHECK(p && p->silent);
        CHECK(p && p->last_seen_us == seen);
        CHECK(p && addr_equal(&p->addr, &home));
        CHECK(p && p->rx == 5 && p->rebinds == 0 && p->highest_init == 101);
        CHECK(p && p->ka_handshake == 101 && p->ka_last == 1);
        CHECK(p && p->replays == 2 && p->duplicates == 1);
        server_status(&s, status, sizeof(status));
        CHECK(strstr(status, "203.0.113.9:4500") && !strstr(status, "192.0.2.66"));

        /* an unknown id replaying handshake 0 leaves no entry behind */
        deliver_at(&s, now, &evil, MESSAGE_HANDSHAKE_INIT, "ghost", 0, 0, &out);
        CHECK(find(&out, EVENT_REPLAY) != NULL);
        CHECK_INT(s.peers.count, 1);

        /* the real client's next keepalive: back, at its own address */
        deliver_at(&s, now, &home, MESSAGE_KEEPALIVE, "home", 101, 2, &out);
        CHECK(find(&out, EVENT_BACK) != NULL);
        CHECK(find(&out, EVENT_NAT_REBIND) == NULL);
        server_free(&s);
}

/* An authenticated client's wild values: a handshake id far beyond the
 * clock is refused and not remembered (2^63-1 would lock the id out for
 * good), a keepalive counter above the count is refused and not read as
 * billions of lost keepalives. */
static void test_bounds(void)
{
        const uint64_t T = 1732673217, MAX = 9223372036854775807ull;
        struct addr a = peer_addr("203.0.113.9", 4500);
        const struct core_event *ev;
        struct actions out;
        struct server s;
        uint8_t pkt[4096];
        size_t len;

        CHECK_INT(server_init(&s, limits(16)), 0);
#define AT(type, d0, d1)                                                                   \
        (len = peer_seal(&key, type, "home", d0, d1, pkt, sizeof(pkt)),                    \
         server_receive(&s, 1000, T, &a, peer_open(&key, pkt, len), &out))
        AT(MESSAGE_HANDSHAKE_INIT, MAX, 0);
        ev = find(&out, EVENT_REFUSED);
        CHECK(ev && ev->refused == EVENT_REFUSE_AHEAD && ev->expected == T + SERVER_HANDSHAKE_AHEAD_MAX_S);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(s.peers.count, 0);
        CHECK_INT(s.stats.refused, 1);
        AT(MESSAGE_HANDSHAKE_INIT, T + SERVER_HANDSHAKE_AHEAD_MAX_S + 1, 0);
        CHECK_INT(out.n_send, 0);
        /* up to the bound is fine, and the id still works after */
        AT(MESSAGE_HANDSHAKE_INIT, T + SERVER_HANDSHAKE_AHEAD_MAX_S, 0);
        CHECK_INT(out.n_send, 1);
        AT(MESSAGE_HANDSHAKE_INIT, T, 0);
        CHECK(find(&out, EVENT_REPLAY) != NULL); /* as ever: not above the highest */
        CHECK_INT(s.stats.replays, 1);
        AT(MESSAGE_KEEPALIVE, MAX, 1);
        CHECK(find(&out, EVENT_REFUSED) != NULL);

        /* keepalive counters: 1 lost, then a wild one that changes nothing */
        AT(MESSAGE_KEEPALIVE, T + SERVER_HANDSHAKE_AHEAD_MAX_S, 2);
        CHECK_INT(s.stats.lost, 1);
        AT(MESSAGE_KEEPALIVE, T + SERVER_HANDSHAKE_AHEAD_MAX_S, MAX);
        ev = find(&out, EVENT_REFUSED);
        CHECK(ev && ev->refused == EVENT_REFUSE_COUNTER && ev->expected == 5);
        CHECK(find(&out, EVENT_LOSS) == NULL);
        AT(MESSAGE_KEEPALIVE, T + SERVER_HANDSHAKE_AHEAD_MAX_S, 3);
        CHECK(find(&out, EVENT_LOSS) == NULL && find(&out, EVENT_DUPLICATE) == NULL);
        CHECK_INT(s.stats.lost, 1);
        CHECK_INT(s.stats.refused, 4);
#undef AT
        server_free(&s);
}

/* A client restored from the state file has not been heard since the
 * start: it is not declared silent (for the time since the start, "last at
 * (unknown)"), and its first message is not a return. */
static void test_restored(void)
{
        const uint64_t KA = 26625000;
        struct addr a = peer_addr("203.0.113.9", 4500);
        struct actions out;
        struct server s;
        struct peer *p;

        CHECK_INT(server_init(&s, limits(16)), 0);
        CHECK_INT(peers_add(&s.peers, "home", 4, &p), 0); /* as state_load does */
        p->highest_init = 5;
        server_timer(&s, 10 * KA, &out);
        CHECK_INT(out.n_events, 0);
        CHECK_INT(s.stats.silences, 0);
        deliver_at(&s, 11 * KA, &a, MESSAGE_HANDSHAKE_INIT, "home", 5, 0, &out);
        CHECK(find(&out, EVENT_REPLAY) != NULL); /* it still protects */
        server_timer(&s, 12 * KA, &out);
        CHECK_INT(out.n_events, 0);
        deliver_at(&s, 12 * KA, &a, MESSAGE_HANDSHAKE_INIT, "home", 6, 0, &out);
        CHECK(find(&out, EVENT_BACK) == NULL && find(&out, EVENT_NAT_REBIND) == NULL);
        CHECK_INT(out.n_send, 1);
        /* heard now: silence counts from here */
        server_timer(&s, 14 * KA, &out);
        CHECK(find(&out, EVENT_SILENT) != NULL);
        server_free(&s);
}

static void junk(struct server *s, uint64_t now, const struct addr *from, struct actions *out)
{
        static const uint8_t bytes[100];

        server_receive(s, now, 0, from, peer_open(&key, bytes, sizeof(bytes)), out);
}

/* A flood of invalid datagrams: each counted, the first few per source and
 * second logged, the rest summed up in one line per source after the
 * second, and those over the total in one line for the other sources. */
static void test_invalid_flood(void)
{
        const uint64_t S = 1000000;
        struct addr a = peer_addr("192.0.2.66", 6666), b;
        const struct core_event *ev;
        struct actions out;
        struct server s;
        size_t logged = 0;

        CHECK_INT(server_init(&s, limits(16)), 0);
        for (int i = 0; i < 25; i++) {
                junk(&s, 5 * S + (uint64_t)i, &a, &out);
                logged += peer_count(&out, EVENT_INVALID);
                CHECK(find(&out, EVENT_INVALID_MORE) == NULL);
        }
        CHECK_INT(logged, SERVER_INVALID_LOG_PER_SOURCE);
        CHECK_INT(s.stats.invalid, 25);
        server_timer(&s, 5 * S + 100, &out);
        CHECK(out.wake_us == 6 * S);
        CHECK(find(&out, EVENT_INVALID_MORE) == NULL); /* the second is not over */
        server_timer(&s, 6 * S, &out);
        ev = find(&out, EVENT_INVALID_MORE);
        CHECK(ev && ev->count == 25 - SERVER_INVALID_LOG_PER_SOURCE && addr_equal(&ev->peer, &a));
        server_timer(&s, 6 * S + 1, &out);
        CHECK(find(&out, EVENT_INVALID_MORE) == NULL); /* said once */

        /* many sources: the total caps the lines */
        logged = 0;
        for (int i = 0; i < 150; i++) {
                b = peer_addr("198.51.100.1", (uint16_t)(1000 + i));
                junk(&s, 7 * S + (uint64_t)i, &b, &out);
                logged += peer_count(&out, EVENT_INVALID);
        }
        CHECK_INT(logged, SERVER_INVALID_LOG_MAX);
        CHECK_INT(s.stats.invalid, 175);
        server_timer(&s, 8 * S, &out);
        ev = find(&out, EVENT_INVALID_MORE);
        CHECK(ev && ev->count == 150 - SERVER_INVALID_LOG_MAX && ev->peer.sa.sa_family == AF_UNSPEC);

        /* the next second's first datagram says what the last one held back */
        for (int i = 0; i < 12; i++)
                junk(&s, 9 * S + (uint64_t)i, &a, &out);
        junk(&s, 10 * S, &a, &out);
        ev = find(&out, EVENT_INVALID_MORE);
        CHECK(ev && ev->count == 2 && addr_equal(&ev->peer, &a));
        CHECK_INT(peer_count(&out, EVENT_INVALID), 1);
        CHECK_INT(s.stats.invalid, 188);
        server_free(&s);
}

/* Many clients going silent at once: all declared, over several calls. */
static void test_many_silent(void)
{
        const uint64_t KA = 26625000;
        struct addr a = peer_addr("203.0.113.9", 4500);
        struct actions out;
        struct server s;
        size_t silent = 0;
        char id[16];

        CHECK_INT(server_init(&s, limits(100)), 0);
        for (unsigned i = 0; i < 20; i++) {
                snprintf(id, sizeof(id), "c%u", i);
                deliver_at(&s, 1000 + i, &a, MESSAGE_HANDSHAKE_INIT, id, 1, 0, &out);
        }
        for (unsigned calls = 0; calls < 10; calls++) {
                server_timer(&s, 1000 + 3 * KA, &out);
                silent += peer_count(&out, EVENT_SILENT);
        }
        CHECK_INT(silent, 20);
        CHECK_INT(s.stats.silences, 20);
        server_free(&s);
}

/* The silence timer's work per call is bounded, and it starts after the
 * run of clients already silent or restored: with 20,000 of those it gets
 * to the live clients within a few calls, and then wakes when the next one
 * is due, not at once. Clients that leave the run (heard again, forgotten)
 * keep it whole: the ones going quiet later are still declared. */
static void test_timer_bounded(void)
{
        const uint64_t KA = 26625000;
        struct addr a = peer_addr("203.0.113.9", 4500);
        struct actions out;
        struct server s;
        struct peer *p;
        unsigned calls = 0;
        char id[16];

        CHECK_INT(server_init(&s, limits(30000)), 0);
        for (unsigned i = 0; i < 20000; i++) {
                snprintf(id, sizeof(id), "r%u", i);
                CHECK_INT(peers_add(&s.peers, id, strlen(id), &p), 0); /* as state_load does */
                p->highest_init = 1;
        }
        deliver_at(&s, 1000, &a, MESSAGE_HANDSHAKE_INIT, "early", 1, 0, &out);
        deliver_at(&s, 2 * KA, &a, MESSAGE_HANDSHAKE_INIT, "late", 1, 0, &out);
        do
                server_timer(&s, 1000 + 2 * KA, &out);
        while (out.wake_us == 1000 + 2 * KA && ++calls < 100);
        CHECK_INT(calls, 20000 / SERVER_TIMER_STEPS);
        CHECK_INT(s.stats.silences, 1); /* "early" */
        CHECK(s.quiet_end && strcmp(s.quiet_end->id, "early") == 0);
        CHECK_INT(out.wake_us, 2 * KA + 2 * KA); /* "late", not at once */
        server_timer(&s, 1000 + 2 * KA + 1, &out);
        CHECK_INT(out.wake_us, 4 * KA); /* one step, not 20,000 */

        /* the run's end heard again, a restored one too: both leave it */
        deliver_at(&s, 3 * KA, &a, MESSAGE_HANDSHAKE_INIT, "early", 2, 0, &out);
        CHECK(find(&out, EVENT_BACK) != NULL);
        CHECK(s.quiet_end && strcmp(s.quiet_end->id, "r19999") == 0);
        deliver_at(&s, 3 * KA, &a, MESSAGE_HANDSHAKE_INIT, "r5", 2, 0, &out);
        server_timer(&s, 5 * KA - 1, &out); /* "late" silent: the run's end */
        CHECK_INT(s.stats.silences, 2);
        CHECK(s.quiet_end && strcmp(s.quiet_end->id, "late") == 0);
        /* the run forgotten, end and all (a lower max-clients forgets the
         * oldest): "early" and "r5" are left */
        CHECK_INT(server_reconfigure(&s, limits(2)), 20000);
        CHECK(s.quiet_end == NULL);
        server_timer(&s, 7 * KA + 1, &out); /* "early" and "r5" went quiet */
        CHECK_INT(peer_count(&out, EVENT_SILENT), 2);
        CHECK_INT(s.stats.silences, 4);
        server_free(&s);
}

/* The ids of the clients heard at since or later, oldest first. */
static const char *heard_since(const struct server *s, uint64_t since)
{
        static char out[256];
        size_t used = 0;

        out[0] = '\0';
        for (const struct peer *p = server_heard_since(s, since); p && used < sizeof(out); p = p->newer)
                used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", used ? "," : "", p->id);
        return out;
}

/* Who was heard since a time: the run at the newest end, oldest first,
 * restored clients never in it (the state writer's notes follow it). */
static void test_heard_since(void)
{
        struct addr a = peer_addr("203.0.113.9", 4500);
        struct actions out;
        struct server s;
        struct peer *p;

        CHECK_INT(server_init(&s, limits(16)), 0);
        CHECK_INT(peers_add(&s.peers, "restored", 8, &p), 0);
        CHECK_STR(heard_since(&s, 0), "");
        deliver_at(&s, 10, &a, MESSAGE_HANDSHAKE_INIT, "a", 1, 0, &out);
        deliver_at(&s, 10, &a, MESSAGE_HANDSHAKE_INIT, "b", 1, 0, &out);
        deliver_at(&s, 20, &a, MESSAGE_HANDSHAKE_INIT, "c", 1, 0, &out);
        deliver_at(&s, 20, &a, MESSAGE_KEEPALIVE, "a", 1, 1, &out);
        CHECK_STR(heard_since(&s, 0), "b,c,a");
        CHECK_STR(heard_since(&s, 10), "b,c,a");
        CHECK_STR(heard_since(&s, 11), "c,a");
        CHECK_STR(heard_since(&s, 21), "");
        /* heard again: out of the old place, into the run */
        deliver_at(&s, 30, &a, MESSAGE_HANDSHAKE_INIT, "restored", 2, 0, &out);
        /* a replay changes nothing, not even the order */
        deliver_at(&s, 30, &a, MESSAGE_HANDSHAKE_INIT, "b", 1, 0, &out);
        CHECK(find(&out, EVENT_REPLAY) != NULL);
        CHECK_STR(heard_since(&s, 30), "restored");
        CHECK_STR(heard_since(&s, 0), "b,c,a,restored");
        server_free(&s);
}

int main(void)
{
        if (sodium_init() < 0)
                return 99;
        peer_key(&key);
        test_replay_rule();
        test_not_answered();
        test_trace_ignored();
        test_many_clients();
        test_full_table();
        test_status();
        test_detection();
        test_loss_after_restart();
        test_many_silent();
        test_timer_bounded();
        test_heard_since();
        test_replay_changes_nothing();
        test_bounds();
        test_restored();
        test_invalid_flood();
        return check_finish("server");
}

/* The server's probe answers, in virtual time: an answer after the delay
 * to where the probe came from, replays and excess refused with one line
 * per interval, memory bounded under a flood, and probes kept apart from
 * the canary's own flow (no NAT rebinding, no client entry); the ids that
 * probed since a time, for the state file, and an id read from it refused. */
#include "peer.h"
#include "core/logtext.h"
#include "core/server.h"

#define S 1000000ULL /* a second, in µs */

static struct seal_key key;

static struct server_config config(size_t max_pending, uint64_t max_delay_s)
{
        return (struct server_config){
                .max_clients = 16, .keepalive_interval_us = 26625000, .keepalive_count = 5,
                .probes = { .max_delay_s = max_delay_s, .max_pending = max_pending, .max_per_client = 4 },
        };
}

static void probe_at(struct server *s, uint64_t now, const struct addr *from, const char *id, uint64_t pid,
                     uint64_t delay, struct actions *out)
{
        uint8_t pkt[4096];
        size_t len = peer_seal(&key, MESSAGE_PROBE, id, pid, delay, pkt, sizeof(pkt));

        server_receive(s, now, 0, from, peer_open(&key, pkt, len), out);
}

static void test_answer_after_delay(void)
{
        struct addr canary = peer_addr("198.51.100.7", 40000), trial = peer_addr("198.51.100.7", 40001);
        struct server_config cfg = config(16, 3600);
        struct actions out;
        struct server s;

        CHECK_INT(server_init(&s, &cfg), 0);
        /* delay 0: at once, the same data, to where it came from */
        probe_at(&s, 1000, &trial, "home", 10, 0, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_INT(out.send[0].msg.type, MESSAGE_PROBE_RESPONSE);
        CHECK_INT(out.send[0].msg.data[0], 10);
        CHECK_INT(out.send[0].msg.data[1], 0);
        CHECK_STR(out.send[0].msg.id, "home");
        CHECK(addr_equal(&out.send[0].to, &trial));
        CHECK_INT(out.events[0].kind, EVENT_RX);
        CHECK_INT(out.events[1].kind, EVENT_TX);

        /* delay 30: nothing now, the wake-up at the due time */
        probe_at(&s, 2000, &trial, "home", 11, 30, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(out.wake_us, 2000 + 30 * S);
        server_probe_timer(&s, 2000 + 30 * S - 1, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(out.wake_us, 2000 + 30 * S);
        server_probe_timer(&s, 2000 + 30 * S, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_INT(out.send[0].msg.data[0], 11);
        CHECK_INT(out.send[0].msg.data[1], 30);
        CHECK(addr_equal(&out.send[0].to, &trial));
        CHECK_INT(out.wake_us, 0);
        CHECK_INT(s.stats.tx_type[MESSAGE_PROBE_RESPONSE], 2);

        /* a probe is not the client's flow: no entry, no rebinding */
        CHECK_INT(s.peers.count, 0);
        {
                uint8_t pkt[4096];
                size_t len = peer_seal(&key, MESSAGE_HANDSHAKE_INIT, "home", 5, 0, pkt, sizeof(pkt));

                server_receive(&s, 40 * S, 0, &canary, peer_open(&key, pkt, len), &out);
                probe_at(&s, 41 * S, &trial, "home", 12, 0, &out);
                CHECK_INT(peer_count(&out, EVENT_NAT_REBIND), 0);
                len = peer_seal(&key, MESSAGE_KEEPALIVE, "home", 5, 1, pkt, sizeof(pkt));
                server_receive(&s, 42 * S, 0, &canary, peer_open(&key, pkt, len), &out);
                CHECK_INT(peer_count(&out, EVENT_NAT_REBIND), 0);
        }
        /* a probe_response sent to a server is logged and ignored */
        {
                uint8_t pkt[4096];
                size_t len = peer_seal(&key, MESSAGE_PROBE_RESPONSE, "home", 99, 0, pkt, sizeof(pkt));

                server_receive(&s, 43 * S, 0, &trial, peer_open(&key, pkt, len), &out);
                CHECK_INT(out.n_send, 0);
                CHECK_INT(out.n_events, 1);
        }
        server_free(&s);
}

/* The refusal line's count, or -1 when the actions hold none. */
static long long refusals(const struct actions *a)
{
        for (size_t i = 0; i < a->n_events; i++)
                if (a->events[i].kind == EVENT_PROBE_REFUSED)
                        return (long long)a->events[i].lost;
        return -1;
}

static void test_refusals(void)
{
        struct addr a = peer_addr("198.51.100.7", 40001);
        struct server_config cfg = config(16, 60);
        struct actions out;
        struct server s;
        char line[LOG_LINE_MAX];
        enum log_level level;

        CHECK_INT(server_init(&s, &cfg), 0);
        probe_at(&s, 1 * S, &a, "home", 10, 5, &out);
        CHECK_INT(refusals(&out), -1);
        /* a replay: refused and told at once (the first of an interval) */
        probe_at(&s, 2 * S, &a, "home", 10, 5, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(refusals(&out), 1);
        CHECK(logtext_format_event(&out.events[1], line, sizeof(line), &level) > 0);
        CHECK_STR(line, "Probes refused: 1 since the last such line; the latest, probe 10 of 'home' from "
                        "198.51.100.7:40001: probe id not above the last one (a replay)");
        CHECK_INT(level, LOG_LEVEL_WARNING);
        /* more within the interval: counted, not told; the timer tells them */
        probe_at(&s, 3 * S, &a, "home", 9, 5, &out);
        CHECK_INT(refusals(&out), -1);
        probe_at(&s, 4 * S, &a, "home", 11, 61, &out); /* above the maximum delay */
        CHECK_INT(refusals(&out), -1);
        CHECK_INT(out.wake_us, 1 * S + 5 * S); /* the answer due first */
        server_probe_timer(&s, 6 * S, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_INT(refusals(&out), -1);
        CHECK_INT(out.wake_us, 2 * S + PROBES_REFUSAL_LOG_US);
        server_probe_timer(&s, 2 * S + PROBES_REFUSAL_LOG_US, &out);
        CHECK_INT(refusals(&out), 2);
        CHECK_INT(out.wake_us, 0);
        CHECK_INT(s.probes.stats.refused, 3);
        CHECK_INT(s.probes.stats.replays, 2);
        /* a refused id is not taken: the same id, now acceptable, is */
        probe_at(&s, 100 * S, &a, "home", 11, 60, &out);
        CHECK_INT(s.probes.n, 1);
        server_free(&s);

        /* probes off: refused, as the original would ignore them */
        cfg = config(0, 60);
        CHECK_INT(server_init(&s, &cfg), 0);
        probe_at(&s, 1 * S, &a, "home", 10, 0, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(refusals(&out), 1);
        server_free(&s);
}

/* A flood of authentic probes at the maximum delay: the waiting answers
 * stay within their limits, per client id and in all. */
static void test_flood(void)
{
        struct addr a = peer_addr("198.51.100.7", 40001);
        struct server_config cfg = config(100, 3600);
        struct actions out;
        struct server s;
        size_t told = 0;
        char id[16];

        cfg.max_clients = 64;
        CHECK_INT(server_init(&s, &cfg), 0);
        for (uint64_t i = 1; i <= 100000; i++) {
                snprintf(id, sizeof(id), "c%u", (unsigned)(i % 50));
                probe_at(&s, i, &a, id, i, 3600, &out);
                told += refusals(&out) >= 0;
        }
        CHECK_INT(s.probes.n, 100);
        CHECK(s.probes.cap <= 100);
        CHECK_INT(told, 1); /* one line in the whole (virtual) tenth of a second */
        for (size_t c = 0; c < 50; c++) {
                snprintf(id, sizeof(id), "c%zu", c);
                struct peer *p = peers_find(&s.probes.clients, id, strlen(id));

                CHECK(p && p->probes_pending <= 4);
        }
        /* at the due time all are sent, a bounded number per call */
        size_t sent = 0, calls = 0;

        do {
                server_probe_timer(&s, 3700 * S, &out);
                sent += out.n_send;
                CHECK(out.n_send <= ACTIONS_MAX_SEND);
        } while (out.wake_us && out.wake_us <= 3700 * S && ++calls < 1000);
        CHECK_INT(sent, 100);
        CHECK_INT(s.probes.n, 0);
        server_free(&s);
}

/* More client ids than the table holds: those with answers waiting stay. */
static void test_table_full(void)
{
        struct addr a = peer_addr("198.51.100.7", 40001);
        struct server_config cfg = config(100, 3600);
        struct actions out;
        struct server s;
        char id[16];

        cfg.max_clients = 2;
        CHECK_INT(server_init(&s, &cfg), 0);
        probe_at(&s, 1, &a, "a", 1, 10, &out);
        probe_at(&s, 2, &a, "b", 1, 10, &out);
        probe_at(&s, 3, &a, "c", 1, 10, &out);
        CHECK_INT(s.probes.n, 2);
        CHECK_INT(refusals(&out), 1);
        server_probe_timer(&s, 20 * S, &out);
        CHECK_INT(out.n_send, 2);
        probe_at(&s, 21 * S, &a, "c", 1, 10, &out); /* now "a" can make room */
        CHECK_INT(s.probes.n, 1);
        for (unsigned i = 0; i < 10; i++) {
                snprintf(id, sizeof(id), "x%u", i);
                probe_at(&s, 22 * S + i, &a, id, 1, 0, &out);
        }
        CHECK(s.probes.clients.count <= 2);
        server_free(&s);
}

/* The ids heard since a time, oldest first, as "a,b". */
static const char *heard(const struct server *s, uint64_t since)
{
        static char out[256];
        size_t used = 0;

        out[0] = '\0';
        for (const struct peer *p = probes_heard_since(&s->probes, since); p && used < sizeof(out); p = p->newer)
                used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", used ? "," : "", p->id);
        return out;
}

static void test_heard_since(void)
{
        struct addr a = peer_addr("198.51.100.7", 40000);
        struct server_config cfg = config(16, 3600);
        struct actions out;
        struct server s;
        struct peer *p;

        CHECK_INT(server_init(&s, &cfg), 0);
        /* as loaded from probes.state: not heard, its id refused */
        CHECK_INT(peers_add(&s.probes.clients, "old", 3, &p), 0);
        p->highest_init = 50;
        probe_at(&s, 1 * S, &a, "old", 50, 0, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_INT(s.probes.stats.replays, 1);
        probe_at(&s, 2 * S, &a, "a", 1, 0, &out);
        probe_at(&s, 3 * S, &a, "b", 1, 0, &out);
        CHECK_STR(heard(&s, 2 * S), "a,b");
        CHECK_STR(heard(&s, 3 * S), "b");
        CHECK_STR(heard(&s, 4 * S), "");
        /* a refused probe moves its id too: the run stays in time order */
        probe_at(&s, 4 * S, &a, "a", 1, 0, &out);
        CHECK_INT(out.n_send, 0);
        CHECK_STR(heard(&s, 3 * S), "b,a");
        CHECK_STR(heard(&s, 1 * S), "old,b,a");
        server_free(&s);
}

int main(void)
{
        if (sodium_init() < 0)
                return 99;
        peer_key(&key);
        test_answer_after_delay();
        test_refusals();
        test_flood();
        test_table_full();
        test_heard_since();
        return check_finish("probes");
}

/* The prober in virtual time, against a model NAT: each trial's socket is a
 * mapping that lives `fresh` seconds after a packet, or `established`
 * seconds once a reply came back and the flow is older than 2 s (as Linux
 * conntrack); the server answers after the delay asked. The brackets found
 * must contain the model's timeouts, be as narrow as asked, and come within
 * the time bound; a NAT that drops everything gives "no answer". */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/probe-client.h"

#define S ((uint64_t)1000000)

struct model {
        uint64_t fresh_s, established_s; /* 0: drops everything */
        uint64_t rtt_us;
        /* per slot: the mapping */
        bool open[PROBER_MAX_TRIALS];
        uint64_t created_us[PROBER_MAX_TRIALS], last_us[PROBER_MAX_TRIALS];
        bool replied[PROBER_MAX_TRIALS], stream[PROBER_MAX_TRIALS];
        /* answers on their way back */
        struct { unsigned slot; uint64_t id, delay_s, at_us; bool live; } air[256];
        uint64_t last_id;
        bool ids_rise;
        unsigned sockets, closes, sends;
        unsigned lose_every; /* of the answers to probes with a delay, every n-th is lost */
        unsigned delayed_answers;
};

static uint64_t timeout_us(const struct model *m, unsigned s)
{
        return (m->stream[s] ? m->established_s : m->fresh_s) * S;
}

static void outbound(struct model *m, const struct prober_out *out, uint64_t now)
{
        for (size_t i = 0; i < out->n_close; i++) {
                m->open[out->close[i]] = false;
                m->closes++;
                for (size_t j = 0; j < 256; j++) /* a new socket is a new port: nothing comes to it */
                        if (m->air[j].slot == out->close[i])
                                m->air[j].live = false;
        }
        for (size_t i = 0; i < out->n_send; i++) {
                unsigned s = out->send[i].slot;

                m->sends++;
                if (out->send[i].id <= m->last_id)
                        m->ids_rise = false;
                m->last_id = out->send[i].id;
                if (out->send[i].new_socket) {
                        CHECK(!m->open[s]);
                        m->open[s] = true;
                        m->sockets++;
                        m->created_us[s] = now;
                        m->replied[s] = m->stream[s] = false;
                        m->last_us[s] = now;
                } else {
                        CHECK(m->open[s]);
                        if (now - m->last_us[s] >= timeout_us(m, s)) { /* expired: a new mapping */
                                m->created_us[s] = now;
                                m->replied[s] = m->stream[s] = false;
                        }
                        if (m->replied[s] && now - m->created_us[s] > 2 * S)
                                m->stream[s] = true;
                        m->last_us[s] = now;
                }
                if (!m->fresh_s)
                        continue;
                for (size_t j = 0; j < 256; j++) {
                        if (m->air[j].live)
                                continue;
                        m->air[j].live = true;
                        m->air[j].slot = s;
                        m->air[j].id = out->send[i].id;
                        m->air[j].delay_s = out->send[i].delay_s;
                        m->air[j].at_us = now + m->rtt_us + out->send[i].delay_s * S;
                        break;
                }
        }
}

/* Runs a whole probe; returns the virtual time it took. */
static uint64_t run(struct prober *p, const struct prober_config *cfg, struct model *m)
{
        struct prober_out out;
        uint64_t start = 1000 * S, now = start;

        m->ids_rise = true;
        prober_start(p, cfg, now, &out);
        outbound(m, &out, now);
        for (unsigned steps = 0; out.wake_us && steps < 100000; steps++) {
                size_t next = SIZE_MAX;
                uint64_t at = out.wake_us;

                for (size_t j = 0; j < 256; j++)
                        if (m->air[j].live && m->air[j].at_us < at)
                                at = m->air[j].at_us, next = j;
                now = at;
                if (next == SIZE_MAX) {
                        prober_timer(p, now, &out);
                } else {
                        unsigned s = m->air[next].slot;
                        struct message msg;

                        m->air[next].live = false;
                        /* the answer crosses the NAT half a round trip before it arrives */
                        bool lost = m->air[next].delay_s && m->lose_every &&
                                    ++m->delayed_answers % m->lose_every == 0;

                        if (lost || !m->open[s] || now - m->rtt_us / 2 - m->last_us[s] >= timeout_us(m, s)) {
                                prober_timer(p, now, &out); /* dropped: nothing to deliver */
                        } else {
                                m->last_us[s] = now;
                                m->replied[s] = true;
                                message_init(&msg, MESSAGE_PROBE_RESPONSE, "home", 4, m->air[next].id,
                                             m->air[next].delay_s);
                                prober_receive(p, now, s, &msg, &out);
                        }
                }
                outbound(m, &out, now);
        }
        CHECK(p->done);
        CHECK(m->ids_rise);
        CHECK_INT(m->sockets, m->closes);
        return now - start;
}

static void check_contains(const struct prober *p, enum prober_kind k, uint64_t truth_s, uint64_t width_s)
{
        const struct prober_bracket *b = &p->kinds[k];

        CHECK(b->has_lower && b->has_upper);
        CHECK(b->lower_s < truth_s && truth_s <= b->upper_s);
        CHECK(b->upper_s - b->lower_s <= width_s);
        if (!(b->lower_s < truth_s && truth_s <= b->upper_s))
                fprintf(stderr, "  kind %d: %" PRIu64 " to %" PRIu64 ", truth %" PRIu64 "\n", k, b->lower_s,
                        b->upper_s, truth_s);
}

static void test_defaults(void)
{
        static struct model m = { .fresh_s = 32, .established_s = 117, .rtt_us = 40000 };
        struct prober_config cfg;
        struct prober p;
        char line[512];
        uint64_t took;

        prober_config_default(&cfg);
        cfg.first_id = 1732673217000000;
        took = run(&p, &cfg, &m);
        CHECK(took <= cfg.time_bound_us);
        check_contains(&p, PROBER_FRESH, 32, 5);
        check_contains(&p, PROBER_ESTABLISHED, 117, 12);
        prober_verdict(&p, line, sizeof(line));
        CHECK(strstr(line, "the NAT keeps an idle UDP mapping ") == line);
        CHECK(strstr(line, " (fresh), ") && strstr(line, " (established): keep PersistentKeepalive below "));
        CHECK_INT(prober_keepalive_below_s(&p), p.kinds[PROBER_FRESH].lower_s);
        printf("# defaults, NAT 32 s / 117 s: %s, in %" PRIu64 " s, %u sockets\n", line, took / S, m.sockets);
}

static void test_short(void)
{
        static struct model m = { .fresh_s = 8, .established_s = 20, .rtt_us = 1000 };
        struct prober_config cfg;
        struct prober p;
        char line[512];
        uint64_t took;

        prober_config_default(&cfg);
        cfg.resolution_s = 2;
        cfg.max_delay_s = 30;
        cfg.time_bound_us = 100 * S;
        cfg.grace_us = 1 * S;
        cfg.first_id = 1;
        took = run(&p, &cfg, &m);
        CHECK(took <= 100 * S);
        check_contains(&p, PROBER_FRESH, 8, 2);
        check_contains(&p, PROBER_ESTABLISHED, 20, 2);
        prober_verdict(&p, line, sizeof(line));
        printf("# short, NAT 8 s / 20 s: %s, in %" PRIu64 " s\n", line, took / S);
}

static void test_drops_everything(void)
{
        static struct model m = { .fresh_s = 0, .rtt_us = 1000 };
        struct prober_config cfg;
        struct prober p;
        char line[512];
        uint64_t took;

        prober_config_default(&cfg);
        took = run(&p, &cfg, &m);
        CHECK(took <= 60 * S); /* not the whole bound: short delays fail too */
        prober_verdict(&p, line, sizeof(line));
        CHECK(strstr(line, "no probe was answered: the server does not answer probes (an original "
                           "udp-canary.py?)") == line);
        prober_bracket_text(&p.kinds[PROBER_FRESH], line, sizeof(line));
        CHECK_STR(line, "no answer");
        prober_bracket_text(&p.kinds[PROBER_ESTABLISHED], line, sizeof(line));
        CHECK_STR(line, "no answer");
        CHECK(!p.kinds[PROBER_FRESH].has_lower && !p.kinds[PROBER_ESTABLISHED].has_lower);
        printf("# drops everything: over in %" PRIu64 " s\n", took / S);
}

/* Answers lost on the way read as silences: the bracket still holds the
 * timeouts, as its upper end is tried three times: up to a quarter of the
 * answers lost, found and narrow; a third, never wrong. (Three losses at
 * the same delay would still fool it.) */
static void test_loss(void)
{
        struct prober_config cfg;
        struct prober p;
        char line[512];

        for (unsigned every = 3; every <= 10; every++) {
                struct model m = { .fresh_s = 32, .established_s = 117, .rtt_us = 40000, .lose_every = every };

                prober_config_default(&cfg);
                run(&p, &cfg, &m);
                if (every >= 4) { /* up to a quarter lost: found, nearly as narrow (time runs short) */
                        check_contains(&p, PROBER_FRESH, 32, 5);
                        check_contains(&p, PROBER_ESTABLISHED, 117, 20);
                }
                for (unsigned k = 0; k < PROBER_KINDS; k++) { /* and never wrong */
                        const struct prober_bracket *b = &p.kinds[k];
                        uint64_t truth = k == PROBER_FRESH ? 32 : 117;

                        CHECK(!b->has_lower || b->lower_s < truth);
                        CHECK(!b->has_upper || truth <= b->upper_s);
                }
                prober_verdict(&p, line, sizeof(line));
                printf("# every %u-th answer lost: %s\n", every, line);
        }
}

/* A timeout above the longest delay tried: a lower bound only. */
static void test_beyond(void)
{
        static struct model m = { .fresh_s = 50, .established_s = 5000, .rtt_us = 1000 };
        struct prober_config cfg;
        struct prober p;
        char line[512];

        prober_config_default(&cfg);
        cfg.max_delay_s = 300;
        run(&p, &cfg, &m);
        prober_bracket_text(&p.kinds[PROBER_ESTABLISHED], line, sizeof(line));
        CHECK_STR(line, "more than 300 s");
        check_contains(&p, PROBER_FRESH, 50, 5);
        CHECK_INT(prober_keepalive_below_s(&p), p.kinds[PROBER_FRESH].lower_s);

        /* both longer than tried: no advice from a bound not found */
        static struct model none = { .fresh_s = 5000, .established_s = 5000, .rtt_us = 1000 };

        cfg.max_delay_s = 20;
        run(&p, &cfg, &none);
        CHECK_INT(prober_keepalive_below_s(&p), 0);
        prober_verdict(&p, line, sizeof(line));
        CHECK_STR(line, "the NAT keeps an idle UDP mapping more than 20 s (fresh), more than 20 s (established): "
                        "no timeout found below the longest idle tried");
}

/* The time bound holds even when it leaves the brackets wide. */
static void test_time_bound(void)
{
        static struct model m = { .fresh_s = 200, .established_s = 400, .rtt_us = 1000 };
        struct prober_config cfg;
        struct prober p;
        uint64_t took;

        prober_config_default(&cfg);
        cfg.time_bound_us = 5 * 60 * S;
        took = run(&p, &cfg, &m);
        CHECK(took <= cfg.time_bound_us);
        CHECK(p.kinds[PROBER_FRESH].has_lower && p.kinds[PROBER_FRESH].lower_s < 200);
}

/* PROBER_MIN_TIME_BOUND_US is the shortest run that sends a probe: at it,
 * one fresh trial of the shortest delay; a microsecond less, none at all. */
static void test_min_time_bound(void)
{
        struct prober_config cfg;
        struct prober_out out;
        struct prober p;

        prober_config_default(&cfg);
        cfg.time_bound_us = PROBER_MIN_TIME_BOUND_US;
        prober_start(&p, &cfg, 1000, &out);
        CHECK_INT(out.n_send, 1);
        CHECK_INT(out.send[0].delay_s, PROBER_MIN_DELAY_S);
        cfg.time_bound_us = PROBER_MIN_TIME_BOUND_US - 1;
        prober_start(&p, &cfg, 1000, &out);
        CHECK_INT(out.n_send, 0);
}

static void test_text(void)
{
        struct prober_bracket b = { .has_lower = true, .lower_s = 30, .has_upper = true, .upper_s = 35 };
        char line[64];

        prober_bracket_text(&b, line, sizeof(line));
        CHECK_STR(line, "30 to 35 s");
        b.has_lower = false;
        b.answered = true;
        prober_bracket_text(&b, line, sizeof(line));
        CHECK_STR(line, "less than 35 s");
}

/* Only the answer a trial waits for counts: not another id or delay,
 * another slot's, a handshake_response, a slot out of range. */
static void test_foreign(void)
{
        struct prober_config cfg;
        struct prober_out out;
        struct prober p;
        struct message m;
        unsigned slot;
        uint64_t id, delay;

        prober_config_default(&cfg);
        cfg.first_id = 100;
        prober_start(&p, &cfg, 1000, &out);
        CHECK(out.n_send >= 2);
        slot = out.send[0].slot;
        id = out.send[0].id;
        delay = out.send[0].delay_s;
        message_init(&m, MESSAGE_PROBE_RESPONSE, "home", 4, id + 1000, delay);
        CHECK(!prober_receive(&p, 2000, slot, &m, &out));
        message_init(&m, MESSAGE_HANDSHAKE_RESPONSE, "home", 4, id, 0);
        CHECK(!prober_receive(&p, 2000, slot, &m, &out));
        message_init(&m, MESSAGE_PROBE_RESPONSE, "home", 4, id, delay + 1);
        CHECK(!prober_receive(&p, 2000, slot, &m, &out));
        message_init(&m, MESSAGE_PROBE_RESPONSE, "home", 4, id, delay);
        CHECK(!prober_receive(&p, 2000, PROBER_MAX_TRIALS, &m, &out));
        CHECK(!prober_receive(&p, 2000, slot + 1, &m, &out));
        CHECK_INT(p.answers, 0);
        CHECK(prober_receive(&p, 2000, slot, &m, &out));
        CHECK_INT(p.answers, 1);
        CHECK(!prober_receive(&p, 2001, slot, &m, &out)); /* the same again */
        CHECK_INT(p.answers, 1);
}

int main(void)
{
        test_foreign();
        test_defaults();
        test_short();
        test_drops_everything();
        test_loss();
        test_beyond();
        test_time_bound();
        test_min_time_bound();
        test_text();
        return check_finish("prober");
}

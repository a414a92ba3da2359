/* client: the client's protocol state machine (see client.h). */
#include "core/client.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const uint64_t client_rtt_bounds_us[CLIENT_RTT_BUCKETS] = {
        1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
};

static void count_rtt(struct client_stats *st, uint64_t rtt)
{
        size_t i = 0;

        while (i < CLIENT_RTT_BUCKETS && rtt > client_rtt_bounds_us[i])
                i++;
        if (i < CLIENT_RTT_BUCKETS)
                st->rtt_buckets[i]++;
        st->rtt_count++;
        st->rtt_sum_us += rtt;
}

static void send_message(struct client *c, enum message_type type, uint64_t d1,
                         struct actions *out)
{
        struct message m;

        /* cannot fail: the id was checked when the config was made */
        (void)message_init(&m, type, c->cfg.id, c->cfg.id_len, c->handshake_id, d1);
        actions_send(out, &m, &c->cfg.server);
}

/* A retry: the last init went unanswered; the first retry starts an outage. */
static void note_unanswered(struct client *c, uint64_t now_us, struct actions *out)
{
        struct core_event *ev = actions_event(out, EVENT_UNANSWERED, &c->cfg.server);

        ev->expected = c->handshake_id;
        ev->duration_us = now_us - c->init_sent_us;
        c->stats.unanswered++;
        if (c->waiting_inits == 1) {
                ev = actions_event(out, EVENT_OUTAGE_START, &c->cfg.server);
                ev->expected = c->handshake_id;
                ev->duration_us = now_us - c->waiting_since_us;
                c->stats.outages++;
        }
}

/* Another init of the stretch, with the next id. */
static void begin_init(struct client *c, uint64_t now_us, struct actions *out)
{
        c->waiting_inits++;
        c->connected = false;
        c->handshake_id++;
        c->keepalive = 0;
        c->init_sent_us = now_us;
        c->next_wake_us = now_us + c->cfg.handshake_timeout_us;
        c->stats.inits++;
        send_message(c, MESSAGE_HANDSHAKE_INIT, 0, out);
}

static void send_init(struct client *c, uint64_t now_us, struct actions *out)
{
        if (c->connected || c->waiting_inits == 0) {
                c->waiting_since_us = now_us;
                c->waiting_inits = 0;
        } else {
                note_unanswered(c, now_us, out);
                if (++c->unanswered_since_lookup >= CLIENT_RERESOLVE_UNANSWERED) {
                        c->unanswered_since_lookup = 0;
                        out->reresolve = true;
                }
        }
        begin_init(c, now_us, out);
}

static void send_keepalive(struct client *c, uint64_t now_us, struct actions *out)
{
        c->keepalive++;
        c->stats.keepalives++;
        send_message(c, MESSAGE_KEEPALIVE, c->keepalive, out);
        if (c->keepalive >= c->cfg.keepalive_count)
                send_init(c, now_us, out);
}

void client_start(struct client *c, const struct client_config *cfg, uint64_t now_us, uint64_t unix_s,
                  struct actions *out)
{
        memset(c, 0, sizeof(*c));
        c->cfg = *cfg;
        c->handshake_id = unix_s;
        actions_reset(out);
        send_init(c, now_us, out);
        out->wake_us = c->next_wake_us;
}

void client_reconfigure(struct client *c, const struct client_config *cfg)
{
        c->cfg = *cfg;
}

void client_move(struct client *c, const struct addr *server, uint64_t now_us, struct actions *out)
{
        actions_reset(out);
        c->cfg.server = *server;
        c->unanswered_since_lookup = 0;
        /* nothing was lost yet unless an outage runs: a fresh stretch */
        if (c->connected || c->waiting_inits <= 1) {
                c->waiting_since_us = now_us;
                c->waiting_inits = 0;
        }
        begin_init(c, now_us, out);
        out->wake_us = c->next_wake_us;
}

void client_timer(struct client *c, uint64_t now_us, struct actions *out)
{
        uint64_t due = c->next_wake_us;

        actions_reset(out);
        if (now_us >= due) {
                if (!c->connected) {
                        send_init(c, now_us, out);
                } else {
                        /* keep the cadence, but never schedule into the past */
                        uint64_t next = due + c->cfg.keepalive_interval_us;

                        c->next_wake_us = next > now_us ? next : now_us;
                        send_keepalive(c, now_us, out);
                }
        }
        out->wake_us = c->next_wake_us;
}

static void ignore(struct client *c, const struct addr *from, const struct message *m,
                   enum event_ignore why, struct actions *out)
{
        struct core_event *ev = actions_event(out, EVENT_IGNORED, from);

        ev->has_msg = true;
        ev->msg = *m;
        ev->why = why;
        ev->expected = c->handshake_id;
        c->stats.ignored++;
}

/* Which rule, if any, makes the client ignore an authentic message. */
static int check_response(const struct client *c, const struct message *m, bool from_server)
{
        if (!from_server)
                return EVENT_IGNORE_FOREIGN_ADDR;
        if (m->id_len != c->cfg.id_len || memcmp(m->id, c->cfg.id, m->id_len) != 0)
                return EVENT_IGNORE_FOREIGN_ID;
        if (m->type != MESSAGE_HANDSHAKE_RESPONSE)
                return EVENT_IGNORE_NOT_RESPONSE;
        if (m->data[0] != c->handshake_id)
                return EVENT_IGNORE_STALE;
        if (c->connected)
                return EVENT_IGNORE_DUPLICATE;
        return -1;
}

void client_receive(struct client *c, uint64_t now_us, const struct addr *from, const struct opened *in,
                    struct actions *out)
{
        bool from_server = addr_equal(from, &c->cfg.server);
        const struct message *m = &in->msg;
        struct core_event *ev;
        int r;

        actions_reset(out);
        out->wake_us = c->next_wake_us;
        if (in->err < 0) {
                ev = actions_event(out, EVENT_INVALID, from);
                ev->invalid = in->why;
                c->stats.invalid++;
                return;
        }
        ev = actions_event(out, EVENT_RX, from);
        ev->has_msg = true;
        ev->msg = *m;
        c->stats.rx++;
        c->stats.rx_type[m->type]++;

        r = check_response(c, m, from_server);
        if (r >= 0) {
                ignore(c, from, m, (enum event_ignore)r, out);
                return;
        }
        c->stats.last_rtt_us = now_us - c->init_sent_us;
        c->stats.last_answer_us = now_us;
        count_rtt(&c->stats, c->stats.last_rtt_us);
        ev->rtt_us = c->stats.last_rtt_us;
        if (c->waiting_inits > 1) {
                struct core_event *end = actions_event(out, EVENT_OUTAGE_END, from);

                end->has_msg = true;
                end->msg = *m;
                end->duration_us = now_us - c->waiting_since_us;
                end->rtt_us = c->stats.last_rtt_us;
                c->stats.last_outage_us = end->duration_us;
                c->stats.outage_us_total += end->duration_us;
        }
        c->connected = true;
        c->waiting_inits = 0;
        c->unanswered_since_lookup = 0;
        c->stats.answered++;
        c->next_wake_us = now_us + c->cfg.keepalive_interval_us;
        send_keepalive(c, now_us, out);
        out->wake_us = c->next_wake_us;
}

uint64_t client_outage_us(const struct client *c, uint64_t now_us)
{
        /* an outage runs from the first retry on, counted from the first init */
        bool in_outage = c->waiting_inits > 1 && now_us > c->waiting_since_us;

        return c->stats.outage_us_total + (in_outage ? now_us - c->waiting_since_us : 0);
}

void client_status(const struct client *c, uint64_t now_us, char *buf, size_t cap)
{
        uint64_t waited = (now_us - c->waiting_since_us) / 100000; /* tenths of a second */

        int n;

        if (c->connected)
                n = snprintf(buf, cap, "Connected: handshake %" PRIu64 " answered in %" PRIu64 " ms, keepalive %u of %u",
                             c->handshake_id, c->stats.last_rtt_us / 1000, c->keepalive, c->cfg.keepalive_count);
        else if (c->waiting_inits <= 1)
                n = snprintf(buf, cap, "Handshaking: handshake %" PRIu64 " sent", c->handshake_id);
        else
                n = snprintf(buf, cap, "No answer for %" PRIu64 ".%" PRIu64 " s: %u handshakes unanswered, latest %" PRIu64,
                             waited / 10, waited % 10, c->waiting_inits, c->handshake_id);
        if (c->stats.outages && c->stats.last_outage_us && n > 0 && (size_t)n < cap)
                snprintf(buf + n, cap - (size_t)n, "; outages: %" PRIu64 ", the last %" PRIu64 ".%" PRIu64 " s",
                         c->stats.outages, c->stats.last_outage_us / 1000000, c->stats.last_outage_us / 100000 % 10);
}

/* server: the server's protocol state machine (see server.h). */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int server_init(struct server *s, const struct seal_key *key, size_t max_clients)
{
        s->key = key;
        s->stats = (struct server_stats){ 0 };
        return peers_init(&s->peers, max_clients);
}

void server_free(struct server *s)
{
        peers_free(&s->peers);
}

/* Makes room for one more client by forgetting the one heard from least
 * recently. */
static void evict(struct server *s, struct actions *out)
{
        struct peer *old = s->peers.oldest;
        struct event *ev = actions_event(out, EVENT_EVICTED, &old->addr);

        ev->has_msg = true;
        (void)message_init(&ev->msg, MESSAGE_HANDSHAKE_INIT, old->id, old->id_len, old->highest_init, 0);
        peers_remove(&s->peers, old);
        s->stats.evicted++;
        s->state_changes++;
}

/* The client's entry, created on first sight; NULL without memory. */
static struct peer *lookup(struct server *s, uint64_t now_us, const struct message *m,
                           struct actions *out)
{
        struct peer *p = peers_find(&s->peers, m->id, m->id_len);

        if (p) {
                peers_touch(&s->peers, p);
                return p;
        }
        if (s->peers.count >= s->peers.max && s->peers.oldest)
                evict(s, out);
        if (peers_add(&s->peers, m->id, m->id_len, &p) < 0)
                return NULL;
        p->first_seen_us = now_us;
        return p;
}

static void handle_init(struct server *s, struct peer *p, const struct message *m,
                        const struct addr *from, struct actions *out)
{
        struct message reply = *m;

        if (m->data[0] <= p->highest_init) {
                struct event *ev = actions_event(out, EVENT_REPLAY, from);

                ev->has_msg = true;
                ev->msg = *m;
                ev->expected = p->highest_init;
                p->replays++;
                s->stats.replays++;
                return;
        }
        p->highest_init = m->data[0];
        s->state_changes++;
        reply.type = MESSAGE_HANDSHAKE_RESPONSE;
        actions_send(out, &reply, from, false);
        p->tx++;
        s->stats.tx++;
}

void server_receive(struct server *s, uint64_t now_us, const struct addr *from,
                    const uint8_t *packet, size_t len, struct actions *out)
{
        const char *why;
        struct message m;
        struct event *ev;
        struct peer *p;
        int r;

        actions_reset(out);
        s->stats.last_rx_us = now_us;
        r = seal_open_message(s->key, packet, len, &m, &why);
        if (r < 0) {
                ev = actions_event(out, EVENT_INVALID, from);
                ev->err = r;
                ev->invalid = why;
                s->stats.invalid++;
                return;
        }
        ev = actions_event(out, EVENT_RX, from);
        ev->has_msg = true;
        ev->msg = m;
        s->stats.rx++;
        s->stats.last_from = *from;
        memcpy(s->stats.last_id, m.id, m.id_len + 1);
        s->stats.last_id_len = m.id_len;

        p = lookup(s, now_us, &m, out);
        if (!p)
                return;
        p->rx++;
        p->last_seen_us = now_us;
        p->addr = *from;
        if (m.type == MESSAGE_HANDSHAKE_INIT)
                handle_init(s, p, &m, from, out);
}

void server_status(const struct server *s, char *buf, size_t cap)
{
        char id[MESSAGE_TEXT_MAX], from[ADDR_STRLEN];
        int n = snprintf(buf, cap, "%zu client%s; %" PRIu64 " in, %" PRIu64 " out, %" PRIu64 " invalid, %" PRIu64 " replays",
                         s->peers.count, s->peers.count == 1 ? "" : "s", s->stats.rx, s->stats.tx,
                         s->stats.invalid, s->stats.replays);

        if (s->stats.rx == 0 || n < 0 || (size_t)n >= cap)
                return;
        if (message_repr_string(s->stats.last_id, s->stats.last_id_len, id, sizeof(id)) < 0)
                snprintf(id, sizeof(id), "(long id)");
        snprintf(buf + n, cap - (size_t)n, "; last from %.64s at %s", id, addr_format(&s->stats.last_from, from));
}

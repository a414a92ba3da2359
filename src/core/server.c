/* server: the server's protocol state machine (see server.h). */
#include "core/server.h"
#include "server-probes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int server_init(struct server *s, const struct server_config *cfg)
{
        s->cfg = *cfg;
        s->stats = (struct server_stats){ 0 };
        s->state_changes = 0;
        return peers_init(&s->peers, cfg->max_clients) < 0 || server_probes_init(s) < 0 ? -ENOMEM : 0;
}

void server_free(struct server *s)
{
        peers_free(&s->peers);
        probes_free(&s->probes);
}

size_t server_reconfigure(struct server *s, const struct server_config *cfg)
{
        size_t forgotten = 0;

        s->cfg = *cfg;
        s->peers.max = cfg->max_clients;
        server_probes_reconfigure(s);
        while (s->peers.count > s->peers.max && s->peers.oldest) {
                peers_remove(&s->peers, s->peers.oldest);
                forgotten++;
        }
        s->stats.evicted += forgotten;
        s->state_changes += forgotten;
        return forgotten;
}

/* Makes room for one more client by forgetting the one heard from least
 * recently. */
static void evict(struct server *s, struct actions *out)
{
        struct peer *old = s->peers.oldest;
        struct core_event *ev = actions_event(out, EVENT_EVICTED, &old->addr);

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

static struct core_event *peer_event(struct actions *out, enum event_kind kind, const struct peer *p,
                                const struct message *m)
{
        struct core_event *ev = actions_event(out, kind, &p->addr);

        ev->has_msg = true;
        ev->msg = *m;
        return ev;
}

/* Keepalives of the handshake that ended: those never seen were lost. */
static void close_handshake(struct server *s, struct peer *p, const struct message *m, struct actions *out)
{
        if (p->ka_handshake && p->ka_last < s->cfg.keepalive_count) {
                uint64_t lost = s->cfg.keepalive_count - p->ka_last;
                struct core_event *ev = peer_event(out, EVENT_LOSS, p, m);

                ev->lost = lost;
                ev->expected = p->ka_handshake;
                p->lost += lost;
                s->stats.lost += lost;
        }
        p->ka_handshake = 0;
        p->ka_last = 0;
}

static void handle_keepalive(struct server *s, struct peer *p, const struct message *m,
                             struct actions *out)
{
        uint64_t hs = m->data[0], k = m->data[1];

        if (hs < p->ka_handshake)
                return; /* a straggler from an older handshake */
        if (hs > p->ka_handshake) {
                if (p->ka_handshake)
                        close_handshake(s, p, m, out);
                p->ka_handshake = hs;
        }
        p->keepalives++;
        if (k <= p->ka_last) {
                peer_event(out, EVENT_DUPLICATE, p, m);
                p->duplicates++;
                s->stats.duplicates++;
                return;
        }
        if (k > p->ka_last + 1) {
                struct core_event *ev = peer_event(out, EVENT_LOSS, p, m);

                ev->lost = k - p->ka_last - 1;
                ev->expected = hs;
                p->lost += ev->lost;
                s->stats.lost += ev->lost;
        }
        p->ka_last = k;
}

/* Where the client speaks from: a change is the NAT re-mapping the flow. */
static void check_address(struct server *s, struct peer *p, uint64_t now_us, const struct message *m,
                          const struct addr *from, struct actions *out)
{
        if (p->rx > 0 && !addr_equal(&p->addr, from)) {
                struct core_event *ev = actions_event(out, EVENT_NAT_REBIND, from);

                ev->has_msg = true;
                ev->msg = *m;
                ev->old_peer = p->addr;
                p->rebinds++;
                s->stats.rebinds++;
                memcpy(s->stats.rebind_id, m->id, m->id_len + 1);
                s->stats.rebind_id_len = m->id_len;
                s->stats.rebind_old = p->addr;
                s->stats.rebind_new = *from;
        }
        if (p->silent) {
                struct core_event *ev = actions_event(out, EVENT_BACK, from);

                ev->has_msg = true;
                ev->msg = *m;
                ev->duration_us = now_us - p->last_seen_us;
                p->silent = false;
        }
}

static void handle_init(struct server *s, struct peer *p, const struct message *m,
                        const struct addr *from, struct actions *out)
{
        struct message reply = *m;

        if (m->data[0] <= p->highest_init) {
                struct core_event *ev = actions_event(out, EVENT_REPLAY, from);

                ev->has_msg = true;
                ev->msg = *m;
                ev->expected = p->highest_init;
                p->replays++;
                s->stats.replays++;
                return;
        }
        p->highest_init = m->data[0];
        s->state_changes++;
        if (p->ka_handshake)
                close_handshake(s, p, m, out);
        reply.type = MESSAGE_HANDSHAKE_RESPONSE;
        actions_send(out, &reply, from);
        p->tx++;
        s->stats.tx++;
        s->stats.tx_type[MESSAGE_HANDSHAKE_RESPONSE]++;
}

void server_receive(struct server *s, uint64_t now_us, const struct addr *from, const struct opened *in,
                    struct actions *out)
{
        actions_reset(out);
        s->stats.last_rx_us = now_us;
        if (in->err < 0) {
                struct core_event *ev = actions_event(out, EVENT_INVALID, from);

                ev->invalid = in->why;
                s->stats.invalid++;
                return;
        }
        server_handle_message(s, now_us, from, &in->msg, out);
}

void server_handle_message(struct server *s, uint64_t now_us, const struct addr *from,
                           const struct message *m, struct actions *out)
{
        struct core_event *ev;
        struct peer *p;

        s->stats.last_rx_us = now_us;
        ev = actions_event(out, EVENT_RX, from);
        ev->has_msg = true;
        ev->msg = *m;
        s->stats.rx++;
        s->stats.rx_type[m->type]++;
        s->stats.last_from = *from;
        memcpy(s->stats.last_id, m->id, m->id_len + 1);
        s->stats.last_id_len = m->id_len;

        if (m->type == MESSAGE_PROBE || m->type == MESSAGE_PROBE_RESPONSE) {
                /* its own flow, from another port: not the client's address */
                if (m->type == MESSAGE_PROBE)
                        server_probe_receive(s, now_us, from, m, out);
                return;
        }
        p = lookup(s, now_us, m, out);
        if (!p)
                return;
        check_address(s, p, now_us, m, from, out);
        p->rx++;
        p->last_seen_us = now_us;
        p->addr = *from;
        if (m->type == MESSAGE_HANDSHAKE_INIT)
                handle_init(s, p, m, from, out);
        else if (m->type == MESSAGE_KEEPALIVE)
                handle_keepalive(s, p, m, out);
}

void server_timer(struct server *s, uint64_t now_us, struct actions *out)
{
        uint64_t quiet = 2 * s->cfg.keepalive_interval_us;

        actions_reset(out);
        out->wake_us = now_us + quiet;
        /* the recency list is in last-heard order: the silent are at its old end */
        for (struct peer *p = s->peers.oldest; p; p = p->newer) {
                struct message m;
                struct core_event *ev;

                if (p->silent)
                        continue;
                if (now_us - p->last_seen_us < quiet) {
                        out->wake_us = p->last_seen_us + quiet;
                        break;
                }
                if (out->n_events == ACTIONS_MAX_EVENTS) {
                        out->wake_us = now_us; /* more to declare: at once */
                        break;
                }
                (void)message_init(&m, MESSAGE_KEEPALIVE, p->id, p->id_len, p->ka_handshake, p->ka_last);
                ev = peer_event(out, EVENT_SILENT, p, &m);
                ev->duration_us = now_us - p->last_seen_us;
                p->silent = true;
                s->stats.silences++;
        }
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
        n += snprintf(buf + n, cap - (size_t)n, "; last from %.64s at %s", id, addr_format(&s->stats.last_from, from));
        if (s->stats.rebinds && n > 0 && (size_t)n < cap) {
                char old[ADDR_STRLEN], new[ADDR_STRLEN];

                message_repr_string(s->stats.rebind_id, s->stats.rebind_id_len, id, sizeof(id));
                snprintf(buf + n, cap - (size_t)n, "; %" PRIu64 " rebinds, latest %.64s %s -> %s", s->stats.rebinds,
                         id, addr_format(&s->stats.rebind_old, old), addr_format(&s->stats.rebind_new, new));
        }
}

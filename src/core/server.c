/* server: the server's protocol state machine (see server.h). */
#include "core/server.h"
#include "core/server-probe-hooks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int server_init(struct server *s, const struct server_config *cfg)
{
        s->cfg = *cfg;
        s->stats = (struct server_stats){ 0 };
        s->quiet_end = NULL;
        memset(&s->invalid, 0, sizeof(s->invalid));
        return peers_init(&s->peers, cfg->max_clients) < 0 || server_probes_init(s) < 0 ? -ENOMEM : 0;
}

void server_free(struct server *s)
{
        peers_free(&s->peers);
        probes_free(&s->probes);
}

/* Before p leaves its place in the recency list (heard, or forgotten):
 * the run of quiet clients ends one earlier if p ended it. */
static void leaving(struct server *s, const struct peer *p)
{
        if (s->quiet_end == p)
                s->quiet_end = p->older;
}

size_t server_reconfigure(struct server *s, const struct server_config *cfg)
{
        size_t forgotten = 0;

        s->cfg = *cfg;
        s->peers.max = cfg->max_clients;
        server_probes_reconfigure(s);
        while (s->peers.count > s->peers.max && s->peers.oldest) {
                leaving(s, s->peers.oldest);
                peers_remove(&s->peers, s->peers.oldest);
                forgotten++;
        }
        s->stats.evicted += forgotten;
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
        leaving(s, old);
        peers_remove(&s->peers, old);
        s->stats.evicted++;
}

/* The client's entry, created on first sight; NULL without memory. */
static struct peer *lookup(struct server *s, uint64_t now_us, const struct message *m,
                           struct actions *out)
{
        struct peer *p = peers_find(&s->peers, m->id, m->id_len);

        if (p) {
                leaving(s, p);
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

        if (hs > p->ka_handshake) {
                if (p->ka_handshake)
                        close_handshake(s, p, m, out);
                p->ka_handshake = hs;
                /* a handshake this server did not answer (it restarted, or
                 * the client is new to it): what came before this keepalive
                 * was not sent to a server that was listening */
                if (hs != p->answered_hs && k > 0)
                        p->ka_last = k - 1;
        }
        p->keepalives++;
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

        p->highest_init = m->data[0];
        p->answered_hs = m->data[0];
        if (p->ka_handshake)
                close_handshake(s, p, m, out);
        reply.type = MESSAGE_HANDSHAKE_RESPONSE;
        actions_send(out, &reply, from);
        p->tx++;
        s->stats.tx++;
        s->stats.tx_type[MESSAGE_HANDSHAKE_RESPONSE]++;
}

/* A message that tells nothing new of a client: an init not above the
 * highest answered (a replay), a keepalive counter already seen in the
 * current handshake (a duplicate), a keepalive of an older handshake (a
 * straggler). Anyone who captured one can send it again from anywhere, so
 * it is no sign of life: it is logged and counted, and changes nothing
 * else. p: the client, or NULL when unknown. Returns true when m is one. */
static bool stale(struct server *s, struct peer *p, const struct message *m, const struct addr *from,
                  struct actions *out)
{
        uint64_t hs = m->data[0], k = m->data[1];
        uint64_t highest = p ? p->highest_init : 0, ka_hs = p ? p->ka_handshake : 0, ka_last = p ? p->ka_last : 0;
        struct core_event *ev;

        if (m->type == MESSAGE_HANDSHAKE_INIT && hs <= highest) {
                ev = actions_event(out, EVENT_REPLAY, from);
                ev->has_msg = true;
                ev->msg = *m;
                ev->expected = highest;
                s->stats.replays++;
                if (p)
                        p->replays++;
                return true;
        }
        if (m->type == MESSAGE_HANDSHAKE_RESPONSE)
                return true; /* only the server sends these: one of ours, sent back */
        if (m->type != MESSAGE_KEEPALIVE)
                return false;
        if (hs < ka_hs || (ka_hs == 0 && hs < highest))
                return true; /* a straggler from an older handshake */
        if (hs == ka_hs && k <= ka_last) {
                ev = actions_event(out, EVENT_DUPLICATE, from);
                ev->has_msg = true;
                ev->msg = *m;
                s->stats.duplicates++;
                if (p)
                        p->duplicates++;
                return true;
        }
        return false;
}

/* An authentic message with a value no client of ours sends: a handshake
 * id far beyond the clock (remembered, it would lock its id out), a
 * keepalive counter above the count (it would read as thousands of lost
 * keepalives). It is logged, counted, and changes nothing else. */
static bool out_of_bounds(struct server *s, uint64_t unix_s, const struct message *m, const struct addr *from,
                          struct actions *out)
{
        struct core_event *ev;
        uint64_t bound = unix_s + SERVER_HANDSHAKE_AHEAD_MAX_S;
        enum event_refuse why;

        if (unix_s && (m->type == MESSAGE_HANDSHAKE_INIT || m->type == MESSAGE_KEEPALIVE) && m->data[0] > bound) {
                why = EVENT_REFUSE_AHEAD;
        } else if (m->type == MESSAGE_KEEPALIVE && m->data[1] > s->cfg.keepalive_count) {
                why = EVENT_REFUSE_COUNTER;
                bound = s->cfg.keepalive_count;
        } else {
                return false;
        }
        ev = actions_event(out, EVENT_REFUSED, from);
        ev->has_msg = true;
        ev->msg = *m;
        ev->refused = why;
        ev->expected = bound;
        s->stats.refused++;
        return true;
}

static void handle(struct server *s, uint64_t now_us, uint64_t unix_s, const struct addr *from,
                   const struct message *m, struct actions *out);

static size_t invalid_slot_of(const struct addr *from)
{
        char text[ADDR_STRLEN];
        uint32_t h = 2166136261u; /* FNV-1a of the text: a mapped IPv4 hashes as the IPv4 */

        for (const char *p = addr_format(from, text); *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        return h % SERVER_INVALID_SLOTS;
}

static void invalid_more(struct actions *out, const struct addr *from, uint64_t count)
{
        static const struct addr many = { .sa = { .sa_family = AF_UNSPEC } };

        actions_event(out, EVENT_INVALID_MORE, from ? from : &many)->count = count;
}

/* Says how many from a slot were not logged, and empties it. */
static void flush_slot(struct invalid_slot *sl, struct actions *out)
{
        if (sl->more)
                invalid_more(out, &sl->from, sl->more);
        sl->logged = sl->more = 0;
}

/* An invalid datagram: counted always, logged within the limits. */
static void invalid(struct server *s, uint64_t now_us, const struct addr *from, const char *why,
                    struct actions *out)
{
        struct invalid_limit *l = &s->invalid;
        struct invalid_slot *sl = &l->slot[invalid_slot_of(from)];
        uint64_t second = now_us / 1000000;

        s->stats.invalid++;
        if (l->second != second) {
                if (l->more)
                        invalid_more(out, NULL, l->more);
                l->second = second;
                l->logged = l->more = 0;
        }
        if (sl->second != second || !addr_equal(&sl->from, from)) {
                flush_slot(sl, out);
                sl->from = *from;
                sl->second = second;
        }
        if (sl->logged < SERVER_INVALID_LOG_PER_SOURCE && l->logged < SERVER_INVALID_LOG_MAX) {
                actions_event(out, EVENT_INVALID, from)->invalid = why;
                sl->logged++;
                l->logged++;
                return;
        }
        if (sl->logged < SERVER_INVALID_LOG_PER_SOURCE)
                l->more++; /* the total is reached: this source goes in with the others */
        else
                sl->more++;
        l->due_us = (second + 1) * 1000000;
}

/* At the timer: the summaries of seconds gone by (at once again when the
 * actions are full and more wait). */
static void flush_invalid(struct server *s, uint64_t now_us, struct actions *out)
{
        struct invalid_limit *l = &s->invalid;
        uint64_t second = now_us / 1000000;

        if (!l->due_us || now_us < l->due_us)
                return;
        l->due_us = 0;
        for (size_t i = 0; i < SERVER_INVALID_SLOTS; i++) {
                struct invalid_slot *sl = &l->slot[i];

                if (!sl->more)
                        continue;
                if (sl->second == second) {
                        l->due_us = (second + 1) * 1000000; /* its second is not over */
                        continue;
                }
                if (out->n_events == ACTIONS_MAX_EVENTS) {
                        l->due_us = now_us;
                        return;
                }
                flush_slot(sl, out);
        }
        if (l->more && l->second != second && out->n_events < ACTIONS_MAX_EVENTS) {
                invalid_more(out, NULL, l->more);
                l->more = 0;
        } else if (l->more) {
                l->due_us = l->second != second ? now_us : (second + 1) * 1000000;
        }
}

void server_receive(struct server *s, uint64_t now_us, uint64_t unix_s, const struct addr *from,
                    const struct opened *in, struct actions *out)
{
        actions_reset(out);
        s->stats.last_rx_us = now_us;
        if (in->err < 0) {
                invalid(s, now_us, from, in->why, out);
                return;
        }
        handle(s, now_us, unix_s, from, &in->msg, out);
}

void server_handle_message(struct server *s, uint64_t now_us, const struct addr *from,
                           const struct message *m, struct actions *out)
{
        handle(s, now_us, 0, from, m, out);
}

static void handle(struct server *s, uint64_t now_us, uint64_t unix_s, const struct addr *from,
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

        p = peers_find(&s->peers, m->id, m->id_len);
        if (out_of_bounds(s, unix_s, m, from, out) || stale(s, p, m, from, out))
                return;
        memcpy(s->stats.last_id, m->id, m->id_len + 1);
        s->stats.last_id_len = m->id_len;
        if (m->type == MESSAGE_TRACE)
                return; /* a client tracing its path: logged, nothing more */
        if (m->type == MESSAGE_PROBE || m->type == MESSAGE_PROBE_RESPONSE) {
                /* its own flow, from another port: not the client's address */
                if (m->type == MESSAGE_PROBE)
                        server_probe_receive(s, now_us, from, m, out);
                return;
        }
        s->stats.last_from = *from;
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

struct peer *server_heard_since(const struct server *s, uint64_t since_us)
{
        struct peer *first = NULL;

        for (struct peer *p = s->peers.newest; p && p->rx && p->last_seen_us >= since_us; p = p->older)
                first = p;
        return first;
}

void server_timer(struct server *s, uint64_t now_us, struct actions *out)
{
        uint64_t quiet = 2 * s->cfg.keepalive_interval_us;
        size_t steps = 0;

        actions_reset(out);
        out->wake_us = now_us + quiet;
        flush_invalid(s, now_us, out);
        /* the recency list is in last-heard order: the silent are at its old
         * end, after the run of those already silent or restored */
        for (struct peer *p = s->quiet_end ? s->quiet_end->newer : s->peers.oldest; p; p = p->newer) {
                struct message m;
                struct core_event *ev;

                if (out->n_events == ACTIONS_MAX_EVENTS || steps++ == SERVER_TIMER_STEPS) {
                        out->wake_us = now_us; /* more to look at: at once */
                        break;
                }
                /* silent already, or restored from the state file and not
                 * heard since the start: nothing to declare */
                if (p->silent || p->rx == 0) {
                        s->quiet_end = p;
                        continue;
                }
                if (now_us - p->last_seen_us < quiet) {
                        out->wake_us = p->last_seen_us + quiet;
                        break;
                }
                (void)message_init(&m, MESSAGE_KEEPALIVE, p->id, p->id_len, p->ka_handshake, p->ka_last);
                ev = peer_event(out, EVENT_SILENT, p, &m);
                ev->duration_us = now_us - p->last_seen_us;
                p->silent = true;
                s->quiet_end = p;
                s->stats.silences++;
        }
        if (s->invalid.due_us && s->invalid.due_us < out->wake_us)
                out->wake_us = s->invalid.due_us;
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

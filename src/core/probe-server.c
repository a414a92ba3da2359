/* probe-server (probes_*): the server answering NAT timeout probes after
 * their delay (see probe-server.h). */
#include "core/probe-server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

int probes_init(struct probes *p, const struct probes_config *cfg)
{
        memset(p, 0, sizeof(*p));
        p->cfg = *cfg;
        return peers_init(&p->clients, cfg->max_clients ? cfg->max_clients : 1);
}

void probes_free(struct probes *p)
{
        peers_free(&p->clients);
        free(p->heap);
        p->heap = NULL;
        p->n = p->cap = 0;
}

void probes_reconfigure(struct probes *p, const struct probes_config *cfg)
{
        p->cfg = *cfg;
        /* the table only shrinks by eviction, as the ids come */
        p->clients.max = cfg->max_clients ? cfg->max_clients : 1;
}

static void heap_swap(struct probes *p, size_t a, size_t b)
{
        struct probes_pending t = p->heap[a];

        p->heap[a] = p->heap[b];
        p->heap[b] = t;
}

static void heap_up(struct probes *p, size_t i)
{
        while (i > 0 && p->heap[(i - 1) / 2].due_us > p->heap[i].due_us) {
                heap_swap(p, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
}

static void heap_down(struct probes *p, size_t i)
{
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < p->n && p->heap[l].due_us < p->heap[m].due_us)
                        m = l;
                if (r < p->n && p->heap[r].due_us < p->heap[m].due_us)
                        m = r;
                if (m == i)
                        return;
                heap_swap(p, i, m);
                i = m;
        }
}

/* Room for one more waiting answer: the heap grows by doubling up to the
 * limit, so an idle server holds little. */
static int heap_reserve(struct probes *p)
{
        if (p->n >= p->cfg.max_pending)
                return -ENOSPC;
        return grow_array_max((void **)&p->heap, &p->cap, p->n + 1, p->cfg.max_pending, sizeof(*p->heap));
}

uint64_t probes_next_wake(const struct probes *p)
{
        uint64_t next = p->n ? p->heap[0].due_us : 0;
        uint64_t log_at = p->logged_us + PROBES_REFUSAL_LOG_US;

        if (p->unlogged && (!next || log_at < next))
                next = log_at;
        return next;
}

static void lower_wake(struct actions *out, uint64_t at)
{
        if (at && (!out->wake_us || at < out->wake_us))
                out->wake_us = at;
}

static void log_refusals(struct probes *p, uint64_t now_us, struct actions *out)
{
        struct core_event *ev = actions_event(out, EVENT_PROBE_REFUSED, &p->why_from);

        ev->has_msg = true;
        ev->msg = p->why_msg;
        ev->lost = p->unlogged;
        ev->refusal = p->why;
        p->unlogged = 0;
        p->logged_us = now_us;
}

/* Counts a refusal; the first after a quiet interval is told at once, the
 * others by the timer at the interval's end. */
static void refuse(struct probes *p, uint64_t now_us, const struct addr *from, const struct message *m,
                   const char *why, struct actions *out)
{
        p->stats.refused++;
        p->unlogged++;
        p->why = why;
        p->why_from = *from;
        p->why_msg = *m;
        if (!p->logged_us || now_us - p->logged_us >= PROBES_REFUSAL_LOG_US)
                log_refusals(p, now_us, out);
}

/* The client id's entry, made on first sight; when the table is full the
 * id probed least recently makes room unless it has answers waiting. The
 * time it probed keeps the table in that order (probes_heard_since). */
static struct peer *client_of(struct probes *p, uint64_t now_us, const struct message *m)
{
        struct peer *c = peers_find(&p->clients, m->id, m->id_len);

        if (c) {
                peers_touch(&p->clients, c);
        } else {
                if (p->clients.count >= p->clients.max && p->clients.oldest && !p->clients.oldest->probes_pending)
                        peers_remove(&p->clients, p->clients.oldest);
                if (peers_add(&p->clients, m->id, m->id_len, &c) < 0)
                        return NULL;
        }
        c->last_seen_us = now_us;
        return c;
}

struct peer *probes_heard_since(const struct probes *p, uint64_t since_us)
{
        struct peer *first = NULL;

        for (struct peer *c = p->clients.newest; c && c->last_seen_us >= since_us; c = c->older)
                first = c;
        return first;
}

static void answer(struct probes *p, const struct probes_pending *w, struct actions *out)
{
        struct message reply;

        (void)message_init(&reply, MESSAGE_PROBE_RESPONSE, w->client->id, w->client->id_len, w->probe_id,
                           w->delay_s);
        actions_send(out, &reply, &w->to);
        p->stats.answered++;
}

/* Why a probe cannot be taken now, or NULL. */
static const char *check(struct probes *p, uint64_t now_us, const struct message *m, struct peer **client)
{
        if (p->cfg.max_pending == 0)
                return "probes are not answered here (probe-max-pending is 0)";
        if (m->data[1] > p->cfg.max_delay_s)
                return "delay above probe-max-delay";
        *client = client_of(p, now_us, m);
        if (!*client)
                return "too many client ids probing";
        if (m->data[0] <= (*client)->highest_init) {
                p->stats.replays++;
                return "probe id not above the last one (a replay)";
        }
        if ((*client)->probes_pending >= p->cfg.max_per_client)
                return "too many probes waiting for this client id";
        if (p->n >= p->cfg.max_pending)
                return "too many probes waiting in all (probe-max-pending)";
        if (heap_reserve(p) < 0)
                return "out of memory";
        return NULL;
}

void probes_receive(struct probes *p, uint64_t now_us, const struct addr *from, const struct message *m,
                    struct actions *out)
{
        struct probes_pending w = { .probe_id = m->data[0], .delay_s = m->data[1], .to = *from };
        const char *why = check(p, now_us, m, &w.client);

        if (why) {
                refuse(p, now_us, from, m, why, out);
                lower_wake(out, probes_next_wake(p));
                return;
        }
        w.client->highest_init = m->data[0];
        p->stats.accepted++;
        if (w.delay_s == 0) {
                answer(p, &w, out);
        } else {
                w.due_us = now_us + w.delay_s * 1000000;
                w.client->probes_pending++;
                p->heap[p->n++] = w;
                heap_up(p, p->n - 1);
        }
        lower_wake(out, probes_next_wake(p));
}

void probes_timer(struct probes *p, uint64_t now_us, struct actions *out)
{
        while (p->n && p->heap[0].due_us <= now_us) {
                struct probes_pending w = p->heap[0];

                if (out->n_send == ACTIONS_MAX_SEND || out->n_events + 1 >= ACTIONS_MAX_EVENTS) {
                        out->wake_us = now_us; /* more due: at once */
                        return;
                }
                p->heap[0] = p->heap[--p->n];
                heap_down(p, 0);
                w.client->probes_pending--;
                answer(p, &w, out);
        }
        if (p->unlogged && now_us - p->logged_us >= PROBES_REFUSAL_LOG_US && out->n_events < ACTIONS_MAX_EVENTS)
                log_refusals(p, now_us, out);
        out->wake_us = 0;
        lower_wake(out, probes_next_wake(p));
}

/* trace: the decision to trace a dead flow, its TTL schedule and its
 * per-hop timeouts (see trace.h). */
#include "core/trace.h"

#include <string.h>

void trace_init(struct trace *t, const struct trace_config *cfg)
{
        memset(t, 0, sizeof(*t));
        trace_reconfigure(t, cfg);
}

void trace_reconfigure(struct trace *t, const struct trace_config *cfg)
{
        t->cfg = *cfg;
        if (t->cfg.hops > TRACE_HOPS_MAX)
                t->cfg.hops = TRACE_HOPS_MAX;
}

static void clear(struct trace_actions *out)
{
        out->send = false;
        out->done = false;
        out->wake_us = 0;
}

/* The copy for the next TTL, answered or timed out by due_us. */
static void next_hop(struct trace *t, uint64_t now_us, struct trace_actions *out)
{
        unsigned ttl = ++t->result.n_hops;

        memset(&t->result.hop[ttl - 1], 0, sizeof(t->result.hop[ttl - 1]));
        t->head_len[ttl - 1] = 0;
        t->msg.data[1] = ttl;
        t->due_us = now_us + TRACE_HOP_TIMEOUT_US;
        out->send = true;
        out->ttl = ttl;
        out->msg = t->msg;
        out->to = t->result.to;
        out->wake_us = t->due_us;
}

static void finish(struct trace *t, struct trace_actions *out)
{
        t->running = false;
        out->done = true;
        out->wake_us = 0;
}

/* After a hop: the next, or the end. */
static void step(struct trace *t, uint64_t now_us, struct trace_actions *out)
{
        if (t->silent >= TRACE_SILENT_STOP || t->result.n_hops >= t->cfg.hops)
                finish(t, out);
        else
                next_hop(t, now_us, out);
}

static bool should_start(const struct trace *t, const struct client *c, uint64_t now_us)
{
        if (t->running || t->cfg.hops == 0 || c->connected || c->waiting_inits <= TRACE_AFTER_UNANSWERED)
                return false;
        if (t->traced && t->outage_us == c->waiting_since_us)
                return false; /* this outage has had its trace */
        return !t->traced || now_us - t->last_start_us >= t->cfg.interval_us;
}

void trace_check(struct trace *t, const struct client *c, uint64_t now_us, struct trace_actions *out)
{
        clear(out);
        if (t->running && c->connected) {
                t->running = false;
                return;
        }
        if (!should_start(t, c, now_us)) {
                out->wake_us = t->running ? t->due_us : 0;
                return;
        }
        t->running = true;
        t->traced = true;
        t->last_start_us = now_us;
        t->outage_us = c->waiting_since_us;
        t->silent = 0;
        memset(&t->result, 0, sizeof(t->result));
        t->result.to = c->cfg.server;
        t->result.handshake = c->handshake_id;
        /* cannot fail: the id was checked when the config was made */
        (void)message_init(&t->msg, MESSAGE_TRACE, c->cfg.id, c->cfg.id_len, c->handshake_id, 0);
        next_hop(t, now_us, out);
}

void trace_sent(struct trace *t, unsigned ttl, const uint8_t *packet, size_t len)
{
        size_t n = len < TRACE_HEAD_LEN ? len : TRACE_HEAD_LEN;

        if (ttl == 0 || ttl > TRACE_HOPS_MAX)
                return;
        memcpy(t->head[ttl - 1], packet, n);
        t->head_len[ttl - 1] = n;
}

void trace_timer(struct trace *t, uint64_t now_us, struct trace_actions *out)
{
        clear(out);
        if (!t->running)
                return;
        if (now_us < t->due_us) {
                out->wake_us = t->due_us;
                return;
        }
        t->silent++;
        step(t, now_us, out);
}

/* Which TTL's copy an answer is about: the one whose first bytes it quotes
 * (as many as it quotes, up to TRACE_HEAD_LEN), the one in flight when it
 * quotes none; 0 when none fits. */
static unsigned answered_ttl(const struct trace *t, const struct trace_icmp *in)
{
        size_t n = in->quoted_len < TRACE_HEAD_LEN ? in->quoted_len : TRACE_HEAD_LEN;

        if (n == 0)
                return t->running ? t->result.n_hops : 0;
        for (unsigned i = 0; i < t->result.n_hops; i++)
                if (t->head_len[i] >= n && memcmp(t->head[i], in->quoted, n) == 0)
                        return i + 1;
        return 0;
}

void trace_answer(struct trace *t, uint64_t now_us, const struct trace_icmp *in, struct trace_actions *out)
{
        unsigned ttl;

        clear(out);
        out->wake_us = t->running ? t->due_us : 0;
        if (!t->running || in->offender.sa.sa_family == AF_UNSPEC || !addr_equal(&in->dest, &t->result.to))
                return;
        ttl = answered_ttl(t, in);
        if (ttl == 0)
                return;
        t->result.hop[ttl - 1] = in->offender;
        if (t->result.hop[ttl - 1].sa.sa_family == AF_INET)
                t->result.hop[ttl - 1].in.sin_port = 0;
        else
                t->result.hop[ttl - 1].in6.sin6_port = 0;
        if (ttl != t->result.n_hops)
                return; /* a late answer to an earlier copy: noted, the one in flight still awaited */
        t->silent = 0;
        if (!in->time_exceeded)
                finish(t, out); /* the path ends there: higher TTLs would meet the same */
        else
                step(t, now_us, out);
}

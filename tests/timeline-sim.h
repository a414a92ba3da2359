/* timeline-sim: the timeline tests' simulation (test-timeline*.c): the
 * protocol's schedule (PROTOCOL.md) in virtual time through a path with
 * faults writes a client's and a server's lines, and the checks that an
 * outage found holds the truth inside its bounds. */
#pragma once

#include <errno.h>

#include "check.h"
#include "core/client.h"
#include "report/timeline.h"

#define S 1000000LL
#define T0 (1795600000LL * S)

struct fault {
        int64_t start, end; /* offsets from T0 */
        bool c2s, s2c;
};

struct sim {
        int64_t ki, ht, delay, offset, end;
        unsigned count;
        const struct fault *faults;
        size_t n_faults;
        int64_t rebind_at; /* the client's NAT port changes then; 0: never */
        bool client_log, server_log;
        int64_t step_back_at, step_back; /* the client's clock steps back */
        /* the server's output loses its lines in [blind_from, blind_to),
         * and says so (or not, when !blind_said) at its next line */
        int64_t blind_from, blind_to;
        bool blind_said, blind_told;
        /* the server is stopped in [down_from, down_to): it logs its Exit,
         * hears and answers nothing; 0: never */
        int64_t down_from, down_to;
        bool exit_told;
        int64_t restart_at; /* the client restarts: its handshake ids start anew; 0: never */
        struct timeline tl;
};

static inline bool dropped(const struct sim *s, int64_t t, bool c2s)
{
        if (s->down_to && t >= s->down_from && t < s->down_to)
                return true;
        for (size_t i = 0; i < s->n_faults; i++)
                if (t >= s->faults[i].start && t < s->faults[i].end && (c2s ? s->faults[i].c2s : s->faults[i].s2c))
                        return true;
        return false;
}

static inline void line(struct sim *s, unsigned log, int64_t t, bool tx, enum message_type type, uint64_t hs,
                        uint64_t ctr)
{
        struct logline l = { .kind = tx ? LOGLINE_TX : LOGLINE_RX };
        int64_t when = T0 + t;

        if (log == 0) {
                if (!s->client_log)
                        return;
                if (s->step_back_at && t >= s->step_back_at)
                        when -= s->step_back;
                l.peer = (struct addr){ 0 };
                CHECK(addr_from_string(&l.peer, "203.0.113.9", 43210) == 0);
        } else {
                if (!s->server_log || (t >= s->blind_from && t < s->blind_to) ||
                    (s->down_to && t >= s->down_from && t < s->down_to))
                        return;
                when += s->offset;
                if (s->down_to && t >= s->down_to && !s->exit_told) {
                        struct logline stop = { .kind = LOGLINE_EXIT, .t_us = (uint64_t)(T0 + s->down_from + s->offset) };

                        CHECK(timeline_add(&s->tl, log, &stop) == 0);
                        s->exit_told = true;
                }
                if (s->blind_to && t >= s->blind_to && s->blind_said && !s->blind_told) {
                        struct logline lost = { .kind = LOGLINE_LINES_LOST, .t_us = (uint64_t)when, .dropped = 9 };

                        CHECK(timeline_add(&s->tl, log, &lost) == 0);
                        s->blind_told = true;
                }
                CHECK(addr_from_string(&l.peer, "198.51.100.7",
                                       s->rebind_at && t >= s->rebind_at ? 50001 : 40000) == 0);
        }
        l.t_us = (uint64_t)when;
        CHECK(message_init(&l.msg, type, "home", 4, hs, ctr) == 0);
        CHECK(timeline_add(&s->tl, log, &l) == 0);
}

/* A message from the client at t: logged sent, and received when it passes. */
static inline bool c2s(struct sim *s, int64_t t, enum message_type type, uint64_t hs, uint64_t ctr)
{
        line(s, 0, t, true, type, hs, ctr);
        if (dropped(s, t, true))
                return false;
        line(s, 1, t + s->delay, false, type, hs, ctr);
        return true;
}

/* The protocol's schedule (PROTOCOL.md) through the faulty path. */
static inline void simulate(struct sim *s)
{
        uint64_t hs = (uint64_t)(T0 / S);
        int64_t t = 0;

        timeline_init(&s->tl);
        while (t < s->end) {
                int64_t ans = t + 2 * s->delay;

                if (s->restart_at && t >= s->restart_at) {
                        hs += 1000; /* a new run of ids */
                        s->restart_at = 0;
                }
                hs++;
                if (!c2s(s, t, MESSAGE_HANDSHAKE_INIT, hs, 0)) {
                        t += s->ht;
                        continue;
                }
                line(s, 1, t + s->delay, true, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                if (dropped(s, t + s->delay, false)) {
                        t += s->ht;
                        continue;
                }
                line(s, 0, ans, false, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                for (unsigned k = 1; k <= s->count; k++)
                        c2s(s, ans + (k - 1) * s->ki, MESSAGE_KEEPALIVE, hs, k);
                t = ans + (s->count - 1) * s->ki + 1000;
        }
}

/* The simulation run, and the timeline's client: NULL (a failed check)
 * when it has none. */
static inline const struct timeline_client *run(struct sim *s)
{
        struct timeline_opts o = { 0 };
        const struct timeline_client *c;

        simulate(s);
        CHECK(timeline_finish(&s->tl, &o) == 0);
        c = timeline_find(&s->tl, "home", 4);
        CHECK(c != NULL);
        return c;
}

/* The one outage over the fault (times in the client's clock), its bounds
 * holding the truth. */
static inline const struct timeline_outage *found(const struct timeline_client *c, const struct fault *f,
                                                  int64_t shift)
{
        const struct timeline_outage *hit = NULL;
        int64_t a = T0 + f->start + shift, b = T0 + f->end + shift;
        unsigned n = 0;

        for (size_t i = 0; c && i < c->n_outages; i++)
                if (c->outages[i].start_us < b && a < c->outages[i].end_us) {
                        hit = &c->outages[i];
                        n++;
                }
        CHECK_INT(n, 1);
        if (!hit)
                return NULL;
        CHECK(!hit->start_min_known || hit->start_min_us <= a);
        CHECK(a <= hit->start_max_us);
        CHECK(hit->end_min_us <= b);
        CHECK(!hit->end_max_known || b <= hit->end_max_us);
        return hit;
}

static inline void within(int64_t got, int64_t want, int64_t tol)
{
        CHECK(got - want <= tol && want - got <= tol);
}

static const struct fault faults[] = {
        { 20 * S, 24 * S, true, false },      /* to the server only */
        { 40 * S, 45 * S, false, true },      /* to the client only */
        { 60 * S, 64500000, true, true },     /* both */
};


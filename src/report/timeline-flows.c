/* timeline-flows: what each flow keeps once worked out so that every outage
 * can say what the other flows were doing then (timeline_flow_state), and
 * that comparison. Two flows are compared only on a clock both are timed
 * on: a log both are in (a server's log that heard both, or one client log
 * file both wrote to). A flow's times are its client's clock; a server's
 * log is on it once the offset is known, or when there is no client log. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

void timeline_flow_bins(struct timeline *tl)
{
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        uint64_t span, w = 1000000;

        for (size_t i = 0; i < tl->n_logs; i++) {
                if (tl->logs[i].any) {
                        lo = min64(lo, tl->logs[i].first_us);
                        hi = max64(hi, tl->logs[i].last_us);
                }
        }
        span = lo < hi ? (uint64_t)hi - (uint64_t)lo : 0;
        tl->flow_span_us = span;
        /* each flow's bins span its own period, within the logs' (and a
         * clock offset): two bins more than the whole at most */
        while (w < span && (span / w + 2) * (uint64_t)tl->n_clients > TIMELINE_FLOW_BITS)
                w *= 2;
        tl->flow_bin_us = (int64_t)w;
}

static void mark_bin(struct timeline_flow *f, int64_t bin_us, int64_t t)
{
        if (t < f->from_us)
                return;
        uint64_t b = (uint64_t)(t - f->from_us) / (uint64_t)bin_us;

        if (b < f->n_bins)
                f->up[b / 8] |= (uint8_t)(1u << (b % 8));
}

int timeline_flow_begin(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_flow *f = &c->flow;
        int64_t w = tl->flow_bin_us > 0 ? tl->flow_bin_us : 1000000;
        uint64_t span = c->last_us > c->first_us ? (uint64_t)(c->last_us - c->first_us) : 0;

        for (size_t i = 0; sp->roles && i < tl->n_logs && f->n_logs < TIMELINE_FLOW_LOGS; i++) {
                if (sp->roles[i] != TIMELINE_ROLE_NONE) {
                        f->log[f->n_logs] = (uint16_t)i;
                        f->role[f->n_logs++] = sp->roles[i];
                }
        }
        free(f->up);
        f->from_us = c->first_us - c->first_us % w;
        /* a client's period lies within the logs' span but for a clock
         * offset: held to it, so that the bins stay within the bound */
        f->n_bins = (size_t)(min64((int64_t)span, (int64_t)tl->flow_span_us) / w + 2);
        f->up = calloc((f->n_bins + 7) / 8, 1);
        if (!f->up) {
                f->n_bins = 0;
                return -ENOMEM;
        }
        return 0;
}

void timeline_flow_mark(const struct timeline *tl, struct timeline_client *c, const struct timeline_packet *p, size_t n)
{
        int64_t w = tl->flow_bin_us > 0 ? tl->flow_bin_us : 1000000;

        for (size_t i = 0; c->flow.up && i < n; i++)
                if (!p[i].tx)
                        mark_bin(&c->flow, w, p[i].t_us);
}

int timeline_flow_keep(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp)
{
        int k = timeline_flow_begin(tl, c, sp);

        if (k == 0) {
                timeline_flow_mark(tl, c, sp->c, sp->nc);
                timeline_flow_mark(tl, c, sp->s, sp->ns);
        }
        return k;
}

/* What to add to c's time to put it on the clock of its log i; false
 * when it cannot be told (a server log beside a client log, no offset). */
static bool to_log_clock(const struct timeline_client *c, size_t i, int64_t *shift)
{
        *shift = 0;
        if (c->flow.role[i] == TIMELINE_ROLE_CLIENT)
                return true;
        if (c->offset_known)
                *shift = c->offset_us;
        return c->offset_known || !c->client_log;
}

/* What to add to c's times to put them on other's: through a log both are
 * in. */
static bool common_clock(const struct timeline_client *c, const struct timeline_client *other, int64_t *shift)
{
        for (size_t i = 0; i < c->flow.n_logs; i++) {
                for (size_t j = 0; j < other->flow.n_logs; j++) {
                        int64_t a, b;

                        if (c->flow.log[i] == other->flow.log[j] && to_log_clock(c, i, &a) &&
                            to_log_clock(other, j, &b)) {
                                *shift = a - b;
                                return true;
                        }
                }
        }
        return false;
}

static bool down_in(const struct timeline_client *c, int64_t lo, int64_t hi)
{
        size_t a = 0, b = c->n_outages;

        while (a < b) { /* sorted and disjoint: the first ending at lo or later */
                size_t mid = a + (b - a) / 2;

                if (c->outages[mid].end_us < lo)
                        a = mid + 1;
                else
                        b = mid;
        }
        for (size_t i = a; i < c->n_outages && c->outages[i].start_us <= hi; i++)
                if (!c->outages[i].log_lost)
                        return true;
        return false;
}

/* A bin wholly inside [lo, hi] with a message delivered. */
static bool up_in(const struct timeline *tl, const struct timeline_flow *f, int64_t lo, int64_t hi)
{
        int64_t w = tl->flow_bin_us;

        if (!f->up || w <= 0 || hi < f->from_us)
                return false;
        for (int64_t b = lo <= f->from_us ? 0 : (lo - f->from_us + w - 1) / w;
             (uint64_t)b < f->n_bins && f->from_us + (b + 1) * w <= hi; b++) {
                if (f->up[b / 8] & (1u << (b % 8)))
                        return true;
                if (b % 8 == 0 && f->up[b / 8] == 0)
                        b += 7; /* a byte of silence at once */
        }
        return false;
}

/* No log of c covers [lo, hi] (c's clock); false when one might. */
static bool not_running(const struct timeline *tl, const struct timeline_client *c, int64_t lo, int64_t hi)
{
        for (size_t i = 0; i < c->flow.n_logs; i++) {
                const struct timeline_log *lg = &tl->logs[c->flow.log[i]];
                int64_t s;

                if (!to_log_clock(c, i, &s) || (lg->any && lg->first_us <= hi + s && lg->last_us >= lo + s))
                        return false;
        }
        return c->flow.n_logs > 0;
}

enum timeline_flow_state timeline_flow_state(const struct timeline *tl, const struct timeline_client *c,
                                             const struct timeline_outage *o, const struct timeline_client *other)
{
        int64_t d, lo, hi;

        if (other == c || tl->n_clients > TIMELINE_FLOWS_COMPARED || !common_clock(c, other, &d))
                return TIMELINE_FLOW_UNKNOWN;
        lo = min64(o->start_max_us, o->end_min_us) + d;
        hi = max64(o->start_max_us, o->end_min_us) + d;
        if (down_in(other, lo, hi))
                return TIMELINE_FLOW_DOWN;
        lo = (o->start_min_known ? o->start_min_us : o->start_us) + d;
        hi = (o->end_max_known ? o->end_max_us : o->end_us) + d;
        if (up_in(tl, &other->flow, lo, hi))
                return TIMELINE_FLOW_UP;
        return not_running(tl, other, lo, hi) ? TIMELINE_FLOW_NOT_RUNNING : TIMELINE_FLOW_UNKNOWN;
}

/* timeline-server: what a server's log alone shows: the client's messages
 * it heard, and from the gaps between them, on the client's schedule (its
 * keepalives, then a handshake, retried), which were lost on the way in and
 * which of its answers were lost on the way out. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

/* n lost c2s messages at schedule times from `from` on, kept inside (from,
 * to): the first and the last, the last standing for all but the first, so
 * a hostile gap costs no memory. */
static int infer_lost(struct timeline_server_walk *w, int64_t from, int64_t to, uint64_t n, int64_t step0, int64_t step)
{
        int64_t first = from + step0, last = first + (int64_t)(n > 1 ? n - 1 : 0) * step;
        int k;

        if (n == 0)
                return 0;
        k = timeline_olist_push(w->c2s, min64(max64(first, from + 1), to - 1), false, false);
        if (k == 0 && n > 1) {
                k = timeline_olist_push(w->c2s, min64(max64(last, from + 1), to - 1), false, false);
                if (k == 0)
                        w->c2s->v[w->c2s->n - 1].n = n - 1;
        }
        return k;
}

static int settle_response(struct timeline_server_walk *w, bool delivered)
{
        if (!w->resp_pending)
                return 0;
        w->resp_pending = false;
        return timeline_olist_push(w->s2c, w->resp_t, delivered, false);
}

/* From the last message heard, p, to the init h now heard at t. */
static int gap_to_init(struct timeline_server_walk *w, uint64_t h, int64_t t)
{
        const struct timeline_client *c = w->c;
        int64_t ki = (int64_t)c->keepalive_us, ht = (int64_t)c->handshake_timeout_us, g = t - w->p.t_us;
        uint64_t K = c->keepalive_count, inits = h - w->p.hs - 1, kas;
        int64_t cycle_left, retry;
        int k;

        if (w->p.type == MESSAGE_KEEPALIVE) {
                kas = K > w->p.ctr ? K - w->p.ctr : 0;
                cycle_left = (int64_t)kas * ki;
                if (ht <= 0 || inits > (uint64_t)((2 * g + 2 * ht) / ht))
                        return 1; /* the schedule cannot fit: the client restarted */
                w->lost_keepalives += kas;
                k = infer_lost(w, w->p.t_us, t, kas, ki, ki);
                return k < 0 ? k : infer_lost(w, w->p.t_us, t, inits, cycle_left, ht);
        }
        /* p is init h0: was its answer lost (a retry) or its keepalives? */
        if (ht <= 0 || inits > (uint64_t)((2 * g + 2 * ht) / ht))
                return 1;
        retry = (int64_t)(inits + 1) * ht;
        cycle_left = (int64_t)(K > 1 ? K - 1 : 0) * ki + (int64_t)inits * ht;
        if (min64(retry, cycle_left) > 2 * g + 2 * ht)
                return 1;
        if (w->resp_pending && w->resp_hs == w->p.hs && llabs(g - retry) <= llabs(g - cycle_left)) {
                k = settle_response(w, false);
                return k < 0 ? k : infer_lost(w, w->p.t_us, t, inits, ht, ht);
        }
        k = settle_response(w, true);
        w->lost_keepalives += K;
        k = k < 0 ? k : infer_lost(w, w->p.t_us, t, K, 0, ki);
        return k < 0 ? k : infer_lost(w, w->p.t_us, t, inits, (int64_t)(K > 1 ? K - 1 : 0) * ki, ht);
}

/* From p to the keepalive (h, ctr) now heard at t. */
static int gap_to_keepalive(struct timeline_server_walk *w, uint64_t h, uint64_t ctr, int64_t t)
{
        int64_t ki = (int64_t)w->c->keepalive_us;
        uint64_t from = w->p.type == MESSAGE_KEEPALIVE ? w->p.ctr : 0;
        int k;

        if (h != w->p.hs || ctr > TIMELINE_MAX_KEEPALIVE_COUNT)
                return 1; /* its init never heard, yet answered, or no counter of ours */
        k = w->p.type == MESSAGE_HANDSHAKE_INIT ? settle_response(w, true) : 0;
        if (ctr > from + 1) {
                w->lost_keepalives += ctr - from - 1;
                k = k < 0 ? k : infer_lost(w, w->p.t_us, t, ctr - from - 1, from ? ki : 0, ki);
        }
        return k;
}

/* Whether m is newer than the last fresh message (else a replay or a copy). */
static bool fresh(const struct timeline_server_walk *w, const struct timeline_packet *m, uint64_t max_init)
{
        if (m->type == MESSAGE_HANDSHAKE_INIT)
                return m->hs > max_init;
        return !w->have_p || m->hs > w->p.hs ||
               (m->hs == w->p.hs && (w->p.type == MESSAGE_HANDSHAKE_INIT || m->ctr > w->p.ctr));
}

static int server_heard(struct timeline_server_walk *w, const struct timeline_packet *m)
{
        int k = 0;

        if (w->have_p) {
                if (m->type == MESSAGE_HANDSHAKE_INIT)
                        k = m->hs > w->p.hs ? gap_to_init(w, m->hs, m->t_us) : 1;
                else
                        k = gap_to_keepalive(w, m->hs, m->ctr, m->t_us);
        }
        if (k > 0) { /* nothing to say across this gap */
                w->resp_pending = false;
                k = timeline_olist_push(w->c2s, m->t_us, false, true);
                k = k < 0 ? k : timeline_olist_push(w->s2c, m->t_us, false, true);
        }
        w->p = *m;
        w->have_p = true;
        return k < 0 ? k : timeline_olist_push(w->c2s, m->t_us, true, false);
}

int timeline_server_view(struct timeline_client *c, const struct timeline_split *sp, size_t lo, size_t hi,
                         struct timeline_server_walk *w)
{
        int k = 0;

        w->c = c;
        for (size_t i = lo; i < hi && k == 0; i++) {
                const struct timeline_packet *m = &sp->s[i];

                if (m->tx) {
                        if (m->type == MESSAGE_HANDSHAKE_RESPONSE) {
                                w->resp_pending = true;
                                w->resp_hs = m->hs;
                                w->resp_t = m->t_us;
                        }
                        continue;
                }
                if (!fresh(w, m, w->max_init)) {
                        c->replays += m->type == MESSAGE_HANDSHAKE_INIT;
                        continue;
                }
                if (m->type == MESSAGE_HANDSHAKE_INIT)
                        w->max_init = m->hs;
                k = server_heard(w, m);
        }
        return k;
}

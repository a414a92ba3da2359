/* findings-gaps: the idle gaps at the server, which the NAT findings and
 * the recurring rebindings read: how long the flow was idle before each
 * message the server received, and whether it came from the same address. */
#include "report/findings-internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

bool findings_server_side(const struct timeline_packet *p)
{
        return p->tx ? p->type == MESSAGE_HANDSHAKE_RESPONSE
                     : p->type == MESSAGE_HANDSHAKE_INIT || p->type == MESSAGE_KEEPALIVE;
}

/* A server-side packet: its time on the client's clock, its index in
 * c->pk. The index is its order of arrival there (packets are held in the
 * order put), so ties in time keep it, as the timeline's own order does. */
struct when {
        int64_t t_us;
        size_t i;
};

static int by_time(const void *a, const void *b, void *ctx)
{
        const struct when *x = a, *y = b;

        (void)ctx;
        if (x->t_us != y->t_us)
                return x->t_us < y->t_us ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

/* Times sorted, to ask whether any lies in an open interval. */
struct times {
        int64_t *v; /* starts; for spans, ends in e */
        int64_t *e;
        size_t n;
};

static int by_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

/* The first index whose value is above t. */
static size_t after(const int64_t *v, size_t n, int64_t t)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (v[mid] <= t)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static bool time_inside(const struct times *t, int64_t from, int64_t to)
{
        size_t i = after(t->v, t->n, from);

        return i < t->n && t->v[i] < to;
}

/* Whether a span of t (disjoint, in order) overlaps (from, to). */
static bool span_inside(const struct times *t, int64_t from, int64_t to)
{
        size_t i = after(t->v, t->n, to - 1); /* spans starting before to */

        return i > 0 && t->e[i - 1] > from;
}

/* The server's packets in time order in the client's clock: as they are
 * held when they are in that order already (one server log, as usual; sv
 * left NULL), else as indices sorted; when the client's log is there, the
 * times of the messages it sent that the server never received (they may
 * have crossed the NAT, so the idle time there is not known). */
static int server_packets(const struct timeline_client *c, struct when **sv, size_t *ns, struct times *lost)
{
        int64_t off = c->offset_known ? c->offset_us : 0, t = INT64_MIN;
        struct timeline_msgset heard = { 0 };
        size_t nl = 0;
        bool in_order = true;
        int k = 0;

        *ns = 0;
        for (size_t i = 0; i < c->n_pk; i++) {
                bool server = findings_server_side(&c->pk[i]);

                in_order = in_order && (!server || c->pk[i].t_us >= t);
                t = server ? c->pk[i].t_us : t;
                *ns += server;
                nl += !server && c->pk[i].tx;
        }
        *sv = in_order ? NULL : malloc((*ns ? *ns : 1) * sizeof(**sv));
        lost->v = malloc((nl ? nl : 1) * sizeof(*lost->v));
        if ((!in_order && !*sv) || !lost->v)
                return -ENOMEM;
        for (size_t i = 0, n = 0; *sv && i < c->n_pk; i++)
                if (findings_server_side(&c->pk[i]))
                        (*sv)[n++] = (struct when){ c->pk[i].t_us - off, i };
        if (*sv)
                k = timeline_stable_sort(*sv, *ns, sizeof(**sv), by_time, NULL);
        /* what the server received: inits and keepalives, in any log */
        k = k < 0 || !c->server_log ? k
                                    : timeline_msgset_make(&heard, c->pk, c->n_pk, false,
                                                           1u << MESSAGE_HANDSHAKE_INIT | 1u << MESSAGE_KEEPALIVE);
        for (size_t i = 0; k == 0 && i < c->n_pk && c->server_log; i++) {
                const struct timeline_packet *p = &c->pk[i];

                if (p->tx && !findings_server_side(p) && !timeline_msgset_has(&heard, p->type, p->hs, p->ctr))
                        lost->v[lost->n++] = p->t_us;
        }
        timeline_msgset_free(&heard);
        if (k == 0)
                qsort(lost->v, lost->n, sizeof(*lost->v), by_i64);
        return k;
}

/* The outages' widest bounds, merged: messages may have been lost in them,
 * so the idle time at the NAT is not known there either. */
static int outage_spans(const struct timeline_client *c, struct times *t)
{
        struct { int64_t a, b; } *v = malloc((c->n_outages ? c->n_outages : 1) * sizeof(*v));

        t->v = malloc((c->n_outages ? c->n_outages : 1) * sizeof(*t->v));
        t->e = malloc((c->n_outages ? c->n_outages : 1) * sizeof(*t->e));
        if (!v || !t->v || !t->e) {
                free(v);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_outages; i++) {
                const struct timeline_outage *o = &c->outages[i];

                v[i].a = o->start_min_known ? o->start_min_us : o->start_us;
                v[i].b = o->end_max_known ? o->end_max_us : INT64_MAX;
        }
        qsort(v, c->n_outages, sizeof(*v), by_i64); /* by a, the first member */
        for (size_t i = 0; i < c->n_outages; i++) {
                if (t->n && v[i].a <= t->e[t->n - 1]) {
                        t->e[t->n - 1] = v[i].b > t->e[t->n - 1] ? v[i].b : t->e[t->n - 1];
                        continue;
                }
                t->v[t->n] = v[i].a;
                t->e[t->n++] = v[i].b;
        }
        free(v);
        return 0;
}

/* The rebinding that message m is, or SIZE_MAX. */
static size_t rebind_at(const struct timeline_client *c, const struct addr *peer, const struct timeline_packet *m,
                        size_t *next)
{
        while (*next < c->n_rebinds && c->rebinds[*next].t_us < m->t_us)
                (*next)++;
        if (*next < c->n_rebinds && c->rebinds[*next].t_us == m->t_us && addr_equal(&c->rebinds[*next].new_peer, peer))
                return (*next)++;
        return SIZE_MAX;
}

int findings_gaps_make(const struct timeline *tl, const struct timeline_client *c, struct gaps *g)
{
        struct when *sv = NULL;
        struct times lost = { 0 }, down = { 0 };
        size_t ns, next = 0;
        const struct addr *last = NULL;
        int64_t prev = 0;
        int k = server_packets(c, &sv, &ns, &lost);

        k = k < 0 ? k : outage_spans(c, &down);
        g->v = malloc((ns ? ns : 1) * sizeof(*g->v));
        g->rb_gap_s = malloc((c->n_rebinds ? c->n_rebinds : 1) * sizeof(*g->rb_gap_s));
        g->rb_nat = calloc(c->n_rebinds ? c->n_rebinds : 1, sizeof(*g->rb_nat));
        if (k < 0 || !g->v || !g->rb_gap_s || !g->rb_nat) {
                k = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < c->n_rebinds; i++)
                g->rb_gap_s[i] = NAN;
        for (size_t j = 0, i = 0; j < ns; j++, i++) {
                struct timeline_packet at, *m = &at;
                const struct addr *peer;
                size_t rb;
                bool clear;

                if (sv)
                        i = sv[j].i;
                else
                        while (!findings_server_side(&c->pk[i]))
                                i++;
                at = c->pk[i];
                at.t_us -= c->offset_known ? c->offset_us : 0; /* on the client's clock */
                peer = timeline_peer(tl, m->peer);
                rb = m->tx ? SIZE_MAX : rebind_at(c, peer, m, &next);
                clear = last && !span_inside(&down, prev, m->t_us) && !time_inside(&lost, prev, m->t_us);

                if (!m->tx && rb != SIZE_MAX && clear) {
                        g->rb_gap_s[rb] = findings_secs(m->t_us - prev);
                        g->v[g->n++] = (struct gap){ prev, m->t_us, rb };
                } else if (!m->tx && last && addr_equal(last, peer) && clear) {
                        g->v[g->n++] = (struct gap){ prev, m->t_us, GAP_KEPT };
                }
                if (!m->tx && (rb != SIZE_MAX || !last))
                        last = peer;
                prev = m->t_us;
        }
        k = 0;
out:
        free(sv);
        free(lost.v);
        free(down.v);
        free(down.e);
        return k;
}

void findings_gaps_free(struct gaps *g)
{
        free(g->v);
        free(g->rb_gap_s);
        free(g->rb_nat);
}

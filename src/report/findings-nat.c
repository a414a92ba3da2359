/* findings-nat: what the rebindings say about the NAT: nat_idle_timeout
 * periods (with the client's own probe results in its logs), and the other
 * rebindings, mapping_replaced or public_address_changed. */
#include "report/findings-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/probe-client.h"
#include "report/report.h"

/* --- probes: a client's own NAT timeout probe results --- */

/* N in "N s", whole seconds from 1 to a day (a log line can hold anything);
 * 0 when it is not that. */
static uint64_t probe_seconds(const char *s)
{
        uint64_t v = 0;
        size_t n = 0;

        while (n < 6 && s[n] >= '0' && s[n] <= '9')
                v = v * 10 + (uint64_t)(s[n++] - '0');
        return n && strncmp(s + n, " s", 2) == 0 && v <= 86400 ? v : 0;
}

/* The logs that are this client's own (it sent from them). */
static bool *client_logs(const struct timeline *tl, const struct timeline_client *c)
{
        bool *mine = calloc(tl->n_logs ? tl->n_logs : 1, sizeof(*mine));

        for (size_t i = 0; mine && i < c->n_pk; i++)
                if (!findings_server_side(&c->pk[i]) && c->pk[i].log < tl->n_logs)
                        mine[c->pk[i].log] = true;
        return mine;
}

/* The "keep PersistentKeepalive below N s" of the last probe result in
 * [from, to] that is this client's: one written in a log of its own (mine,
 * from client_logs()). 0 when none. */
static uint64_t probe_below(const struct timeline *tl, const bool *mine, int64_t from, int64_t to, int64_t *when)
{
        uint64_t best = 0;

        for (size_t i = 0; i < tl->n_probes; i++) {
                const struct timeline_probe *p = &tl->probes[i];
                const char *s = strstr(p->verdict, PROBER_TEXT_KEEPALIVE_BELOW);
                uint64_t v = s ? probe_seconds(s + strlen(PROBER_TEXT_KEEPALIVE_BELOW)) : 0;

                if (v && p->t_us >= from && p->t_us <= to && p->log < tl->n_logs && mine[p->log]) {
                        best = v;
                        *when = p->t_us;
                }
        }
        return best;
}

/* --- nat_idle_timeout: periods in which the gaps say where the NAT's
 * idle timeout lies, every longer one rebinding and every shorter kept --- */

#define NAT_BACK_MAX 4096 /* how far back a window is re-checked: bounded work */
#define NAT_MIN_REBINDS 3

struct window {
        size_t first, last; /* gaps, inclusive */
        int64_t max_kept, min_rebound; /* -1, INT64_MAX when none */
        size_t rebinds, kept;
};

static void window_take(struct window *w, const struct gap *g)
{
        int64_t d = g->to_us - g->from_us;

        if (g->rebind != GAP_KEPT) {
                w->rebinds++;
                w->min_rebound = d < w->min_rebound ? d : w->min_rebound;
        } else {
                w->kept++;
                w->max_kept = d > w->max_kept ? d : w->max_kept;
        }
}

static bool fits(const struct window *w, const struct gap *g)
{
        int64_t d = g->to_us - g->from_us;

        return g->rebind != GAP_KEPT ? d > w->max_kept : d < w->min_rebound;
}

/* The longest run of gaps ending at j that holds together. */
static void window_back(const struct gaps *g, size_t j, size_t floor, struct window *w)
{
        *w = (struct window){ j, j, -1, INT64_MAX, 0, 0 };
        window_take(w, &g->v[j]);
        while (w->first > floor && j - w->first < NAT_BACK_MAX && fits(w, &g->v[w->first - 1]))
                window_take(w, &g->v[--w->first]);
}

static void nat_text(struct findings_item *it, const struct window *w, const struct gaps *g, uint64_t probe,
                     int64_t probe_t)
{
        char lo[32], hi[32], when[32], span[32];
        double lo_s = w->kept ? findings_secs(w->max_kept) : 0, hi_s = findings_secs(w->min_rebound);
        const char *wg = lo_s > FINDINGS_WG_KEEPALIVE_S ? "would hold (25 s is below what the NAT kept)"
                         : hi_s <= FINDINGS_WG_KEEPALIVE_S
                                 ? "would not hold: its mapping would be forgotten between keepalives"
                                 : "might hold or not: 25 s lies between the two";

        it->idle_lo_s = lo_s;
        it->idle_hi_s = hi_s;
        it->evidence[EV_NAT_REBINDS] = (double)w->rebinds;
        it->evidence[EV_NAT_KEPT] = (double)w->kept;
        it->evidence[EV_NAT_LO] = lo_s;
        it->evidence[EV_NAT_HI] = hi_s;
        findings_span_text(w->kept ? w->max_kept : 0, false, lo);
        findings_span_text(w->min_rebound, true, hi);
        findings_fmt(it->text,
            "The NAT forgot this flow's mapping whenever it was idle %s or more: %zu rebindings in %s, while %zu "
            "shorter pauses (up to %s) kept it; its idle timeout lies between %s and %s, and a WireGuard tunnel "
            "with PersistentKeepalive = 25 %s.",
            hi, w->rebinds, findings_span_text(g->v[w->last].to_us - g->v[w->first].from_us, false, span), w->kept, lo, lo, hi,
            wg);
        if (probe) {
                it->evidence[EV_NAT_PROBE] = (double)probe;
                findings_fmt(it->advice,
                    "Set PersistentKeepalive below %" PRIu64 " s, as this client's own NAT timeout probe measured "
                    "(%s).",
                    probe, report_stamp(probe_t, when));
        } else if (lo_s >= 2) {
                findings_fmt(it->advice, "Set PersistentKeepalive = %d or less: the NAT kept the mapping after %s idle.",
                    (int)ceil(lo_s) - 1 < 25 ? (int)ceil(lo_s) - 1 : 25, lo);
        } else {
                findings_fmt(it->advice,
                    "Keep PersistentKeepalive below %s; `udp-canary probe` measures the NAT's timeout exactly.", hi);
        }
}

static int nat_emit(const struct timeline *tl, const bool *mine, const struct timeline_client *c, struct gaps *g,
                    const struct window *w, bool to_end, struct findings *f)
{
        struct findings_item *it;
        struct window p = { w->first, w->last, -1, INT64_MAX, 0, 0 };
        int64_t probe_t = 0, end;
        uint64_t probe;
        int k = 0;

        if (w->rebinds < NAT_MIN_REBINDS)
                return 0;
        while (g->v[p.first].rebind == GAP_KEPT) /* the period begins with its first forgetting */
                p.first++;
        /* its evidence from then on only: gaps kept before it may be of a
         * NAT that did not forget yet */
        for (size_t i = p.first; i <= p.last; i++) {
                window_take(&p, &g->v[i]);
                if (g->v[i].rebind != GAP_KEPT)
                        g->rb_nat[g->v[i].rebind] = true;
        }
        end = to_end ? c->last_us : g->v[p.last].to_us;
        probe = probe_below(tl, mine, g->v[p.first].from_us, to_end ? INT64_MAX : end, &probe_t);
        it = findings_add(f, FINDINGS_NAT_IDLE_TIMEOUT, g->v[p.first].from_us, end, &k);
        if (it) {
                it->end_open = to_end;
                nat_text(it, &p, g, probe, probe_t);
        }
        return k;
}

int findings_nat(const struct timeline *tl, const struct timeline_client *c, struct gaps *g, struct findings *f)
{
        struct window w;
        size_t floor = 0;
        bool *mine;
        int k = 0;

        if (!g->n)
                return 0;
        mine = client_logs(tl, c);
        if (!mine)
                return -ENOMEM;
        window_back(g, 0, 0, &w);
        for (size_t j = 1; j < g->n && k == 0; j++) {
                if (fits(&w, &g->v[j])) {
                        w.last = j;
                        window_take(&w, &g->v[j]);
                        continue;
                }
                k = nat_emit(tl, mine, c, g, &w, false, f);
                if (w.rebinds >= NAT_MIN_REBINDS)
                        floor = j; /* no gap in two periods */
                window_back(g, j, floor, &w);
        }
        k = k ? k : nat_emit(tl, mine, c, g, &w, true, f);
        free(mine);
        return k;
}

/* --- rebindings outside those periods --- */

static bool same_host(const struct addr *a, const struct addr *b)
{
        struct addr x = *a, y = *b;

        if (x.sa.sa_family == AF_INET)
                x.in.sin_port = 0;
        else
                x.in6.sin6_port = 0;
        if (y.sa.sa_family == AF_INET)
                y.in.sin_port = 0;
        else
                y.in6.sin6_port = 0;
        return addr_equal(&x, &y);
}

/* Whether the client's own log shows it stopped (an "Exit") and started
 * again in (from, to]: a new socket, not the NAT. A log's spans come in
 * time order. */
static bool client_restarted(const struct timeline *tl, const bool *mine, int64_t from, int64_t to)
{
        for (size_t g = 0; g < tl->n_logs; g++) {
                const struct timeline_log *lg = &tl->logs[g];
                size_t lo = 0, hi = lg->n_down;

                while (mine[g] && lo < hi) { /* the first span ending after from */
                        size_t mid = lo + (hi - lo) / 2;

                        if (lg->down[mid].end_us <= from)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (mine[g] && lo < lg->n_down && lg->down[lo].end_us <= to)
                        return true;
        }
        return false;
}

int findings_rebindings(const struct timeline *tl, const struct timeline_client *c, const struct gaps *g,
                           struct findings *f)
{
        bool *mine = client_logs(tl, c);
        int k = mine ? 0 : -ENOMEM;

        for (size_t i = 0; i < c->n_rebinds && k == 0; i++) {
                const struct timeline_rebind *rb = &c->rebinds[i];
                bool moved = !same_host(&rb->old_peer, &rb->new_peer);
                double gap = g->rb_gap_s[i];
                char o[ADDR_STRLEN], n[ADDR_STRLEN], idle[64], d[32];
                struct findings_item *it;

                if (g->rb_nat[i] || (!isnan(gap) && client_restarted(tl, mine, rb->t_us - (int64_t)(gap * 1e6), rb->t_us)))
                        continue;
                it = findings_add(f, moved ? FINDINGS_PUBLIC_ADDRESS_CHANGED : FINDINGS_MAPPING_REPLACED, rb->t_us, rb->t_us, &k);
                if (!it)
                        continue;
                it->old_peer = rb->old_peer;
                it->new_peer = rb->new_peer;
                it->evidence[EV_RB_GAP] = gap;
                it->evidence[EV_RB_OLD_PORT] = addr_port(&rb->old_peer);
                it->evidence[EV_RB_NEW_PORT] = addr_port(&rb->new_peer);
                if (isnan(gap))
                        snprintf(idle, sizeof(idle), "(the idle time before it is not clear: messages were lost)");
                else
                        snprintf(idle, sizeof(idle), "after %s idle", findings_span_text((int64_t)llround(gap * 1e6), false, d));
                findings_fmt(it->text,
                    "The flow arrived from a new public %s, %s instead of %s, %s: %s%s. A WireGuard peer there "
                    "would have lost what the server sent it until its next packet (at most 25 s later with "
                    "PersistentKeepalive = 25).",
                    moved ? "address" : "port", addr_format(&rb->new_peer, n), addr_format(&rb->old_peer, o), idle,
                    moved ? "the client's network changed or its provider gave it a new address"
                          : "the NAT replaced its mapping (a reset, a flushed table, a short timeout)",
                    c->client_log ? "" : ", or the client restarted (a server's log cannot tell)");
        }
        free(mine);
        return k;
}


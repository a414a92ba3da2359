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

/* The logs that are this client's own: it wrote lines there as the
 * client end (c->ends counts them as they are read). */
static bool *client_logs(const struct timeline *tl, const struct timeline_client *c)
{
        bool *mine = calloc(tl->n_logs ? tl->n_logs : 1, sizeof(*mine));

        for (size_t i = 0; mine && i < c->n_ends; i++)
                if (c->ends[i].as_client && c->ends[i].log < tl->n_logs)
                        mine[c->ends[i].log] = true;
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

/* --- nat_idle_timeout: the periods in which the idle gaps at the server
 * say where the NAT's idle timeout lies (timeline-scan.c finds them) --- */

static void nat_text(struct findings_item *it, const struct timeline_nat_period *p, uint64_t probe, int64_t probe_t)
{
        char lo[32], hi[32], when[32], span[32];
        double lo_s = p->kept ? findings_secs(p->max_kept_us) : 0, hi_s = findings_secs(p->min_rebound_us);
        const char *wg = lo_s > FINDINGS_WG_KEEPALIVE_S ? "would hold (25 s is below what the NAT kept)"
                         : hi_s <= FINDINGS_WG_KEEPALIVE_S
                                 ? "would not hold: its mapping would be forgotten between keepalives"
                                 : "might hold or not: 25 s lies between the two";

        it->idle_lo_s = lo_s;
        it->idle_hi_s = hi_s;
        it->evidence[EV_NAT_REBINDS] = (double)p->rebinds;
        it->evidence[EV_NAT_KEPT] = (double)p->kept;
        it->evidence[EV_NAT_LO] = lo_s;
        it->evidence[EV_NAT_HI] = hi_s;
        findings_span_text(p->kept ? p->max_kept_us : 0, false, lo);
        findings_span_text(p->min_rebound_us, true, hi);
        findings_fmt(it->text,
            "The NAT forgot this flow's mapping whenever it was idle %s or more: %" PRIu64 " rebindings in %s, while %" PRIu64
            " shorter pauses (up to %s) kept it; its idle timeout lies between %s and %s, and a WireGuard tunnel "
            "with PersistentKeepalive = 25 %s.",
            hi, p->rebinds, findings_span_text(p->to_us - p->from_us, false, span), p->kept, lo, lo, hi, wg);
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

int findings_nat(const struct timeline *tl, const struct timeline_client *c, struct findings *f)
{
        bool *mine;
        int k = 0;

        if (!c->scan->n_nat)
                return 0;
        mine = client_logs(tl, c);
        if (!mine)
                return -ENOMEM;
        for (size_t i = 0; i < c->scan->n_nat && k == 0; i++) {
                const struct timeline_nat_period *p = &c->scan->nat[i];
                int64_t probe_t = 0, end = p->to_end ? c->last_us : p->to_us;
                uint64_t probe = probe_below(tl, mine, p->from_us, p->to_end ? INT64_MAX : end, &probe_t);
                struct findings_item *it = findings_add(f, FINDINGS_NAT_IDLE_TIMEOUT, p->from_us, end, &k);

                if (it) {
                        it->end_open = p->to_end;
                        nat_text(it, p, probe, probe_t);
                }
        }
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

int findings_rebindings(const struct timeline *tl, const struct timeline_client *c, struct findings *f)
{
        bool *mine = client_logs(tl, c);
        int k = mine ? 0 : -ENOMEM;

        for (size_t i = 0; i < c->n_rebinds && k == 0; i++) {
                const struct timeline_rebind *rb = &c->rebinds[i];
                bool moved = !same_host(&rb->old_peer, &rb->new_peer);
                double gap = c->scan->rb_gap_s[i];
                char o[ADDR_STRLEN], n[ADDR_STRLEN], idle[64], d[32];
                struct findings_item *it;

                if (c->scan->rb_nat[i] || (!isnan(gap) && client_restarted(tl, mine, rb->t_us - (int64_t)(gap * 1e6), rb->t_us)))
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


/* findings: a client's timeline read out as findings (see findings.h). */
#include "report/findings.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/probe-client.h"
#include "report/report.h"

#define US ((int64_t)1000000)
#define WG_US ((int64_t)FINDINGS_WG_KEEPALIVE_S * US)

/* The outages' evidence, shared by the four outage kinds. */
#define OUTAGE_EVIDENCE                                                                                       \
        { "seconds", "seconds_min", "seconds_max", "lost_messages", "wireguard_down_min_s",                    \
          "wireguard_down_max_s", "mapping_kept", NULL }
enum { EV_SECONDS, EV_SECONDS_MIN, EV_SECONDS_MAX, EV_LOST, EV_WG_MIN, EV_WG_MAX, EV_MAPPING_KEPT };
enum { EV_NAT_REBINDS, EV_NAT_KEPT, EV_NAT_LO, EV_NAT_HI, EV_NAT_PROBE };
enum { EV_RB_GAP, EV_RB_OLD_PORT, EV_RB_NEW_PORT };
enum { EV_REC_EVENTS, EV_REC_DAYS, EV_REC_DAYS_IN_LOGS, EV_REC_SPREAD, EV_REC_PERIOD };

const struct findings_kind_info findings_kinds[FINDINGS_KINDS] = {
        [FINDINGS_NAT_IDLE_TIMEOUT] = {
                "nat_idle_timeout",
                "the NAT forgets an idle UDP mapping: 3 or more rebindings in a period in which every idle gap "
                "as long as the shortest one that rebound also rebound, and every gap as short as the longest one "
                "that kept the mapping kept it",
                { "rebindings", "gaps_kept", "idle_timeout_min_s", "idle_timeout_max_s", "probe_keepalive_below_s",
                  NULL },
        },
        [FINDINGS_MAPPING_REPLACED] = {
                "mapping_replaced",
                "the flow arrived from a new public port outside such a period: the NAT replaced its mapping "
                "(a reset, a flushed table) or the client restarted",
                { "idle_gap_s", "old_port", "new_port", NULL },
        },
        [FINDINGS_PUBLIC_ADDRESS_CHANGED] = {
                "public_address_changed",
                "the flow arrived from a new public address, not only a new port",
                { "idle_gap_s", "old_port", "new_port", NULL },
        },
        [FINDINGS_OUTBOUND_LOST] = {
                "outbound_lost",
                "an outage client to server: the client's messages did not reach the server",
                OUTAGE_EVIDENCE,
        },
        [FINDINGS_INBOUND_LOST] = {
                "inbound_lost",
                "an outage server to client: the server's answers did not reach the client",
                OUTAGE_EVIDENCE,
        },
        [FINDINGS_PATH_DOWN] = {
                "path_down",
                "an outage both ways",
                OUTAGE_EVIDENCE,
        },
        [FINDINGS_OUTAGE_UNKNOWN_DIRECTION] = {
                "outage_unknown_direction",
                "an outage seen in a client's log alone: its direction cannot be told",
                OUTAGE_EVIDENCE,
        },
        [FINDINGS_SERVER_STOPPED] = {
                "server_stopped",
                "an outage while the server's log shows it was not running: not the path's fault",
                { "seconds", "seconds_min", "seconds_max", "lost_messages", NULL },
        },
        [FINDINGS_RECURRING] = {
                "recurring",
                "outages or rebindings at the same time of day (within 15 min) on 3 or more days, or at a steady "
                "period (4 or more)",
                { "events", "days", "days_in_logs", "spread_minutes", "period_s", NULL },
        },
};

size_t findings_evidence_count(enum findings_kind kind)
{
        size_t n = 0;

        while (n < FINDINGS_MAX_EVIDENCE && findings_kinds[kind].evidence[n])
                n++;
        return n;
}

static double secs(int64_t us)
{
        return (double)us / 1e6;
}

static void fmt(char buf[static FINDINGS_TEXT_MAX], const char *f, ...) __attribute__((format(printf, 2, 3)));
static void fmt(char buf[static FINDINGS_TEXT_MAX], const char *f, ...)
{
        va_list ap;

        va_start(ap, f);
        vsnprintf(buf, FINDINGS_TEXT_MAX, f, ap);
        va_end(ap);
}

/* A length as the text says it: to the millisecond (the logs' stamps) up
 * to 10 minutes, else in minutes, rounded down for a lower bound or a best
 * estimate and up for an upper bound, so that no bound printed is tighter
 * than the evidence. */
static const char *span_text(int64_t us, bool up, char buf[static 32])
{
        int64_t m;

        us = us < 0 ? 0 : us;
        if (us < 600 * US) {
                int64_t ms = (us + (up ? 999 : 0)) / 1000;
                int n = snprintf(buf, 32, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);

                while (n > 0 && buf[n - 1] == '0')
                        buf[--n] = '\0';
                if (n > 0 && buf[n - 1] == '.')
                        buf[--n] = '\0';
                snprintf(buf + n, (size_t)(32 - n), " s");
                return buf;
        }
        m = (us + (up ? 60 * US - 1 : 0)) / (60 * US);
        if (m < 120)
                snprintf(buf, 32, "%" PRId64 " min", m);
        else
                snprintf(buf, 32, "%" PRId64 " h %" PRId64 " min", m / 60, m % 60);
        return buf;
}

/* A new finding with every piece of evidence unknown; NULL past the bound
 * (counted) or without memory (*k set). */
static struct findings_item *add(struct findings *f, enum findings_kind kind, int64_t start, int64_t end, int *k)
{
        struct findings_item *it;

        if (f->n >= FINDINGS_MAX) {
                f->dropped++;
                return NULL;
        }
        if (f->n == f->cap) {
                size_t cap = f->cap ? 2 * f->cap : 8;
                void *v = realloc(f->v, cap * sizeof(*f->v));

                if (!v) {
                        *k = -ENOMEM;
                        return NULL;
                }
                f->v = v;
                f->cap = cap;
        }
        it = &f->v[f->n++];
        memset(it, 0, sizeof(*it));
        it->kind = kind;
        it->start_us = start;
        it->end_us = end;
        for (size_t i = 0; i < FINDINGS_MAX_EVIDENCE; i++)
                it->evidence[i] = NAN;
        return it;
}

/* --- the idle gaps at the server: how long the flow was idle before each
 * message the server received, and whether it came from the same address --- */

struct gap {
        int64_t from_us, to_us; /* the last packet before, the message */
        bool rebound;
        size_t rebind; /* its index in c->rebinds when rebound */
};

struct gaps {
        struct gap *v;
        size_t n;
        double *rb_gap_s; /* per rebinding: its idle gap, NAN when unclear */
        bool *rb_nat;     /* per rebinding: in a nat_idle_timeout period */
};

static bool server_side(const struct timeline_packet *p)
{
        return p->tx ? p->type == MESSAGE_HANDSHAKE_RESPONSE
                     : p->type == MESSAGE_HANDSHAKE_INIT || p->type == MESSAGE_KEEPALIVE;
}

static int by_time(const void *a, const void *b)
{
        const struct timeline_packet *x = a, *y = b;

        if (x->t_us != y->t_us)
                return x->t_us < y->t_us ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A message's identity, to tell a sent one that never arrived. */
struct msg_key {
        uint64_t hs, ctr;
        uint8_t type;
};

static struct msg_key key(const struct timeline_packet *p)
{
        return (struct msg_key){ p->hs, p->ctr, p->type };
}

static int by_key(const void *a, const void *b)
{
        const struct msg_key *x = a, *y = b;

        if (x->hs != y->hs)
                return x->hs < y->hs ? -1 : 1;
        if (x->ctr != y->ctr)
                return x->ctr < y->ctr ? -1 : 1;
        return (int)x->type - (int)y->type;
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

/* The server's packets in time order in the client's clock; when the
 * client's log is there, the times of the messages it sent that the server
 * never received (they may have crossed the NAT, so the idle time there is
 * not known). */
static int server_packets(const struct timeline_client *c, struct timeline_packet **sv, size_t *ns, struct times *lost)
{
        int64_t off = c->offset_known ? c->offset_us : 0;
        struct msg_key *keys = malloc((c->n_pk ? c->n_pk : 1) * sizeof(*keys));
        size_t nk = 0;

        *ns = 0;
        *sv = malloc((c->n_pk ? c->n_pk : 1) * sizeof(**sv));
        lost->v = malloc((c->n_pk ? c->n_pk : 1) * sizeof(*lost->v));
        if (!*sv || !keys || !lost->v) {
                free(keys);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_pk; i++) {
                if (!server_side(&c->pk[i]))
                        continue;
                (*sv)[*ns] = c->pk[i];
                (*sv)[(*ns)++].t_us -= off;
                if (!c->pk[i].tx)
                        keys[nk++] = key(&c->pk[i]);
        }
        qsort(*sv, *ns, sizeof(**sv), by_time);
        qsort(keys, nk, sizeof(*keys), by_key);
        for (size_t i = 0; i < c->n_pk && c->server_log; i++) {
                const struct timeline_packet *p = &c->pk[i];
                struct msg_key k = key(p);

                if (p->tx && !server_side(p) && !bsearch(&k, keys, nk, sizeof(k), by_key))
                        lost->v[lost->n++] = p->t_us;
        }
        qsort(lost->v, lost->n, sizeof(*lost->v), by_i64);
        free(keys);
        return 0;
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

static int gaps_make(const struct timeline *tl, const struct timeline_client *c, struct gaps *g)
{
        struct timeline_packet *sv = NULL;
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
        for (size_t i = 0; i < ns; i++) {
                const struct timeline_packet *m = &sv[i];
                const struct addr *peer = timeline_peer(tl, m->peer);
                size_t rb = m->tx ? SIZE_MAX : rebind_at(c, peer, m, &next);
                bool clear = last && !span_inside(&down, prev, m->t_us) && !time_inside(&lost, prev, m->t_us);

                if (!m->tx && rb != SIZE_MAX && clear) {
                        g->rb_gap_s[rb] = secs(m->t_us - prev);
                        g->v[g->n++] = (struct gap){ prev, m->t_us, true, rb };
                } else if (!m->tx && last && addr_equal(last, peer) && clear) {
                        g->v[g->n++] = (struct gap){ prev, m->t_us, false, 0 };
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

static void gaps_free(struct gaps *g)
{
        free(g->v);
        free(g->rb_gap_s);
        free(g->rb_nat);
}

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
                if (!server_side(&c->pk[i]) && c->pk[i].log < tl->n_logs)
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

        if (g->rebound) {
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

        return g->rebound ? d > w->max_kept : d < w->min_rebound;
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
        double lo_s = w->kept ? secs(w->max_kept) : 0, hi_s = secs(w->min_rebound);
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
        span_text(w->kept ? w->max_kept : 0, false, lo);
        span_text(w->min_rebound, true, hi);
        fmt(it->text,
            "The NAT forgot this flow's mapping whenever it was idle %s or more: %zu rebindings in %s, while %zu "
            "shorter pauses (up to %s) kept it; its idle timeout lies between %s and %s, and a WireGuard tunnel "
            "with PersistentKeepalive = 25 %s.",
            hi, w->rebinds, span_text(g->v[w->last].to_us - g->v[w->first].from_us, false, span), w->kept, lo, lo, hi,
            wg);
        if (probe) {
                it->evidence[EV_NAT_PROBE] = (double)probe;
                fmt(it->advice,
                    "Set PersistentKeepalive below %" PRIu64 " s, as this client's own NAT timeout probe measured "
                    "(%s).",
                    probe, report_stamp(probe_t, when));
        } else if (lo_s >= 2) {
                fmt(it->advice, "Set PersistentKeepalive = %d or less: the NAT kept the mapping after %s idle.",
                    (int)ceil(lo_s) - 1 < 25 ? (int)ceil(lo_s) - 1 : 25, lo);
        } else {
                fmt(it->advice,
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
        while (!g->v[p.first].rebound) /* the period begins with its first forgetting */
                p.first++;
        /* its evidence from then on only: gaps kept before it may be of a
         * NAT that did not forget yet */
        for (size_t i = p.first; i <= p.last; i++) {
                window_take(&p, &g->v[i]);
                if (g->v[i].rebound)
                        g->rb_nat[g->v[i].rebind] = true;
        }
        end = to_end ? c->last_us : g->v[p.last].to_us;
        probe = probe_below(tl, mine, g->v[p.first].from_us, to_end ? INT64_MAX : end, &probe_t);
        it = add(f, FINDINGS_NAT_IDLE_TIMEOUT, g->v[p.first].from_us, end, &k);
        if (it) {
                it->end_open = to_end;
                nat_text(it, &p, g, probe, probe_t);
        }
        return k;
}

static int nat_periods(const struct timeline *tl, const struct timeline_client *c, struct gaps *g, struct findings *f)
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

static int rebind_findings(const struct timeline *tl, const struct timeline_client *c, const struct gaps *g,
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
                it = add(f, moved ? FINDINGS_PUBLIC_ADDRESS_CHANGED : FINDINGS_MAPPING_REPLACED, rb->t_us, rb->t_us, &k);
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
                        snprintf(idle, sizeof(idle), "after %s idle", span_text((int64_t)llround(gap * 1e6), false, d));
                fmt(it->text,
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

/* --- outages --- */

static enum findings_kind outage_kind(const struct timeline_outage *o)
{
        static const enum findings_kind by_dir[] = {
                [TIMELINE_BOTH] = FINDINGS_PATH_DOWN,
                [TIMELINE_CLIENT_TO_SERVER] = FINDINGS_OUTBOUND_LOST,
                [TIMELINE_SERVER_TO_CLIENT] = FINDINGS_INBOUND_LOST,
                [TIMELINE_UNKNOWN] = FINDINGS_OUTAGE_UNKNOWN_DIRECTION,
        };

        return o->server_stopped ? FINDINGS_SERVER_STOPPED : by_dir[o->direction];
}

/* 1 when the flow came back from the address it had (the NAT kept its
 * mapping), 0 from a new one, NAN when a server's log is not there to say. */
static double mapping_kept(const struct timeline_client *c, const struct timeline_outage *o)
{
        int64_t from = o->start_min_known ? o->start_min_us : o->start_us;
        int64_t to = (o->end_max_known ? o->end_max_us : o->end_us) + US;

        size_t lo = 0, hi = c->n_rebinds;

        if (!c->server_log || o->ongoing)
                return NAN;
        while (lo < hi) { /* the first rebinding at or after from */
                size_t mid = lo + (hi - lo) / 2;

                if (c->rebinds[mid].t_us < from)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < c->n_rebinds && c->rebinds[lo].t_us <= to ? 0 : 1;
}

static const char *outage_what(enum findings_kind kind)
{
        switch (kind) {
        case FINDINGS_OUTBOUND_LOST:
                return "the client's messages did not reach the server (the server sends only answers, so the "
                       "other way was not tried then)";
        case FINDINGS_INBOUND_LOST:
                return "the server's answers did not reach the client, while the client's messages reached the "
                       "server";
        case FINDINGS_PATH_DOWN: return "nothing got through either way";
        case FINDINGS_SERVER_STOPPED: return "the server was not running (its log shows it stopped): not the path's fault";
        default:
                return "the client's handshakes went unanswered; from the client's log alone the direction cannot "
                       "be told (add the server's log)";
        }
}

/* How long a WireGuard tunnel would have been down, and why that long. */
static void outage_wireguard(struct findings_item *it, const struct timeline_outage *o, char *buf, size_t cap)
{
        char a[32], b[32];
        double kept = it->evidence[EV_MAPPING_KEPT];
        int64_t lo = o->end_min_us > o->start_max_us ? o->end_min_us - o->start_max_us : 0;
        bool max_known = o->start_min_known && o->end_max_known;
        int64_t hi = max_known ? o->end_max_us - o->start_min_us : 0;

        /* the mapping kept: back with the path; replaced or unknown: up to
         * a keepalive later, when the client's next packet makes a new one */
        hi += kept == 1 ? 0 : WG_US;
        it->evidence[EV_WG_MIN] = secs(lo);
        if (max_known)
                it->evidence[EV_WG_MAX] = secs(hi);
        span_text(lo, false, a);
        span_text(hi, true, b);
        if (o->ongoing)
                snprintf(buf, cap, "A WireGuard tunnel with PersistentKeepalive = 25 would be down too, at least %s so far.", a);
        else if (!max_known)
                snprintf(buf, cap, "A WireGuard tunnel with PersistentKeepalive = 25 would have been down at least %s%s.", a,
                         kept == 1 ? "" : ", and up to 25 s more until its next keepalive");
        else if (kept == 1)
                snprintf(buf, cap,
                         "A WireGuard tunnel with PersistentKeepalive = 25 would have been down as long, %s to %s: the "
                         "NAT kept the mapping, so it was back with the path.",
                         a, b);
        else
                snprintf(buf, cap,
                         "A WireGuard tunnel with PersistentKeepalive = 25 would have been down between %s and %s: "
                         "as long, and up to 25 s more until its next keepalive %s.",
                         a, b, kept == 0 ? "made the NAT's new mapping known" : "(the logs cannot tell whether the NAT kept its mapping)");
}

static int outage_findings(const struct timeline_client *c, struct findings *f)
{
        int k = 0;

        for (size_t i = 0; i < c->n_outages && k == 0; i++) {
                const struct timeline_outage *o = &c->outages[i];
                enum findings_kind kind = outage_kind(o);
                struct findings_item *it = add(f, kind, o->start_us, o->end_us, &k);
                char d[32], mn[32], mx[32], wg[320];
                bool max_known = o->start_min_known && o->end_max_known;
                int64_t lo = o->end_min_us > o->start_max_us ? o->end_min_us - o->start_max_us : 0;

                if (!it)
                        continue;
                it->end_open = o->ongoing;
                it->evidence[EV_SECONDS] = secs(o->end_us - o->start_us);
                it->evidence[EV_SECONDS_MIN] = secs(lo);
                if (max_known)
                        it->evidence[EV_SECONDS_MAX] = secs(o->end_max_us - o->start_min_us);
                it->evidence[EV_LOST] = (double)o->lost;
                wg[0] = '\0';
                if (kind != FINDINGS_SERVER_STOPPED) {
                        it->evidence[EV_MAPPING_KEPT] = mapping_kept(c, o);
                        outage_wireguard(it, o, wg, sizeof(wg));
                }
                span_text(o->end_us - o->start_us, false, d);
                span_text(lo, false, mn);
                if (max_known)
                        span_text(o->end_max_us - o->start_min_us, true, mx);
                fmt(it->text, "For %s (%s%s%s%s)%s %s, %" PRIu64 " messages lost.%s%s", d, max_known ? "" : "at least ",
                    mn, max_known ? " to " : "", max_known ? mx : "",
                    o->ongoing ? ", still going when the logs end," : "", outage_what(kind), o->lost, wg[0] ? " " : "",
                    wg);
        }
        return k;
}

/* --- recurring: the same time of day on 3 or more days, or a steady period --- */

#define REC_WINDOW_MIN 15
#define REC_MIN_DAYS 3
#define REC_MIN_STEADY 4
#define REC_STEADY_MIN_US (600 * US) /* shorter periods are the timers' or the NAT's */
#define REC_MAX_EVENTS 4096         /* more: too many to call any one a pattern */
#define REC_MAX_FINDINGS 8

struct event {
        int64_t t_us;
        int minute; /* of the local day */
        int day;    /* local days since 1970, near enough to tell days apart */
        bool used;
};

static int by_minute(const void *a, const void *b)
{
        const struct event *x = a, *y = b;

        return x->minute != y->minute ? x->minute - y->minute : (x->t_us > y->t_us) - (x->t_us < y->t_us);
}

static int by_event_time(const void *a, const void *b)
{
        const struct event *x = a, *y = b;

        return (x->t_us > y->t_us) - (x->t_us < y->t_us);
}

static bool local(int64_t t_us, struct tm *tm)
{
        time_t t = (time_t)(t_us / US);

        return localtime_r(&t, tm) != NULL;
}

/* The name of the report's clock at t: its time zone's ("UTC", "CET"), as
 * TZ gives it, or "local time" where it has none. */
static void zone_at(int64_t t_us, char buf[static 16])
{
        struct tm tm;

        if (!local(t_us, &tm) || strftime(buf, 16, "%Z", &tm) == 0)
                snprintf(buf, 16, "local time");
}

/* The clock of a span's times of day: one zone, or both where it changed
 * between (a DST change: "CEST/CET"). */
static void clock_of(int64_t from_us, int64_t to_us, char buf[static 32])
{
        char a[16], b[16];

        zone_at(from_us, a);
        zone_at(to_us, b);
        snprintf(buf, 32, strcmp(a, b) ? "%s/%s" : "%s", a, b);
}

static int day_of(const struct tm *tm)
{
        return (tm->tm_year - 70) * 366 + tm->tm_yday;
}

/* How many days of the logs saw this minute of the day. */
static size_t days_covering(const struct timeline_client *c, int minute)
{
        size_t n = 0;
        struct tm tm;

        for (int64_t t = c->first_us; t <= c->last_us && n <= 3660; t += 86400 * US) {
                time_t at;

                if (!local(t, &tm))
                        break;
                tm.tm_hour = minute / 60;
                tm.tm_min = minute % 60;
                tm.tm_sec = 0;
                tm.tm_isdst = -1;
                at = mktime(&tm);
                n += at != (time_t)-1 && (int64_t)at * US >= c->first_us - 60 * US && (int64_t)at * US <= c->last_us;
        }
        return n;
}

/* Distinct days among the unused events v[i..j) (modulo n). */
static size_t distinct_days(const struct event *v, size_t n, size_t i, size_t j, int *seen, size_t *events)
{
        size_t d = 0;

        *events = 0;
        for (size_t a = i; a < j; a++) {
                const struct event *e = &v[a % n];
                size_t b = 0;

                if (e->used)
                        continue;
                (*events)++;
                while (b < d && seen[b] != e->day)
                        b++;
                if (b == d)
                        seen[d++] = e->day;
        }
        return d;
}

static int minute_of(const struct event *v, size_t n, size_t a)
{
        return v[a % n].minute + (a >= n ? 1440 : 0);
}

/* The 15-minute window of the day with events on the most days. */
static size_t best_window(const struct event *v, size_t n, int *seen, size_t *from, size_t *to)
{
        size_t best = 0, j = 0;

        for (size_t i = 0; i < n; i++) {
                size_t days, events;

                j = j > i ? j : i;
                while (j < i + n && minute_of(v, n, j) - v[i].minute <= REC_WINDOW_MIN)
                        j++;
                days = distinct_days(v, n, i, j, seen, &events);
                if (days > best) {
                        best = days;
                        *from = i;
                        *to = j;
                }
        }
        return best;
}

static int daily(const struct timeline_client *c, struct event *v, size_t n, const char *what, struct findings *f)
{
        int *seen = malloc((n ? n : 1) * sizeof(*seen)), k = 0;

        if (!seen)
                return -ENOMEM;
        qsort(v, n, sizeof(*v), by_minute);
        for (unsigned r = 0; r < REC_MAX_FINDINGS && k == 0; r++) {
                size_t from = 0, to = 0, events, days = best_window(v, n, seen, &from, &to);
                int64_t first = INT64_MAX, last = INT64_MIN;
                int lo = 0, hi = 0, mid;
                char zone[32];
                struct findings_item *it;

                if (days < REC_MIN_DAYS)
                        break;
                distinct_days(v, n, from, to, seen, &events);
                for (size_t a = from, m = 0; a < to; a++) {
                        struct event *e = &v[a % n];

                        if (e->used)
                                continue;
                        lo = m++ ? lo : minute_of(v, n, a);
                        hi = minute_of(v, n, a);
                        first = e->t_us < first ? e->t_us : first;
                        last = e->t_us > last ? e->t_us : last;
                        e->used = true;
                }
                mid = (lo + (hi - lo) / 2) % 1440;
                it = add(f, FINDINGS_RECURRING, first, last, &k);
                if (!it)
                        continue;
                clock_of(first, last, zone);
                snprintf(it->what, sizeof(it->what), "%s", what);
                snprintf(it->when, sizeof(it->when), "every day around %02d:%02d (%s)", mid / 60, mid % 60, zone);
                it->evidence[EV_REC_EVENTS] = (double)events;
                it->evidence[EV_REC_DAYS] = (double)days;
                it->evidence[EV_REC_DAYS_IN_LOGS] = (double)days_covering(c, mid);
                if (it->evidence[EV_REC_DAYS_IN_LOGS] < (double)days) /* a window over midnight */
                        it->evidence[EV_REC_DAYS_IN_LOGS] = (double)days;
                it->evidence[EV_REC_SPREAD] = hi - lo;
                it->evidence[EV_REC_PERIOD] = 86400;
                fmt(it->text,
                    "%c%s came at the same time of day: around %02d:%02d %s (%02d:%02d to %02d:%02d) on %zu of the %.0f "
                    "days the logs cover there, %zu in all. Something scheduled (a router's nightly reboot, a "
                    "provider's reconnect, a backup) is the usual cause.",
                    what[0] - 'a' + 'A', what + 1, mid / 60, mid % 60, zone, lo % 1440 / 60, lo % 60, hi % 1440 / 60,
                    hi % 60, days, it->evidence[EV_REC_DAYS_IN_LOGS], events);
        }
        free(seen);
        return k;
}

/* Runs of 4 or more events, not already in a daily pattern, each interval
 * within a minute (or 2 %) of the run's first. */
static int steady(struct event *v, size_t n, const char *what, struct findings *f)
{
        size_t m = 0, i = 0;
        int k = 0;

        for (size_t a = 0; a < n; a++)
                if (!v[a].used)
                        v[m++] = v[a];
        qsort(v, m, sizeof(*v), by_event_time);
        while (i + REC_MIN_STEADY <= m && k == 0) {
                int64_t p = v[i + 1].t_us - v[i].t_us, tol = p / 50 > 60 * US ? p / 50 : 60 * US, dev = 0;
                size_t j = i + 1;
                struct findings_item *it;
                char every[32];

                while (j + 1 < m && llabs((v[j + 1].t_us - v[j].t_us) - p) <= tol) {
                        dev = llabs((v[j + 1].t_us - v[j].t_us) - p) > dev ? llabs((v[j + 1].t_us - v[j].t_us) - p) : dev;
                        j++;
                }
                if (p < REC_STEADY_MIN_US || j + 1 - i < REC_MIN_STEADY) {
                        i++;
                        continue;
                }
                it = add(f, FINDINGS_RECURRING, v[i].t_us, v[j].t_us, &k);
                if (it) {
                        report_duration((p + 30 * US) / (60 * US) * (60 * US), every); /* to the minute */
                        snprintf(it->what, sizeof(it->what), "%s", what);
                        snprintf(it->when, sizeof(it->when), "every %s", every);
                        it->evidence[EV_REC_EVENTS] = (double)(j + 1 - i);
                        it->evidence[EV_REC_SPREAD] = secs(dev) / 60;
                        it->evidence[EV_REC_PERIOD] = secs(p);
                        fmt(it->text, "%c%s came at a steady period: every %s (give or take %.0f s), %zu times in a row.",
                            what[0] - 'a' + 'A', what + 1, every, secs(dev), j + 1 - i);
                }
                i = j + 1;
        }
        return k;
}

static int recurring_of(const struct timeline_client *c, struct event *v, size_t n, const char *what,
                        struct findings *f)
{
        int k;

        if (n < REC_MIN_DAYS || n > REC_MAX_EVENTS)
                return 0;
        k = daily(c, v, n, what, f);
        return k < 0 ? k : steady(v, n, what, f);
}

/* An event at t; 0 when its local time cannot be told (not counted). */
static size_t event_at(struct event *e, int64_t t_us)
{
        struct tm tm;

        if (!local(t_us, &tm))
                return 0;
        *e = (struct event){ .t_us = t_us, .minute = tm.tm_hour * 60 + tm.tm_min, .day = day_of(&tm) };
        return 1;
}

static int recurring(const struct timeline_client *c, const struct gaps *g, struct findings *f)
{
        size_t cap = c->n_outages > c->n_rebinds ? c->n_outages : c->n_rebinds, n = 0;
        struct event *v = malloc((cap ? cap : 1) * sizeof(*v));
        int k;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_outages; i++)
                n += event_at(&v[n], c->outages[i].start_us);
        k = recurring_of(c, v, n, "outages", f);
        n = 0;
        for (size_t i = 0; i < c->n_rebinds; i++)
                if (!g->rb_nat[i])
                        n += event_at(&v[n], c->rebinds[i].t_us);
        k = k < 0 ? k : recurring_of(c, v, n, "rebindings", f);
        free(v);
        return k;
}

/* --- nothing found --- */

static void none_text(const struct timeline_client *c, struct findings *f)
{
        char d[32], two[32], rb[96] = "";
        const char *blind = c->client_log && c->server_log
                                    ? ""
                                    : c->client_log
                                              ? " A client's log alone cannot see NAT rebindings, nor which direction "
                                                "failed: add the server's log."
                                              : " A server's log alone cannot see whether the answers reached the "
                                                "client: add the client's log.";

        /* only what the logs can tell: rebindings need the server's log */
        if (c->server_log && c->n_rebinds)
                snprintf(rb, sizeof(rb), ", %zu NAT rebinding%s, each when the client restarted", c->n_rebinds,
                         c->n_rebinds == 1 ? "" : "s");
        else if (c->server_log)
                snprintf(rb, sizeof(rb), ", no NAT rebinding");
        report_duration(c->last_us - c->first_us, d);
        span_text(2 * (int64_t)c->keepalive_us, false, two);
        fmt(f->none, "Nothing found in %s of logs: no outage%s.%s A break shorter than two keepalive intervals (%s "
                     "here) can pass unseen.",
            d, rb, blind, two);
}

static int by_start(const void *a, const void *b)
{
        const struct findings_item *x = a, *y = b;

        if (x->start_us != y->start_us)
                return x->start_us < y->start_us ? -1 : 1;
        return (int)x->kind - (int)y->kind;
}

int findings_derive(const struct timeline *tl, const struct timeline_client *c, struct findings *f)
{
        struct gaps g = { 0 };
        int k;

        f->n = 0;
        f->dropped = 0;
        f->none[0] = '\0';
        if (c->n_pk != c->packets)
                return -ENODATA; /* its packets let go (timeline_finish_each): the idle gaps are not there */
        k = gaps_make(tl, c, &g);
        k = k < 0 ? k : nat_periods(tl, c, &g, f);
        k = k < 0 ? k : rebind_findings(tl, c, &g, f);
        k = k < 0 ? k : outage_findings(c, f);
        k = k < 0 ? k : recurring(c, &g, f);
        gaps_free(&g);
        if (k < 0)
                return k;
        qsort(f->v, f->n, sizeof(*f->v), by_start);
        if (!f->n)
                none_text(c, f);
        return 0;
}

void findings_free(struct findings *f)
{
        free(f->v);
        *f = (struct findings){ 0 };
}

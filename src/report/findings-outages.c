/* findings-outages: one finding per outage, named by its direction, with
 * how long a WireGuard tunnel with keepalive 25 would have been down. */
#include "report/findings-internal.h"
#include "report/report-flows.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

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
        it->evidence[EV_WG_MIN] = findings_secs(lo);
        if (max_known)
                it->evidence[EV_WG_MAX] = findings_secs(hi);
        findings_span_text(lo, false, a);
        findings_span_text(hi, true, b);
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

int findings_outages(const struct timeline *tl, const struct timeline_client *c, struct findings *f)
{
        int k = 0;

        for (size_t i = 0; i < c->n_outages && k == 0; i++) {
                const struct timeline_outage *o = &c->outages[i];
                enum findings_kind kind = outage_kind(o);
                struct findings_item *it = findings_add(f, kind, o->start_us, o->end_us, &k);
                char d[32], mn[32], mx[32], wg[320], hop[128];
                bool max_known = o->start_min_known && o->end_max_known;
                int64_t lo = o->end_min_us > o->start_max_us ? o->end_min_us - o->start_max_us : 0;

                if (!it)
                        continue;
                it->end_open = o->ongoing;
                it->evidence[EV_SECONDS] = findings_secs(o->end_us - o->start_us);
                it->evidence[EV_SECONDS_MIN] = findings_secs(lo);
                if (max_known)
                        it->evidence[EV_SECONDS_MAX] = findings_secs(o->end_max_us - o->start_min_us);
                it->evidence[EV_LOST] = (double)o->lost;
                wg[0] = '\0';
                if (kind != FINDINGS_SERVER_STOPPED) {
                        it->evidence[EV_MAPPING_KEPT] = mapping_kept(c, o);
                        outage_wireguard(it, o, wg, sizeof(wg));
                }
                findings_span_text(o->end_us - o->start_us, false, d);
                findings_span_text(lo, false, mn);
                if (max_known)
                        findings_span_text(o->end_max_us - o->start_min_us, true, mx);
                report_last_hop_text(tl, o, hop, sizeof(hop));
                if (hop[0])
                        hop[0] = (char)toupper((unsigned char)hop[0]);
                findings_fmt(it->text, "For %s (%s%s%s%s)%s %s, %" PRIu64 " messages lost.%s%s%s%s%s", d,
                    max_known ? "" : "at least ", mn, max_known ? " to " : "", max_known ? mx : "",
                    o->ongoing ? ", still going when the logs end," : "", outage_what(kind), o->lost, hop[0] ? " " : "",
                    hop, hop[0] ? "." : "", wg[0] ? " " : "", wg);
        }
        return k;
}


/* findings: a client's timeline read out as findings (see findings.h): the
 * kinds' table, the words and numbers every step writes with, and
 * findings_derive() running the steps (findings-internal.h lists the files). */
#include "report/findings.h"
#include "report/findings-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"


/* The outages' evidence, shared by the four outage kinds. */
#define OUTAGE_EVIDENCE                                                                                       \
        { "seconds", "seconds_min", "seconds_max", "lost_messages", "wireguard_down_min_s",                    \
          "wireguard_down_max_s", "mapping_kept", NULL }

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
        [FINDINGS_THIS_FLOW_ONLY] = {
                "this_flow_only",
                "an outage of this flow while another flow, timed on a log both are in, delivered messages and "
                "none was down: what only this flow crosses (its NAT, its address family's route) is the suspect",
                { "flows_down", "flows_up", "flows_unknown", NULL },
        },
        [FINDINGS_ALL_FLOWS] = {
                "all_flows",
                "an outage that every other flow timed on a log both are in had at once (one at least, none up): "
                "the line or the server",
                { "flows_down", "flows_up", "flows_unknown", NULL },
        },
};

size_t findings_evidence_count(enum findings_kind kind)
{
        size_t n = 0;

        while (n < FINDINGS_MAX_EVIDENCE && findings_kinds[kind].evidence[n])
                n++;
        return n;
}

double findings_secs(int64_t us)
{
        return (double)us / 1e6;
}

void findings_fmt(char buf[static FINDINGS_TEXT_MAX], const char *f, ...)
{
        va_list ap;

        va_start(ap, f);
        vsnprintf(buf, FINDINGS_TEXT_MAX, f, ap);
        va_end(ap);
}

const char *findings_span_text(int64_t us, bool up, char buf[static 32])
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

struct findings_item *findings_add(struct findings *f, enum findings_kind kind, int64_t start, int64_t end, int *k)
{
        struct findings_item *it;

        if (f->n >= FINDINGS_MAX - (kind == FINDINGS_RECURRING ? 0 : FINDINGS_RECURRING_ROOM)) {
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
        findings_span_text(2 * (int64_t)c->keepalive_us, false, two);
        findings_fmt(f->none, "Nothing found in %s of logs: no outage%s.%s A break shorter than two keepalive intervals (%s "
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
        int k;

        f->n = 0;
        f->dropped = 0;
        f->none[0] = '\0';
        if (!c->scan || !c->scan->made)
                return -ENODATA; /* not written now (timeline_finish_each's first pass): what it read of its packets is gone */
        k = findings_nat(tl, c, f);
        k = k < 0 ? k : findings_rebindings(tl, c, f);
        k = k < 0 ? k : findings_outages(tl, c, f);
        k = k < 0 ? k : findings_flows(tl, c, f);
        k = k < 0 ? k : findings_recurring(c, f);
        if (k < 0)
                return k;
        if (f->n > 1) /* qsort takes no NULL, even for none */
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

/* report: the text and JSON forms of a timeline (see report.h); the
 * summary line and the words it shares in report-summary.c. */
#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/findings.h"
#include "report/report-flows.h"

#define US ((int64_t)1000000)
/* Per-day availability up to ten years; beyond, null. */
#define AVAILABILITY_DAYS_MAX 3660

static const char *stamp(int64_t t_us, char buf[static 32])
{
        time_t t = (time_t)(t_us / US);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, 32, "%" PRId64, t_us / US);
        else
                snprintf(buf + strlen(buf), 32 - strlen(buf), ".%03d", (int)(t_us % US / 1000));
        return buf;
}

const char *report_stamp(int64_t t_us, char buf[static 32])
{
        return stamp(t_us, buf);
}

static const char *direction_name(enum timeline_direction d)
{
        static const char *const names[] = { "both", "client_to_server", "server_to_client", "unknown" };

        return names[d];
}

static const char *seen_name(unsigned seen)
{
        static const char *const names[] = { "matching", "client", "server", "both" };

        return names[seen & 3];
}

static int64_t seconds_min_us(const struct timeline_outage *o)
{
        return o->end_min_us > o->start_max_us ? o->end_min_us - o->start_max_us : 0;
}

static bool seconds_max_known(const struct timeline_outage *o)
{
        return o->start_min_known && o->end_max_known;
}

/* Availability at the outages' longest and shortest bounds, in the period. */
void report_availability_bounds(const struct timeline_client *c, double *lo, double *hi)
{
        int64_t period = c->last_us - c->first_us, most = 0, least = 0;

        for (size_t i = 0; i < c->n_outages; i++) {
                const struct timeline_outage *o = &c->outages[i];
                int64_t a = o->start_min_known ? o->start_min_us : c->first_us;
                int64_t b = o->end_max_known ? o->end_max_us : c->last_us;

                if (o->log_lost)
                        continue; /* unknown, not down (as in timeline_down_us) */
                a = a < c->first_us ? c->first_us : a;
                b = b > c->last_us ? c->last_us : b;
                most += b > a ? b - a : 0;
                least += seconds_min_us(o);
        }
        *lo = period > 0 ? 1.0 - (double)(most < period ? most : period) / (double)period : 1.0;
        *hi = period > 0 ? 1.0 - (double)(least < period ? least : period) / (double)period : 1.0;
}

/* --- text --- */

static void text_outage(const struct timeline *tl, const struct timeline_client *c, const struct timeline_outage *o,
                        FILE *out)
{
        char a[32], b[32], d[32], mn[32], mx[32], hop[128], others[512];

        fprintf(out, "    %s .. %s  %9s  (%s to %s)  %-16s seen by %s%s%s%s\n", stamp(o->start_us, a), stamp(o->end_us, b),
                report_duration(o->end_us - o->start_us, d), report_duration(seconds_min_us(o), mn),
                seconds_max_known(o) ? report_duration(o->end_max_us - o->start_min_us, mx) : "?",
                direction_name(o->direction), seen_name(o->seen_by), o->ongoing ? ", still going" : "",
                o->server_stopped ? ", the server was not running" : "",
                o->log_lost ? ", unknown: a log lost lines then" : "");
        if (report_last_hop_text(tl, o, hop, sizeof(hop))[0])
                fprintf(out, "      %s\n", hop);
        if (report_others_text(tl, c, o, others, sizeof(others))[0])
                fprintf(out, "      %s\n", others);
}

static void text_count(const char *name, const struct timeline_count *k, FILE *out)
{
        if (!k->known) {
                fprintf(out, "  %-13s not visible in these logs\n", name);
                return;
        }
        fprintf(out, "  %-13s %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64 " lost (%.1f %%)\n", name, k->sent,
                k->received, k->lost, k->sent ? 100.0 * (double)k->lost / (double)k->sent : 0.0);
}

static void text_rtt(const struct timeline_client *c, FILE *out)
{
        char a[32], b[32], p[32], m[32];
        const struct timeline_rtt *h = &c->rtt;

        if (!h->count) {
                fprintf(out, "  round trip    %s\n", c->client_log ? "none answered" : "not visible in a server log");
                return;
        }
        fprintf(out, "  round trip    min %s, median %s, p95 %s, max %s (%" PRIu64 ")%s\n",
                report_rtt_text(c, h->min_us, a), report_rtt_text(c, timeline_rtt_quantile(h, 1, 2), b),
                report_rtt_text(c, timeline_rtt_quantile(h, 95, 100), p), report_rtt_text(c, h->max_us, m), h->count,
                timeline_rtt_exact(h) ? "" : ", median and p95 up to 0.8 % below");
}

static void text_buckets(const struct timeline_client *c, FILE *out);

/* The findings first: what it means, then the figures it rests on. */
static int text_findings(const struct timeline *tl, const struct timeline_client *c, FILE *out)
{
        struct findings f = { 0 };
        char a[32], b[32];
        int k = findings_derive(tl, c, &f);

        if (k < 0)
                return k;
        if (!f.n)
                fprintf(out, "  findings      none. %s\n", f.none);
        else
                fprintf(out, "  findings      %zu\n", f.n);
        for (size_t i = 0; i < f.n; i++) {
                const struct findings_item *it = &f.v[i];

                fprintf(out, "    %s%s%s  %s\n      %s\n", report_stamp(it->start_us, a),
                        it->end_open || it->end_us != it->start_us ? " .. " : "",
                        it->end_open                  ? "(still holding)"
                        : it->end_us != it->start_us ? report_stamp(it->end_us, b)
                                                      : "",
                        findings_kinds[it->kind].name, it->text);
                if (it->advice[0])
                        fprintf(out, "      advice: %s\n", it->advice);
        }
        if (f.dropped)
                fprintf(out, "    and %" PRIu64 " more not shown\n", f.dropped);
        findings_free(&f);
        return 0;
}

static int text_client(const struct timeline *tl, const struct timeline_client *c, FILE *out)
{
        char id[MESSAGE_TEXT_MAX], a[32], b[32], d[32], o[ADDR_STRLEN], n[ADDR_STRLEN], line[1024];
        int64_t iv = report_rebind_interval(c);
        double lo, hi;
        int k;

        message_repr_string(c->id, c->id_len, id, sizeof(id));
        fprintf(out, "\nclient %s (%s)\n", id,
                c->client_log && c->server_log ? "client log and server log"
                : c->client_log                ? "client log only"
                                               : "server log only");
        if ((k = text_findings(tl, c, out)) < 0)
                return k;
        for (size_t i = 0; i < c->n_servers && i < TIMELINE_SERVERS_KEPT; i++)
                fprintf(out, "%s%s", i ? ", " : "  server        ", addr_format(&c->servers[i], o));
        if (c->n_servers > TIMELINE_SERVERS_KEPT)
                fprintf(out, " and %zu more", c->n_servers - TIMELINE_SERVERS_KEPT);
        if (c->n_servers)
                fputc('\n', out);
        fprintf(out, "  period        %s .. %s (%s)\n", stamp(c->first_us, a), stamp(c->last_us, b),
                report_duration(c->last_us - c->first_us, d));
        if (c->offset_known)
                fprintf(out, "  clock offset  server %+.3f s from the client (%zu handshakes)\n",
                        /* rounded to the millisecond first: no "-0.000" */
                        (double)((c->offset_us + (c->offset_us < 0 ? -500 : 500)) / 1000) / 1e3, c->offset_pairs);
        fprintf(out, "  timers        keepalive every %.3f s (%s), handshake retry %.3f s (%s), %u keepalives\n",
                (double)c->keepalive_us / 1e6, c->keepalive_learned ? "from the log" : "default or option",
                (double)c->handshake_timeout_us / 1e6, c->handshake_timeout_learned ? "from the log" : "default or option",
                c->keepalive_count);
        report_availability_bounds(c, &lo, &hi);
        fprintf(out, "  availability  %.2f %% (between %.2f and %.2f %%)\n", 100.0 * timeline_availability(c),
                100.0 * lo, 100.0 * hi);
        text_buckets(c, out);
        text_count("to server", &c->delivery[TIMELINE_C2S], out);
        text_count("to client", &c->delivery[TIMELINE_S2C], out);
        if (c->client_log)
                fprintf(out, "  handshakes    %" PRIu64 " sent, %" PRIu64 " answered\n", c->inits_sent, c->answered);
        if (c->server_log)
                fprintf(out, "  at the server %" PRIu64 " inits received, %" PRIu64 " answered, %" PRIu64 " replays\n",
                        c->inits_received, c->responses_sent, c->replays);
        text_rtt(c, out);
        fprintf(out, "  outages       %zu (an outage: two or more messages lost in a row)\n", c->n_outages);
        for (size_t i = 0; i < c->n_outages; i++)
                text_outage(tl, c, &c->outages[i], out);
        if (!c->server_log)
                fprintf(out, "  NAT rebindings: not visible in a client log\n");
        else
                fprintf(out, "  NAT rebindings %zu%s%s\n", c->n_rebinds, iv ? ", every " : "",
                        iv ? report_duration(iv, d) : "");
        for (size_t i = 0; i < c->n_rebinds; i++)
                fprintf(out, "    %s  %s -> %s\n", stamp(c->rebinds[i].t_us, a), addr_format(&c->rebinds[i].old_peer, o),
                        addr_format(&c->rebinds[i].new_peer, n));
        report_summary(c, line, sizeof(line));
        fprintf(out, "  summary       %s\n", line);
        return 0;
}

/* The clients' NAT timeout probe results (--probe-every), as they came. */
static void text_probes(const struct timeline *tl, FILE *out)
{
        char when[32];

        if (tl->n_probes)
                fprintf(out, "NAT idle timeout probes: %zu\n", tl->n_probes);
        for (size_t i = 0; i < tl->n_probes; i++)
                fprintf(out, "  %s  %s\n", stamp(tl->probes[i].t_us, when), tl->probes[i].verdict);
}

/* The run's figures, before the clients. */
static void text_head(const struct timeline *tl, const struct report_input *in, FILE *out)
{
        uint64_t steps = 0;

        for (size_t i = 0; i < tl->n_logs; i++)
                steps += tl->logs[i].steps_back;
        fprintf(out, "udp-canary report: %" PRIu64 " lines read, %" PRIu64 " of them not understood and skipped; %" PRIu64
                     " invalid packets\n",
                tl->lines + in->skipped, in->skipped, tl->invalid);
        if (tl->ignored_clients)
                fprintf(out, "%" PRIu64 " lines of clients past the first %d not read: give --id to see one\n",
                        tl->ignored_clients, TIMELINE_MAX_CLIENTS);
        if (steps)
                fprintf(out, "the clock stepped back %" PRIu64 " times in the logs: later times are shifted to run on\n",
                        steps);
        if (tl->socket_drops)
                fprintf(out, "dropped at the server's own full socket: %" PRIu64
                             " datagrams (local overload: loss then is not all the network's)\n",
                        tl->socket_drops);
        text_probes(tl, out);
}

/* --- JSON, version 2: the names are the schema in udp-canary(8) --- */

#define JSON_FLAGS (JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16))

static int set(json_t *o, const char *key, json_t *v)
{
        return json_object_set_new(o, key, v ? v : json_null());
}

static json_t *jtime(json_t *o, const char *name, int64_t t_us)
{
        char a[32], key[48];

        set(o, name, json_string(stamp(t_us, a)));
        snprintf(key, sizeof(key), "%s_unix", name);
        set(o, key, json_real((double)t_us / 1e6));
        return o;
}

static json_t *junix(bool known, int64_t t_us)
{
        return known ? json_real((double)t_us / 1e6) : json_null();
}

static json_t *json_outage(const struct timeline *tl, const struct timeline_client *c, const struct timeline_outage *o)
{
        json_t *j = json_object();

        jtime(j, "start", o->start_us);
        jtime(j, "end", o->end_us);
        set(j, "seconds", json_real((double)(o->end_us - o->start_us) / 1e6));
        set(j, "seconds_min", json_real((double)seconds_min_us(o) / 1e6));
        set(j, "seconds_max", seconds_max_known(o) ? json_real((double)(o->end_max_us - o->start_min_us) / 1e6) : NULL);
        set(j, "start_min_unix", junix(o->start_min_known, o->start_min_us));
        set(j, "start_max_unix", junix(true, o->start_max_us));
        set(j, "end_min_unix", junix(true, o->end_min_us));
        set(j, "end_max_unix", junix(o->end_max_known, o->end_max_us));
        set(j, "direction", json_string(direction_name(o->direction)));
        set(j, "seen_by", json_string(seen_name(o->seen_by)));
        set(j, "ongoing", json_boolean(o->ongoing));
        set(j, "lost_messages", json_integer((json_int_t)o->lost));
        set(j, "server_stopped", json_boolean(o->server_stopped));
        set(j, "log_lost", json_boolean(o->log_lost));
        report_json_others(j, tl, c, o);
        set(j, "last_hop", report_json_last_hop(tl, o));
        return j;
}

static json_t *json_count(const struct timeline_count *k)
{
        return k->known ? json_pack("{s:I,s:I,s:I}", "sent", (json_int_t)k->sent, "received", (json_int_t)k->received,
                                    "lost", (json_int_t)k->lost)
                        : json_null();
}

static json_t *json_rtt(const struct timeline_client *c)
{
        const struct timeline_rtt *h = &c->rtt;

        if (!h->count)
                return c->client_log ? json_pack("{s:i}", "count", 0) : json_null();
        return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:b}", "count", (json_int_t)h->count, "min", (double)h->min_us / 1e3,
                         "median", (double)timeline_rtt_quantile(h, 1, 2) / 1e3, "p95",
                         (double)timeline_rtt_quantile(h, 95, 100) / 1e3, "max", (double)h->max_us / 1e3,
                         "resolution_ms", (double)c->resolution_us / 1e3, "exact", timeline_rtt_exact(h));
}

static json_t *maybe_int(bool known, uint64_t v)
{
        return known ? json_integer((json_int_t)v) : json_null();
}

static json_t *json_keepalives(const struct timeline_client *c)
{
        const struct timeline_count *k = &c->keepalives;
        uint64_t expected = c->client_log ? k->sent : k->received + k->lost;
        json_t *j = json_object();

        set(j, "sent", maybe_int(c->client_log, k->sent));
        set(j, "received", maybe_int(c->server_log, k->received));
        set(j, "lost", maybe_int(k->known, k->lost));
        set(j, "loss_ratio", k->known && expected ? json_real((double)k->lost / (double)expected) : NULL);
        return j;
}

/* Local midnight (or the hour) at or before t. */
static int64_t bucket_start(int64_t t_us, bool hours)
{
        time_t t = (time_t)(t_us / US);
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return t_us;
        tm.tm_min = tm.tm_sec = 0;
        if (!hours)
                tm.tm_hour = 0;
        tm.tm_isdst = -1;
        return (int64_t)mktime(&tm) * US;
}

/* The start of the bucket after the one at start_us: a local day may last
 * 23 or 25 hours. */
static int64_t bucket_next(int64_t start_us, bool hours)
{
        int64_t next = bucket_start(start_us + (hours ? 3600 : 86400 + 7200) * US, hours);

        return next > start_us ? next : start_us + (hours ? 3600 : 86400) * US;
}

#define BUCKET_LABEL_MAX 32

/* The bucket that begins at *b, within the client's period: its label (the
 * day, or the day and hour; the Unix time when the date cannot be told) and
 * the share of it the flow was up. Moves *b on to the next bucket. Returns
 * false for a bucket with none of the period in it. */
static bool bucket_up(const struct timeline_client *c, int64_t *b, bool hours, char when[static BUCKET_LABEL_MAX],
                      double *up)
{
        int64_t e = bucket_next(*b, hours), from = *b > c->first_us ? *b : c->first_us;
        int64_t to = e < c->last_us ? e : c->last_us;
        time_t t = (time_t)(*b / US);
        struct tm tm;

        if (!localtime_r(&t, &tm) ||
            strftime(when, BUCKET_LABEL_MAX, hours ? "%Y-%m-%d %H:00" : "%Y-%m-%d", &tm) == 0)
                snprintf(when, BUCKET_LABEL_MAX, "%" PRId64, *b / US);
        *b = e;
        if (to <= from)
                return false;
        *up = 1.0 - (double)timeline_down_us(c, from, to) / (double)(to - from);
        return true;
}

/* Per day, or per hour over two days at most; nothing for a single one. */
static void text_buckets(const struct timeline_client *c, FILE *out)
{
        bool hours = c->last_us - c->first_us <= 2 * 86400 * US;
        int64_t b = bucket_start(c->first_us, hours);

        if (c->last_us - c->first_us > AVAILABILITY_DAYS_MAX * 86400 * US || bucket_next(b, hours) >= c->last_us)
                return;
        for (unsigned i = 0; b < c->last_us && i <= 24 * AVAILABILITY_DAYS_MAX; i++) {
                char when[BUCKET_LABEL_MAX];
                double up;

                if (bucket_up(c, &b, hours, when, &up))
                        fprintf(out, "    %-16s %7.2f %%\n", when, 100.0 * up);
        }
}

static json_t *json_availability(const struct timeline_client *c, bool hours)
{
        json_t *a;
        int64_t b = bucket_start(c->first_us, hours);

        if (c->last_us - c->first_us > AVAILABILITY_DAYS_MAX * 86400 * US)
                return json_null(); /* no log runs this long: a broken stamp */
        a = json_array();
        for (unsigned i = 0; b < c->last_us && i <= 24 * AVAILABILITY_DAYS_MAX; i++) {
                char when[BUCKET_LABEL_MAX];
                double up;

                if (bucket_up(c, &b, hours, when, &up))
                        json_array_append_new(a, json_pack("{s:s,s:f}", "date", when, "availability", up));
        }
        return a;
}

static json_t *json_rebinds(const struct timeline_client *c)
{
        json_t *a;

        if (!c->server_log)
                return json_null();
        a = json_array();
        for (size_t i = 0; i < c->n_rebinds; i++) {
                char o[ADDR_STRLEN], n[ADDR_STRLEN];
                json_t *r = jtime(json_object(), "time", c->rebinds[i].t_us);

                set(r, "old", json_string(addr_format(&c->rebinds[i].old_peer, o)));
                set(r, "new", json_string(addr_format(&c->rebinds[i].new_peer, n)));
                json_array_append_new(a, r);
        }
        return a;
}

static json_t *json_period(const struct timeline_client *c)
{
        json_t *p = json_object();

        jtime(p, "start", c->first_us);
        jtime(p, "end", c->last_us);
        set(p, "seconds", json_real((double)(c->last_us - c->first_us) / 1e6));
        return p;
}

/* A count as an integer, a measure as a real, unknown (NAN) as null. */
static json_t *json_number(double v)
{
        if (isnan(v))
                return NULL;
        return v == floor(v) && fabs(v) < 9e15 ? json_integer((json_int_t)v) : json_real(v);
}

static json_t *json_finding(const struct findings_item *it)
{
        const struct findings_kind_info *info = &findings_kinds[it->kind];
        json_t *j = json_object(), *ev = json_object();
        char a[ADDR_STRLEN];

        set(j, "kind", json_string(info->name));
        jtime(j, "start", it->start_us);
        if (it->end_open) {
                set(j, "end", NULL);
                set(j, "end_unix", NULL);
        } else {
                jtime(j, "end", it->end_us);
        }
        set(j, "text", json_string(it->text));
        set(j, "advice", it->advice[0] ? json_string(it->advice) : NULL);
        for (size_t i = 0; i < findings_evidence_count(it->kind); i++)
                set(ev, info->evidence[i], json_number(it->evidence[i]));
        set(j, "evidence", ev);
        if (it->kind == FINDINGS_NAT_IDLE_TIMEOUT)
                set(j, "idle_timeout_s", json_pack("[f,f]", it->idle_lo_s, it->idle_hi_s));
        if (it->kind == FINDINGS_MAPPING_REPLACED || it->kind == FINDINGS_PUBLIC_ADDRESS_CHANGED) {
                set(j, "old", json_string(addr_format(&it->old_peer, a)));
                set(j, "new", json_string(addr_format(&it->new_peer, a)));
        }
        if (it->kind == FINDINGS_RECURRING) {
                set(j, "recurs", json_string(it->what));
                set(j, "when", json_string(it->when));
        }
        return j;
}

/* findings[] and, when there are none, the line that says so. */
static int json_findings(const struct timeline *tl, const struct timeline_client *c, json_t *j)
{
        struct findings f = { 0 };
        json_t *a = json_array();
        int k = a ? findings_derive(tl, c, &f) : -ENOMEM;

        for (size_t i = 0; k == 0 && i < f.n; i++)
                json_array_append_new(a, json_finding(&f.v[i]));
        if (k == 0) {
                set(j, "findings", a);
                set(j, "findings_none", f.n ? NULL : json_string(f.none));
                set(j, "findings_not_shown", json_integer((json_int_t)f.dropped));
        } else {
                json_decref(a);
        }
        findings_free(&f);
        return k;
}

/* The server addresses the client's log sent to: [] without one. */
static json_t *json_servers(const struct timeline_client *c)
{
        json_t *a = json_array();
        char text[ADDR_STRLEN];

        for (size_t i = 0; i < c->n_servers && i < TIMELINE_SERVERS_KEPT; i++)
                json_array_append_new(a, json_string(addr_format(&c->servers[i], text)));
        return a;
}

static json_t *json_client(const struct timeline *tl, const struct timeline_client *c)
{
        json_t *j = json_object(), *outs = json_array();
        char line[1024];
        int64_t iv = report_rebind_interval(c);
        double lo, hi;

        set(j, "id", json_stringn(c->id, c->id_len));
        set(j, "seen_in", json_pack("{s:b,s:b}", "client_log", c->client_log, "server_log", c->server_log));
        set(j, "servers", json_servers(c));
        if (json_findings(tl, c, j) < 0) {
                json_decref(j);
                json_decref(outs);
                return NULL;
        }
        set(j, "period", json_period(c));
        set(j, "availability", json_real(timeline_availability(c)));
        report_availability_bounds(c, &lo, &hi);
        set(j, "availability_min", json_real(lo));
        set(j, "availability_max", json_real(hi));
        set(j, "timers", json_pack("{s:f,s:f,s:i,s:b,s:b}", "keepalive_interval_seconds", (double)c->keepalive_us / 1e6,
                                   "handshake_timeout_seconds", (double)c->handshake_timeout_us / 1e6, "keepalive_count",
                                   (int)c->keepalive_count, "keepalive_learned", c->keepalive_learned,
                                   "handshake_timeout_learned", c->handshake_timeout_learned));
        set(j, "handshakes", json_pack("{s:o,s:o,s:o,s:o}", "sent", maybe_int(c->client_log, c->inits_sent), "answered",
                                       maybe_int(c->client_log, c->answered), "received_by_server",
                                       maybe_int(c->server_log, c->inits_received), "answered_by_server",
                                       maybe_int(c->server_log, c->responses_sent)));
        set(j, "rtt_ms", json_rtt(c));
        set(j, "keepalives", json_keepalives(c));
        set(j, "replays", maybe_int(c->server_log, c->replays));
        for (size_t i = 0; i < c->n_outages; i++)
                json_array_append_new(outs, json_outage(tl, c, &c->outages[i]));
        set(j, "outages", outs);
        set(j, "delivery", json_pack("{s:o,s:o}", "client_to_server", json_count(&c->delivery[TIMELINE_C2S]),
                                     "server_to_client", json_count(&c->delivery[TIMELINE_S2C])));
        set(j, "clock_offset_seconds", c->offset_known ? json_real((double)c->offset_us / 1e6) : NULL);
        set(j, "nat_rebindings", json_rebinds(c));
        set(j, "nat_rebinding_interval_seconds", iv ? json_real((double)iv / 1e6) : NULL);
        set(j, "availability_by_day", json_availability(c, false));
        set(j, "availability_by_hour", c->last_us - c->first_us <= 2 * 86400 * US ? json_availability(c, true) : NULL);
        report_summary(c, line, sizeof(line));
        set(j, "summary", json_string(line));
        return j;
}

static json_t *json_probes(const struct timeline *tl)
{
        json_t *a = json_array();
        char when[32];

        for (size_t i = 0; a && i < tl->n_probes; i++)
                json_array_append_new(a, json_pack("{s:s, s:s}", "time", stamp(tl->probes[i].t_us, when), "verdict",
                                                   tl->probes[i].verdict));
        return a;
}

/* The run's figures: the JSON's root up to its clients, left open. */
static int json_head(const struct timeline *tl, const struct report_input *in, FILE *out)
{
        json_t *root = json_object();
        char *text = NULL;
        size_t len;
        int k = -ENOMEM;

        if (!root)
                return k;
        set(root, "version", json_integer(2));
        set(root, "lines", json_integer((json_int_t)tl->lines));
        set(root, "skipped", json_integer((json_int_t)in->skipped));
        set(root, "invalid", json_integer((json_int_t)tl->invalid));
        set(root, "socket_drops", json_integer((json_int_t)tl->socket_drops));
        set(root, "ignored_client_lines", json_integer((json_int_t)tl->ignored_clients));
        set(root, "nat_timeout_probes", json_probes(tl));
        text = json_dumps(root, JSON_FLAGS);
        /* "{\n ...\n}": all but the closing brace, the clients to follow */
        if (text && (len = strlen(text)) >= 2 && text[len - 1] == '}' && text[len - 2] == '\n') {
                text[len - 2] = '\0';
                k = fprintf(out, "%s,\n \"clients\": [", text) < 0 ? -EIO : 0;
        }
        free(text);
        json_decref(root);
        return k;
}

/* --- shared with the HTML page (report-html.c): one way to write each --- */

int64_t report_hour_start(int64_t t_us)
{
        return bucket_start(t_us, true);
}

int64_t report_next_hour(int64_t start_us)
{
        return bucket_next(start_us, true);
}

int64_t report_day_start(int64_t t_us)
{
        return bucket_start(t_us, false);
}

int64_t report_next_day(int64_t start_us)
{
        return bucket_next(start_us, false);
}

/* A client as an element of the root's "clients": two levels in. */
static int json_element(const json_t *j, bool first, FILE *out)
{
        char *text = json_dumps(j, JSON_FLAGS), *line, *nl;
        int k = text ? 0 : -ENOMEM;

        if (k == 0 && fputs(first ? "\n" : ",\n", out) == EOF)
                k = -EIO;
        for (line = text; k == 0 && line; line = nl ? nl + 1 : NULL) {
                nl = strchr(line, '\n'); /* JSON strings hold no raw newline */
                if (fprintf(out, "  %.*s%s", nl ? (int)(nl - line) : (int)strlen(line), line, nl ? "\n" : "") < 0)
                        k = -EIO;
        }
        free(text);
        return k;
}

int report_begin(struct report_writer *w, const struct timeline *tl, const struct report_input *in, bool json,
                 FILE *out)
{
        *w = (struct report_writer){ .out = out, .json = json };
        if (json)
                return json_head(tl, in, out);
        text_head(tl, in, out);
        return ferror(out) ? -EIO : 0;
}

int report_client(struct report_writer *w, const struct timeline *tl, const struct timeline_client *c)
{
        json_t *j;
        int k;

        if (!w->json)
                return (k = text_client(tl, c, w->out)) < 0 ? k : ferror(w->out) ? -EIO : 0;
        j = json_client(tl, c);
        k = j ? json_element(j, w->clients == 0, w->out) : -ENOMEM;
        json_decref(j);
        w->clients++;
        return k;
}

int report_end(struct report_writer *w)
{
        if (w->json && fputs(w->clients ? "\n ]\n}\n" : "]\n}\n", w->out) == EOF)
                return -EIO;
        return ferror(w->out) ? -EIO : 0;
}

static int write_all(const struct timeline *tl, const struct report_input *in, bool json, FILE *out)
{
        struct report_writer w;
        int k = report_begin(&w, tl, in, json, out);

        for (size_t i = 0; i < tl->n_clients && k == 0; i++)
                k = report_client(&w, tl, tl->clients[i]);
        return k < 0 ? k : report_end(&w);
}

int report_write_text(const struct timeline *tl, const struct report_input *in, FILE *out)
{
        return write_all(tl, in, false, out);
}

int report_write_json(const struct timeline *tl, const struct report_input *in, FILE *out)
{
        return write_all(tl, in, true, out);
}

/* report-html: `report --html FILE`, the whole report as one page that opens
 * from a file: inline CSS and SVG, nothing fetched, no script. Written as the
 * clients are worked out: each client's section while its packets are held
 * (its findings and round trips read them), kept in a temporary file until
 * the end, when the page's head (the run's figures, a list of all clients)
 * and then those sections go out. Per client its summary, its findings, the
 * availability of every hour as a heat map (days down, hours across, each
 * cell's figures in its tooltip), the outage timeline with the bounds (drawn
 * by report-svg.c, as `--svg` draws it, in each outage's tooltip what the
 * other flows did and its finding), the outages (with the last hop of the
 * client's trace and the other flows, as the text has them) and NAT
 * rebindings listed, and the round trips over time (report-html-rtt.c);
 * then the clients' NAT timeout probes when the logs hold any. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/message.h"
#include "report/findings.h"
#include "report/report-flows.h"
#include "report/report-html-rtt.h"
#include "report/report-spill.h"
#include "report/report-svg.h"
#include "report/report.h"

#define US ((int64_t)1000000)
#define TABLE_ROWS_MAX 200 /* rows of outages or rebindings shown; --json has them all */
#define LIST_OPEN_MAX 12   /* longer lists are folded */
#define HEAT_DAYS_MAX 3660 /* as the text's availability per day */
#define HEAT_LEFT 100      /* room for the dates */
#define HEAT_CELL_W 36
#define HEAT_TOP 22

static const char page_css[] =
        "body{font-family:sans-serif;color:#222;margin:16px auto;max-width:1120px;padding:0 10px}"
        "h1{font-size:22px}h2{font-size:19px;border-top:2px solid #ccc;padding-top:14px;margin-top:30px}"
        "h3{font-size:15px;margin:18px 0 6px}table{border-collapse:collapse;font-size:13px}"
        "td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}th{color:#555;font-weight:normal}"
        ".summary{background:#f2f2f2;padding:8px 10px;font-size:14px}.note{color:#555;font-size:13px}"
        "svg{max-width:100%;height:auto;display:block}.num{font-variant-numeric:tabular-nums}"
        ".h100{fill:#a9dcc9}.h999{fill:#fee391}.h99{fill:#fec44f}.h95{fill:#fe9929}.h80{fill:#ec7014}"
        ".h50{fill:#cc4c02}.h0{fill:#8c2d04}.nodata{fill:#f4f4f4}.cell{stroke:#fff;stroke-width:1}"
        ".rttband{fill:#56b4e9;fill-opacity:.45}.rttline{stroke:#0072b2;stroke-width:1.5;fill:none}"
        ".rttdot{fill:#0072b2}.finding{border-left:4px solid #e69f00;padding:0 0 4px 10px;margin:10px 0}"
        ".finding h4{font-size:14px;margin:0 0 2px}.finding p{margin:2px 0;font-size:14px}.when{color:#555}"
        ".advice{font-weight:bold}.evidence{font-size:12px;margin-top:4px}.none{font-size:14px}"
        ".findings{margin-bottom:16px}\n";

/* The id as the text report writes it (Python's repr), escaped. */
static void client_name(const struct timeline_client *c, FILE *out)
{
        char id[MESSAGE_TEXT_MAX];

        message_repr_string(c->id, c->id_len, id, sizeof(id));
        report_svg_escape(out, id, strlen(id));
}

static void escaped(const char *s, FILE *out)
{
        report_svg_escape(out, s, strlen(s));
}

/* --- the figures --- */

static void row(const char *name, const char *value, FILE *out)
{
        fprintf(out, "<tr><th>%s</th><td class=\"num\">", name);
        escaped(value, out);
        fputs("</td></tr>\n", out);
}

static void count_row(const char *name, const struct timeline_count *k, FILE *out)
{
        char v[128];

        if (!k->known)
                snprintf(v, sizeof(v), "not visible in these logs");
        else
                snprintf(v, sizeof(v), "%" PRIu64 " sent, %" PRIu64 " received, %" PRIu64 " lost (%.1f %%)", k->sent,
                         k->received, k->lost, k->sent ? 100.0 * (double)k->lost / (double)k->sent : 0.0);
        row(name, v, out);
}

static void rtt_row(const struct timeline_client *c, FILE *out)
{
        char v[160], a[32], b[32], p[32], m[32];
        const struct timeline_rtt *h = &c->rtt;

        if (!h->count)
                snprintf(v, sizeof(v), "%s", c->client_log ? "none answered" : "not visible in a server log");
        else
                snprintf(v, sizeof(v), "min %s, median %s, p95 %s, max %s (%" PRIu64 ")", report_rtt_text(c, h->min_us, a),
                         report_rtt_text(c, timeline_rtt_quantile(h, 1, 2), b),
                         report_rtt_text(c, timeline_rtt_quantile(h, 95, 100), p), report_rtt_text(c, h->max_us, m),
                         h->count);
        row("round trip", v, out);
}

static void figures(const struct timeline_client *c, FILE *out)
{
        char v[200], a[32], b[32], d[32];
        double lo, hi;

        fputs("<table>\n", out);
        snprintf(v, sizeof(v), "%s .. %s (%s)", report_stamp(c->first_us, a), report_stamp(c->last_us, b),
                 report_duration(c->last_us - c->first_us, d));
        row("period", v, out);
        row("logs", c->client_log && c->server_log ? "client log and server log"
                    : c->client_log                ? "client log only"
                                                   : "server log only",
            out);
        report_availability_bounds(c, &lo, &hi);
        snprintf(v, sizeof(v), "%.2f %% (between %.2f and %.2f %%)", 100.0 * timeline_availability(c), 100.0 * lo,
                 100.0 * hi);
        row("availability", v, out);
        count_row("to server", &c->delivery[TIMELINE_C2S], out);
        count_row("to client", &c->delivery[TIMELINE_S2C], out);
        rtt_row(c, out);
        if (c->offset_known) {
                snprintf(v, sizeof(v), "server %+.3f s from the client (%zu handshakes)",
                         (double)llround((double)c->offset_us / 1e3) / 1e3, c->offset_pairs); /* no "-0.000" */
                row("clock offset", v, out);
        }
        snprintf(v, sizeof(v), "keepalive every %.3f s, handshake retry %.3f s, %u keepalives",
                 (double)c->keepalive_us / 1e6, (double)c->handshake_timeout_us / 1e6, c->keepalive_count);
        row("timers", v, out);
        fputs("</table>\n", out);
}

/* --- findings --- */

static bool outage_kind(enum findings_kind kind)
{
        return kind == FINDINGS_OUTBOUND_LOST || kind == FINDINGS_INBOUND_LOST || kind == FINDINGS_PATH_DOWN ||
               kind == FINDINGS_OUTAGE_UNKNOWN_DIRECTION || kind == FINDINGS_SERVER_STOPPED;
}

/* Per outage of c, the finding that tells it (one to one, both in the order
 * of their starts), or NULL: the finding's words go into the outage's
 * tooltip and its bounds into the finding. */
static void outage_findings(const struct timeline_client *c, const struct findings *f,
                            const struct findings_item **by_outage)
{
        size_t j = 0;

        for (size_t i = 0; i < c->n_outages; i++)
                by_outage[i] = NULL;
        for (size_t i = 0; i < f->n; i++) {
                if (!outage_kind(f->v[i].kind))
                        continue;
                while (j < c->n_outages && c->outages[j].start_us < f->v[i].start_us)
                        j++;
                if (j < c->n_outages && c->outages[j].start_us == f->v[i].start_us)
                        by_outage[j++] = &f->v[i];
        }
}

/* The outage a finding tells (outages sorted by start), or NULL. */
static const struct timeline_outage *outage_of(const struct timeline_client *c,
                                               const struct findings_item *const *by_outage,
                                               const struct findings_item *it)
{
        size_t lo = 0, hi = c->n_outages;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (c->outages[mid].start_us < it->start_us)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < c->n_outages && by_outage[lo] == it ? &c->outages[lo] : NULL;
}

/* When it held; for an outage, how early and late it can have begun and ended. */
static void finding_when(const struct findings_item *it, const struct timeline_outage *o, FILE *out)
{
        char a[32], b[32];

        fprintf(out, "<p class=\"when num\">%s", report_stamp(it->start_us, a));
        if (it->end_open)
                fputs(" .. still holding when the logs end", out);
        else if (it->end_us != it->start_us)
                fprintf(out, " .. %s", report_stamp(it->end_us, a));
        if (o) {
                fprintf(out, " (began after %s", o->start_min_known ? report_stamp(o->start_min_us, a)
                                                                     : "the logs' start");
                fprintf(out, ", by %s; ended after %s", report_stamp(o->start_max_us, a),
                        report_stamp(o->end_min_us, b));
                fprintf(out, ", by %s)", o->end_max_known ? report_stamp(o->end_max_us, a) : "the logs' end");
        }
        fputs("</p>\n", out);
}

/* The named numbers, names above their values; unknown where the logs cannot tell. */
static void finding_evidence(const struct findings_item *it, FILE *out)
{
        size_t n = findings_evidence_count(it->kind);

        fputs("<table class=\"evidence\">\n<tr>", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "<th>%s</th>", findings_kinds[it->kind].evidence[i]);
        fputs("</tr>\n<tr class=\"num\">", out);
        for (size_t i = 0; i < n; i++) {
                if (isnan(it->evidence[i]))
                        fputs("<td>unknown</td>", out);
                else
                        fprintf(out, "<td>%.10g</td>", it->evidence[i]);
        }
        fputs("</tr>\n</table>\n", out);
}

/* The kind's JSON name, read as words. */
static void kind_words(enum findings_kind kind, FILE *out)
{
        for (const char *s = findings_kinds[kind].name; *s; s++)
                fputc(*s == '_' ? ' ' : *s, out);
}

static void finding(const struct findings_item *it, const struct timeline_outage *o, FILE *out)
{
        const struct findings_kind_info *info = &findings_kinds[it->kind];

        fputs("<div class=\"finding\">\n<h4 title=\"", out);
        escaped(info->meaning, out);
        fputs("\">", out);
        kind_words(it->kind, out);
        fputs("</h4>\n", out);
        finding_when(it, o, out);
        fputs("<p>", out);
        escaped(it->text, out);
        fputs("</p>\n", out);
        if (it->advice[0]) {
                fputs("<p class=\"advice\">Advice: ", out);
                escaped(it->advice, out);
                fputs("</p>\n", out);
        }
        finding_evidence(it, out);
        fputs("</div>\n", out);
}

/* Kinds that each stand for many events: shown open even when the list is folded. */
static bool pattern_kind(enum findings_kind kind)
{
        return kind == FINDINGS_NAT_IDLE_TIMEOUT || kind == FINDINGS_RECURRING;
}

/* A long list: how many of each kind, and the patterns open above the fold. */
static void findings_head(const struct findings *f, FILE *out)
{
        size_t n[FINDINGS_KINDS] = { 0 };

        for (size_t i = 0; i < f->n; i++)
                n[f->v[i].kind]++;
        fputs("<ul>\n", out);
        for (unsigned k = 0; k < FINDINGS_KINDS; k++) {
                if (!n[k])
                        continue;
                fprintf(out, "<li>%zu ", n[k]);
                kind_words(k, out);
                fputs("</li>\n", out);
        }
        fputs("</ul>\n", out);
}

/* The client's findings (findings.c) first, each with its evidence, or the
 * line that says there are none. A long list is folded but for the
 * patterns (nat_idle_timeout, recurring), which say the most. */
static void findings(const struct timeline_client *c, const struct findings *f,
                     const struct findings_item *const *by_outage, FILE *out)
{
        size_t shown = f->n < TABLE_ROWS_MAX ? f->n : TABLE_ROWS_MAX;
        bool fold = f->n > LIST_OPEN_MAX;

        fputs("<h3>Findings</h3>\n<div class=\"findings\">\n", out);
        if (!f->n) {
                fputs("<p class=\"none\">", out);
                escaped(f->none, out);
                fputs("</p>\n</div>\n", out);
                return;
        }
        if (fold) {
                size_t open = 0;

                findings_head(f, out);
                for (size_t i = 0; i < shown; i++)
                        if (pattern_kind(f->v[i].kind) && ++open)
                                finding(&f->v[i], NULL, out);
                fprintf(out, "<details><summary>%zu %sfindings in time order</summary>\n", f->n - open,
                        open ? "other " : "");
        }
        for (size_t i = 0; i < shown; i++)
                if (!fold || !pattern_kind(f->v[i].kind))
                        finding(&f->v[i], outage_of(c, by_outage, &f->v[i]), out);
        if (f->n > shown)
                fprintf(out, "<p class=\"note\">and %zu more: <code>--json</code> lists them all</p>\n",
                        f->n - shown);
        if (f->dropped)
                fprintf(out, "<p class=\"note\">and %" PRIu64 " more past the first %zu, counted only</p>\n",
                        f->dropped, f->n);
        if (fold)
                fputs("</details>\n", out);
        fputs("</div>\n", out);
}

/* --- the heat map: days down, local hours across --- */

static const char *heat_class(int64_t down, int64_t span)
{
        double up = span > 0 ? 1.0 - (double)down / (double)span : 1.0;

        return down <= 0   ? "h100"
               : up >= .999 ? "h999"
               : up >= .99  ? "h99"
               : up >= .95  ? "h95"
               : up >= .8   ? "h80"
               : up >= .5   ? "h50"
                            : "h0";
}

static void heat_cell(const struct timeline_client *c, int64_t h, int64_t next, double x, double y, double ch,
                      FILE *out)
{
        int64_t from = h > c->first_us ? h : c->first_us, to = next < c->last_us ? next : c->last_us;
        int64_t down = to > from ? timeline_down_us(c, from, to) : 0;
        char when[32], d[32], s[32];
        time_t t = (time_t)(h / US);
        struct tm tm;

        if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:00", &tm))
                snprintf(when, sizeof(when), "%" PRId64, h / US);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" class=\"cell %s\"><title>%s: ", x, y,
                HEAT_CELL_W, ch, to > from ? heat_class(down, to - from) : "nodata", when);
        if (to > from)
                fprintf(out, "%.2f %% up, down %s of %s", 100.0 - 100.0 * (double)down / (double)(to - from),
                        report_duration(down, d), report_duration(to - from, s));
        else
                fputs("not in the logs", out);
        fputs("</title></rect>\n", out);
}

static void heat_legend(int y, FILE *out)
{
        static const char *const cls[] = { "h100", "h999", "h99", "h95", "h80", "h50", "h0", "nodata" };
        static const char *const text[] = { "100 %", "\xe2\x89\xa5 99.9 %", "\xe2\x89\xa5 99 %", "\xe2\x89\xa5 95 %",
                                            "\xe2\x89\xa5 80 %", "\xe2\x89\xa5 50 %", "< 50 %", "no log" };

        for (int i = 0; i < 8; i++) {
                fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"12\" class=\"%s\"/><text x=\"%d\" y=\"%d\" "
                             "class=\"small\">",
                        HEAT_LEFT + 80 * i, y, cls[i], HEAT_LEFT + 80 * i + 18, y + 10);
                escaped(text[i], out);
                fputs("</text>\n", out);
        }
}

/* A row per local day, a column per local hour. When DST ends, the hour
 * that repeats joins a neighbouring cell (its tooltip gives its length);
 * when it begins, the hour skipped has no cell. */
static void heat_map(const struct timeline_client *c, FILE *out)
{
        int64_t first = report_day_start(c->first_us), day = first;
        int days = 0, label_every;
        double ch;

        if (c->last_us - c->first_us > HEAT_DAYS_MAX * 86400 * US || c->last_us <= c->first_us) {
                fputs("<p class=\"note\">no hours to show</p>\n", out);
                return;
        }
        while (day < c->last_us && days < HEAT_DAYS_MAX) {
                day = report_next_day(day);
                days++;
        }
        ch = days <= 62 ? 16 : days <= 400 ? 4 : 2;
        label_every = days <= 62 ? 1 : days <= 400 ? 7 : 30;
        fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" class=\"heat\">\n",
                HEAT_LEFT + 24 * HEAT_CELL_W + 10, HEAT_TOP + ch * days + 36);
        for (int hr = 0; hr < 24; hr += 2)
                fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"tick\">%02d</text>\n", HEAT_LEFT + hr * HEAT_CELL_W + 2,
                        HEAT_TOP - 6, hr);
        day = first;
        for (int r = 0; r < days; r++) {
                int64_t next = report_next_day(day);
                double y = HEAT_TOP + ch * r;
                char date[32];
                time_t t = (time_t)(day / US);
                struct tm tm;

                if (r % label_every == 0 && localtime_r(&t, &tm) && strftime(date, sizeof(date), "%a %Y-%m-%d", &tm))
                        fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%s</text>\n",
                                HEAT_LEFT - 6, y + (ch > 10 ? ch - 4 : ch), date);
                for (int64_t h = day; h < next; h = report_next_hour(h)) {
                        time_t ht = (time_t)(h / US);

                        if (localtime_r(&ht, &tm))
                                heat_cell(c, h, report_next_hour(h), HEAT_LEFT + tm.tm_hour * HEAT_CELL_W, y, ch, out);
                }
                day = next;
        }
        heat_legend((int)(HEAT_TOP + ch * days + 14), out);
        fputs("</svg>\n", out);
}

/* --- the lists --- */

static const char *direction_text(const struct timeline_outage *o)
{
        static const char *const text[] = { "both ways", "to server", "to client", "unknown" };

        return o->server_stopped ? "server not running" : text[o->direction];
}

/* A long list folded (<details> needs no script to open), and cut. */
static void open_list(size_t n, const char *what, FILE *out)
{
        if (n > LIST_OPEN_MAX)
                fprintf(out, "<details><summary>%zu %s</summary>\n", n, what);
}

static void close_list(size_t n, FILE *out)
{
        fputs("</table>\n", out);
        if (n > TABLE_ROWS_MAX)
                fprintf(out, "<p class=\"note\">and %zu more: <code>--json</code> lists them all</p>\n",
                        n - TABLE_ROWS_MAX);
        if (n > LIST_OPEN_MAX)
                fputs("</details>\n", out);
}

/* What the text report says under an outage: the last hop its client's
 * trace reached, or (others) what the other flows did; "" for none. */
static const char *outage_aside(const struct timeline *tl, const struct timeline_client *c,
                                const struct timeline_outage *o, bool others, char buf[static 512])
{
        return others ? report_others_text(tl, c, o, buf, 512) : report_last_hop_text(tl, o, buf, 512);
}

/* Whether any outage listed has it (else no column for it). */
static bool any_aside(const struct timeline *tl, const struct timeline_client *c, bool others)
{
        char buf[512];

        for (size_t i = 0; i < c->n_outages && i < TABLE_ROWS_MAX; i++)
                if (outage_aside(tl, c, &c->outages[i], others, buf)[0])
                        return true;
        return false;
}

static void aside_cell(const struct timeline *tl, const struct timeline_client *c, const struct timeline_outage *o,
                       bool others, FILE *out)
{
        char buf[512];

        fputs("<td>", out);
        escaped(outage_aside(tl, c, o, others, buf), out);
        fputs("</td>", out);
}

static void outage_rows(const struct timeline *tl, const struct timeline_client *c, FILE *out)
{
        static const char *const seen[] = { "matching both logs", "client log", "server log", "both logs" };
        bool hops, others;

        if (!c->n_outages) {
                fputs("<p class=\"note\">none (an outage: two or more messages lost in a row)</p>\n", out);
                return;
        }
        hops = any_aside(tl, c, false);
        others = any_aside(tl, c, true);
        open_list(c->n_outages, "outages", out);
        fprintf(out, "<table>\n<tr><th>start</th><th>end</th><th>length</th><th>at least .. at most</th><th>lost</th>"
                     "<th>seen by</th><th>messages</th>%s%s</tr>\n",
                hops ? "<th>last hop</th>" : "", others ? "<th>other flows</th>" : "");
        for (size_t i = 0; i < c->n_outages && i < TABLE_ROWS_MAX; i++) {
                const struct timeline_outage *o = &c->outages[i];
                char a[32], b[32], d[32], mn[32], mx[32];

                fprintf(out, "<tr class=\"num\"><td>%s</td><td>%s%s</td><td>%s</td><td>%s .. %s</td><td>%s</td>"
                             "<td>%s</td><td>%" PRIu64 "</td>",
                        report_stamp(o->start_us, a), report_stamp(o->end_us, b), o->ongoing ? " (still going)" : "",
                        report_duration(o->end_us - o->start_us, d),
                        report_duration(o->end_min_us > o->start_max_us ? o->end_min_us - o->start_max_us : 0, mn),
                        o->start_min_known && o->end_max_known ? report_duration(o->end_max_us - o->start_min_us, mx)
                                                               : "?",
                        direction_text(o), seen[o->seen_by & 3], o->lost);
                if (hops)
                        aside_cell(tl, c, o, false, out);
                if (others)
                        aside_cell(tl, c, o, true, out);
                fputs("</tr>\n", out);
        }
        close_list(c->n_outages, out);
}

static void rebind_rows(const struct timeline_client *c, FILE *out)
{
        if (!c->server_log) {
                fputs("<p class=\"note\">not visible in a client log</p>\n", out);
                return;
        }
        if (!c->n_rebinds) {
                fputs("<p class=\"note\">none: the server heard the client from one address and port</p>\n", out);
                return;
        }
        open_list(c->n_rebinds, "NAT rebindings", out);
        fputs("<table>\n<tr><th>time</th><th>from</th><th>to</th></tr>\n", out);
        for (size_t i = 0; i < c->n_rebinds && i < TABLE_ROWS_MAX; i++) {
                char a[32], o[ADDR_STRLEN], n[ADDR_STRLEN];

                fprintf(out, "<tr class=\"num\"><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                        report_stamp(c->rebinds[i].t_us, a), addr_format(&c->rebinds[i].old_peer, o),
                        addr_format(&c->rebinds[i].new_peer, n));
        }
        close_list(c->n_rebinds, out);
}

/* The clients' NAT timeout probe results (--probe-every), as they came. */
static void probes(const struct timeline *tl, FILE *out)
{
        char when[32];

        if (!tl->n_probes)
                return;
        fprintf(out, "<h2>NAT idle timeout probes</h2>\n<table>\n");
        for (size_t i = 0; i < tl->n_probes; i++) {
                fprintf(out, "<tr class=\"num\"><td>%s</td><td>", report_stamp(tl->probes[i].t_us, when));
                escaped(tl->probes[i].verdict, out);
                fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
}

/* --- the page --- */

/* An outage's tooltip words: what the other flows did, then its finding's
 * text, which names the last hop its client's trace reached; without a
 * finding (past FINDINGS_MAX), that last hop itself. Written with its NUL
 * into m; returns whether there were any. */
static bool outage_note(const struct timeline *tl, const struct timeline_client *c, const struct timeline_outage *o,
                        const struct findings_item *it, FILE *m)
{
        char hop[512], others[512];
        const char *parts[3] = { it ? "" : outage_aside(tl, c, o, false, hop), outage_aside(tl, c, o, true, others),
                                 it ? it->text : "" };
        const char *sep = "";

        for (int i = 0; i < 3; i++) {
                if (!parts[i][0])
                        continue;
                fprintf(m, "%s%s", sep, parts[i]);
                sep = "\n";
        }
        fputc('\0', m);
        return *sep != '\0';
}

/* Each outage's finding (*by) and tooltip words (*notes, NULL for none,
 * pointing into *block). Returns 0 or -ENOMEM. */
static int outage_notes(const struct timeline *tl, const struct timeline_client *c, const struct findings *f,
                        const struct findings_item ***by, const char ***notes, char **block)
{
        size_t n = c->n_outages ? c->n_outages : 1, len = 0, *at = malloc(n * sizeof(*at));
        FILE *m = open_memstream(block, &len);
        int k = 0;

        *by = calloc(n, sizeof(const struct findings_item *));
        *notes = malloc(n * sizeof(const char *));
        if (!at || !m || !*by || !*notes) {
                k = -ENOMEM;
                goto out;
        }
        outage_findings(c, f, *by);
        for (size_t i = 0; i < c->n_outages; i++) {
                long pos = ftell(m);

                at[i] = outage_note(tl, c, &c->outages[i], (*by)[i], m) && pos >= 0 ? (size_t)pos : SIZE_MAX;
        }
        k = fclose(m) == 0 ? 0 : -ENOMEM;
        m = NULL;
        for (size_t i = 0; k == 0 && i < c->n_outages; i++)
                (*notes)[i] = at[i] == SIZE_MAX ? NULL : *block + at[i];
out:
        if (m)
                fclose(m);
        free(at);
        return k;
}

static int client_section(const struct timeline *tl, const struct timeline_client *c, size_t i, FILE *out)
{
        char line[1024];
        struct findings f = { 0 };
        const struct findings_item **by = NULL;
        const char **notes = NULL;
        char *block = NULL;
        int k = findings_derive(tl, c, &f);

        k = k < 0 ? k : outage_notes(tl, c, &f, &by, &notes, &block);
        if (k < 0)
                goto out;
        fprintf(out, "<section id=\"client-%zu\">\n<h2>client ", i);
        client_name(c, out);
        fputs("</h2>\n<p class=\"summary\">", out);
        report_summary(c, line, sizeof(line));
        escaped(line, out);
        fputs("</p>\n", out);
        findings(c, &f, by, out);
        figures(c, out);
        fputs("<h3>Availability by hour</h3>\n", out);
        heat_map(c, out);
        fputs("<h3>Outages</h3>\n", out);
        k = report_svg_timeline(&c, 1, &notes, false, out);
        outage_rows(tl, c, out);
        fputs("<h3>NAT rebindings</h3>\n", out);
        rebind_rows(c, out);
        fputs("<h3>Round trips</h3>\n", out);
        k = k ? k : report_html_rtt_chart(c, out);
        fputs("</section>\n", out);
out:
        free(by);
        free(notes);
        free(block);
        findings_free(&f);
        return k;
}

static void page_head(const struct timeline *tl, const struct report_input *in, FILE *out)
{
        int64_t t0 = INT64_MAX, t1 = INT64_MIN;
        char a[32], b[32], span[80] = "";

        for (size_t i = 0; i < tl->n_clients; i++) {
                t0 = tl->clients[i]->first_us < t0 ? tl->clients[i]->first_us : t0;
                t1 = tl->clients[i]->last_us > t1 ? tl->clients[i]->last_us : t1;
        }
        if (tl->n_clients)
                snprintf(span, sizeof(span), "%s .. %s", report_stamp(t0, a), report_stamp(t1, b));
        fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>udp-canary report %s</title>\n<style>",
                span);
        report_svg_css(out);
        fprintf(out, "%s</style>\n</head>\n<body>\n", page_css);
        fputs("<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\">", out);
        report_svg_defs(out);
        fprintf(out, "</svg>\n<h1>udp-canary report</h1>\n<p>%s%s%zu client%s; %" PRIu64 " lines read, %" PRIu64
                     " not understood and skipped; %" PRIu64 " invalid packets%s</p>\n",
                span, *span ? ", " : "", tl->n_clients, tl->n_clients == 1 ? "" : "s", tl->lines + in->skipped,
                in->skipped, tl->invalid,
                tl->socket_drops ? "; the server dropped datagrams at its own full socket (local overload)" : "");
}

static void contents(const struct timeline *tl, FILE *out)
{
        char line[1024];

        if (tl->n_clients < 2)
                return;
        fputs("<ul>\n", out);
        for (size_t i = 0; i < tl->n_clients; i++) {
                report_summary(tl->clients[i], line, sizeof(line));
                fprintf(out, "<li><a href=\"#client-%zu\">", i);
                escaped(line, out);
                fputs("</a></li>\n", out);
        }
        fputs("</ul>\n", out);
}

int report_html_begin(struct report_html *h, FILE *out)
{
        int fd = report_spill_file();

        *h = (struct report_html){ .out = out };
        h->sections = fd < 0 ? NULL : fdopen(fd, "w+");
        if (fd >= 0 && !h->sections)
                close(fd);
        /* no such file: in memory, as the spill does */
        h->in_memory = !h->sections;
        if (h->in_memory)
                h->sections = open_memstream(&h->mem, &h->mem_len);
        return h->sections ? 0 : -ENOMEM;
}

int report_html_client(struct report_html *h, const struct timeline *tl, const struct timeline_client *c)
{
        int k = client_section(tl, c, c->at, h->sections);

        return k < 0 ? k : ferror(h->sections) ? -EIO : 0;
}

/* The sections written so far, copied after the page's head. */
static int copy_sections(const struct report_html *h, FILE *to)
{
        char buf[65536];
        size_t n;

        if (fflush(h->sections) != 0)
                return -EIO;
        if (h->in_memory)
                return fwrite(h->mem, 1, h->mem_len, to) == h->mem_len ? 0 : -EIO;
        if (fseek(h->sections, 0, SEEK_SET) != 0)
                return -EIO;
        while ((n = fread(buf, 1, sizeof(buf), h->sections)) > 0)
                if (fwrite(buf, 1, n, to) != n)
                        return -EIO;
        return ferror(h->sections) ? -EIO : 0;
}

int report_html_end(struct report_html *h, const struct timeline *tl, const struct report_input *in)
{
        FILE *out = h->out;
        int k;

        page_head(tl, in, out);
        contents(tl, out);
        probes(tl, out);
        k = copy_sections(h, out);
        if (!tl->n_clients)
                fputs("<p>No client in these logs.</p>\n", out);
        fputs("<p class=\"note\">Times in the logs' local time. Written by udp-canary report.</p>\n</body>\n</html>\n",
              out);
        report_html_free(h);
        return k ? k : ferror(out) ? -EIO : 0;
}

void report_html_free(struct report_html *h)
{
        if (h->sections)
                fclose(h->sections);
        free(h->mem);
        h->sections = NULL;
        h->mem = NULL;
}

int report_write_html(const struct timeline *tl, const struct report_input *in, FILE *out)
{
        struct report_html h;
        int k = report_html_begin(&h, out);

        for (size_t i = 0; k == 0 && i < tl->n_clients; i++)
                k = report_html_client(&h, tl, tl->clients[i]);
        if (k == 0)
                return report_html_end(&h, tl, in);
        report_html_free(&h);
        return k;
}

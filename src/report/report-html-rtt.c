/* report-html-rtt: the page's chart of a client's round trips over its
 * period, from its round trips per column (timeline_scan.rtt, made as
 * report_html_rtt_column() puts them): per column the
 * spread shaded and a line through the medians, broken across outages. */
#include "report/report-html-rtt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/types.h>

#include "report/report-svg.h"
#include "report/report.h"

#define RTT_W 1100
#define RTT_H 150
#define RTT_LEFT 200
#define RTT_RIGHT 70
#define RTT_TOP 24
#define RTT_BIN_PX 4 /* one column of round trips per 4 px */

/* Where a column is drawn: its left edge. */
static double rtt_x(const struct timeline_rtt_column *col)
{
        return RTT_LEFT + RTT_BIN_PX * (double)col->col;
}

/* The top of the scale: a quarter above the largest round trip, or above
 * twice the 99th percentile, so that one stray answer does not flatten the
 * rest (those above it are drawn at the top); an even number of the stamps'
 * steps, so that the ticks fall on them. */
static int64_t rtt_scale(const struct timeline_client *c)
{
        int64_t p99 = timeline_rtt_quantile(&c->rtt, 99, 100) * 2, max = c->rtt.max_us;
        int64_t step = 2 * (c->resolution_us > 1 ? c->resolution_us : 1), top = (p99 < max ? p99 : max) / 4 * 5;

        return top < step ? step : (top + step - 1) / step * step;
}

static double rtt_y(int64_t v, int64_t top)
{
        double r = (double)v / (double)top;

        return RTT_TOP + RTT_H * (1.0 - (r > 1 ? 1 : r));
}

/* One column: the spread of its round trips shaded. */
static void rtt_column(const struct timeline_client *c, const struct timeline_rtt_column *col, double x, int64_t top,
                       FILE *out)
{
        char a[32], b[32], m[32];

        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" class=\"rttband\"><title>%" PRIu64
                     " round trip%s: min %s, median %s, max %s</title></rect>\n",
                x, rtt_y(col->max_us, top), RTT_BIN_PX, rtt_y(col->min_us, top) - rtt_y(col->max_us, top) + 1, col->n,
                col->n == 1 ? "" : "s", report_rtt_text(c, col->min_us, a), report_rtt_text(c, col->median_us, m),
                report_rtt_text(c, col->max_us, b));
}

static void rtt_axis(const struct timeline_client *c, const struct report_svg_frame *f, int64_t top, FILE *out)
{
        char a[32];

        report_svg_axis(f, RTT_TOP, RTT_TOP + RTT_H, out);
        for (int i = 0; i <= 2; i++)
                fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                             "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%s</text>\n",
                        RTT_LEFT, rtt_y(top * i / 2, top), RTT_W - RTT_RIGHT, rtt_y(top * i / 2, top), RTT_LEFT - 6,
                        rtt_y(top * i / 2, top) + 4, i ? report_rtt_text(c, top * i / 2, a) : "0");
        fprintf(out, "<path d=\"M%d %dh20\" class=\"rttline\"/><text x=\"%d\" y=\"%d\" class=\"small\">median</text>"
                     "<rect x=\"%d\" y=\"%d\" width=\"20\" height=\"10\" class=\"rttband\"/><text x=\"%d\" y=\"%d\" "
                     "class=\"small\">min to max</text>\n",
                RTT_W - RTT_RIGHT - 200, RTT_TOP - 14, RTT_W - RTT_RIGHT - 176, RTT_TOP - 10, RTT_W - RTT_RIGHT - 100,
                RTT_TOP - 19, RTT_W - RTT_RIGHT - 76, RTT_TOP - 10);
}

/* The medians as dots, joined where no more than `gap` lies between: a
 * line across an outage would draw round trips nobody measured. */
static void rtt_medians(const struct timeline_rtt_column *col, size_t n, int64_t top, int64_t gap, FILE *out)
{
        fputs("<path class=\"rttline\" d=\"", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%.1f %.1f", i && col[i].t_us - col[i - 1].t_us <= gap ? "L" : "M",
                        rtt_x(&col[i]) + RTT_BIN_PX / 2.0, rtt_y(col[i].median_us, top));
        fputs("\"/>\n", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" class=\"rttdot\"/>\n",
                        rtt_x(&col[i]) + RTT_BIN_PX / 2.0, rtt_y(col[i].median_us, top));
}

static struct report_svg_frame rtt_frame(const struct timeline_client *c)
{
        return (struct report_svg_frame){ c->first_us, c->last_us, RTT_LEFT, RTT_W - RTT_RIGHT };
}

size_t report_html_rtt_column(const struct timeline_client *c, int64_t t_us)
{
        struct report_svg_frame f = rtt_frame(c);

        return (size_t)((report_svg_x(&f, t_us) - RTT_LEFT) / RTT_BIN_PX);
}

int report_html_rtt_chart(const struct timeline_client *c, FILE *out)
{
        struct report_svg_frame f = rtt_frame(c);
        const struct timeline_rtt_column *col = c->scan ? c->scan->rtt : NULL;
        size_t n = c->scan ? c->scan->n_rtt : 0;
        /* three handshake cycles without an answer: not joined */
        int64_t top, gap = 3 * (int64_t)(c->keepalive_count + 1) * (int64_t)c->keepalive_us;

        if (!c->scan || !c->scan->rtt_made)
                return -ENODATA; /* not asked for (timeline.rtt_column), or let go */
        if (!n) {
                fprintf(out, "<p class=\"note\">%s</p>\n",
                        c->client_log ? "none answered" : "not visible in a server log");
                return 0;
        }
        top = rtt_scale(c);
        fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n", RTT_W,
                RTT_TOP + RTT_H + 30);
        rtt_axis(c, &f, top, out);
        for (size_t i = 0; i < n; i++)
                rtt_column(c, &col[i], rtt_x(&col[i]), top, out);
        rtt_medians(col, n, top, gap, out);
        fputs("</svg>\n", out);
        return 0;
}

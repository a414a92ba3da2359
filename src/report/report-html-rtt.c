/* report-html-rtt: the page's chart of a client's round trips over its
 * period, from its round trips in time order (timeline_scan.rtt): per column the
 * spread shaded and a line through the medians, broken across outages. */
#include "report/report-html-rtt.h"

#include <errno.h>
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
/* columns at most: each starts at least RTT_BIN_PX past the one before */
#define RTT_COLUMNS ((RTT_W - RTT_RIGHT - RTT_LEFT) / RTT_BIN_PX + 2)

struct rtt_median {
        int64_t t_us; /* the column's first */
        double x;
        int64_t rtt_us;
};

static int by_value(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return x < y ? -1 : x > y;
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

/* One column: the spread of its round trips shaded. Returns its median. */
static int64_t rtt_column(const struct timeline_client *c, int64_t *v, size_t n, double x, int64_t top, FILE *out)
{
        char a[32], b[32], m[32];

        qsort(v, n, sizeof(*v), by_value);
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" class=\"rttband\"><title>%zu round "
                     "trip%s: min %s, median %s, max %s</title></rect>\n",
                x, rtt_y(v[n - 1], top), RTT_BIN_PX, rtt_y(v[0], top) - rtt_y(v[n - 1], top) + 1, n, n == 1 ? "" : "s",
                report_rtt_text(c, v[0], a), report_rtt_text(c, v[(n - 1) / 2], m), report_rtt_text(c, v[n - 1], b));
        return v[(n - 1) / 2];
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
static void rtt_medians(const struct rtt_median *med, size_t n, int64_t top, int64_t gap, FILE *out)
{
        fputs("<path class=\"rttline\" d=\"", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%.1f %.1f", i && med[i].t_us - med[i - 1].t_us <= gap ? "L" : "M",
                        med[i].x + RTT_BIN_PX / 2.0, rtt_y(med[i].rtt_us, top));
        fputs("\"/>\n", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" class=\"rttdot\"/>\n",
                        med[i].x + RTT_BIN_PX / 2.0, rtt_y(med[i].rtt_us, top));
}

int report_html_rtt_chart(const struct timeline_client *c, FILE *out)
{
        struct report_svg_frame f = { c->first_us, c->last_us, RTT_LEFT, RTT_W - RTT_RIGHT };
        const struct timeline_rtt_point *p = c->scan.rtt;
        size_t n = c->scan.n_rtt, nm = 0;
        struct rtt_median *med = NULL;
        /* three handshake cycles without an answer: not joined */
        int64_t top, *v = NULL, gap = 3 * (int64_t)(c->keepalive_count + 1) * (int64_t)c->keepalive_us;
        int k = 0;

        if (!n) {
                fprintf(out, "<p class=\"note\">%s</p>\n",
                        c->client_log ? "none answered" : "not visible in a server log");
                return 0;
        }
        v = malloc(n * sizeof(*v));
        med = malloc((n < RTT_COLUMNS ? n : RTT_COLUMNS) * sizeof(*med));
        if (!v || !med) {
                k = -ENOMEM;
                goto out;
        }
        top = rtt_scale(c);
        fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">\n", RTT_W,
                RTT_TOP + RTT_H + 30);
        rtt_axis(c, &f, top, out);
        for (size_t i = 0, j; i < n && nm < RTT_COLUMNS; i = j) {
                double x = RTT_LEFT + RTT_BIN_PX * (double)(int)((report_svg_x(&f, p[i].t_us) - RTT_LEFT) / RTT_BIN_PX);
                size_t m = 0;

                for (j = i; j < n && (m == 0 || report_svg_x(&f, p[j].t_us) < x + RTT_BIN_PX); j++)
                        v[m++] = p[j].rtt_us;
                med[nm++] = (struct rtt_median){ p[i].t_us, x, rtt_column(c, v, m, x, top, out) };
        }
        rtt_medians(med, nm, top, gap, out);
        fputs("</svg>\n", out);
out:
        free(v);
        free(med);
        return k;
}

/* report-svg: the report as a timeline a person takes in at a glance: one
 * lane per client, its period in green, outages in red (darker where both
 * ends saw them), NAT rebindings as orange marks, a labelled time axis. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "report/report.h"

#define WIDTH 1100
#define LEFT 190  /* room for the client names */
#define RIGHT 30
#define TOP 56
#define LANE 44
#define BAR 22

static double x_of(const struct report *r, uint64_t t_us)
{
        double span = (double)(r->last_us - r->first_us);

        if (span <= 0)
                return LEFT;
        return LEFT + (WIDTH - LEFT - RIGHT) * (double)(t_us - r->first_us) / span;
}

/* A tick step giving at most ten ticks: 1 s up to a day. */
static uint64_t tick_step(uint64_t span_us)
{
        static const uint64_t steps[] = { 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
                                          86400, 7 * 86400 };

        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
                if (span_us / (steps[i] * 1000000) <= 10)
                        return steps[i] * 1000000;
        return 30 * 86400 * 1000000ULL;
}

static void text_escaped(FILE *out, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch == '<')
                        fputs("&lt;", out);
                else if (ch == '>')
                        fputs("&gt;", out);
                else if (ch == '&')
                        fputs("&amp;", out);
                else if (ch < 0x20 || ch == 0x7f)
                        fputc('?', out);
                else
                        fputc(ch, out);
        }
}

static void axis(const struct report *r, FILE *out, int bottom)
{
        uint64_t step = tick_step(r->last_us - r->first_us);
        uint64_t first = (r->first_us + step - 1) / step * step;
        bool days = r->last_us - r->first_us > 86400ULL * 1000000;

        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", LEFT, bottom,
                WIDTH - RIGHT, bottom);
        for (uint64_t t = first; t <= r->last_us; t += step) {
                time_t secs = (time_t)(t / 1000000);
                struct tm tm;
                char label[32] = "";
                double x = x_of(r, t);

                if (localtime_r(&secs, &tm))
                        strftime(label, sizeof(label), days ? "%m-%d %H:%M" : step < 60000000 ? "%H:%M:%S" : "%H:%M", &tm);
                fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, TOP - 6, x,
                        bottom);
                fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"tick\">%s</text>\n", x,
                        bottom + 16, label);
        }
}

static void lane(const struct report *r, const struct report_client *c, int y, FILE *out)
{
        char id[MESSAGE_TEXT_MAX], a[ADDR_STRLEN], b[ADDR_STRLEN];
        double x0 = x_of(r, c->first_us), x1 = x_of(r, c->last_us);

        message_repr_string(c->id, c->id_len, id, sizeof(id));
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"name\">", LEFT - 10, y + BAR / 2 + 5);
        text_escaped(out, id, strlen(id) > 24 ? 24 : strlen(id));
        fprintf(out, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"small\">%.2f %% up</text>\n",
                LEFT - 10, y + BAR + 12, 100.0 * report_availability(c));
        fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"up\"/>\n", x0, y,
                x1 - x0 > 1 ? x1 - x0 : 1, BAR);
        for (size_t i = 0; i < c->n_spans; i++) {
                const struct report_span *s = &c->spans[i];
                double sx = x_of(r, s->start_us), ex = x_of(r, s->end_us);

                fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s\"><title>outage %.1f s"
                             ", seen by %s</title></rect>\n",
                        sx, y, ex - sx > 2 ? ex - sx : 2, BAR,
                        s->sides == (REPORT_SIDE_CLIENT | REPORT_SIDE_SERVER) ? "down2" : "down",
                        (double)(s->end_us - s->start_us) / 1e6,
                        s->sides == 3 ? "both ends" : s->sides == REPORT_SIDE_CLIENT ? "the client" : "the server");
        }
        for (size_t i = 0; i < c->n_rebinds; i++) {
                double x = x_of(r, c->rebinds[i].t_us);

                fprintf(out, "<path d=\"M%.1f %d l-6 -9 h12 z\" class=\"rebind\"><title>NAT rebinding %s -&gt; %s"
                             "</title></path>\n<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"rebindline\"/>\n",
                        x, y - 1, addr_format(&c->rebinds[i].old_peer, a), addr_format(&c->rebinds[i].new_peer, b), x,
                        y, x, y + BAR);
        }
}

void report_write_svg(const struct report *r, FILE *out)
{
        int height = TOP + LANE * (int)(r->n_clients ? r->n_clients : 1) + 60;
        int bottom = TOP + LANE * (int)(r->n_clients ? r->n_clients : 1);
        char a[32] = "", b[32] = "";
        time_t t0 = (time_t)(r->first_us / 1000000), t1 = (time_t)(r->last_us / 1000000);
        struct tm tm;

        if (localtime_r(&t0, &tm))
                strftime(a, sizeof(a), "%Y-%m-%d %H:%M", &tm);
        if (localtime_r(&t1, &tm))
                strftime(b, sizeof(b), "%Y-%m-%d %H:%M", &tm);
        fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                WIDTH, height, WIDTH, height);
        fputs("<style>text{font-family:sans-serif;fill:#222}.name{font-size:14px}.small{font-size:11px;fill:#666}"
              ".tick{font-size:11px;fill:#444}.title{font-size:16px;font-weight:bold}.up{fill:#5cb85c}"
              ".down{fill:#e8553e}.down2{fill:#a91d0c}.rebind{fill:#f0a30a;stroke:#7a5200}"
              ".rebindline{stroke:#f0a30a;stroke-width:2}</style>\n",
              out);
        fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, height);
        fprintf(out, "<text x=\"%d\" y=\"24\" class=\"title\">udp-canary: %s to %s</text>\n", LEFT, a, b);
        fprintf(out, "<rect x=\"%d\" y=\"34\" width=\"12\" height=\"10\" class=\"up\"/><text x=\"%d\" y=\"43\" class=\"small\">"
                     "answered</text><rect x=\"%d\" y=\"34\" width=\"12\" height=\"10\" class=\"down\"/><text x=\"%d\" y=\"43\" "
                     "class=\"small\">outage (one end)</text><rect x=\"%d\" y=\"34\" width=\"12\" height=\"10\" class=\"down2\"/>"
                     "<text x=\"%d\" y=\"43\" class=\"small\">outage (both ends)</text><path d=\"M%d 44 l-6 -9 h12 z\" "
                     "class=\"rebind\"/><text x=\"%d\" y=\"43\" class=\"small\">NAT rebinding</text>\n",
                LEFT, LEFT + 16, LEFT + 90, LEFT + 106, LEFT + 220, LEFT + 236, LEFT + 356, LEFT + 366);
        axis(r, out, bottom);
        for (size_t i = 0; i < r->n_clients; i++)
                lane(r, r->clients[i], TOP + 6 + LANE * (int)i, out);
        fputs("</svg>\n", out);
}

/* report-svg: the timeline as a picture a person takes in at a glance. Per
 * client two lanes, client to server above server to client, its period in
 * green; an outage in the colour of its direction and in the lane(s) it hit
 * (a client's log alone cannot tell, so those span both lanes, hatched), at
 * least a few pixels wide at any time scale, the long ones labelled with
 * their length and which end's log saw them; NAT rebindings as orange marks.
 * The legend names only what is drawn. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "report/report.h"

#define WIDTH 1100
#define LEFT 200 /* room for the client names */
#define RIGHT 70 /* room for the lane names */
#define TOP 70
#define BAR 18
#define LANE (2 * BAR + 46) /* two bars, room for labels */
#define MIN_W 3.0           /* an outage never vanishes */
#define NAME_MAX_CHARS 22

struct frame {
        int64_t t0, t1;
};

enum mark { MARK_UP = 1, MARK_C2S = 2, MARK_S2C = 4, MARK_BOTH = 8, MARK_UNKNOWN = 16, MARK_STOPPED = 32, MARK_REBIND = 64 };

static double x_of(const struct frame *f, int64_t t_us)
{
        double span = (double)(f->t1 - f->t0);

        if (span <= 0)
                return LEFT;
        if (t_us < f->t0)
                t_us = f->t0;
        if (t_us > f->t1)
                t_us = f->t1;
        return LEFT + (WIDTH - LEFT - RIGHT) * (double)(t_us - f->t0) / span;
}

/* XML text: markup and quotes escaped, control characters shown as '?'. */
static void xml_text(FILE *out, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch == '<')
                        fputs("&lt;", out);
                else if (ch == '>')
                        fputs("&gt;", out);
                else if (ch == '&')
                        fputs("&amp;", out);
                else if (ch == '"')
                        fputs("&quot;", out);
                else if (ch < 0x20 || ch == 0x7f)
                        fputc('?', out);
                else
                        fputc(ch, out);
        }
}

/* The bytes of the first `chars` UTF-8 characters of s, never half a character. */
static size_t utf8_prefix(const char *s, size_t n, size_t chars, bool *cut)
{
        size_t i = 0;

        for (size_t c = 0; i < n && c < chars; c++) {
                i++;
                while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
                        i++;
        }
        *cut = i < n;
        return i;
}

/* A tick step giving at most ten ticks: 1 s up to a week. */
static int64_t tick_step(int64_t span_us)
{
        static const int64_t steps[] = { 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
                                         86400, 7 * 86400 };

        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
                if (span_us / (steps[i] * 1000000) <= 10)
                        return steps[i] * 1000000;
        return span_us / 10 + 1; /* years: ten ticks, whatever they fall on */
}

static void axis(const struct frame *f, FILE *out, int bottom)
{
        int64_t step = tick_step(f->t1 - f->t0), first = (f->t0 + step - 1) / step * step;
        int fmt = f->t1 - f->t0 > 2 * 86400000000LL ? 0 : step < 60000000 ? 1 : 2;

        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", LEFT, bottom, WIDTH - RIGHT,
                bottom);
        for (int64_t t = first; t <= f->t1 && step > 0; t += step) {
                time_t s = (time_t)(t / 1000000);
                struct tm tm;
                char label[32] = "";
                double x = x_of(f, t);

                if (!localtime_r(&s, &tm))
                        continue;
                if (fmt == 0)
                        strftime(label, sizeof(label), "%m-%d", &tm);
                else if (fmt == 1)
                        strftime(label, sizeof(label), "%H:%M:%S", &tm);
                else
                        strftime(label, sizeof(label), "%H:%M", &tm);
                fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n"
                             "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"tick\">%s</text>\n",
                        x, TOP - 4, x, bottom, x, bottom + 16, label);
        }
}

static const char *outage_class(enum timeline_direction d)
{
        static const char *const cls[] = { "both", "c2s", "s2c", "unknown" };

        return cls[d];
}

static unsigned outage_mark(enum timeline_direction d)
{
        static const unsigned marks[] = { MARK_BOTH, MARK_C2S, MARK_S2C, MARK_UNKNOWN };

        return marks[d];
}

/* The label of a long outage, kept inside the picture. */
static void outage_label(const struct timeline_outage *o, double sx, double ex, int y, FILE *out)
{
        static const char *const seen[] = { "both logs matched", "client log", "server log", "both logs" };
        char d[32], text[96];
        double mid = (sx + ex) / 2, half;
        const char *anchor = "middle";

        snprintf(text, sizeof(text), "%s (%s)", report_duration(o->end_us - o->start_us, d),
                 o->server_stopped ? "server stopped" : seen[o->seen_by & 3]);
        half = 3.2 * (double)strlen(text);
        if (mid - half < LEFT) {
                mid = sx;
                anchor = "start";
        } else if (mid + half > WIDTH - RIGHT) {
                mid = ex;
                anchor = "end";
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" class=\"label\">%s</text>\n", mid, y, anchor, text);
}

/* Outages worth a label: 1 s or longer, the longest at most one per 120 px. */
static bool labelled(const struct frame *f, const struct timeline_client *c, size_t i)
{
        const struct timeline_outage *o = &c->outages[i];
        double w = x_of(f, o->end_us) - x_of(f, o->start_us);

        for (size_t j = 0; j < c->n_outages; j++) {
                const struct timeline_outage *p = &c->outages[j];
                double dx = x_of(f, p->start_us) - x_of(f, o->start_us);
                int64_t lp = p->end_us - p->start_us, lo = o->end_us - o->start_us;

                if (j != i && dx > -120 && dx < 120 && (lp > lo || (lp == lo && j < i)))
                        return false;
        }
        return w >= 0 && (o->end_us - o->start_us) >= 1000000;
}

static void draw_outage(const struct frame *f, const struct timeline_client *c, size_t i, int y, FILE *out)
{
        const struct timeline_outage *o = &c->outages[i];
        double sx = x_of(f, o->start_us), ex = x_of(f, o->end_us), w = ex - sx < MIN_W ? MIN_W : ex - sx;
        int top = o->direction == TIMELINE_SERVER_TO_CLIENT ? y + BAR + 2 : y;
        int h = o->direction == TIMELINE_CLIENT_TO_SERVER || o->direction == TIMELINE_SERVER_TO_CLIENT ? BAR : 2 * BAR + 2;
        char d[32];

        if (sx + w > WIDTH - RIGHT)
                sx = WIDTH - RIGHT - w;
        fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s\"><title>outage %s, %s, seen by %s"
                     "</title></rect>\n",
                sx, top, w, h, o->server_stopped ? "stopped" : outage_class(o->direction),
                report_duration(o->end_us - o->start_us, d),
                outage_class(o->direction), o->seen_by == 3 ? "both logs" : o->seen_by == 1 ? "the client log"
                                                                        : o->seen_by == 2 ? "the server log"
                                                                                          : "matching both logs");
        if (labelled(f, c, i))
                outage_label(o, sx, sx + w, y + 2 * BAR + 16, out);
}

static void lane_name(const struct timeline_client *c, int y, FILE *out)
{
        bool cut;
        size_t n = utf8_prefix(c->id, c->id_len, NAME_MAX_CHARS, &cut);

        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"name\">", LEFT - 10, y + BAR / 2 + 5);
        xml_text(out, c->id, n);
        fprintf(out, "%s</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"small\">%.2f %% up</text>\n",
                cut ? "\xe2\x80\xa6" : "", LEFT - 10, y + BAR + 16, 100.0 * timeline_availability(c));
        fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"small\">to server</text>\n<text x=\"%d\" y=\"%d\" class=\"small\">"
                     "to client</text>\n",
                WIDTH - RIGHT + 6, y + BAR - 5, WIDTH - RIGHT + 6, y + 2 * BAR - 3);
}

/* NAT rebindings above the lanes, a mark at least 10 px from the last one
 * drawn (its title counts the ones it stands for); a line through the lanes
 * only while they are few enough not to hide them. */
static unsigned rebind_marks(const struct frame *f, const struct timeline_client *c, int y, FILE *out)
{
        double last = -100;
        size_t drawn = 0;

        for (size_t i = 0; i < c->n_rebinds; i++) {
                char a[ADDR_STRLEN], b[ADDR_STRLEN];
                double x = x_of(f, c->rebinds[i].t_us);
                size_t n = 1;

                if (x - last < 10)
                        continue;
                while (i + n < c->n_rebinds && x_of(f, c->rebinds[i + n].t_us) - x < 10)
                        n++;
                last = x;
                drawn++;
                if (n == 1)
                        fprintf(out, "<path d=\"M%.1f %d l-6 -9 h12 z\" class=\"rebind\"><title>NAT rebinding %s -&gt; %s"
                                     "</title></path>\n",
                                x, y - 1, addr_format(&c->rebinds[i].old_peer, a), addr_format(&c->rebinds[i].new_peer, b));
                else
                        fprintf(out, "<path d=\"M%.1f %d l-6 -9 h12 z\" class=\"rebind\"><title>%zu NAT rebindings</title>"
                                     "</path>\n",
                                x, y - 1, n);
                if (c->n_rebinds <= 20)
                        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"rebindline\"/>\n", x, y, x,
                                y + 2 * BAR + 2);
        }
        return drawn ? MARK_REBIND : 0;
}

static unsigned lane(const struct frame *f, const struct timeline_client *c, int y, FILE *out)
{
        double x0 = x_of(f, c->first_us), x1 = x_of(f, c->last_us);
        unsigned marks = MARK_UP;

        lane_name(c, y, out);
        for (int i = 0; i < 2; i++)
                fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"up\"/>\n", x0,
                        y + i * (BAR + 2), x1 - x0 > 1 ? x1 - x0 : 1, BAR);
        marks |= rebind_marks(f, c, y, out);
        for (size_t i = 0; i < c->n_outages; i++) {
                draw_outage(f, c, i, y, out);
                marks |= c->outages[i].server_stopped ? MARK_STOPPED : outage_mark(c->outages[i].direction);
        }
        return marks;
}

/* The legend, after the lanes: only what they hold. */
static void legend(unsigned marks, FILE *out)
{
        static const struct {
                unsigned mark;
                const char *cls, *text;
        } items[] = {
                { MARK_UP, "up", "period" },
                { MARK_C2S, "c2s", "lost to server" },
                { MARK_S2C, "s2c", "lost to client" },
                { MARK_BOTH, "both", "lost both ways" },
                { MARK_UNKNOWN, "unknown", "unanswered (client log only)" },
                { MARK_STOPPED, "stopped", "server not running" },
        };
        int x = LEFT;

        for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
                if (!(marks & items[i].mark))
                        continue;
                fprintf(out, "<rect x=\"%d\" y=\"36\" width=\"12\" height=\"10\" class=\"%s\"/><text x=\"%d\" y=\"45\" "
                             "class=\"small\">%s</text>\n",
                        x, items[i].cls, x + 16, items[i].text);
                x += 24 + 6 * (int)strlen(items[i].text);
        }
        if (marks & MARK_REBIND)
                fprintf(out, "<path d=\"M%d 46 l-6 -9 h12 z\" class=\"rebind\"/><text x=\"%d\" y=\"45\" class=\"small\">"
                             "NAT rebinding</text>\n",
                        x + 6, x + 16);
}

int report_write_svg(const struct timeline *tl, FILE *out)
{
        int n = (int)(tl->n_clients ? tl->n_clients : 1), bottom = TOP + LANE * n, height = bottom + 30;
        struct frame f = { INT64_MAX, INT64_MIN };
        char a[32] = "", b[32] = "";
        unsigned marks = 0;

        for (size_t i = 0; i < tl->n_clients; i++) {
                f.t0 = tl->clients[i]->first_us < f.t0 ? tl->clients[i]->first_us : f.t0;
                f.t1 = tl->clients[i]->last_us > f.t1 ? tl->clients[i]->last_us : f.t1;
        }
        if (f.t0 > f.t1)
                f.t0 = f.t1 = 0;
        {
                time_t t0 = (time_t)(f.t0 / 1000000), t1 = (time_t)(f.t1 / 1000000);
                struct tm tm;

                if (localtime_r(&t0, &tm))
                        strftime(a, sizeof(a), "%Y-%m-%d %H:%M:%S", &tm);
                if (localtime_r(&t1, &tm))
                        strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm);
        }
        fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                WIDTH, height, WIDTH, height);
        fputs("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
              "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f0b429\"/><rect width=\"3\" "
              "height=\"6\" fill=\"#b7791f\"/></pattern></defs>\n"
              "<style>text{font-family:sans-serif;fill:#222}.name{font-size:14px}.small{font-size:11px;fill:#555}"
              ".tick{font-size:11px;fill:#444}.title{font-size:16px;font-weight:bold}.label{font-size:11px;fill:#111}"
              ".up{fill:#7cc47f}.c2s{fill:#d62728}.s2c{fill:#6f42c1}.both{fill:#7a0000}.unknown{fill:url(#hatch)}"
              ".stopped{fill:#9e9e9e}"
              ".rebind{fill:#ff9f1c;stroke:#7a5200}.rebindline{stroke:#ff9f1c;stroke-width:2}</style>\n",
              out);
        fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, height);
        fprintf(out, "<text x=\"%d\" y=\"24\" class=\"title\">udp-canary: %s to %s</text>\n", 10, a, b);
        axis(&f, out, bottom);
        for (size_t i = 0; i < tl->n_clients; i++)
                marks |= lane(&f, tl->clients[i], TOP + 12 + LANE * (int)i, out);
        legend(marks, out);
        fputs("</svg>\n", out);
        return ferror(out) ? -EIO : 0;
}

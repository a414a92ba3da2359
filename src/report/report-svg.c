/* report-svg: the timeline as a picture a person takes in at a glance. Per
 * client two lanes, client to server above server to client, its period in
 * a pale green; an outage in the colour of its direction and in the lane(s)
 * it hit (a client's log alone cannot tell, so those span both lanes,
 * hatched), at least a few pixels wide at any time scale, with its bounds as
 * shaded ends and whiskers where they show, the long ones labelled with
 * their length and which end's log saw them; NAT rebindings as purple marks.
 * The colours are Okabe and Ito's, told apart with any colour vision. The
 * legend names only what is drawn. The HTML page draws with these pieces
 * too (report-svg.h). */
#include "report/report-svg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"

#define WIDTH 1100
#define LEFT 200 /* room for the client names */
#define RIGHT 70 /* room for the lane names */
#define BAR 18
#define LANE (2 * BAR + 46) /* two bars, room for labels */
#define MIN_W 3.0           /* an outage never vanishes */
#define NAME_MAX_CHARS 22
#define LABEL_GAP 8.0 /* px between two labels */
#define CHAR_W 6.4    /* px of an average character of a label */

enum mark {
        MARK_UP = 1,
        MARK_C2S = 2,
        MARK_S2C = 4,
        MARK_BOTH = 8,
        MARK_UNKNOWN = 16,
        MARK_STOPPED = 32,
        MARK_REBIND = 64,
        MARK_BOUNDS = 128,
};

double report_svg_x(const struct report_svg_frame *f, int64_t t_us)
{
        double span = (double)(f->t1 - f->t0);

        if (span <= 0)
                return f->x0;
        if (t_us < f->t0)
                t_us = f->t0;
        if (t_us > f->t1)
                t_us = f->t1;
        return f->x0 + (f->x1 - f->x0) * (double)(t_us - f->t0) / span;
}

void report_svg_escape(FILE *out, const char *s, size_t n)
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
                else if (ch == '\'')
                        fputs("&#39;", out);
                else if (ch < 0x20 || ch == 0x7f)
                        fputc('?', out);
                else
                        fputc(ch, out);
        }
}

void report_svg_css(FILE *out)
{
        fputs("text{font-family:sans-serif;fill:#222}.name{font-size:14px}.small{font-size:11px;fill:#444}"
              ".tick{font-size:11px;fill:#444}.title{font-size:16px;font-weight:bold}.label{font-size:11px;fill:#111}"
              ".up{fill:#a9dcc9}.c2s{fill:#d55e00}.s2c{fill:#0072b2}.both{fill:#1a1a1a}.unknown{fill:url(#hatch)}"
              ".stopped{fill:#8c8c8c}.zone{fill-opacity:.35}.whisker{stroke:#1a1a1a;stroke-width:1.2;fill:none}"
              ".rebind{fill:#cc79a7;stroke:#6b2d52}.rebindline{stroke:#cc79a7;stroke-width:2}\n",
              out);
}

void report_svg_defs(FILE *out)
{
        fputs("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
              "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f0c05a\"/><rect width=\"3\" "
              "height=\"6\" fill=\"#8a5a00\"/></pattern></defs>\n",
              out);
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

void report_svg_axis(const struct report_svg_frame *f, int top, int bottom, FILE *out)
{
        int64_t step = tick_step(f->t1 - f->t0), first = (f->t0 + step - 1) / step * step;
        int fmt = f->t1 - f->t0 > 2 * 86400000000LL ? 0 : step < 60000000 ? 1 : 2;

        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>\n", f->x0, bottom, f->x1,
                bottom);
        for (int64_t t = first; t <= f->t1 && step > 0; t += step) {
                time_t s = (time_t)(t / 1000000);
                struct tm tm;
                char label[32] = "";
                double x = report_svg_x(f, t);

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
                        x, top, x, bottom, x, bottom + 16, label);
        }
}

static const char *outage_class(const struct timeline_outage *o)
{
        static const char *const cls[] = { "both", "c2s", "s2c", "unknown" };

        return o->server_stopped ? "stopped" : cls[o->direction];
}

static unsigned outage_mark(const struct timeline_outage *o)
{
        static const unsigned marks[] = { MARK_BOTH, MARK_C2S, MARK_S2C, MARK_UNKNOWN };

        return o->server_stopped ? MARK_STOPPED : marks[o->direction];
}

/* The best estimate's box: at least MIN_W wide, kept inside the frame. */
static void outage_box(const struct report_svg_frame *f, const struct timeline_outage *o, double *sx, double *w)
{
        double s = report_svg_x(f, o->start_us), e = report_svg_x(f, o->end_us);

        *w = e - s < MIN_W ? MIN_W : e - s;
        *sx = s + *w > f->x1 ? f->x1 - *w : s;
}

/* The label of a long outage and the x span it takes, kept inside the frame. */
static void label_place(const struct report_svg_frame *f, const struct timeline_outage *o, char text[static 96],
                        double *left, double *right)
{
        static const char *const seen[] = { "both logs matched", "client log", "server log", "both logs" };
        double sx, w, half;
        char d[32];

        outage_box(f, o, &sx, &w);
        snprintf(text, 96, "%s (%s)", report_duration(o->end_us - o->start_us, d),
                 o->server_stopped ? "server stopped" : seen[o->seen_by & 3]);
        half = CHAR_W * (double)strlen(text) / 2;
        *left = sx + w / 2 - half;
        *right = sx + w / 2 + half;
        if (*left < f->x0) {
                *left = sx;
                *right = sx + 2 * half;
        } else if (*right > f->x1) {
                *right = sx + w;
                *left = *right - 2 * half;
        }
}

struct by_length {
        int64_t len;
        size_t i;
};

static int longest_first(const void *a, const void *b)
{
        const struct by_length *x = a, *y = b;

        if (x->len != y->len)
                return x->len > y->len ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

/* Labels for the outages of 1 s or more, the longest first, each where it
 * overlaps no label already placed: a short outage next to a longer one
 * that got no label of its own keeps its own. Returns 0 or -ENOMEM. */
static int outage_labels(const struct report_svg_frame *f, const struct timeline_client *c, int y, FILE *out)
{
        struct by_length *order = malloc((c->n_outages ? c->n_outages : 1) * sizeof(*order));
        double (*placed)[2] = malloc((c->n_outages ? c->n_outages : 1) * sizeof(*placed));
        size_t n = 0, np = 0;
        int k = order && placed ? 0 : -ENOMEM;

        for (size_t i = 0; k == 0 && i < c->n_outages; i++)
                if (c->outages[i].end_us - c->outages[i].start_us >= 1000000)
                        order[n++] = (struct by_length){ c->outages[i].end_us - c->outages[i].start_us, i };
        if (n)
                qsort(order, n, sizeof(*order), longest_first);
        for (size_t i = 0; i < n; i++) {
                char text[96];
                double l, r;
                bool free_room = true;

                label_place(f, &c->outages[order[i].i], text, &l, &r);
                for (size_t j = 0; j < np && free_room; j++)
                        free_room = r + LABEL_GAP <= placed[j][0] || l >= placed[j][1] + LABEL_GAP;
                if (!free_room)
                        continue;
                placed[np][0] = l;
                placed[np++][1] = r;
                fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"label\">%s</text>\n", l, y, text);
        }
        free(order);
        free(placed);
        return k;
}

static const char *direction_text(const struct timeline_outage *o)
{
        static const char *const text[] = { "lost both ways", "lost to the server", "lost to the client",
                                            "unanswered, direction unknown" };

        return text[o->direction];
}

static const char *seen_text(const struct timeline_outage *o)
{
        static const char *const text[] = { "matching both logs", "the client log", "the server log", "both logs" };

        return text[o->seen_by & 3];
}

/* The tooltip: the length with its bounds, when it began and ended, and
 * the note given for it (its lines as they are). */
static void outage_title(const struct timeline_outage *o, const char *note, FILE *out)
{
        char d[32], mn[32], mx[32], a[32], b[32];
        int64_t least = o->end_min_us > o->start_max_us ? o->end_min_us - o->start_max_us : 0;

        fprintf(out, "<title>outage %s (%s to %s), %s%s, seen by %s\n", report_duration(o->end_us - o->start_us, d),
                report_duration(least, mn),
                o->start_min_known && o->end_max_known ? report_duration(o->end_max_us - o->start_min_us, mx) : "?",
                direction_text(o), o->server_stopped ? ", the server not running" : "", seen_text(o));
        fprintf(out, "start %s (after %s", report_stamp(o->start_us, a),
                o->start_min_known ? report_stamp(o->start_min_us, b) : "the logs' start");
        fprintf(out, ", by %s)\n", report_stamp(o->start_max_us, a));
        fprintf(out, "end %s (after %s", report_stamp(o->end_us, a), report_stamp(o->end_min_us, b));
        fprintf(out, ", by %s)%s", o->end_max_known ? report_stamp(o->end_max_us, a) : "the logs' end",
                o->ongoing ? ", still going" : "");
        for (const char *l = note, *e; l; l = *e ? e + 1 : NULL) { /* its lines kept, each escaped */
                e = l + strcspn(l, "\n");
                fputc('\n', out);
                report_svg_escape(out, l, (size_t)(e - l));
        }
        fputs("</title>", out);
}

/* The bounds where they reach past the box: shaded from the earliest to the
 * latest start and end, a whisker with a cap where the bound is known.
 * Returns whether anything was drawn. */
static bool outage_bounds(const struct report_svg_frame *f, const struct timeline_client *c,
                          const struct timeline_outage *o, int top, int h, FILE *out)
{
        double xa = report_svg_x(f, o->start_min_known ? o->start_min_us : c->first_us);
        double xb = report_svg_x(f, o->end_max_known ? o->end_max_us : c->last_us);
        double xs = report_svg_x(f, o->start_max_us), xe = report_svg_x(f, o->end_min_us), sx, w;
        double yc = top + h / 2.0;

        outage_box(f, o, &sx, &w);
        if (xa > sx - 1 && xb < sx + w + 1)
                return false;
        if (xs > xa)
                fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s zone\"/>\n", xa, top,
                        xs - xa, h, outage_class(o));
        if (xb > xe)
                fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s zone\"/>\n", xe, top,
                        xb - xe, h, outage_class(o));
        fprintf(out, "<path d=\"M%.1f %.1fH%.1f", xa, yc, xb);
        if (o->start_min_known)
                fprintf(out, "M%.1f %.1fv10", xa, yc - 5);
        if (o->end_max_known)
                fprintf(out, "M%.1f %.1fv10", xb, yc - 5);
        fputs("\" class=\"whisker\"/>\n", out);
        return true;
}

/* An outage in its lane(s): bounds beneath, the best estimate on top. */
static unsigned draw_outage(const struct report_svg_frame *f, const struct timeline_client *c,
                            const struct timeline_outage *o, const char *note, int y, FILE *out)
{
        int top = o->direction == TIMELINE_SERVER_TO_CLIENT ? y + BAR + 2 : y;
        int h = o->direction == TIMELINE_CLIENT_TO_SERVER || o->direction == TIMELINE_SERVER_TO_CLIENT ? BAR : 2 * BAR + 2;
        unsigned marks = outage_mark(o) | (outage_bounds(f, c, o, top, h, out) ? MARK_BOUNDS : 0);
        double sx, w;

        outage_box(f, o, &sx, &w);
        fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s\">", sx, top, w, h,
                outage_class(o));
        outage_title(o, note, out);
        fputs("</rect>\n", out);
        return marks;
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

static void lane_name(const struct timeline_client *c, int y, FILE *out)
{
        bool cut;
        size_t n = utf8_prefix(c->id, c->id_len, NAME_MAX_CHARS, &cut);

        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"name\">", LEFT - 10, y + BAR / 2 + 5);
        report_svg_escape(out, c->id, n);
        fprintf(out, "%s</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"small\">%.2f %% up</text>\n",
                cut ? "\xe2\x80\xa6" : "", LEFT - 10, y + BAR + 16, 100.0 * timeline_availability(c));
        fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"small\">to server</text>\n<text x=\"%d\" y=\"%d\" class=\"small\">"
                     "to client</text>\n",
                WIDTH - RIGHT + 6, y + BAR - 5, WIDTH - RIGHT + 6, y + 2 * BAR - 3);
}

/* NAT rebindings above the lanes, a mark at least 10 px from the last one
 * drawn (its title counts the ones it stands for); a line through the lanes
 * only while they are few enough not to hide them. */
static unsigned rebind_marks(const struct report_svg_frame *f, const struct timeline_client *c, int y, FILE *out)
{
        double last = -100;
        size_t drawn = 0;

        for (size_t i = 0; i < c->n_rebinds; i++) {
                char a[ADDR_STRLEN], b[ADDR_STRLEN], when[32];
                double x = report_svg_x(f, c->rebinds[i].t_us);
                size_t n = 1;

                if (x - last < 10)
                        continue;
                while (i + n < c->n_rebinds && report_svg_x(f, c->rebinds[i + n].t_us) - x < 10)
                        n++;
                last = x;
                drawn++;
                if (n == 1)
                        fprintf(out, "<path d=\"M%.1f %d l-6 -9 h12 z\" class=\"rebind\"><title>NAT rebinding %s, "
                                     "%s -&gt; %s</title></path>\n",
                                x, y - 1, report_stamp(c->rebinds[i].t_us, when),
                                addr_format(&c->rebinds[i].old_peer, a), addr_format(&c->rebinds[i].new_peer, b));
                else
                        fprintf(out, "<path d=\"M%.1f %d l-6 -9 h12 z\" class=\"rebind\"><title>%zu NAT rebindings "
                                     "from %s</title></path>\n",
                                x, y - 1, n, report_stamp(c->rebinds[i].t_us, when));
                if (c->n_rebinds <= 20)
                        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"rebindline\"/>\n", x, y, x,
                                y + 2 * BAR + 2);
        }
        return drawn ? MARK_REBIND : 0;
}

/* One client's lanes. Returns the marks drawn, or -ENOMEM. */
static int lane(const struct report_svg_frame *f, const struct timeline_client *c, const char *const *notes, int y,
                FILE *out)
{
        double x0 = report_svg_x(f, c->first_us), x1 = report_svg_x(f, c->last_us);
        unsigned marks = MARK_UP;

        lane_name(c, y, out);
        for (int i = 0; i < 2; i++)
                fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"up\"/>\n", x0,
                        y + i * (BAR + 2), x1 - x0 > 1 ? x1 - x0 : 1, BAR);
        marks |= rebind_marks(f, c, y, out);
        for (size_t i = 0; i < c->n_outages; i++)
                marks |= draw_outage(f, c, &c->outages[i], notes ? notes[i] : NULL, y, out);
        if (outage_labels(f, c, y + 2 * BAR + 16, out) < 0)
                return -ENOMEM;
        return (int)marks;
}

/* The legend, above the lanes: only what they hold. */
static void legend(unsigned marks, int y, FILE *out)
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
                fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" class=\"%s\"/><text x=\"%d\" y=\"%d\" "
                             "class=\"small\">%s</text>\n",
                        x, y, items[i].cls, x + 16, y + 9, items[i].text);
                x += 24 + 6 * (int)strlen(items[i].text);
        }
        if (marks & MARK_BOUNDS) {
                fprintf(out, "<path d=\"M%d %dh16M%d %dv10M%d %dv10\" class=\"whisker\"/><text x=\"%d\" y=\"%d\" "
                             "class=\"small\">could have begun / ended</text>\n",
                        x, y + 5, x, y, x + 16, y, x + 22, y + 9);
                x += 28 + 6 * (int)strlen("could have begun / ended");
        }
        if (marks & MARK_REBIND)
                fprintf(out, "<path d=\"M%d %d l-6 -9 h12 z\" class=\"rebind\"/><text x=\"%d\" y=\"%d\" class=\"small\">"
                             "NAT rebinding</text>\n",
                        x + 6, y + 10, x + 16, y + 9);
}

/* The span of all the clients' periods. */
static struct report_svg_frame frame_of(const struct timeline_client *const *clients, size_t n)
{
        struct report_svg_frame f = { INT64_MAX, INT64_MIN, LEFT, WIDTH - RIGHT };

        for (size_t i = 0; i < n; i++) {
                f.t0 = clients[i]->first_us < f.t0 ? clients[i]->first_us : f.t0;
                f.t1 = clients[i]->last_us > f.t1 ? clients[i]->last_us : f.t1;
        }
        if (f.t0 > f.t1)
                f.t0 = f.t1 = 0;
        return f;
}

static void heading(const struct report_svg_frame *f, FILE *out)
{
        char a[32] = "", b[32] = "";
        time_t t0 = (time_t)(f->t0 / 1000000), t1 = (time_t)(f->t1 / 1000000);
        struct tm tm;

        if (localtime_r(&t0, &tm))
                strftime(a, sizeof(a), "%Y-%m-%d %H:%M:%S", &tm);
        if (localtime_r(&t1, &tm))
                strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(out, "<text x=\"%d\" y=\"24\" class=\"title\">udp-canary: %s to %s</text>\n", 10, a, b);
}

int report_svg_timeline(const struct timeline_client *const *clients, size_t n, const char **const *notes,
                        bool standalone, FILE *out)
{
        int top = standalone ? 70 : 40, lanes = (int)(n ? n : 1), bottom = top + LANE * lanes, height = bottom + 30;
        struct report_svg_frame f = frame_of(clients, n);
        unsigned marks = 0;

        fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                WIDTH, height, WIDTH, height);
        if (standalone) {
                report_svg_defs(out);
                fputs("<style>", out);
                report_svg_css(out);
                fputs("</style>\n", out);
        }
        fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, height);
        if (standalone)
                heading(&f, out);
        report_svg_axis(&f, top - 4, bottom, out);
        for (size_t i = 0; i < n; i++) {
                int m = lane(&f, clients[i], notes ? notes[i] : NULL, top + 12 + LANE * (int)i, out);

                if (m < 0)
                        return m;
                marks |= (unsigned)m;
        }
        legend(marks, top - 34, out);
        fputs("</svg>\n", out);
        return 0;
}

int report_write_svg(const struct timeline *tl, FILE *out)
{
        int k = report_svg_timeline((const struct timeline_client *const *)tl->clients, tl->n_clients, NULL, true, out);

        if (k == 0 && ferror(out))
                k = -EIO;
        return k;
}

/* Fuzz target: log lines, as `udp-canary report` reads them from files a
 * user hands it (anyone's logs), fed on into the reconstruction and every
 * output form. A line starting with a byte 0x01..0x04 goes to that log
 * (two clients' and two servers' files, say), so roles, clock offsets and
 * the matching of both ends all see hostile input. The same lines go
 * also the way `udp-canary report` takes them: put aside (report-spill,
 * in memory) and worked out a client at a time in windows of a minute
 * (timeline_finish_windowed, timeline_write_each), so that the windows,
 * their carries and the scan see it too. */
#include <stdio.h>
#include <string.h>

#include "report/report-html-rtt.h"
#include "report/report-spill.h"
#include "report/report.h"

#define WINDOW_US (60 * (int64_t)1000000)

struct windowed {
        struct report_spill spill;
        struct report_writer w;
};

static int load(void *ctx, struct timeline *tl, size_t lo, size_t hi)
{
        return report_spill_load(&((struct windowed *)ctx)->spill, tl, lo, hi);
}

static int load_span(void *ctx, struct timeline *tl, size_t i, const struct timeline_span *by_log, size_t n_logs)
{
        return report_spill_load_span(&((struct windowed *)ctx)->spill, tl, i, by_log, n_logs);
}

static int each(void *ctx, const struct timeline *tl, const struct timeline_client *c)
{
        return report_client(&((struct windowed *)ctx)->w, tl, c);
}

/* One line into tl, handed out and put aside. */
static int add_out(struct windowed *x, struct timeline *tl, unsigned log, const struct logline *l)
{
        struct timeline_packet pk;
        size_t client;
        int k = timeline_add_out(tl, log, l, &pk, &client);

        return k <= 0 ? k : report_spill_put(&x->spill, client, &pk);
}

/* The lines of data, each to its log, into tl (and put aside with x). */
static void feed(struct timeline *tl, struct windowed *x, const uint8_t *data, size_t size)
{
        const char *p = (const char *)data, *end = p + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                unsigned log = 0;
                bool tagged = len > 0 && p[0] >= 1 && p[0] <= 4;
                struct logline l;

                if (tagged)
                        log = (unsigned)p[0] - 1;
                if (logline_parse(&l, p + tagged, len - tagged) == 0 &&
                    (x ? add_out(x, tl, log, &l) : timeline_add(tl, log, &l)) < 0)
                        break;
                p += len + 1;
        }
}

static void windowed(const uint8_t *data, size_t size, FILE *sink)
{
        struct windowed x;
        struct timeline tl;
        struct timeline_opts o = { 0 };
        struct report_input in = { 0 };

        timeline_init(&tl);
        report_spill_init(&x.spill);
        x.spill.no_file = 1; /* in memory */
        feed(&tl, &x, data, size);
        x.spill.keep = 1;
        if (timeline_finish_windowed(&tl, &o, 1, load, load_span, WINDOW_US, &x) == 0 &&
            report_begin(&x.w, &tl, &in, false, sink) == 0) {
                x.spill.keep = 0;
                timeline_write_each(&tl, 1, load, load_span, WINDOW_US, each, &x);
                report_end(&x.w);
        }
        report_spill_free(&x.spill);
        timeline_free(&tl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static FILE *sink;
        struct timeline tl;
        struct timeline_opts o = { 0 };
        struct report_input in = { 0 };

        if (!sink)
                sink = fopen("/dev/null", "we");
        timeline_init(&tl);
        tl.rtt_column = report_html_rtt_column; /* the page is written too */
        feed(&tl, NULL, data, size);
        if (timeline_finish(&tl, &o) == 0 && sink) {
                report_write_text(&tl, &in, sink);
                report_write_json(&tl, &in, sink);
                report_write_svg(&tl, sink);
                report_write_html(&tl, &in, sink);
        }
        timeline_free(&tl);
        if (sink)
                windowed(data, size, sink);
        return 0;
}

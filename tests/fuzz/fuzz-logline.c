/* Fuzz target: log lines, as `udp-canary report` reads them from files a
 * user hands it (anyone's logs), fed on into the reconstruction and every
 * output form. A line starting with a byte 0x01..0x04 goes to that log
 * (two clients' and two servers' files, say), so roles, clock offsets and
 * the matching of both ends all see hostile input. */
#include <stdio.h>
#include <string.h>

#include "report/report-html-rtt.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static FILE *sink;
        struct timeline tl;
        struct timeline_opts o = { 0 };
        struct report_input in = { 0 };
        const char *p = (const char *)data, *end = p + size;

        if (!sink)
                sink = fopen("/dev/null", "we");
        timeline_init(&tl);
        tl.rtt_column = report_html_rtt_column; /* the page is written too */
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                unsigned log = 0;
                struct logline l;

                if (len > 0 && p[0] >= 1 && p[0] <= 4) {
                        log = (unsigned)p[0] - 1;
                        if (logline_parse(&l, p + 1, len - 1) == 0 && timeline_add(&tl, log, &l) < 0)
                                break;
                } else if (logline_parse(&l, p, len) == 0 && timeline_add(&tl, log, &l) < 0) {
                        break;
                }
                p += len + 1;
        }
        if (timeline_finish(&tl, &o) == 0 && sink) {
                report_write_text(&tl, &in, sink);
                report_write_json(&tl, &in, sink);
                report_write_svg(&tl, sink);
                report_write_html(&tl, &in, sink);
        }
        timeline_free(&tl);
        return 0;
}

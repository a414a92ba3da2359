/* Fuzz target: log lines, as `udp-canary report` reads them from files a
 * user hands it (anyone's logs), fed on into the report. */
#include <string.h>

#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct report r;
        struct logline l;
        const char *p = (const char *)data, *end = p + size;

        if (report_init(&r, 200000, 5) < 0)
                return 0;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

                if (logline_parse(&l, p, len) == 0)
                        report_line(&r, &l);
                p += len + 1;
        }
        report_finish(&r);
        report_free(&r);
        return 0;
}

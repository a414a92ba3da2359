/* Fuzz target: a journal export (`journalctl -o export`), as `udp-canary
 * report` reads one a user brought over from another machine, fed to the
 * parser in two chunks split where the first byte says (so an entry, a name,
 * a length or a value can be cut between them), each entry of ours taken as
 * the report takes it into the reconstruction, and every output form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/journal-export.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What report-cmd.c does with an entry: ours only, a time, the MESSAGE as
 * the text after a log line's stamp; each unit its own log. */
static int take(void *ctx, const struct jexport *p)
{
        const struct jexport_value *m = &p->v[JEXPORT_MESSAGE];
        struct logline l;
        uint64_t t;

        if (!jexport_is(p, JEXPORT_IDENTIFIER, "udp-canary") || !m->set || m->too_long || jexport_realtime(p, &t) < 0 ||
            logline_parse_body(&l, m->data, m->len) < 0)
                return 0;
        l.t_us = t;
        return timeline_add(ctx, p->v[JEXPORT_UNIT].len % 4, &l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static FILE *sink;
        static struct jexport *p;
        struct timeline tl;
        struct timeline_opts o = { 0 };
        struct report_input in = { 0 };
        size_t cut = size ? data[0] % (size + 1) : 0;
        int k;

        if (!sink)
                sink = fopen("/dev/null", "we");
        if (!p && !(p = malloc(sizeof(*p))))
                return 0;
        timeline_init(&tl);
        jexport_init(p);
        k = jexport_feed(p, (const char *)data, cut, take, &tl);
        if (k == 0)
                k = jexport_feed(p, (const char *)data + cut, size - cut, take, &tl);
        if (k == 0)
                k = jexport_finish(p, take, &tl);
        in.skipped = p->broken;
        if (k == 0 && timeline_finish(&tl, &o) == 0 && sink) {
                report_write_text(&tl, &in, sink);
                report_write_json(&tl, &in, sink);
                report_write_svg(&tl, sink);
        }
        timeline_free(&tl);
        return 0;
}

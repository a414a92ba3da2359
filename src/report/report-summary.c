/* report-summary: the one line per client to paste into a ticket, and the
 * words the text, the JSON and the page share: durations, round trips at
 * the stamps' resolution, the rebindings' usual interval (see report.h). */
#include "report/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/message.h"
#include "core/unicode.h"

#define US ((int64_t)1000000)

const char *report_duration(int64_t us, char buf[static 32])
{
        int64_t s = (us < 0 ? 0 : us) / US;

        if (s < 10)
                snprintf(buf, 32, "%.1f s", (double)(us < 0 ? 0 : us) / 1e6);
        else if (s < 120)
                snprintf(buf, 32, "%" PRId64 " s", s);
        else if (s < 7200)
                snprintf(buf, 32, "%" PRId64 " min %" PRId64 " s", s / 60, s % 60);
        else if (s < 3 * 86400)
                snprintf(buf, 32, "%" PRId64 " h %" PRId64 " min", s / 3600, s / 60 % 60);
        else
                snprintf(buf, 32, "%" PRId64 " days %" PRId64 " h", s / 86400, s / 3600 % 24);
        return buf;
}

int64_t report_rebind_interval(const struct timeline_client *c)
{
        int64_t *d, m;

        if (c->n_rebinds < 2 || !(d = malloc((c->n_rebinds - 1) * sizeof(*d))))
                return 0;
        for (size_t i = 1; i < c->n_rebinds; i++)
                d[i - 1] = c->rebinds[i].t_us - c->rebinds[i - 1].t_us;
        for (size_t i = 1; i < c->n_rebinds - 1; i++) /* insertion sort: a handful */
                for (size_t j = i; j > 0 && d[j] < d[j - 1]; j--) {
                        int64_t x = d[j];

                        d[j] = d[j - 1];
                        d[j - 1] = x;
                }
        m = d[(c->n_rebinds - 1) / 2];
        free(d);
        return m;
}

/* A round trip at the resolution of the stamps: "<1 ms", never "0 ms". */
const char *report_rtt_text(const struct timeline_client *c, int64_t us, char buf[static 32])
{
        int64_t res = c->resolution_us;

        if (res >= US)
                snprintf(buf, 32, us < US ? "<1 s" : "%" PRId64 " s", us / US);
        else if (res >= 1000)
                snprintf(buf, 32, us < 1000 ? "<1 ms" : "%" PRId64 " ms", us / 1000);
        else
                snprintf(buf, 32, "%.3f ms", (double)us / 1e3);
        return buf;
}

/* ", 3 client-to-server only" when there are any. */
static size_t summary_part(char *buf, size_t cap, size_t n, size_t count, const char *what)
{
        if (!count || n >= cap)
                return n;
        return n + (size_t)snprintf(buf + n, cap - n, "%s%zu %s", buf[n - 1] == '(' ? "" : ", ", count, what);
}

/* Whether an id can be shown as it is: printable UTF-8 (as Python's
 * str.isprintable() says: no C0 or C1 control, no bidi override that would
 * turn a terminal's text around) and no comma, which the summary uses. */
static bool is_plain(const char *id, size_t len)
{
        const uint8_t *p = (const uint8_t *)id;
        size_t i = 0;

        while (i < len) {
                uint32_t cp;
                int n = unicode_utf8_decode(p + i, len - i, &cp);

                if (n <= 0 || !unicode_is_printable(cp) || cp == ',')
                        return false;
                i += (size_t)n;
        }
        return len > 0;
}

/* The id as it is when it prints plainly, else as Python's repr. */
static void plain_id(const struct timeline_client *c, char id[static MESSAGE_TEXT_MAX])
{
        if (is_plain(c->id, c->id_len)) {
                memcpy(id, c->id, c->id_len);
                id[c->id_len] = '\0';
        } else {
                message_repr_string(c->id, c->id_len, id, MESSAGE_TEXT_MAX);
        }
}

void report_summary(const struct timeline_client *c, char *buf, size_t cap)
{
        char id[MESSAGE_TEXT_MAX], d[32], l[32], every[32];
        size_t by_dir[4] = { 0 }, stopped = 0, blind = 0, nat = 0, n;
        int64_t longest = 0, iv = report_rebind_interval(c);

        plain_id(c, id);
        for (size_t i = 0; i < c->n_outages; i++) {
                const struct timeline_outage *o = &c->outages[i];

                if (o->server_stopped) {
                        stopped++;
                        continue;
                }
                if (o->log_lost) {
                        blind++;
                        continue;
                }
                nat++;
                by_dir[o->direction]++;
                longest = longest > o->end_us - o->start_us ? longest : o->end_us - o->start_us;
        }
        n = (size_t)snprintf(buf, cap, "%s, %s: availability %.2f%%, %zu outage%s", id,
                             report_duration(c->last_us - c->first_us, d), 100.0 * timeline_availability(c), nat,
                             nat == 1 ? "" : "s");
        if (n < cap && nat) {
                n += (size_t)snprintf(buf + n, cap - n, " (");
                n = summary_part(buf, cap, n, by_dir[TIMELINE_SERVER_TO_CLIENT], "server-to-client only");
                n = summary_part(buf, cap, n, by_dir[TIMELINE_CLIENT_TO_SERVER], "client-to-server only");
                n = summary_part(buf, cap, n, by_dir[TIMELINE_BOTH], "both ways");
                n = summary_part(buf, cap, n, by_dir[TIMELINE_UNKNOWN], "direction unknown");
                if (n < cap)
                        n += (size_t)snprintf(buf + n, cap - n, ", longest %s)", report_duration(longest, l));
        }
        if (n < cap && stopped)
                n += (size_t)snprintf(buf + n, cap - n, ", %zu while the server was not running", stopped);
        if (n < cap && blind)
                n += (size_t)snprintf(buf + n, cap - n, ", %zu unknown: a log lost lines then", blind);
        if (n < cap && !c->server_log)
                n += (size_t)snprintf(buf + n, cap - n, ", NAT rebindings: not visible in a client log");
        else if (n < cap)
                n += (size_t)snprintf(buf + n, cap - n, ", NAT moved the flow %zu time%s%s%s", c->n_rebinds,
                                      c->n_rebinds == 1 ? "" : "s", iv ? ", every " : "", iv ? report_duration(iv, every) : "");
        (void)n;
}

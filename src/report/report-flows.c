/* report-flows: what the report says of an outage beyond its own flow (see
 * report-flows.h): the last hop its client's trace reached, in the JSON and
 * in words for the text and the findings. */
#include "report/report-flows.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/logtext.h"
#include "report/report.h"

static const struct timeline_trace *outage_trace(const struct timeline *tl, const struct timeline_outage *o)
{
        return o->trace >= 0 && (size_t)o->trace < tl->n_traces ? &tl->traces[o->trace] : NULL;
}

json_t *report_json_last_hop(const struct timeline *tl, const struct timeline_outage *o)
{
        const struct timeline_trace *t = outage_trace(tl, o);
        char a[INET6_ADDRSTRLEN], when[32];
        json_t *j, *hops;
        unsigned last;

        if (!t)
                return json_null();
        last = logtext_trace_last(&t->tr);
        hops = json_array();
        for (unsigned i = 0; hops && i < t->tr.n_hops && i < LOGTEXT_TRACE_HOPS_MAX; i++)
                json_array_append_new(hops, t->tr.hop[i].sa.sa_family == AF_UNSPEC
                                                    ? json_null()
                                                    : json_string(logtext_hop_text(&t->tr.hop[i], a)));
        j = json_pack("{s:o, s:o, s:s, s:f, s:o}", "address",
                      last ? json_string(logtext_hop_text(&t->tr.hop[last - 1], a)) : json_null(), "hop",
                      last ? json_integer(last) : json_null(), "time", report_stamp(t->t_us, when), "time_unix",
                      (double)t->t_us / 1e6, "hops", hops ? hops : json_null());
        return j ? j : json_null();
}

const char *report_last_hop_text(const struct timeline *tl, const struct timeline_outage *o, char *buf, size_t cap)
{
        const struct timeline_trace *t = outage_trace(tl, o);
        unsigned last = t ? logtext_trace_last(&t->tr) : 0;
        char a[INET6_ADDRSTRLEN];

        if (!t)
                snprintf(buf, cap, "%s", "");
        else if (!last)
                snprintf(buf, cap, "no hop of the client's trace answered (%u tried)", t->tr.n_hops);
        else
                snprintf(buf, cap, "the last hop that answered was %s (hop %u)%s",
                         logtext_hop_text(&t->tr.hop[last - 1], a), last,
                         logtext_shared_space(&t->tr.hop[last - 1]) ? ", a carrier NAT address" : "");
        return buf;
}

const char *report_flow_state_name(enum timeline_flow_state s)
{
        static const char *const names[] = { "unknown", "down", "up", "not_running" };

        return names[s];
}

static json_t *server_of(const struct timeline_client *c)
{
        char a[ADDR_STRLEN];

        return c->n_servers ? json_string(addr_format(&c->servers[0], a)) : json_null();
}

static void json_counts(json_t *j, const struct timeline *tl, const struct timeline_client *c,
                        const struct timeline_outage *o)
{
        static const char *const keys[] = { "others_unknown", "others_down", "others_up", "others_not_running" };
        json_int_t n[4] = { 0 };

        for (size_t i = 0; i < tl->n_clients; i++)
                if (tl->clients[i] != c)
                        n[timeline_flow_state(tl, c, o, tl->clients[i])]++;
        json_object_set_new(j, "others", json_null());
        for (size_t s = 0; s < 4; s++)
                json_object_set_new(j, keys[(s + 1) % 4], json_integer(n[(s + 1) % 4]));
}

void report_json_others(json_t *j, const struct timeline *tl, const struct timeline_client *c,
                        const struct timeline_outage *o)
{
        json_t *a;

        if (tl->n_clients > TIMELINE_FLOWS_COMPARED) {
                json_object_set_new(j, "others", json_null());
                return;
        }
        if (tl->n_clients > REPORT_FLOWS_LISTED) {
                json_counts(j, tl, c, o);
                return;
        }
        a = json_array();
        for (size_t i = 0; a && i < tl->n_clients; i++) {
                const struct timeline_client *x = tl->clients[i];

                if (x != c)
                        json_array_append_new(a, json_pack("{s:s, s:o, s:s}", "id", x->id, "server", server_of(x),
                                                           "state",
                                                           report_flow_state_name(timeline_flow_state(tl, c, o, x))));
        }
        json_object_set_new(j, "others", a ? a : json_null());
}

const char *report_others_text(const struct timeline *tl, const struct timeline_client *c,
                               const struct timeline_outage *o, char *buf, size_t cap)
{
        size_t n = 0, shown = 0, counts[4] = { 0 };

        buf[0] = '\0';
        for (size_t i = 0; i < tl->n_clients && tl->n_clients <= TIMELINE_FLOWS_COMPARED; i++) {
                const struct timeline_client *x = tl->clients[i];
                enum timeline_flow_state s = x == c ? TIMELINE_FLOW_UNKNOWN : timeline_flow_state(tl, c, o, x);
                int w;

                if (x == c)
                        continue;
                counts[s]++;
                if (shown >= 4 || n >= cap)
                        continue;
                w = snprintf(buf + n, cap - n, "%s%s %s", shown ? ", " : "others: ", x->id,
                             report_flow_state_name(s));
                n = w < 0 ? cap : n + (size_t)w;
                shown++;
        }
        if (tl->n_clients > 5 && n < cap)
                snprintf(buf + n, cap - n, " (of %zu: %zu down, %zu up, %zu not running, %zu unknown)",
                         tl->n_clients - 1, counts[TIMELINE_FLOW_DOWN], counts[TIMELINE_FLOW_UP],
                         counts[TIMELINE_FLOW_NOT_RUNNING], counts[TIMELINE_FLOW_UNKNOWN]);
        return buf;
}

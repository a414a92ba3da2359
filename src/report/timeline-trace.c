/* timeline-trace: a client's traces of its dead flow, put on its outages. A
 * trace line names no client id, so it is the trace of the client(s) whose
 * own log (one its packets show the client wrote) it is in, as probes are;
 * its time is on that log's clock, the client's. */
#include "report/timeline-internal.h"

/* The last trace of the client's own logs within [from, to], or -1. */
static int32_t last_trace(const struct timeline *tl, const struct timeline_split *sp, int64_t from, int64_t to)
{
        int32_t found = -1;

        for (size_t i = 0; i < tl->n_traces; i++) {
                const struct timeline_trace *t = &tl->traces[i];

                if (t->log < tl->n_logs && sp->roles[t->log] == TIMELINE_ROLE_CLIENT && t->t_us >= from &&
                    t->t_us <= to && (found < 0 || t->t_us >= tl->traces[found].t_us))
                        found = (int32_t)i;
        }
        return found;
}

void timeline_mark_traces(const struct timeline *tl, struct timeline_client *c, const struct timeline_split *sp)
{
        for (size_t i = 0; i < c->n_outages; i++) {
                struct timeline_outage *o = &c->outages[i];
                int64_t from = o->start_min_known ? o->start_min_us : o->start_us;
                int64_t to = o->end_max_known ? o->end_max_us : INT64_MAX;

                o->trace = sp->roles ? last_trace(tl, sp, from, to) : -1;
        }
}

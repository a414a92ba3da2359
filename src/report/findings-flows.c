/* findings-flows: each outage against the other flows in the same logs
 * (timeline_flow_state): this_flow_only when another flow delivered
 * messages all along and none was down, all_flows when every other flow
 * that can be compared was down too. */
#include "report/findings-internal.h"

#include <stdio.h>

#include "core/addr.h"

struct tally {
        size_t n[4]; /* by enum timeline_flow_state */
        const struct timeline_client *up; /* the first flow up, to name */
};

static void tally(const struct timeline *tl, const struct timeline_client *c, const struct timeline_outage *o,
                  struct tally *t)
{
        *t = (struct tally){ 0 };
        for (size_t i = 0; i < tl->n_clients; i++) {
                const struct timeline_client *x = tl->clients[i];
                enum timeline_flow_state s;

                if (x == c)
                        continue;
                s = timeline_flow_state(tl, c, o, x);
                t->n[s]++;
                if (s == TIMELINE_FLOW_UP && !t->up)
                        t->up = x;
        }
}

static const char *family(const struct timeline_client *c)
{
        return !c->n_servers ? NULL : addr_is_ipv4(&c->servers[0]) ? "IPv4" : "IPv6";
}

static void this_flow_only_text(struct findings_item *it, const struct timeline_client *c, const struct tally *t)
{
        const char *mine = family(c), *theirs = family(t->up);
        char srv[ADDR_STRLEN];

        addr_format(&t->up->servers[0], srv);
        if (mine && theirs && mine[3] != theirs[3])
                findings_fmt(it->text,
                             "%s only, while %s (flow %s to %s) stayed up: %s is the suspect (%zu other flow(s) up, "
                             "%zu down).",
                             mine, theirs, t->up->id, srv,
                             mine[3] == '4' ? "the NAT" : "the IPv6 route (or a firewall on it)",
                             t->n[TIMELINE_FLOW_UP], t->n[TIMELINE_FLOW_DOWN]);
        else
                findings_fmt(it->text,
                             "Only this flow broke, while flow %s stayed up (%zu other flow(s) up, %zu down): what "
                             "only this flow crosses is the suspect (its NAT mapping, its route).",
                             t->up->id, t->n[TIMELINE_FLOW_UP], t->n[TIMELINE_FLOW_DOWN]);
        findings_fmt(it->advice, "%s",
                     "Look at what this flow alone crosses: the NAT (a carrier NAT's mapping table), or the route of "
                     "its address family; the line and the server carried the other flow meanwhile.");
}

int findings_flows(const struct timeline *tl, const struct timeline_client *c, struct findings *f)
{
        int k = 0;

        for (size_t i = 0; i < c->n_outages && k == 0 && tl->n_clients > 1 && tl->n_clients <= TIMELINE_FLOWS_COMPARED;
             i++) {
                const struct timeline_outage *o = &c->outages[i];
                struct findings_item *it = NULL;
                struct tally t;

                if (o->server_stopped || o->log_lost)
                        continue;
                tally(tl, c, o, &t);
                if (t.n[TIMELINE_FLOW_UP] && !t.n[TIMELINE_FLOW_DOWN] && (it = findings_add(f, FINDINGS_THIS_FLOW_ONLY, o->start_us, o->end_us, &k)))
                        this_flow_only_text(it, c, &t);
                else if (t.n[TIMELINE_FLOW_DOWN] && !t.n[TIMELINE_FLOW_UP] &&
                         (it = findings_add(f, FINDINGS_ALL_FLOWS, o->start_us, o->end_us, &k))) {
                        findings_fmt(it->text, "Every flow broke at once (%zu other flow(s) down, none up): the line or "
                                     "the server.", t.n[TIMELINE_FLOW_DOWN]);
                        findings_fmt(it->advice, "%s", "Look at what every flow crosses: the access line, the "
                                     "router, the server and its uplink; not one flow's NAT.");
                }
                if (!it)
                        continue;
                it->end_open = o->ongoing;
                it->evidence[EV_FLOWS_DOWN] = (double)t.n[TIMELINE_FLOW_DOWN];
                it->evidence[EV_FLOWS_UP] = (double)t.n[TIMELINE_FLOW_UP];
                it->evidence[EV_FLOWS_UNKNOWN] = (double)(t.n[TIMELINE_FLOW_UNKNOWN] + t.n[TIMELINE_FLOW_NOT_RUNNING]);
        }
        return k;
}

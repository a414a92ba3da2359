/* timeline-roles: which end wrote each log, from its lines alone (a client
 * sends inits and keepalives and hears answers; a server the reverse), and
 * a client's packets split by end, each in time order. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

/* Packets by time alone: ties keep the order they came in (a stable
 * sort), which is their order of arrival, as they are held as put. */
static int by_time(const void *a, const void *b, void *ctx)
{
        const struct timeline_packet *x = a, *y = b;

        (void)ctx;
        return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

/* Each log's role for this client, by majority of its lines (counted as
 * they were read: c->ends); a tie says nothing. */
static int log_roles(const struct timeline_client *c, size_t n_logs, uint8_t **roles)
{
        uint8_t *r = calloc(n_logs ? n_logs : 1, 1);

        if (!r)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_ends; i++) {
                const struct timeline_log_ends *e = &c->ends[i];

                if (e->log < n_logs)
                        r[e->log] = e->as_client > e->as_server   ? TIMELINE_ROLE_CLIENT
                                    : e->as_client < e->as_server ? TIMELINE_ROLE_SERVER
                                                                  : TIMELINE_ROLE_NONE;
        }
        *roles = r;
        return 0;
}

static void coverage(const struct timeline_log *lg, int64_t *first, int64_t *last, bool *any)
{
        if (!*any || lg->first_us < *first)
                *first = lg->first_us;
        if (!*any || lg->last_us > *last)
                *last = lg->last_us;
        *any = true;
}

/* The coarsest stamps among the logs of one role. */
static int64_t log_resolution(const struct timeline_log *lg)
{
        if (lg->stamps && lg->stamps_s == lg->stamps)
                return 1000000;
        if (lg->stamps && lg->stamps_ms == lg->stamps)
                return 1000;
        return 1;
}

/* The end a packet is kept for, or NONE for a line at odds with the rest
 * of its log. */
static uint8_t end_of(const struct timeline_packet *p, const uint8_t *roles)
{
        uint8_t role = roles[p->log];

        return role == TIMELINE_ROLE_NONE || timeline_packet_role(p) != role ? TIMELINE_ROLE_NONE : role;
}

/* Room for each end's packets; with take, the client's are compacted in
 * c->pk itself (each moves only down), which sp->c then owns, so that the
 * packets are not held twice. */
static int split_room(struct timeline_client *c, const uint8_t *roles, bool take, struct timeline_split *sp)
{
        size_t nc = 0, ns = 0;

        for (size_t i = 0; i < c->n_pk; i++) {
                uint8_t end = end_of(&c->pk[i], roles);

                nc += end == TIMELINE_ROLE_CLIENT;
                ns += end == TIMELINE_ROLE_SERVER;
        }
        sp->s = malloc((ns ? ns : 1) * sizeof(*sp->s));
        sp->c = take ? c->pk : malloc((nc ? nc : 1) * sizeof(*sp->c));
        if (!sp->s || !sp->c) {
                free(sp->s);
                sp->s = NULL;
                if (!take)
                        free(sp->c);
                sp->c = NULL;
                return -ENOMEM;
        }
        if (take) {
                c->pk = NULL;
                c->cap_pk = 0;
        }
        return 0;
}

/* What holds for the whole client, from its counts alone (c->ends, not
 * its packets, which could be a span of them): the span its logs of each
 * end cover, the coarsest stamps of the logs it has packets kept in,
 * whether it has a log of each end, its lines at odds with their log. */
static void whole_of(const struct timeline *tl, struct timeline_client *c, struct timeline_split *sp)
{
        bool any_c = false, any_s = false;

        sp->res = 1;
        c->ignored = 0;
        for (size_t i = 0; i < c->n_ends; i++) {
                const struct timeline_log_ends *e = &c->ends[i];
                uint8_t role = e->log < tl->n_logs ? sp->roles[e->log] : TIMELINE_ROLE_NONE;
                const struct timeline_log *lg;

                /* lines at odds with the rest of their log */
                c->ignored += role == TIMELINE_ROLE_NONE     ? e->as_client + e->as_server
                              : role == TIMELINE_ROLE_CLIENT ? e->as_server
                                                             : e->as_client;
                if (role == TIMELINE_ROLE_NONE)
                        continue;
                lg = &tl->logs[e->log];
                if (role == TIMELINE_ROLE_CLIENT)
                        coverage(lg, &sp->c_first, &sp->c_last, &any_c);
                else
                        coverage(lg, &sp->s_first, &sp->s_last, &any_s);
                sp->res = max64(sp->res, log_resolution(lg));
        }
        c->client_log = any_c;
        c->server_log = any_s;
        c->resolution_us = sp->res;
}

int timeline_split_whole(const struct timeline *tl, struct timeline_client *c, struct timeline_split *sp)
{
        int k = log_roles(c, tl->n_logs, &sp->roles);

        if (k == 0)
                whole_of(tl, c, sp);
        return k;
}

/* Splits the packets by their log's role, each end in time order. */
int timeline_split_by_role(const struct timeline *tl, struct timeline_client *c, struct timeline_split *sp, bool take)
{
        const struct timeline_packet *pk = c->pk;
        size_t n = c->n_pk;
        int k = timeline_split_whole(tl, c, sp);

        k = k < 0 ? k : split_room(c, sp->roles, take, sp);
        if (k < 0) {
                free(sp->roles);
                sp->roles = NULL;
                return k;
        }
        if (take)
                c->n_pk = 0;
        sp->nc = sp->ns = 0;
        for (size_t i = 0; i < n; i++) {
                const struct timeline_packet *p = &pk[i];
                uint8_t role = end_of(p, sp->roles);

                if (role == TIMELINE_ROLE_NONE)
                        continue; /* a line at odds with the rest of its log: counted in c->ignored */
                if (role == TIMELINE_ROLE_CLIENT)
                        sp->c[sp->nc++] = *p; /* with take, in place: sp->nc <= i */
                else
                        sp->s[sp->ns++] = *p;
        }
        if (take && sp->nc && sp->nc < n) { /* the server's share given back */
                struct timeline_packet *less = realloc(sp->c, sp->nc * sizeof(*sp->c));

                sp->c = less ? less : sp->c;
        }
        k = timeline_stable_sort(sp->c, sp->nc, sizeof(*sp->c), by_time, NULL);
        k = k < 0 ? k : timeline_stable_sort(sp->s, sp->ns, sizeof(*sp->s), by_time, NULL);
        return k;
}

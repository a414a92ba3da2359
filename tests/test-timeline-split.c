/* timeline-roles: a client's packets split by end come out in time order,
 * those of one time in the order they came (their order of arrival, which
 * the packets no longer carry: where they are among their client's says
 * it), whether the split copies them or takes them in place; with one end
 * spread over logs read out of order and stamps equal across logs. What
 * holds for the whole client (each log's end, the span each end's logs
 * cover, the coarsest stamps, lines at odds with their log) comes from
 * the counts made as lines are read: the same as from its packets, and
 * the same again when only a span of the packets is held. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report/timeline-internal.h"

#define S 1000000LL
#define T0 (1795600000LL * S)
#define LOGS 3
#define PER_LOG 300

struct ref {
        int64_t t_us;
        uint64_t arrival;
};

static int by_time_then_arrival(const void *a, const void *b)
{
        const struct ref *x = a, *y = b;

        if (x->t_us != y->t_us)
                return x->t_us < y->t_us ? -1 : 1;
        return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* A keepalive the server heard (log < LOGS) or the client sent (logs
 * LOGS, LOGS + 1), its counter the order in which it came. */
static void heard(struct timeline *tl, unsigned log, int64_t t, uint64_t arrival)
{
        struct logline l = { .kind = log < LOGS ? LOGLINE_RX : LOGLINE_TX, .t_us = (uint64_t)t };

        CHECK(message_init(&l.msg, MESSAGE_KEEPALIVE, "a", 1, 1, arrival) == 0);
        if (log < LOGS)
                CHECK(addr_from_string(&l.peer, "198.51.100.7", 40000) == 0);
        else
                l.peer_is_server = true;
        CHECK_INT(timeline_add(tl, log, &l), 0);
}

/* Three server logs read newest first, the other two interleaved, each in
 * its own time order, many stamps shared between logs; the client's end
 * in two logs, the later read first, with stamps shared too. */
static void feed(struct timeline *tl, struct ref *ref, size_t *n)
{
        static const unsigned order[LOGS] = { 2, 0, 1 };

        *n = 0;
        timeline_init(tl);
        for (unsigned j = 0; j < LOGS; j++) {
                unsigned g = order[j];

                for (unsigned i = 0; i < PER_LOG; i++) {
                        /* log 2 after the others; logs 0 and 1 on one clock, a tie every third */
                        int64_t t = T0 + (g == 2 ? 1000 * S : 0) + (int64_t)(i / 3) * S + (g == 1 && i % 3 ? 500000 : 0);

                        ref[*n] = (struct ref){ t, *n };
                        heard(tl, g, t, *n);
                        (*n)++;
                        if (i % 2 == 0) /* the client's own lines: log LOGS + 1 from 0 s, LOGS from 10 s */
                                heard(tl, LOGS + (j == 1), T0 + (j == 1 ? 0 : 10 * S) + (int64_t)i * S, 1000000 + *n);
                }
        }
        qsort(ref, *n, sizeof(*ref), by_time_then_arrival);
}

static void check_split(bool take)
{
        static struct ref ref[LOGS * PER_LOG];
        struct timeline tl;
        struct timeline_split sp = { .tl = &tl };
        struct timeline_client *c;
        size_t n;

        feed(&tl, ref, &n);
        CHECK_INT(tl.n_clients, 1);
        c = tl.clients[0];
        CHECK_INT(timeline_split_by_role(&tl, c, &sp, take), 0);
        CHECK_INT(sp.ns, n);
        CHECK_INT(sp.nc, LOGS * PER_LOG / 2);
        CHECK(take ? c->pk == NULL && c->n_pk == 0 : c->n_pk == n + sp.nc);
        for (size_t i = 0; i < sp.ns && i < n; i++)
                if (sp.s[i].ctr != ref[i].arrival || sp.s[i].t_us != ref[i].t_us) {
                        CHECK_INT(sp.s[i].ctr, ref[i].arrival);
                        break;
                }
        for (size_t i = 1; i < sp.nc; i++) {
                bool in_order = sp.c[i - 1].t_us < sp.c[i].t_us ||
                                (sp.c[i - 1].t_us == sp.c[i].t_us && sp.c[i - 1].ctr < sp.c[i].ctr);

                CHECK(in_order);
                if (!in_order)
                        break;
        }
        free(sp.c);
        free(sp.s);
        free(sp.roles);
        timeline_free(&tl);
}

/* A line of client "b": what an end sends or hears, at t in log `log`. */
static void line_b(struct timeline *tl, unsigned log, int64_t t, bool tx, enum message_type type, uint64_t hs)
{
        struct logline l = { .kind = tx ? LOGLINE_TX : LOGLINE_RX, .t_us = (uint64_t)t };

        CHECK(message_init(&l.msg, type, "b", 1, hs, 0) == 0);
        CHECK(addr_from_string(&l.peer, "198.51.100.8", 40001) == 0);
        CHECK_INT(timeline_add(tl, log, &l), 0);
}

/* The roles as they were found before the counts: by the majority of the
 * packets held, each a vote of the end it says its writer is. */
static uint8_t role_of_packets(const struct timeline_client *c, unsigned log)
{
        int64_t votes = 0;

        for (size_t i = 0; i < c->n_pk; i++)
                if (c->pk[i].log == log)
                        votes += timeline_packet_role(&c->pk[i]) == TIMELINE_ROLE_CLIENT ? 1 : -1;
        return votes > 0 ? TIMELINE_ROLE_CLIENT : votes < 0 ? TIMELINE_ROLE_SERVER : TIMELINE_ROLE_NONE;
}

/* Log 0 a server's (ms stamps) whose first hours look like a client's
 * (inits it sent, replies it heard: lines at odds with it); log 1 a
 * client's (s stamps); log 2 a tie (µs stamps), which says nothing. */
static void feed_b(struct timeline *tl)
{
        timeline_init(tl);
        for (int i = 0; i < 40; i++) /* at odds with the server's log, all early */
                line_b(tl, 0, T0 + i * S, true, MESSAGE_HANDSHAKE_INIT, (uint64_t)i + 1);
        for (int i = 0; i < 60; i++)
                line_b(tl, 0, T0 + 3600 * S + i * S, false, MESSAGE_KEEPALIVE, 1);
        for (int i = 0; i < 30; i++)
                line_b(tl, 1, T0 + 100 * S + i * S, true, MESSAGE_KEEPALIVE, 1);
        line_b(tl, 2, T0 + 7 * S + 123, true, MESSAGE_KEEPALIVE, 1);
        line_b(tl, 2, T0 + 7 * S + 456, false, MESSAGE_KEEPALIVE, 1);
}

static void check_whole(bool span)
{
        struct timeline tl;
        struct timeline_split sp = { .tl = &tl };
        struct timeline_client *c;
        size_t kept = 0;

        feed_b(&tl);
        CHECK_INT(tl.n_clients, 1);
        c = tl.clients[0];
        CHECK_INT(role_of_packets(c, 0), TIMELINE_ROLE_SERVER);
        CHECK_INT(role_of_packets(c, 1), TIMELINE_ROLE_CLIENT);
        CHECK_INT(role_of_packets(c, 2), TIMELINE_ROLE_NONE);
        if (span) /* the first hour alone: log 0 there looks like a client's */
                for (size_t i = 0; i < c->n_pk; i++)
                        if (c->pk[i].t_us < T0 + 3600 * S)
                                c->pk[kept++] = c->pk[i];
        c->n_pk = span ? kept : c->n_pk;
        CHECK(!span || role_of_packets(c, 0) == TIMELINE_ROLE_CLIENT);
        CHECK_INT(timeline_split_by_role(&tl, c, &sp, true), 0);
        CHECK_INT(sp.roles[0], TIMELINE_ROLE_SERVER);
        CHECK_INT(sp.roles[1], TIMELINE_ROLE_CLIENT);
        CHECK_INT(sp.roles[2], TIMELINE_ROLE_NONE);
        CHECK(c->client_log && c->server_log);
        CHECK_INT(sp.res, 1000000); /* log 1's; not log 2's, which keeps none */
        CHECK_INT(c->resolution_us, 1000000);
        CHECK(sp.s_first == tl.logs[0].first_us && sp.s_last == tl.logs[0].last_us);
        CHECK(sp.c_first == tl.logs[1].first_us && sp.c_last == tl.logs[1].last_us);
        CHECK_INT(sp.ns, span ? 0 : 60);
        CHECK_INT(sp.nc, 30);
        CHECK_INT(c->ignored, 42); /* log 0's early inits, log 2's two */
        free(sp.c);
        free(sp.s);
        free(sp.roles);
        timeline_free(&tl);
}

int main(void)
{
        check_split(false);
        check_split(true);
        check_whole(false);
        check_whole(true);
        return check_finish("timeline-split");
}

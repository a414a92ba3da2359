/* timeline: the entry points of the reconstruction behind `udp-canary
 * report` (see timeline.h): lines fed in (each log's never decreasing
 * clock, its stops, the clients by id in a keyed index), then per client
 * the steps of timeline-internal.h in turn, and the time down. No I/O:
 * lines in, results out. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

/* Steps back are carried on from up to a century in all; past that (a clock
 * reset to 1970, hostile stamps) the time just stands still. */
#define MAX_SHIFT_US (36525 * TIMELINE_DAY_US)

static const char *client_id(const void *entry, size_t *len)
{
        const struct timeline_client *c = entry;

        *len = c->id_len;
        return c->id;
}

void timeline_init(struct timeline *tl)
{
        memset(tl, 0, sizeof(*tl));
        index_init(&tl->ids, client_id);
}

static void client_free(struct timeline_client *c)
{
        free(c->pk);
        free(c->rtt_us);
        free(c->outages);
        free(c->rebinds);
        free(c);
}

void timeline_free(struct timeline *tl)
{
        for (size_t i = 0; i < tl->n_clients; i++)
                client_free(tl->clients[i]);
        free(tl->clients);
        index_free(&tl->ids);
        for (size_t i = 0; i < tl->n_logs; i++) {
                free(tl->logs[i].down);
                free(tl->logs[i].blind);
        }
        free(tl->logs);
        free(tl->probes);
        memset(tl, 0, sizeof(*tl));
}

const struct timeline_client *timeline_find(const struct timeline *tl, const char *id, size_t id_len)
{
        return index_find(&tl->ids, index_hash(&tl->ids, id, id_len), id, id_len);
}

/* The client of this id, made when new; NULL past the bound or without
 * memory. Unlike the server's table, the report never evicts. */
static struct timeline_client *client_get(struct timeline *tl, const struct message *m)
{
        uint64_t h = index_hash(&tl->ids, m->id, m->id_len);
        struct timeline_client *c = index_find(&tl->ids, h, m->id, m->id_len);

        if (c)
                return c;
        if (tl->n_clients >= TIMELINE_MAX_CLIENTS)
                return NULL;
        if (grow_array((void **)&tl->clients, &tl->cap_clients, tl->n_clients + 1,
                       sizeof(struct timeline_client *)) < 0)
                return NULL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        memcpy(c->id, m->id, m->id_len);
        c->id_len = m->id_len;
        if (index_add(&tl->ids, h, c) < 0) {
                free(c);
                return NULL;
        }
        tl->clients[tl->n_clients++] = c;
        return c;
}

static int log_get(struct timeline *tl, unsigned log, struct timeline_log **out)
{
        size_t n = (size_t)log + 1;

        if (log >= TIMELINE_MAX_LOGS)
                return -E2BIG;
        if (n > tl->n_logs) {
                if (grow_array((void **)&tl->logs, &tl->cap_logs, n, sizeof(*tl->logs)) < 0)
                        return -ENOMEM;
                memset(tl->logs + tl->n_logs, 0, (n - tl->n_logs) * sizeof(*tl->logs));
                tl->n_logs = n;
        }
        *out = &tl->logs[log];
        return 0;
}

/* The line's time on the log's own, never decreasing, clock. */
static int64_t log_time(struct timeline_log *lg, uint64_t raw_us)
{
        int64_t t = (int64_t)(raw_us > (uint64_t)INT64_MAX / 4 ? (uint64_t)INT64_MAX / 4 : raw_us);

        lg->stamps++;
        lg->stamps_ms += t % 1000 == 0;
        lg->stamps_s += t % 1000000 == 0;
        if (lg->any && t + lg->shift_us < lg->last_us) {
                lg->steps_back++;
                if (lg->last_us - t <= MAX_SHIFT_US)
                        lg->shift_us = lg->last_us - t; /* a step back: carry on from where the log was */
        }
        t = max64(t + lg->shift_us, lg->any ? lg->last_us : INT64_MIN);
        if (!lg->any)
                lg->first_us = t;
        lg->any = true;
        lg->last_us = t;
        return t;
}

/* A probe result, kept as its text; past the bound, dropped. */
static int add_probe(struct timeline *tl, unsigned log, int64_t t, const struct logline *l)
{
        struct timeline_probe *p;
        size_t n = l->text_len < TIMELINE_PROBE_TEXT - 1 ? l->text_len : TIMELINE_PROBE_TEXT - 1;

        if (tl->n_probes >= TIMELINE_MAX_PROBES)
                return 0;
        if (grow_array((void **)&tl->probes, &tl->cap_probes, tl->n_probes + 1, sizeof(*tl->probes)) < 0)
                return -ENOMEM;
        p = &tl->probes[tl->n_probes++];
        p->t_us = t;
        p->log = log;
        memcpy(p->verdict, l->text, n);
        p->verdict[n] = '\0';
        return 0;
}

int timeline_add(struct timeline *tl, unsigned log, const struct logline *l)
{
        struct timeline_log *lg;
        struct timeline_client *c;
        int64_t t, before;
        int k = log_get(tl, log, &lg);

        if (k < 0)
                return k;
        tl->lines++;
        before = lg->last_us;
        t = log_time(lg, l->t_us);
        if (l->kind == LOGLINE_LINES_LOST) { /* what its writer did since the line before is unknown */
                if (grow_array((void **)&lg->blind, &lg->cap_blind, lg->n_blind + 1, sizeof(*lg->blind)) < 0)
                        return -ENOMEM;
                lg->blind[lg->n_blind++] = (struct timeline_span){ lg->stamps > 1 ? before : t, t };
                lg->lines_lost += l->dropped;
        }
        if (lg->stopped) { /* it ran again: the time between, it did not */
                if (grow_array((void **)&lg->down, &lg->cap_down, lg->n_down + 1, sizeof(*lg->down)) < 0)
                        return -ENOMEM;
                lg->down[lg->n_down++].end_us = t;
        }
        lg->stopped = l->kind == LOGLINE_EXIT;
        if (lg->stopped) {
                if (grow_array((void **)&lg->down, &lg->cap_down, lg->n_down + 1, sizeof(*lg->down)) < 0)
                        return -ENOMEM;
                lg->down[lg->n_down] = (struct timeline_span){ t, t };
        }
        if (l->kind == LOGLINE_INVALID)
                tl->invalid++;
        if (l->kind == LOGLINE_SOCKET_DROPS)
                tl->socket_drops += l->dropped;
        if (l->kind == LOGLINE_INVALID_MORE)
                tl->invalid += l->dropped;
        if (l->kind == LOGLINE_NAT_TIMEOUT)
                return add_probe(tl, log, t, l);
        if (l->kind != LOGLINE_TX && l->kind != LOGLINE_RX)
                return 0;
        if (l->msg.type == MESSAGE_PROBE || l->msg.type == MESSAGE_PROBE_RESPONSE)
                return 0; /* probes travel on flows of their own, not the canary's */
        if (l->msg.type == MESSAGE_TRACE)
                return 0; /* a trace's copy that got through: no handshake, no keepalive */
        c = client_get(tl, &l->msg);
        if (!c) {
                tl->ignored_clients++;
                return tl->n_clients >= TIMELINE_MAX_CLIENTS ? 0 : -ENOMEM;
        }
        if (grow_array((void **)&c->pk, &c->cap_pk, c->n_pk + 1, sizeof(*c->pk)) < 0)
                return -ENOMEM;
        c->pk[c->n_pk++] = (struct timeline_packet){
                .t_us = t, .seq = tl->seq++, .hs = l->msg.data[0], .ctr = l->msg.data[1], .peer = l->peer,
                .log = log, .tx = l->kind == LOGLINE_TX, .type = (uint8_t)l->msg.type,
        };
        return 0;
}

static void counts(struct timeline_client *c, const struct timeline_split *sp)
{
        for (size_t i = 0; i < sp->nc; i++) {
                const struct timeline_packet *p = &sp->c[i];

                c->inits_sent += p->tx && p->type == MESSAGE_HANDSHAKE_INIT;
                c->answered += !p->tx && p->type == MESSAGE_HANDSHAKE_RESPONSE;
                c->keepalives.sent += p->tx && p->type == MESSAGE_KEEPALIVE;
        }
        for (size_t i = 0; i < sp->ns; i++) {
                const struct timeline_packet *p = &sp->s[i];

                c->inits_received += !p->tx && p->type == MESSAGE_HANDSHAKE_INIT;
                c->responses_sent += p->tx && p->type == MESSAGE_HANDSHAKE_RESPONSE;
                c->keepalives.received += !p->tx && p->type == MESSAGE_KEEPALIVE;
        }
        c->first_us = sp->nc ? sp->c[0].t_us : sp->ns ? sp->s[0].t_us : 0;
        c->last_us = sp->nc ? sp->c[sp->nc - 1].t_us : c->first_us;
        if (sp->ns) {
                c->first_us = sp->nc ? min64(c->first_us, sp->s[0].t_us) : sp->s[0].t_us;
                c->last_us = max64(c->last_us, sp->s[sp->ns - 1].t_us);
        }
}

/* How long after sending a message its receiver must have logged on before
 * its absence counts as loss. */
static int64_t grace(const struct timeline_client *c, int64_t res)
{
        int64_t p95 = c->n_rtt ? c->rtt_us[(c->n_rtt - 1) * 95 / 100] : 0;

        return min64(max64(2 * p95, 50000) + 2 * res, 5000000);
}

static int finish_client(const struct timeline *tl, struct timeline_client *c, const struct timeline_opts *o)
{
        struct timeline_split sp = { .tl = tl };
        int k = timeline_split_by_role(tl, c, &sp);

        k = k < 0 ? k : timeline_learn_timers(c, &sp, o);
        k = k < 0 || !(sp.nc && sp.ns) ? k : timeline_clock_offset(c, &sp);
        if (k < 0)
                goto out;
        sp.off = c->offset_known ? c->offset_us : 0;
        timeline_correct_server(c, &sp);
        counts(c, &sp);
        k = timeline_round_trips(c, &sp);
        sp.grace = grace(c, sp.res);
        if (sp.nc && sp.ns)
                c->keepalives.known = true;
        k = k < 0 ? k : timeline_reconstruct(c, &sp, c->last_us);
        k = k < 0 ? k : timeline_rebindings(c, &sp);
        if (k == 0)
                timeline_mark_stopped(tl, c, &sp);
        if (k == 0)
                timeline_mark_log_lost(c, &sp);
        for (size_t i = 0; i < c->n_outages; i++)
                c->last_us = max64(c->last_us, c->outages[i].end_us);
out:
        free(sp.c);
        free(sp.s);
        free(sp.by_client.v);
        free(sp.by_server.v);
        free(sp.roles);
        return k;
}

int timeline_finish(struct timeline *tl, const struct timeline_opts *o)
{
        int k = 0;

        /* a log that ends with "Exit": its writer was down from there on */
        for (size_t i = 0; i < tl->n_logs; i++) {
                struct timeline_log *lg = &tl->logs[i];

                if (lg->stopped) {
                        lg->down[lg->n_down++].end_us = INT64_MAX;
                        lg->stopped = false;
                }
        }
        for (size_t i = 0; i < tl->n_clients && k == 0; i++)
                k = finish_client(tl, tl->clients[i], o);
        return k;
}

int64_t timeline_down_us(const struct timeline_client *c, int64_t from_us, int64_t to_us)
{
        int64_t down = 0, covered = from_us;
        size_t lo = 0, hi = c->n_outages;

        /* outages are sorted and disjoint: the first ending after from_us, on */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (c->outages[mid].end_us <= from_us)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (size_t i = lo; i < c->n_outages && c->outages[i].start_us < to_us; i++) {
                int64_t s = max64(c->outages[i].start_us, covered), e = min64(c->outages[i].end_us, to_us);

                if (e > s && !c->outages[i].log_lost) {
                        down += e - s;
                        covered = e;
                }
        }
        return down;
}

double timeline_availability(const struct timeline_client *c)
{
        int64_t period = c->last_us - c->first_us, down;

        if (period <= 0)
                return 1.0;
        down = timeline_down_us(c, c->first_us, c->last_us);
        return down >= period ? 0.0 : 1.0 - (double)down / (double)period;
}

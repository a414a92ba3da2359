/* timeline: reconstructing what happened to each client's flow from its
 * packet lines (see timeline.h). No I/O: lines in, results out.
 *
 * The rule for an outage: at least two messages in a row lost in one
 * direction. A single lost message is loss (counted in delivery), since one
 * loss cannot tell a broken NAT from a random drop. */
#include "report/timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/client.h"

#define MIN_RUN 2 /* lost messages in a row that make an outage */
#define DAY_US (86400 * (int64_t)1000000)
/* Steps back are carried on from up to a century in all; past that (a clock
 * reset to 1970, hostile stamps) the time just stands still. */
#define MAX_SHIFT_US (36525 * DAY_US)

/* A message as a key: (type, handshake id, counter) is unique per client. */
struct key {
        uint64_t hs, ctr;
        int64_t t_us;
        uint8_t type;
};

/* What became of one message of a direction, in time order. */
struct outcome {
        int64_t t_us;
        uint64_t n; /* messages it stands for: inferred runs are kept as two */
        uint8_t delivered;
        uint8_t boundary; /* nothing can be said across it (a restart) */
};

struct olist {
        struct outcome *v;
        size_t n, cap;
};

struct outages {
        struct timeline_outage *v;
        size_t n, cap;
};

/* The client's and server's packets apart, and what holds across analyses. */
struct split {
        struct timeline_packet *c, *s;
        size_t nc, ns;
        int64_t c_first, c_last, s_first, s_last; /* coverage of each end's logs */
        int64_t res, grace;
        struct outages by_client, by_server;
        uint8_t *roles; /* per log */
        const struct timeline *tl;
        int64_t off;    /* the server's clock minus the client's, once known */
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
        size_t ncap;
        void *p;

        if (n < *cap)
                return 0;
        ncap = *cap ? *cap * 2 : 16;
        if (ncap > SIZE_MAX / size)
                return -ENOMEM;
        p = realloc(*arr, ncap * size);
        if (!p)
                return -ENOMEM;
        *arr = p;
        *cap = ncap;
        return 0;
}

static int olist_push(struct olist *l, int64_t t_us, bool delivered, bool boundary)
{
        if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
                return -ENOMEM;
        l->v[l->n++] = (struct outcome){ t_us, 1, delivered, boundary };
        return 0;
}

static int outages_push(struct outages *l, const struct timeline_outage *o)
{
        if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
                return -ENOMEM;
        l->v[l->n++] = *o;
        return 0;
}

static int64_t max64(int64_t a, int64_t b)
{
        return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
        return a < b ? a : b;
}

/* --- feeding --- */

void timeline_init(struct timeline *tl)
{
        memset(tl, 0, sizeof(*tl));
        randombytes_buf(tl->hash_key, sizeof(tl->hash_key));
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
        free(tl->index);
        for (size_t i = 0; i < tl->n_logs; i++) {
                free(tl->logs[i].down);
                free(tl->logs[i].blind);
        }
        free(tl->logs);
        free(tl->probes);
        memset(tl, 0, sizeof(*tl));
}

static size_t id_slot(const struct timeline *tl, const char *id, size_t id_len)
{
        uint64_t h;

        crypto_shorthash((unsigned char *)&h, (const unsigned char *)id, id_len, tl->hash_key);
        return (size_t)h & (tl->index_cap - 1);
}

/* The index slot of id: its entry, or the empty slot where it would go. */
static size_t index_probe(const struct timeline *tl, const char *id, size_t id_len)
{
        size_t i = id_slot(tl, id, id_len);

        for (;;) {
                const struct timeline_client *c;

                if (!tl->index[i])
                        return i;
                c = tl->clients[tl->index[i] - 1];
                if (c->id_len == id_len && memcmp(c->id, id, id_len) == 0)
                        return i;
                i = (i + 1) & (tl->index_cap - 1);
        }
}

/* Room for one more client at a load under 3/4, so probes stay short. */
static int index_reserve(struct timeline *tl)
{
        size_t cap = tl->index_cap ? tl->index_cap : 64;
        uint32_t *old = tl->index;

        if ((tl->n_clients + 1) * 4 <= tl->index_cap * 3)
                return 0;
        while ((tl->n_clients + 1) * 4 > cap * 3)
                cap *= 2;
        tl->index = calloc(cap, sizeof(*tl->index));
        if (!tl->index) {
                tl->index = old;
                return -ENOMEM;
        }
        free(old);
        tl->index_cap = cap;
        for (size_t n = 0; n < tl->n_clients; n++)
                tl->index[index_probe(tl, tl->clients[n]->id, tl->clients[n]->id_len)] = (uint32_t)(n + 1);
        return 0;
}

const struct timeline_client *timeline_find(const struct timeline *tl, const char *id, size_t id_len)
{
        size_t i;

        if (!tl->index_cap)
                return NULL;
        i = index_probe(tl, id, id_len);
        return tl->index[i] ? tl->clients[tl->index[i] - 1] : NULL;
}

/* The client of this id, made when new; NULL past the bound or without memory. */
static struct timeline_client *client_get(struct timeline *tl, const struct message *m)
{
        struct timeline_client *c = (struct timeline_client *)timeline_find(tl, m->id, m->id_len);

        if (c)
                return c;
        if (tl->n_clients >= TIMELINE_MAX_CLIENTS || index_reserve(tl) < 0 ||
            grow((void **)&tl->clients, &tl->cap_clients, tl->n_clients, sizeof(*tl->clients)) < 0)
                return NULL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        memcpy(c->id, m->id, m->id_len);
        c->id_len = m->id_len;
        tl->clients[tl->n_clients++] = c;
        tl->index[index_probe(tl, c->id, c->id_len)] = (uint32_t)tl->n_clients;
        return c;
}

static int log_get(struct timeline *tl, unsigned log, struct timeline_log **out)
{
        size_t n = (size_t)log + 1;

        if (log >= TIMELINE_MAX_LOGS)
                return -E2BIG;
        if (n > tl->n_logs) {
                struct timeline_log *p = realloc(tl->logs, n * sizeof(*p));

                if (!p)
                        return -ENOMEM;
                memset(p + tl->n_logs, 0, (n - tl->n_logs) * sizeof(*p));
                tl->logs = p;
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
static int add_probe(struct timeline *tl, int64_t t, const struct logline *l)
{
        struct timeline_probe *p;
        size_t n = l->text_len < TIMELINE_PROBE_TEXT - 1 ? l->text_len : TIMELINE_PROBE_TEXT - 1;

        if (tl->n_probes >= TIMELINE_MAX_PROBES)
                return 0;
        if (grow((void **)&tl->probes, &tl->cap_probes, tl->n_probes, sizeof(*tl->probes)) < 0)
                return -ENOMEM;
        p = &tl->probes[tl->n_probes++];
        p->t_us = t;
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
                if (grow((void **)&lg->blind, &lg->cap_blind, lg->n_blind, sizeof(*lg->blind)) < 0)
                        return -ENOMEM;
                lg->blind[lg->n_blind++] = (struct timeline_span){ lg->stamps > 1 ? before : t, t };
                lg->lines_lost += l->dropped;
        }
        if (lg->stopped) { /* it ran again: the time between, it did not */
                if (grow((void **)&lg->down, &lg->cap_down, lg->n_down, sizeof(*lg->down)) < 0)
                        return -ENOMEM;
                lg->down[lg->n_down++].end_us = t;
        }
        lg->stopped = l->kind == LOGLINE_EXIT;
        if (lg->stopped) {
                if (grow((void **)&lg->down, &lg->cap_down, lg->n_down, sizeof(*lg->down)) < 0)
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
                return add_probe(tl, t, l);
        if (l->kind != LOGLINE_TX && l->kind != LOGLINE_RX)
                return 0;
        if (l->msg.type == MESSAGE_PROBE || l->msg.type == MESSAGE_PROBE_RESPONSE)
                return 0; /* probes travel on flows of their own, not the canary's */
        c = client_get(tl, &l->msg);
        if (!c) {
                tl->ignored_clients++;
                return tl->n_clients >= TIMELINE_MAX_CLIENTS ? 0 : -ENOMEM;
        }
        if (grow((void **)&c->pk, &c->cap_pk, c->n_pk, sizeof(*c->pk)) < 0)
                return -ENOMEM;
        c->pk[c->n_pk++] = (struct timeline_packet){
                .t_us = t, .seq = tl->seq++, .hs = l->msg.data[0], .ctr = l->msg.data[1], .peer = l->peer,
                .log = log, .tx = l->kind == LOGLINE_TX, .type = (uint8_t)l->msg.type,
        };
        return 0;
}

/* --- roles --- */

/* What a line says of its writer: a client sends inits and keepalives and
 * receives responses; a server the reverse. */
static enum timeline_role packet_role(const struct timeline_packet *p)
{
        bool from_client = p->type != MESSAGE_HANDSHAKE_RESPONSE;

        return from_client == (bool)p->tx ? TIMELINE_ROLE_CLIENT : TIMELINE_ROLE_SERVER;
}

static int by_time(const void *a, const void *b)
{
        const struct timeline_packet *x = a, *y = b;

        if (x->t_us != y->t_us)
                return x->t_us < y->t_us ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Each log's role for this client, by majority of its lines; a tie says nothing. */
static int log_roles(const struct timeline_client *c, size_t n_logs, uint8_t **roles)
{
        int64_t *votes = calloc(n_logs ? n_logs : 1, sizeof(*votes));
        uint8_t *r = calloc(n_logs ? n_logs : 1, 1);
        int k = -ENOMEM;

        if (!votes || !r)
                goto out;
        for (size_t i = 0; i < c->n_pk; i++)
                votes[c->pk[i].log] += packet_role(&c->pk[i]) == TIMELINE_ROLE_CLIENT ? 1 : -1;
        for (size_t i = 0; i < n_logs; i++)
                r[i] = votes[i] > 0 ? TIMELINE_ROLE_CLIENT : votes[i] < 0 ? TIMELINE_ROLE_SERVER : TIMELINE_ROLE_NONE;
        *roles = r;
        r = NULL;
        k = 0;
out:
        free(votes);
        free(r);
        return k;
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

/* Splits the packets by their log's role, each end in time order. */
static int split_by_role(const struct timeline *tl, struct timeline_client *c, struct split *sp)
{
        uint8_t *roles = NULL;
        bool any_c = false, any_s = false;
        int k = log_roles(c, tl->n_logs, &roles);

        if (k < 0)
                return k;
        sp->c = malloc((c->n_pk ? c->n_pk : 1) * sizeof(*sp->c));
        sp->s = malloc((c->n_pk ? c->n_pk : 1) * sizeof(*sp->s));
        if (!sp->c || !sp->s) {
                free(roles);
                return -ENOMEM;
        }
        sp->res = 1;
        for (size_t i = 0; i < c->n_pk; i++) {
                const struct timeline_packet *p = &c->pk[i];
                uint8_t role = roles[p->log];
                const struct timeline_log *lg = &tl->logs[p->log];

                if (role == TIMELINE_ROLE_NONE || packet_role(p) != role) {
                        c->ignored++; /* a line at odds with the rest of its log */
                        continue;
                }
                if (role == TIMELINE_ROLE_CLIENT) {
                        sp->c[sp->nc++] = *p;
                        coverage(lg, &sp->c_first, &sp->c_last, &any_c);
                } else {
                        sp->s[sp->ns++] = *p;
                        coverage(lg, &sp->s_first, &sp->s_last, &any_s);
                }
                sp->res = max64(sp->res, log_resolution(lg));
        }
        sp->roles = roles;
        if (sp->nc)
                qsort(sp->c, sp->nc, sizeof(*sp->c), by_time);
        if (sp->ns)
                qsort(sp->s, sp->ns, sizeof(*sp->s), by_time);
        c->client_log = sp->nc > 0;
        c->server_log = sp->ns > 0;
        c->resolution_us = sp->res;
        return 0;
}

/* --- keys --- */

static int by_key(const void *a, const void *b)
{
        const struct key *x = a, *y = b;

        if (x->type != y->type)
                return x->type < y->type ? -1 : 1;
        if (x->hs != y->hs)
                return x->hs < y->hs ? -1 : 1;
        if (x->ctr != y->ctr)
                return x->ctr < y->ctr ? -1 : 1;
        return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

/* The messages of one end that it sent (tx) or received, sorted by key. */
static int keys_of(const struct timeline_packet *p, size_t n, bool tx, struct key **out, size_t *n_out)
{
        struct key *k = malloc((n ? n : 1) * sizeof(*k));
        size_t m = 0;

        if (!k)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if ((bool)p[i].tx == tx)
                        k[m++] = (struct key){ p[i].hs, p[i].ctr, p[i].t_us, p[i].type };
        if (m)
                qsort(k, m, sizeof(*k), by_key);
        *out = k;
        *n_out = m;
        return 0;
}

/* The earliest of this message in keys, or NULL. */
static const struct key *key_find(const struct key *k, size_t n, uint8_t type, uint64_t hs, uint64_t ctr)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct key *x = &k[mid];
                bool less = x->type != type ? x->type < type : x->hs != hs ? x->hs < hs : x->ctr < ctr;

                if (less)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && k[lo].type == type && k[lo].hs == hs && k[lo].ctr == ctr ? &k[lo] : NULL;
}

/* --- timers --- */

static int by_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return x < y ? -1 : x > y;
}

/* The median of v (sorted in place), or 0 for none. */
static int64_t median(int64_t *v, size_t n)
{
        if (n == 0)
                return 0;
        qsort(v, n, sizeof(*v), by_i64);
        return v[n / 2];
}

/* The spacing of keepalives (k, k+1 of one handshake), their highest counter. */
static int learn_keepalive(const struct timeline_packet *p, size_t n, bool tx, int64_t *ki, uint64_t *count)
{
        int64_t *d = malloc((n ? n : 1) * sizeof(*d));
        const struct timeline_packet *prev = NULL;
        size_t m = 0;

        if (!d)
                return -ENOMEM;
        *count = 0;
        for (size_t i = 0; i < n; i++) {
                if (p[i].type != MESSAGE_KEEPALIVE || (bool)p[i].tx != tx)
                        continue;
                if (prev && prev->hs == p[i].hs && prev->ctr + 1 == p[i].ctr)
                        d[m++] = p[i].t_us - prev->t_us;
                if (p[i].ctr > *count && p[i].ctr <= TIMELINE_MAX_KEEPALIVE_COUNT)
                        *count = p[i].ctr;
                prev = &p[i];
        }
        *ki = m >= 2 ? median(d, m) : 0;
        if (*ki > DAY_US)
                *ki = 0; /* no client keeps a flow alive so slowly: not a timer */
        free(d);
        return 0;
}

/* The spacing of retries: init h then h+1 with nothing from the other end
 * between (a client's log), or nothing of h between (a server's), sooner
 * than a keepalive cycle. */
static int learn_retry(const struct timeline_packet *p, size_t n, bool client_end, int64_t cycle, int64_t *ht)
{
        int64_t *d = malloc((n ? n : 1) * sizeof(*d));
        const struct timeline_packet *init = NULL;
        size_t m = 0;

        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool is_init = p[i].type == MESSAGE_HANDSHAKE_INIT && (bool)p[i].tx == client_end;

                if (is_init) {
                        int64_t g = init ? p[i].t_us - init->t_us : 0;

                        if (init && init->hs + 1 == p[i].hs && g > 0 && (client_end || g * 10 < cycle * 6))
                                d[m++] = g;
                        init = &p[i];
                } else if (client_end ? !p[i].tx : p[i].type == MESSAGE_KEEPALIVE) {
                        init = NULL; /* answered (client) or it went on (server) */
                }
        }
        *ht = median(d, m);
        if (*ht > DAY_US)
                *ht = 0;
        free(d);
        return 0;
}

static int learn_timers(struct timeline_client *c, const struct split *sp, const struct timeline_opts *o)
{
        const struct timeline_packet *p = sp->nc ? sp->c : sp->s;
        size_t n = sp->nc ? sp->nc : sp->ns;
        int64_t ki = 0, ht = 0, cycle;
        uint64_t count = 0;
        int k = learn_keepalive(p, n, sp->nc > 0, &ki, &count);

        if (k < 0)
                return k;
        c->keepalive_count = o->keepalive_count ? o->keepalive_count
                             : count >= 1       ? (unsigned)count
                                                : CLIENT_DEFAULT_KEEPALIVE_COUNT;
        c->keepalive_learned = !o->keepalive_us && ki > 0;
        c->keepalive_us = o->keepalive_us ? o->keepalive_us
                          : ki > 0        ? (uint64_t)ki
                                          : CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US;
        cycle = (int64_t)(c->keepalive_us * (c->keepalive_count > 1 ? c->keepalive_count - 1 : 1));
        k = learn_retry(p, n, sp->nc > 0, cycle, &ht);
        if (k < 0)
                return k;
        c->handshake_timeout_learned = !o->handshake_timeout_us && ht > 0;
        c->handshake_timeout_us = o->handshake_timeout_us ? o->handshake_timeout_us
                                  : ht > 0                 ? (uint64_t)ht
                                                           : CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        return 0;
}

/* --- the clocks --- */

struct pair {
        int64_t delay, offset;
};

static int by_delay(const void *a, const void *b)
{
        const struct pair *x = a, *y = b;

        return x->delay < y->delay ? -1 : x->delay > y->delay;
}

/* NTP's way: per answered handshake, offset = ((t2 - t1) + (t3 - t4)) / 2
 * and delay = (t4 - t1) - (t3 - t2); the median offset of the quarter with
 * the shortest delays, where the paths are most alike. */
static int clock_offset(struct timeline_client *c, const struct split *sp)
{
        struct key *ctx = NULL, *crx = NULL, *srx = NULL, *stx = NULL;
        size_t nctx, ncrx, nsrx, nstx, np = 0;
        struct pair *pairs = NULL;
        int64_t *offsets = NULL;
        int k = keys_of(sp->c, sp->nc, true, &ctx, &nctx);

        k = k < 0 ? k : keys_of(sp->c, sp->nc, false, &crx, &ncrx);
        k = k < 0 ? k : keys_of(sp->s, sp->ns, false, &srx, &nsrx);
        k = k < 0 ? k : keys_of(sp->s, sp->ns, true, &stx, &nstx);
        if (k < 0 || !(pairs = malloc((ncrx ? ncrx : 1) * sizeof(*pairs))) ||
            !(offsets = malloc((ncrx ? ncrx : 1) * sizeof(*offsets)))) {
                k = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < ncrx; i++) {
                const struct key *t4 = &crx[i], *t1, *t2, *t3;

                if (t4->type != MESSAGE_HANDSHAKE_RESPONSE ||
                    !(t1 = key_find(ctx, nctx, MESSAGE_HANDSHAKE_INIT, t4->hs, t4->ctr)) ||
                    !(t2 = key_find(srx, nsrx, MESSAGE_HANDSHAKE_INIT, t4->hs, t4->ctr)) ||
                    !(t3 = key_find(stx, nstx, MESSAGE_HANDSHAKE_RESPONSE, t4->hs, t4->ctr)))
                        continue;
                if (t4->t_us < t1->t_us || t3->t_us < t2->t_us)
                        continue;
                pairs[np++] = (struct pair){ (t4->t_us - t1->t_us) - (t3->t_us - t2->t_us),
                                             ((t2->t_us - t1->t_us) + (t3->t_us - t4->t_us)) / 2 };
        }
        c->offset_pairs = np;
        if (np) {
                size_t best = np / 4 + 1;

                qsort(pairs, np, sizeof(*pairs), by_delay);
                for (size_t i = 0; i < best; i++)
                        offsets[i] = pairs[i].offset;
                c->offset_us = median(offsets, best);
                c->offset_known = true;
        }
out:
        free(ctx);
        free(crx);
        free(srx);
        free(stx);
        free(pairs);
        free(offsets);
        return k;
}

/* Puts the server's times on the client's clock. */
static void correct_server(struct timeline_client *c, struct split *sp)
{
        if (!c->offset_known)
                return;
        for (size_t i = 0; i < sp->ns; i++)
                sp->s[i].t_us -= c->offset_us;
        sp->s_first -= c->offset_us;
        sp->s_last -= c->offset_us;
}

/* --- round trips --- */

static int round_trips(struct timeline_client *c, const struct split *sp)
{
        struct key *tx = NULL;
        size_t ntx;
        int k = keys_of(sp->c, sp->nc, true, &tx, &ntx);

        if (k < 0)
                return k;
        c->rtt_us = malloc((sp->nc ? sp->nc : 1) * sizeof(*c->rtt_us));
        if (!c->rtt_us) {
                free(tx);
                return -ENOMEM;
        }
        for (size_t i = 0; i < sp->nc; i++) {
                const struct timeline_packet *p = &sp->c[i];
                const struct key *init;

                if (p->tx || p->type != MESSAGE_HANDSHAKE_RESPONSE)
                        continue;
                init = key_find(tx, ntx, MESSAGE_HANDSHAKE_INIT, p->hs, p->ctr);
                if (init)
                        c->rtt_us[c->n_rtt++] = max64(0, p->t_us - init->t_us);
        }
        if (c->n_rtt)
                qsort(c->rtt_us, c->n_rtt, sizeof(*c->rtt_us), by_i64);
        free(tx);
        return 0;
}

/* --- outages from runs of lost messages --- */

struct run {
        bool have_p;
        int64_t p, l1, ln;
        uint64_t lost;
};

/* An outage from a run: the best estimate halfway between the last message
 * through and the first lost (and likewise at the end); slack widens the
 * bounds where the times of lost messages are inferred, not logged. */
static int run_emit(struct outages *out, const struct run *r, bool have_n, int64_t n, bool ongoing,
                    enum timeline_direction dir, int64_t res, int64_t slack, int64_t tail)
{
        struct timeline_outage o = {
                .start_min_us = r->p - res, .start_max_us = r->l1 + res + slack,
                .end_min_us = r->ln - res - slack, .end_max_us = n + res,
                .start_min_known = r->have_p, .end_max_known = have_n,
                .ongoing = ongoing, .direction = dir, .lost = r->lost,
        };

        if (r->lost < MIN_RUN)
                return 0;
        o.start_us = r->have_p ? r->p + (r->l1 - r->p) / 2 : r->l1;
        o.end_us = have_n ? r->ln + (n - r->ln) / 2 : ongoing ? max64(r->ln, tail) : r->ln;
        if (o.end_min_us < o.start_max_us) /* a run shorter than the slack */
                o.end_min_us = o.start_max_us = o.start_us + (o.end_us - o.start_us) / 2;
        if (!r->have_p)
                o.start_min_us = min64(o.start_us, o.start_max_us);
        if (!have_n)
                o.end_max_us = max64(o.end_us, o.end_min_us);
        return outages_push(out, &o);
}

static int runs(struct outages *out, const struct olist *l, enum timeline_direction dir, int64_t res, int64_t slack,
                int64_t tail)
{
        struct run r = { 0 };
        int k = 0;

        for (size_t i = 0; i < l->n && k == 0; i++) {
                const struct outcome *o = &l->v[i];

                if (o->boundary) {
                        k = run_emit(out, &r, false, 0, false, dir, res, slack, tail);
                        r = (struct run){ 0 };
                } else if (o->delivered) {
                        k = run_emit(out, &r, true, o->t_us, false, dir, res, slack, tail);
                        r = (struct run){ .have_p = true, .p = o->t_us };
                } else {
                        if (r.lost == 0)
                                r.l1 = o->t_us;
                        r.lost += o->n;
                        r.ln = o->t_us;
                }
        }
        return k < 0 ? k : run_emit(out, &r, false, 0, true, dir, res, slack, tail);
}

static int by_outcome_time(const void *a, const void *b)
{
        const struct outcome *x = a, *y = b;

        return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

/* --- both logs: every message matched to its receipt --- */

/* Whether a log of the role lost lines around t (the client's clock):
 * within grace of a span where its output lost them. */
static bool blind_at(const struct split *sp, enum timeline_role role, int64_t t)
{
        int64_t off = role == TIMELINE_ROLE_SERVER ? sp->off : 0;

        for (size_t g = 0; sp->tl && g < sp->tl->n_logs; g++) {
                const struct timeline_log *lg = &sp->tl->logs[g];

                for (size_t i = 0; sp->roles[g] == role && i < lg->n_blind; i++)
                        if (t + sp->grace >= lg->blind[i].start_us - off && t - sp->grace <= lg->blind[i].end_us - off)
                                return true;
        }
        return false;
}

/* Whether the receiving end's log covers a message sent at t. */
static bool judged(int64_t t, int64_t first, int64_t last, int64_t grace)
{
        return t >= first && t <= last - grace;
}

static int match_direction(struct timeline_client *c, const struct split *sp, enum timeline_dir d,
                           struct olist *out)
{
        bool c2s = d == TIMELINE_C2S;
        const struct timeline_packet *snd = c2s ? sp->c : sp->s;
        size_t nsnd = c2s ? sp->nc : sp->ns;
        struct key *rcv = NULL;
        size_t nrcv;
        struct timeline_count *cnt = &c->delivery[d];
        int k = keys_of(c2s ? sp->s : sp->c, c2s ? sp->ns : sp->nc, false, &rcv, &nrcv);

        cnt->known = true;
        for (size_t i = 0; i < nsnd && k == 0; i++) {
                const struct timeline_packet *p = &snd[i];
                bool got;

                if (!p->tx || !judged(p->t_us, c2s ? sp->s_first : sp->c_first, c2s ? sp->s_last : sp->c_last,
                                      sp->grace))
                        continue;
                /* the receiver's log lost lines then: neither received nor lost */
                if (blind_at(sp, c2s ? TIMELINE_ROLE_SERVER : TIMELINE_ROLE_CLIENT, p->t_us))
                        continue;
                got = key_find(rcv, nrcv, p->type, p->hs, p->ctr) != NULL;
                cnt->sent++;
                cnt->received += got;
                cnt->lost += !got;
                if (p->type == MESSAGE_KEEPALIVE)
                        c->keepalives.lost += !got;
                k = olist_push(out, p->t_us, got, false);
        }
        free(rcv);
        return k;
}

/* --- a client's log alone: its handshakes, answered or not --- */

static int client_view(const struct split *sp, struct olist *out)
{
        struct key *rx = NULL;
        size_t nrx;
        uint64_t last_hs = 0;
        int k = keys_of(sp->c, sp->nc, false, &rx, &nrx);

        for (size_t i = 0; i < sp->nc && k == 0; i++) {
                const struct timeline_packet *p = &sp->c[i];
                const struct key *ans;

                if (!p->tx || p->type != MESSAGE_HANDSHAKE_INIT)
                        continue;
                if (last_hs && p->hs != last_hs + 1)
                        k = olist_push(out, p->t_us, false, true); /* a restart: a new run of ids */
                last_hs = p->hs;
                ans = key_find(rx, nrx, MESSAGE_HANDSHAKE_RESPONSE, p->hs, p->ctr);
                if (k == 0 && (ans || p->t_us <= sp->c_last - sp->grace))
                        k = olist_push(out, ans ? ans->t_us : p->t_us, ans != NULL, false);
        }
        free(rx);
        if (k == 0 && out->n)
                qsort(out->v, out->n, sizeof(*out->v), by_outcome_time);
        return k;
}

/* --- a server's log alone: gaps in what it heard, and retries --- */

struct server_walk {
        const struct timeline_client *c;
        struct olist *c2s, *s2c;
        bool have_p, resp_pending;
        struct timeline_packet p;   /* the last fresh message heard */
        uint64_t resp_hs, lost_keepalives;
        int64_t resp_t;
};

/* n lost c2s messages at schedule times from `from` on, kept inside (from,
 * to): the first and the last, the last standing for all but the first, so
 * a hostile gap costs no memory. */
static int infer_lost(struct server_walk *w, int64_t from, int64_t to, uint64_t n, int64_t step0, int64_t step)
{
        int64_t first = from + step0, last = first + (int64_t)(n > 1 ? n - 1 : 0) * step;
        int k;

        if (n == 0)
                return 0;
        k = olist_push(w->c2s, min64(max64(first, from + 1), to - 1), false, false);
        if (k == 0 && n > 1) {
                k = olist_push(w->c2s, min64(max64(last, from + 1), to - 1), false, false);
                if (k == 0)
                        w->c2s->v[w->c2s->n - 1].n = n - 1;
        }
        return k;
}

static int settle_response(struct server_walk *w, bool delivered)
{
        if (!w->resp_pending)
                return 0;
        w->resp_pending = false;
        return olist_push(w->s2c, w->resp_t, delivered, false);
}

/* From the last message heard, p, to the init h now heard at t. */
static int gap_to_init(struct server_walk *w, uint64_t h, int64_t t)
{
        const struct timeline_client *c = w->c;
        int64_t ki = (int64_t)c->keepalive_us, ht = (int64_t)c->handshake_timeout_us, g = t - w->p.t_us;
        uint64_t K = c->keepalive_count, inits = h - w->p.hs - 1, kas;
        int64_t cycle_left, retry;
        int k;

        if (w->p.type == MESSAGE_KEEPALIVE) {
                kas = K > w->p.ctr ? K - w->p.ctr : 0;
                cycle_left = (int64_t)kas * ki;
                if (ht <= 0 || inits > (uint64_t)((2 * g + 2 * ht) / ht))
                        return 1; /* the schedule cannot fit: the client restarted */
                k = infer_lost(w, w->p.t_us, t, kas, ki, ki);
                return k < 0 ? k : infer_lost(w, w->p.t_us, t, inits, cycle_left, ht);
        }
        /* p is init h0: was its answer lost (a retry) or its keepalives? */
        if (ht <= 0 || inits > (uint64_t)((2 * g + 2 * ht) / ht))
                return 1;
        retry = (int64_t)(inits + 1) * ht;
        cycle_left = (int64_t)(K > 1 ? K - 1 : 0) * ki + (int64_t)inits * ht;
        if (min64(retry, cycle_left) > 2 * g + 2 * ht)
                return 1;
        if (w->resp_pending && w->resp_hs == w->p.hs && llabs(g - retry) <= llabs(g - cycle_left)) {
                k = settle_response(w, false);
                return k < 0 ? k : infer_lost(w, w->p.t_us, t, inits, ht, ht);
        }
        k = settle_response(w, true);
        w->lost_keepalives += K;
        k = k < 0 ? k : infer_lost(w, w->p.t_us, t, K, 0, ki);
        return k < 0 ? k : infer_lost(w, w->p.t_us, t, inits, (int64_t)(K > 1 ? K - 1 : 0) * ki, ht);
}

/* From p to the keepalive (h, ctr) now heard at t. */
static int gap_to_keepalive(struct server_walk *w, uint64_t h, uint64_t ctr, int64_t t)
{
        int64_t ki = (int64_t)w->c->keepalive_us;
        uint64_t from = w->p.type == MESSAGE_KEEPALIVE ? w->p.ctr : 0;
        int k;

        if (h != w->p.hs || ctr > TIMELINE_MAX_KEEPALIVE_COUNT)
                return 1; /* its init never heard, yet answered, or no counter of ours */
        k = w->p.type == MESSAGE_HANDSHAKE_INIT ? settle_response(w, true) : 0;
        if (ctr > from + 1) {
                w->lost_keepalives += ctr - from - 1;
                k = k < 0 ? k : infer_lost(w, w->p.t_us, t, ctr - from - 1, from ? ki : 0, ki);
        }
        return k;
}

/* Whether m is newer than the last fresh message (else a replay or a copy). */
static bool fresh(const struct server_walk *w, const struct timeline_packet *m, uint64_t max_init)
{
        if (m->type == MESSAGE_HANDSHAKE_INIT)
                return m->hs > max_init;
        return !w->have_p || m->hs > w->p.hs ||
               (m->hs == w->p.hs && (w->p.type == MESSAGE_HANDSHAKE_INIT || m->ctr > w->p.ctr));
}

static int server_heard(struct server_walk *w, const struct timeline_packet *m)
{
        int k = 0;

        if (w->have_p) {
                if (m->type == MESSAGE_HANDSHAKE_INIT)
                        k = m->hs > w->p.hs ? gap_to_init(w, m->hs, m->t_us) : 1;
                else
                        k = gap_to_keepalive(w, m->hs, m->ctr, m->t_us);
        }
        if (k > 0) { /* nothing to say across this gap */
                w->resp_pending = false;
                k = olist_push(w->c2s, m->t_us, false, true);
                k = k < 0 ? k : olist_push(w->s2c, m->t_us, false, true);
        }
        w->p = *m;
        w->have_p = true;
        return k < 0 ? k : olist_push(w->c2s, m->t_us, true, false);
}

static int server_view(struct timeline_client *c, const struct split *sp, struct olist *c2s, struct olist *s2c)
{
        struct server_walk w = { .c = c, .c2s = c2s, .s2c = s2c };
        uint64_t max_init = 0;
        int k = 0;

        for (size_t i = 0; i < sp->ns && k == 0; i++) {
                const struct timeline_packet *m = &sp->s[i];

                if (m->tx) {
                        if (m->type == MESSAGE_HANDSHAKE_RESPONSE) {
                                w.resp_pending = true;
                                w.resp_hs = m->hs;
                                w.resp_t = m->t_us;
                        }
                        continue;
                }
                if (!fresh(&w, m, max_init)) {
                        c->replays += m->type == MESSAGE_HANDSHAKE_INIT;
                        continue;
                }
                if (m->type == MESSAGE_HANDSHAKE_INIT)
                        max_init = m->hs;
                k = server_heard(&w, m);
        }
        if (k == 0 && c2s->n)
                qsort(c2s->v, c2s->n, sizeof(*c2s->v), by_outcome_time);
        if (!c->client_log) {
                c->keepalives.known = true;
                c->keepalives.lost = w.lost_keepalives;
                c->delivery[TIMELINE_C2S].known = true;
                for (size_t i = 0; i < c2s->n; i++) {
                        c->delivery[TIMELINE_C2S].sent += c2s->v[i].boundary ? 0 : c2s->v[i].n;
                        c->delivery[TIMELINE_C2S].received += c2s->v[i].delivered ? c2s->v[i].n : 0;
                }
                c->delivery[TIMELINE_C2S].lost = c->delivery[TIMELINE_C2S].sent - c->delivery[TIMELINE_C2S].received;
        }
        return k;
}

/* --- putting outages together --- */

static int by_start(const void *a, const void *b)
{
        const struct timeline_outage *x = a, *y = b;

        return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* Overlapping outages become one; of two directions, `both`. Its start lies
 * between the earliest bounds, its end between the latest. */
static void merge(struct outages *l)
{
        size_t out = 0;

        if (l->n == 0)
                return;
        qsort(l->v, l->n, sizeof(*l->v), by_start);
        for (size_t i = 0; i < l->n; i++) {
                struct timeline_outage *o = &l->v[i], *last = out ? &l->v[out - 1] : NULL;

                if (!last || o->start_us > last->end_us) {
                        l->v[out++] = *o;
                        continue;
                }
                if (o->direction != last->direction)
                        last->direction = TIMELINE_BOTH;
                last->start_min_known = last->start_min_known && o->start_min_known;
                last->start_min_us = min64(last->start_min_us, o->start_min_us);
                last->start_max_us = min64(last->start_max_us, o->start_max_us);
                if (o->end_us > last->end_us) {
                        last->end_us = o->end_us;
                        last->end_min_us = o->end_min_us;
                }
                last->end_max_us = max64(last->end_max_us, o->end_max_us);
                last->end_max_known = last->end_max_known && o->end_max_known;
                last->ongoing = last->ongoing || o->ongoing;
                last->lost += o->lost;
                last->seen_by |= o->seen_by;
        }
        l->n = out;
}

/* Whether an outage of l (sorted, disjoint) lies within a's bounds. */
static bool overlaps(const struct timeline_outage *a, const struct outages *l)
{
        size_t lo = 0, hi = l->n;

        while (lo < hi) { /* the first that ends after a may have begun */
                size_t mid = lo + (hi - lo) / 2;

                if (l->v[mid].end_us < a->start_min_us)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < l->n && l->v[lo].start_us <= a->end_max_us;
}

/* Each end's own view, for `seen_by` and for a log alone. */
static int single_views(struct timeline_client *c, struct split *sp, int64_t tail)
{
        struct olist cv = { 0 }, sc = { 0 }, ss = { 0 };
        int64_t slack = sp->res + (int64_t)c->keepalive_us / 50;
        int k = 0;

        if (sp->nc) {
                k = client_view(sp, &cv);
                k = k < 0 ? k : runs(&sp->by_client, &cv, TIMELINE_UNKNOWN, sp->res, 0, tail);
        }
        if (k == 0 && sp->ns) {
                k = server_view(c, sp, &sc, &ss);
                k = k < 0 ? k : runs(&sp->by_server, &sc, TIMELINE_CLIENT_TO_SERVER, sp->res, slack, tail);
                k = k < 0 ? k : runs(&sp->by_server, &ss, TIMELINE_SERVER_TO_CLIENT, sp->res, 0, tail);
        }
        for (size_t i = 0; i < sp->by_client.n; i++)
                sp->by_client.v[i].seen_by = TIMELINE_SEEN_CLIENT;
        for (size_t i = 0; i < sp->by_server.n; i++)
                sp->by_server.v[i].seen_by = TIMELINE_SEEN_SERVER;
        merge(&sp->by_server);
        merge(&sp->by_client);
        free(cv.v);
        free(sc.v);
        free(ss.v);
        return k;
}

/* Where the server's log does not reach (it starts later or ends sooner
 * than the client's), nothing can be matched: what the client's log alone
 * shows there is added, direction unknown, rather than nothing. */
static int add_uncovered(struct outages *all, const struct split *sp)
{
        for (size_t i = 0; i < sp->by_client.n; i++) {
                struct timeline_outage o = sp->by_client.v[i];
                int k;

                if (overlaps(&o, all) || (o.start_us >= sp->s_first && o.end_us <= sp->s_last - sp->grace))
                        continue;
                o.direction = TIMELINE_UNKNOWN;
                o.seen_by = TIMELINE_SEEN_CLIENT;
                k = outages_push(all, &o);
                if (k < 0)
                        return k;
        }
        merge(all);
        return 0;
}

static int reconstruct(struct timeline_client *c, struct split *sp, int64_t tail)
{
        struct outages all = { 0 };
        struct olist l = { 0 };
        int k = single_views(c, sp, tail);

        if (k < 0 || !(sp->nc && sp->ns)) {
                struct outages *only = sp->nc ? &sp->by_client : &sp->by_server;

                all = *only;
                *only = (struct outages){ 0 };
                goto out;
        }
        for (int d = TIMELINE_C2S; d <= TIMELINE_S2C && k == 0; d++) {
                l.n = 0;
                k = match_direction(c, sp, (enum timeline_dir)d, &l);
                k = k < 0 ? k
                          : runs(&all, &l, d == TIMELINE_C2S ? TIMELINE_CLIENT_TO_SERVER : TIMELINE_SERVER_TO_CLIENT,
                                 sp->res, 0, tail);
        }
        merge(&all);
        for (size_t i = 0; i < all.n; i++)
                all.v[i].seen_by = (overlaps(&all.v[i], &sp->by_client) ? TIMELINE_SEEN_CLIENT : 0) |
                                   (overlaps(&all.v[i], &sp->by_server) ? TIMELINE_SEEN_SERVER : 0);
        k = k < 0 ? k : add_uncovered(&all, sp);
out:
        free(l.v);
        c->outages = all.v;
        c->n_outages = all.n;
        c->cap_outages = all.cap;
        return k;
}

/* --- NAT rebindings: a fresh message from a new address, at the server --- */

#define SERVER_ADDRS 16 /* a client names few servers */

struct server_addrs {
        struct addr v[SERVER_ADDRS];
        size_t n;
};

/* The addresses the client's log sends to: the server's own. */
static void server_addrs(const struct split *sp, struct server_addrs *sa)
{
        sa->n = 0;
        for (size_t i = 0; i < sp->nc && sa->n < SERVER_ADDRS; i++) {
                size_t j = 0;

                while (j < sa->n && !addr_equal(&sa->v[j], &sp->c[i].peer))
                        j++;
                if (sp->c[i].tx && sp->c[i].peer.len && j == sa->n)
                        sa->v[sa->n++] = sp->c[i].peer;
        }
}

static bool is_server_addr(const struct server_addrs *sa, const struct addr *a)
{
        for (size_t i = 0; i < sa->n; i++)
                if (addr_equal(&sa->v[i], a))
                        return true;
        return false;
}

static int rebindings(struct timeline_client *c, const struct split *sp)
{
        const struct addr *last = NULL;
        uint64_t max_init = 0, ka_hs = 0, ka_ctr = 0;
        struct server_addrs sa;

        server_addrs(sp, &sa);
        for (size_t i = 0; i < sp->ns; i++) {
                const struct timeline_packet *m = &sp->s[i];
                bool is_fresh = m->type == MESSAGE_HANDSHAKE_INIT ? m->hs > max_init
                                                                   : m->hs > ka_hs || (m->hs == ka_hs && m->ctr > ka_ctr);

                if (m->tx || !is_fresh)
                        continue;
                if (m->type == MESSAGE_HANDSHAKE_INIT)
                        max_init = m->hs;
                else
                        ka_hs = m->hs, ka_ctr = m->ctr;
                if (last && !addr_equal(last, &m->peer) && !is_server_addr(&sa, &m->peer)) {
                        struct timeline_rebind rb = { m->t_us, *last, m->peer };

                        if (grow((void **)&c->rebinds, &c->cap_rebinds, c->n_rebinds, sizeof(rb)) < 0)
                                return -ENOMEM;
                        c->rebinds[c->n_rebinds++] = rb;
                }
                last = &m->peer;
        }
        return 0;
}

/* An outage while a server log shows its server stopped is no fault of the
 * path: it is marked so. */
static void mark_stopped(const struct timeline *tl, struct timeline_client *c, const struct split *sp)
{
        int64_t off = c->offset_known ? c->offset_us : 0;

        for (size_t i = 0; i < c->n_outages; i++) {
                struct timeline_outage *o = &c->outages[i];

                for (size_t g = 0; g < tl->n_logs && !o->server_stopped; g++) {
                        const struct timeline_log *lg = &tl->logs[g];

                        if (sp->roles[g] != TIMELINE_ROLE_SERVER)
                                continue;
                        for (size_t d = 0; d < lg->n_down && !o->server_stopped; d++)
                                o->server_stopped = lg->down[d].start_us - off < o->end_us &&
                                                    (lg->down[d].end_us == INT64_MAX || /* to the end */
                                                     o->start_us < lg->down[d].end_us - off);
                }
        }
}

/* Outages over a span where a log lost lines: unknown, not down. */
static void mark_log_lost(struct timeline_client *c, const struct split *sp)
{
        for (size_t i = 0; i < c->n_outages; i++) {
                struct timeline_outage *o = &c->outages[i];

                for (size_t g = 0; g < sp->tl->n_logs && !o->log_lost; g++) {
                        const struct timeline_log *lg = &sp->tl->logs[g];
                        int64_t off = sp->roles[g] == TIMELINE_ROLE_SERVER ? sp->off : 0;

                        for (size_t b = 0; b < lg->n_blind && !o->log_lost; b++)
                                o->log_lost = sp->roles[g] != TIMELINE_ROLE_NONE &&
                                              lg->blind[b].start_us - off <= o->end_us &&
                                              o->start_us <= lg->blind[b].end_us - off;
                }
                if (o->log_lost)
                        o->direction = TIMELINE_UNKNOWN;
        }
}

/* --- counts and the whole --- */

static void counts(struct timeline_client *c, const struct split *sp)
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
        struct split sp = { .tl = tl };
        int k = split_by_role(tl, c, &sp);

        k = k < 0 ? k : learn_timers(c, &sp, o);
        k = k < 0 || !(sp.nc && sp.ns) ? k : clock_offset(c, &sp);
        if (k < 0)
                goto out;
        sp.off = c->offset_known ? c->offset_us : 0;
        correct_server(c, &sp);
        counts(c, &sp);
        k = round_trips(c, &sp);
        sp.grace = grace(c, sp.res);
        if (sp.nc && sp.ns)
                c->keepalives.known = true;
        k = k < 0 ? k : reconstruct(c, &sp, c->last_us);
        k = k < 0 ? k : rebindings(c, &sp);
        if (k == 0)
                mark_stopped(tl, c, &sp);
        if (k == 0)
                mark_log_lost(c, &sp);
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

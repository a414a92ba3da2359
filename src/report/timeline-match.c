/* timeline-match: messages as keys, (type, handshake id, counter), sorted
 * and found again; with both logs, each message sent matched to its
 * receipt in the other end's log, or counted lost. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

static int by_key(const void *a, const void *b)
{
        const struct timeline_key *x = a, *y = b;

        if (x->type != y->type)
                return x->type < y->type ? -1 : 1;
        if (x->hs != y->hs)
                return x->hs < y->hs ? -1 : 1;
        if (x->ctr != y->ctr)
                return x->ctr < y->ctr ? -1 : 1;
        return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

void timeline_sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
        const char *p = v;

        for (size_t i = 1; i < n; i++)
                if (cmp(p + (i - 1) * size, p + i * size) > 0) {
                        qsort(v, n, size, cmp);
                        return;
                }
}

/* The messages of one end that it sent (tx) or received, of the types in
 * the mask, sorted by key: put in order of type first (a stable counting
 * sort), after which a log's handshakes and counters mostly come in order
 * already. Counted first, so that only the keys asked for take room. */
int timeline_keys_of(const struct timeline_packet *p, size_t n, bool tx, unsigned types, struct timeline_key **out,
                     size_t *n_out)
{
        struct timeline_key *k;
        size_t m = 0, at[256] = { 0 };

        for (size_t i = 0; i < n; i++)
                m += (bool)p[i].tx == tx && TIMELINE_KEY_WANTED(types, p[i].type) && ++at[p[i].type];
        k = malloc((m ? m : 1) * sizeof(*k));
        if (!k)
                return -ENOMEM;
        for (size_t t = 0, sum = 0; t < 256; t++) {
                size_t here = at[t];

                at[t] = sum;
                sum += here;
        }
        for (size_t i = 0; i < n; i++)
                if ((bool)p[i].tx == tx && TIMELINE_KEY_WANTED(types, p[i].type))
                        k[at[p[i].type]++] = (struct timeline_key){ p[i].hs, p[i].ctr, p[i].t_us, p[i].type };
        timeline_sort(k, m, sizeof(*k), by_key);
        *out = k;
        *n_out = m;
        return 0;
}

/* The earliest of this message in keys, or NULL. */
const struct timeline_key *timeline_key_find(const struct timeline_key *k, size_t n, uint8_t type, uint64_t hs,
                                             uint64_t ctr)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct timeline_key *x = &k[mid];
                bool less = x->type != type ? x->type < type : x->hs != hs ? x->hs < hs : x->ctr < ctr;

                if (less)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && k[lo].type == type && k[lo].hs == hs && k[lo].ctr == ctr ? &k[lo] : NULL;
}

/* Whether a log of the role lost lines around t (the client's clock):
 * within grace of a span where its output lost them. */
bool timeline_blind_at(const struct timeline_split *sp, enum timeline_role role, int64_t t)
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

int timeline_match_direction(struct timeline_client *c, const struct timeline_split *sp, enum timeline_dir d,
                           struct timeline_runs *rs)
{
        bool c2s = d == TIMELINE_C2S;
        const struct timeline_packet *snd = c2s ? sp->c : sp->s;
        size_t nsnd = c2s ? sp->nc : sp->ns;
        struct timeline_key *rcv = NULL;
        size_t nrcv;
        struct timeline_count *cnt = &c->delivery[d];
        int k = timeline_keys_of(c2s ? sp->s : sp->c, c2s ? sp->ns : sp->nc, false, TIMELINE_KEYS_ALL, &rcv, &nrcv);

        cnt->known = true;
        for (size_t i = 0; i < nsnd && k == 0; i++) {
                const struct timeline_packet *p = &snd[i];
                bool got;

                if (!p->tx || !judged(p->t_us, c2s ? sp->s_first : sp->c_first, c2s ? sp->s_last : sp->c_last,
                                      sp->grace))
                        continue;
                /* the receiver's log lost lines then: neither received nor lost */
                if (timeline_blind_at(sp, c2s ? TIMELINE_ROLE_SERVER : TIMELINE_ROLE_CLIENT, p->t_us))
                        continue;
                got = timeline_key_find(rcv, nrcv, p->type, p->hs, p->ctr) != NULL;
                cnt->sent++;
                cnt->received += got;
                cnt->lost += !got;
                if (p->type == MESSAGE_KEEPALIVE)
                        c->keepalives.lost += !got;
                k = timeline_runs_take(rs, p->t_us, 1, got, false);
        }
        free(rcv);
        return k;
}

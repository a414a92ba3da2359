/* timeline-match: messages as keys, (type, handshake id, counter), sorted
 * and found again; with both logs, each message sent matched to its
 * receipt in the other end's log, or counted lost. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* Merges the runs [lo, mid) and [mid, hi) of src into dst, the left's
 * first where equal. */
static void merge_runs(const char *src, size_t lo, size_t mid, size_t hi, char *dst, size_t size,
                       int (*cmp)(const void *, const void *, void *), void *ctx)
{
        size_t a = lo, b = mid, o = lo;

        while (a < mid || b < hi) {
                bool right = a == mid || (b < hi && cmp(src + b * size, src + a * size, ctx) < 0);

                memcpy(dst + o++ * size, src + (right ? b++ : a++) * size, size);
        }
}

/* The end of the run in order that starts at lo. */
static size_t run_end(const char *v, size_t lo, size_t n, size_t size, int (*cmp)(const void *, const void *, void *),
                      void *ctx)
{
        size_t i = lo + 1;

        while (i < n && cmp(v + (i - 1) * size, v + i * size, ctx) <= 0)
                i++;
        return i;
}

int timeline_stable_sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *ctx)
{
        char *tmp, *src = v, *dst;
        size_t runs = 2;

        if (n < 2 || run_end(v, 0, n, size, cmp, ctx) == n)
                return 0;
        tmp = malloc(n * size);
        if (!tmp)
                return -ENOMEM;
        dst = tmp;
        while (runs > 1) {
                char *was = src;

                runs = 0;
                for (size_t lo = 0, mid, hi; lo < n; lo = hi, runs++) {
                        mid = run_end(src, lo, n, size, cmp, ctx);
                        hi = mid < n ? run_end(src, mid, n, size, cmp, ctx) : n;
                        merge_runs(src, lo, mid, hi, dst, size, cmp, ctx);
                }
                src = dst;
                dst = was;
        }
        if (src != (char *)v)
                memcpy(v, src, n * size);
        free(tmp);
        return 0;
}

/* Two indices of a message set by their packets' messages. */
static int by_message(const void *a, const void *b, void *ctx)
{
        const struct timeline_packet *p = ctx, *x = &p[*(const size_t *)a], *y = &p[*(const size_t *)b];

        if (x->type != y->type)
                return x->type < y->type ? -1 : 1;
        if (x->hs != y->hs)
                return x->hs < y->hs ? -1 : 1;
        return x->ctr < y->ctr ? -1 : x->ctr > y->ctr;
}

int timeline_msgset_make(struct timeline_msgset *s, const struct timeline_packet *p, size_t n, bool tx,
                         unsigned types)
{
        size_t m = 0;

        *s = (struct timeline_msgset){ .p = p };
        for (size_t i = 0; i < n; i++)
                m += (bool)p[i].tx == tx && TIMELINE_KEY_WANTED(types, p[i].type);
        s->i = malloc((m ? m : 1) * sizeof(*s->i));
        if (!s->i)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if ((bool)p[i].tx == tx && TIMELINE_KEY_WANTED(types, p[i].type))
                        s->i[s->n++] = i;
        return timeline_stable_sort(s->i, s->n, sizeof(*s->i), by_message, (void *)p);
}

bool timeline_msgset_has(const struct timeline_msgset *s, uint8_t type, uint64_t hs, uint64_t ctr)
{
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct timeline_packet *x = &s->p[s->i[mid]];
                bool less = x->type != type ? x->type < type : x->hs != hs ? x->hs < hs : x->ctr < ctr;

                if (less)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < s->n && s->p[s->i[lo]].type == type && s->p[s->i[lo]].hs == hs && s->p[s->i[lo]].ctr == ctr;
}

/* The first index of s at or past (type, hs, ctr) and, among that
 * message's, at or past time t. */
static size_t msgset_lower(const struct timeline_msgset *s, uint8_t type, uint64_t hs, uint64_t ctr, int64_t t)
{
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct timeline_packet *x = &s->p[s->i[mid]];
                bool less = x->type != type ? x->type < type
                            : x->hs != hs   ? x->hs < hs
                            : x->ctr != ctr ? x->ctr < ctr
                                            : x->t_us < t;

                if (less)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

bool timeline_msgset_near(const struct timeline_msgset *s, uint8_t type, uint64_t hs, uint64_t ctr, int64_t t,
                          int64_t margin)
{
        size_t lo = msgset_lower(s, type, hs, ctr, t - margin);
        const struct timeline_packet *x = lo < s->n ? &s->p[s->i[lo]] : NULL;

        return x && x->type == type && x->hs == hs && x->ctr == ctr && x->t_us <= t + margin;
}

void timeline_msgset_free(struct timeline_msgset *s)
{
        free(s->i);
        *s = (struct timeline_msgset){ 0 };
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

const struct timeline_key *timeline_key_near(const struct timeline_key *k, size_t n, uint8_t type, uint64_t hs,
                                             uint64_t ctr, int64_t t, int64_t margin)
{
        size_t lo = 0, hi = n;

        while (lo < hi) { /* keys are in order of time within a message */
                size_t mid = lo + (hi - lo) / 2;
                const struct timeline_key *x = &k[mid];
                bool less = x->type != type ? x->type < type
                            : x->hs != hs   ? x->hs < hs
                            : x->ctr != ctr ? x->ctr < ctr
                                            : x->t_us < t - margin;

                if (less)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && k[lo].type == type && k[lo].hs == hs && k[lo].ctr == ctr && k[lo].t_us <= t + margin ? &k[lo]
                                                                                                             : NULL;
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
                             size_t lo, size_t hi, struct timeline_runs *rs)
{
        bool c2s = d == TIMELINE_C2S;
        const struct timeline_packet *snd = c2s ? sp->c : sp->s;
        struct timeline_msgset rcv;
        struct timeline_count *cnt = &c->delivery[d];
        int k = timeline_msgset_make(&rcv, c2s ? sp->s : sp->c, c2s ? sp->ns : sp->nc, false, TIMELINE_KEYS_ALL);

        cnt->known = true;
        for (size_t i = lo; i < hi && k == 0; i++) {
                const struct timeline_packet *p = &snd[i];
                bool got;

                if (!p->tx || !judged(p->t_us, c2s ? sp->s_first : sp->c_first, c2s ? sp->s_last : sp->c_last,
                                      sp->grace))
                        continue;
                /* the receiver's log lost lines then: neither received nor lost */
                if (timeline_blind_at(sp, c2s ? TIMELINE_ROLE_SERVER : TIMELINE_ROLE_CLIENT, p->t_us))
                        continue;
                got = timeline_msgset_near(&rcv, p->type, p->hs, p->ctr, p->t_us, TIMELINE_MATCH_MARGIN_US);
                cnt->sent++;
                cnt->received += got;
                cnt->lost += !got;
                if (p->type == MESSAGE_KEEPALIVE)
                        c->keepalives.lost += !got;
                k = timeline_runs_take(rs, p->t_us, 1, got, false);
        }
        timeline_msgset_free(&rcv);
        return k;
}

/* peers: the server's per-client table, an open-addressing hash table with
 * a recency list for eviction. The hash is SipHash with a random key, so a
 * peer cannot aim ids at one slot. Removal shifts later entries of a probe
 * run back (no tombstones), so lookups stay short after evictions. */
#include "core/peers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define INITIAL_CAP 64

int peers_init(struct peers *t, size_t max)
{
        memset(t, 0, sizeof(*t));
        t->slots = calloc(INITIAL_CAP, sizeof(struct peer *));
        if (!t->slots)
                return -ENOMEM;
        t->cap = INITIAL_CAP;
        t->max = max;
        randombytes_buf(t->hash_key, sizeof(t->hash_key));
        return 0;
}

void peers_free(struct peers *t)
{
        for (size_t i = 0; t->slots && i < t->cap; i++)
                free(t->slots[i]);
        free(t->slots);
        memset(t, 0, sizeof(*t));
}

static uint64_t hash(const struct peers *t, const char *id, size_t id_len)
{
        uint8_t h[crypto_shorthash_BYTES];
        uint64_t v;

        crypto_shorthash(h, (const uint8_t *)id, id_len, t->hash_key);
        memcpy(&v, h, sizeof(v));
        return v;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t probe(struct peer *const *slots, size_t cap, uint64_t h, const char *id, size_t id_len)
{
        size_t i = (size_t)h & (cap - 1);

        while (slots[i] && !(slots[i]->hash == h && slots[i]->id_len == id_len &&
                             memcmp(slots[i]->id, id, id_len) == 0))
                i = (i + 1) & (cap - 1);
        return i;
}

struct peer *peers_find(const struct peers *t, const char *id, size_t id_len)
{
        return t->slots[probe(t->slots, t->cap, hash(t, id, id_len), id, id_len)];
}

static int grow(struct peers *t)
{
        size_t cap = t->cap * 2;
        struct peer **slots = calloc(cap, sizeof(struct peer *));

        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++) {
                struct peer *p = t->slots[i];

                if (p)
                        slots[probe(slots, cap, p->hash, p->id, p->id_len)] = p;
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
        return 0;
}

static void unlink_recency(struct peers *t, struct peer *p)
{
        if (p->newer)
                p->newer->older = p->older;
        else
                t->newest = p->older;
        if (p->older)
                p->older->newer = p->newer;
        else
                t->oldest = p->newer;
        p->newer = p->older = NULL;
}

static void link_newest(struct peers *t, struct peer *p)
{
        p->older = t->newest;
        p->newer = NULL;
        if (t->newest)
                t->newest->newer = p;
        t->newest = p;
        if (!t->oldest)
                t->oldest = p;
}

int peers_add(struct peers *t, const char *id, size_t id_len, struct peer **out)
{
        struct peer *p;
        int r;

        if (id_len > MESSAGE_ID_MAX)
                return -ENAMETOOLONG;
        if (t->count >= t->max)
                return -ENOSPC;
        /* keep the load under 3/4 so probes stay short */
        if ((t->count + 1) * 4 > t->cap * 3) {
                r = grow(t);
                if (r < 0)
                        return r;
        }
        p = calloc(1, sizeof(*p) + id_len + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p->id, id, id_len);
        p->id_len = id_len;
        p->hash = hash(t, id, id_len);
        t->slots[probe(t->slots, t->cap, p->hash, id, id_len)] = p;
        link_newest(t, p);
        t->count++;
        *out = p;
        return 0;
}

void peers_touch(struct peers *t, struct peer *p)
{
        if (t->newest == p)
                return;
        unlink_recency(t, p);
        link_newest(t, p);
}

void peers_remove(struct peers *t, struct peer *p)
{
        size_t mask = t->cap - 1, i = probe(t->slots, t->cap, p->hash, p->id, p->id_len), j = i;

        unlink_recency(t, p);
        t->slots[i] = NULL;
        /* shift back every later entry of the run that may sit at i */
        for (j = (j + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
                size_t home = (size_t)t->slots[j]->hash & mask;
                /* the entry at j may move to i unless its home lies in (i, j] */
                bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);

                if (!stays) {
                        t->slots[i] = t->slots[j];
                        t->slots[j] = NULL;
                        i = j;
                }
        }
        t->count--;
        free(p);
}

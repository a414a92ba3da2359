/* peers: the server's per-client table, an open-addressing hash table. The
 * hash is SipHash with a random key, so a peer cannot aim ids at one slot. */
#include "peers.h"

#include <errno.h>
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

static size_t hash(const struct peers *t, const char *id, size_t id_len)
{
        uint8_t h[crypto_shorthash_BYTES];
        uint64_t v;

        crypto_shorthash(h, (const uint8_t *)id, id_len, t->hash_key);
        memcpy(&v, h, sizeof(v));
        return (size_t)v;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t probe(struct peer *const *slots, size_t cap, size_t h, const char *id, size_t id_len)
{
        size_t i = h & (cap - 1);

        while (slots[i] && !(slots[i]->id_len == id_len && memcmp(slots[i]->id, id, id_len) == 0))
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
                        slots[probe(slots, cap, hash(t, p->id, p->id_len), p->id, p->id_len)] = p;
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
        return 0;
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
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        memcpy(p->id, id, id_len);
        p->id_len = id_len;
        t->slots[probe(t->slots, t->cap, hash(t, id, id_len), id, id_len)] = p;
        t->count++;
        *out = p;
        return 0;
}

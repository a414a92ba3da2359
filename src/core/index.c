/* index: the keyed hash index under the server's and the report's client
 * tables (see index.h). */
#include "core/index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FIRST_CAP 64

_Static_assert(sizeof(((struct index *)0)->key) == crypto_shorthash_KEYBYTES, "a SipHash key");

void index_init(struct index *x, index_id_fn *id_of)
{
        memset(x, 0, sizeof(*x));
        x->id_of = id_of;
        randombytes_buf(x->key, sizeof(x->key));
}

void index_free(struct index *x)
{
        free(x->slots);
        x->slots = NULL;
        x->cap = x->count = 0;
}

uint64_t index_hash(const struct index *x, const char *id, size_t len)
{
        uint8_t h[crypto_shorthash_BYTES];
        uint64_t v;

        crypto_shorthash(h, (const uint8_t *)id, len, x->key);
        memcpy(&v, h, sizeof(v));
        return v;
}

/* The slot holding id, or the empty slot where it would go (cap > 0). */
static size_t probe(const struct index *x, uint64_t h, const char *id, size_t len)
{
        size_t mask = x->cap - 1, i = (size_t)h & mask;

        for (;; i = (i + 1) & mask) {
                const struct index_slot *s = &x->slots[i];
                const char *sid;
                size_t slen;

                if (!s->entry)
                        return i;
                if (s->hash != h)
                        continue;
                sid = x->id_of(s->entry, &slen);
                if (slen == len && memcmp(sid, id, len) == 0)
                        return i;
        }
}

void *index_find(const struct index *x, uint64_t h, const char *id, size_t len)
{
        return x->cap ? x->slots[probe(x, h, id, len)].entry : NULL;
}

/* The first empty slot of h's run: where an entry not yet filed goes. */
static size_t free_slot(const struct index_slot *slots, size_t cap, uint64_t h)
{
        size_t i = (size_t)h & (cap - 1);

        while (slots[i].entry)
                i = (i + 1) & (cap - 1);
        return i;
}

/* Room for one more entry at a load under 3/4, so that runs stay short. */
static int reserve(struct index *x)
{
        size_t cap = x->cap ? x->cap : FIRST_CAP;
        struct index_slot *slots;

        if ((x->count + 1) * 4 <= x->cap * 3)
                return 0;
        while ((x->count + 1) * 4 > cap * 3) {
                if (cap > SIZE_MAX / 2 / sizeof(*slots))
                        return -ENOMEM;
                cap *= 2;
        }
        slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < x->cap; i++)
                if (x->slots[i].entry)
                        slots[free_slot(slots, cap, x->slots[i].hash)] = x->slots[i];
        free(x->slots);
        x->slots = slots;
        x->cap = cap;
        return 0;
}

int index_add(struct index *x, uint64_t h, void *entry)
{
        int k = reserve(x);

        if (k < 0)
                return k;
        x->slots[free_slot(x->slots, x->cap, h)] = (struct index_slot){ h, entry };
        x->count++;
        return 0;
}

void index_remove(struct index *x, uint64_t h, const void *entry)
{
        size_t mask = x->cap - 1, i = (size_t)h & mask;

        if (!x->cap)
                return;
        while (x->slots[i].entry && x->slots[i].entry != entry)
                i = (i + 1) & mask;
        if (!x->slots[i].entry)
                return; /* not filed here */
        x->slots[i].entry = NULL;
        /* shift back every later entry of the run whose home does not lie in (i, j] */
        for (size_t j = (i + 1) & mask; x->slots[j].entry; j = (j + 1) & mask) {
                size_t home = (size_t)x->slots[j].hash & mask;
                bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);

                if (!stays) {
                        x->slots[i] = x->slots[j];
                        x->slots[j].entry = NULL;
                        i = j;
                }
        }
        x->count--;
}

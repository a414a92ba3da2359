/* index: a keyed open-addressing hash index from ids (byte strings) to the
 * caller's entries, shared by the server's client table (core/peers) and the
 * report's (report/timeline). The hash is SipHash (libsodium's
 * crypto_shorthash) under a random key drawn per index, so that no one can
 * aim ids at one slot; probing is linear at a load under 3/4, and removal
 * shifts the later entries of a run back (no tombstones). The index holds
 * slots only: the entries, and which of them to keep (peers evict the least
 * recently heard, the report keeps every one), are the caller's. The hash is
 * passed in, so that a caller can hash an id once for a lookup and an add
 * (the report does), and a removal uses the hash kept with the entry
 * (peers do) rather than hashing again. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The id an entry is filed under. */
typedef const char *index_id_fn(const void *entry, size_t *len);

struct index_slot {
        uint64_t hash; /* kept here, so that a probe reads no entry whose hash differs */
        void *entry;   /* NULL: empty */
};

struct index {
        struct index_slot *slots;
        size_t cap; /* a power of two, or 0 before the first add */
        size_t count;
        index_id_fn *id_of;
        uint8_t key[16];
};

/* Empties x (no memory held until the first add) and draws its key. */
void index_init(struct index *x, index_id_fn *id_of);

/* Frees the slots, not the entries. */
void index_free(struct index *x);

uint64_t index_hash(const struct index *x, const char *id, size_t len);

/* The entry filed under id (whose hash is h), or NULL. */
void *index_find(const struct index *x, uint64_t h, const char *id, size_t len);

/* Files an entry whose id is not in x yet, under its hash h. Returns 0 or
 * -ENOMEM. */
int index_add(struct index *x, uint64_t h, void *entry);

/* Takes an entry (filed under h) out; the entry itself is left alone. */
void index_remove(struct index *x, uint64_t h, const void *entry);

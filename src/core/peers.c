/* peers: the server's per-client table: the entries filed in a keyed index
 * (core/index) and kept on a recency list, whose oldest entry makes room
 * when the table is full (the caller evicts it). */
#include "core/peers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *peer_id(const void *entry, size_t *len)
{
        const struct peer *p = entry;

        *len = p->id_len;
        return p->id;
}

int peers_init(struct peers *t, size_t max)
{
        memset(t, 0, sizeof(*t));
        index_init(&t->ids, peer_id);
        t->max = max;
        return 0;
}

void peers_free(struct peers *t)
{
        struct peer *p = t->newest;

        while (p) {
                struct peer *older = p->older;

                free(p);
                p = older;
        }
        index_free(&t->ids);
        memset(t, 0, sizeof(*t));
}

struct peer *peers_find(const struct peers *t, const char *id, size_t id_len)
{
        return index_find(&t->ids, index_hash(&t->ids, id, id_len), id, id_len);
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

        if (id_len > MESSAGE_ID_MAX)
                return -ENAMETOOLONG;
        if (t->count >= t->max)
                return -ENOSPC;
        p = calloc(1, sizeof(*p) + id_len + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p->id, id, id_len);
        p->id_len = id_len;
        p->hash = index_hash(&t->ids, id, id_len);
        if (index_add(&t->ids, p->hash, p) < 0) {
                free(p);
                return -ENOMEM;
        }
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
        unlink_recency(t, p);
        index_remove(&t->ids, p->hash, p);
        t->count--;
        free(p);
}

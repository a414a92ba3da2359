/* timeline-rebind: NAT rebindings: a fresh message at the server from an
 * address other than the one before (and not one of the server's own); and
 * those server addresses, as the client's log names them. */
#include "report/timeline-internal.h"

#include <errno.h>

#include "core/grow.h"

/* The addresses the client's packets [lo, hi) send to (the server's own),
 * added to those before, the first TIMELINE_SERVER_ADDRS. */
void timeline_server_addrs_take(struct timeline_rebind_walk *w, const struct timeline_split *sp, size_t lo, size_t hi)
{
        for (size_t i = lo; i < hi && w->n_sa < TIMELINE_SERVER_ADDRS; i++) {
                size_t j = 0;

                const struct addr *a = timeline_peer(sp->tl, sp->c[i].peer);

                while (j < w->n_sa && !addr_equal(&w->sa[j], a))
                        j++;
                if (sp->c[i].tx && a->len && j == w->n_sa)
                        w->sa[w->n_sa++] = *a;
        }
}

void timeline_server_addrs_end(struct timeline_client *c, const struct timeline_rebind_walk *w)
{
        c->n_servers = w->n_sa;
        for (size_t i = 0; i < w->n_sa && i < TIMELINE_SERVERS_KEPT; i++)
                c->servers[i] = w->sa[i];
}

static bool is_server_addr(const struct timeline_rebind_walk *w, const struct addr *a)
{
        for (size_t i = 0; i < w->n_sa; i++)
                if (addr_equal(&w->sa[i], a))
                        return true;
        return false;
}

int timeline_rebindings_take(struct timeline_client *c, struct timeline_rebind_walk *w, const struct timeline_split *sp,
                             size_t lo, size_t hi)
{
        for (size_t i = lo; i < hi; i++) {
                const struct timeline_packet *m = &sp->s[i];
                bool is_fresh = m->type == MESSAGE_HANDSHAKE_INIT ? m->hs > w->max_init
                                                                   : m->hs > w->ka_hs || (m->hs == w->ka_hs && m->ctr > w->ka_ctr);

                if (m->tx || !is_fresh)
                        continue;
                if (m->type == MESSAGE_HANDSHAKE_INIT)
                        w->max_init = m->hs;
                else
                        w->ka_hs = m->hs, w->ka_ctr = m->ctr;
                const struct addr *peer = timeline_peer(sp->tl, m->peer);

                if (w->last && !addr_equal(w->last, peer) && !is_server_addr(w, peer)) {
                        struct timeline_rebind rb = { m->t_us, *w->last, *peer };

                        if (grow_array((void **)&c->rebinds, &c->cap_rebinds, c->n_rebinds + 1, sizeof(rb)) < 0)
                                return -ENOMEM;
                        c->rebinds[c->n_rebinds++] = rb;
                }
                w->last = peer;
        }
        return 0;
}

int timeline_rebindings(struct timeline_client *c, const struct timeline_split *sp)
{
        struct timeline_rebind_walk w = { 0 };

        timeline_server_addrs_take(&w, sp, 0, sp->nc);
        timeline_server_addrs_end(c, &w);
        return timeline_rebindings_take(c, &w, sp, 0, sp->ns);
}

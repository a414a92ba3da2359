/* timeline-rebind: NAT rebindings: a fresh message at the server from an
 * address other than the one before (and not one of the server's own); and
 * those server addresses, as the client's log names them. */
#include "report/timeline-internal.h"

#include <errno.h>

#include "core/grow.h"

#define SERVER_ADDRS 16 /* a client names few servers */

struct server_addrs {
        struct addr v[SERVER_ADDRS];
        size_t n;
};

/* The addresses the client's log sends to: the server's own. */
static void server_addrs(const struct timeline_split *sp, struct server_addrs *sa)
{
        sa->n = 0;
        for (size_t i = 0; i < sp->nc && sa->n < SERVER_ADDRS; i++) {
                size_t j = 0;

                const struct addr *a = timeline_peer(sp->tl, sp->c[i].peer);

                while (j < sa->n && !addr_equal(&sa->v[j], a))
                        j++;
                if (sp->c[i].tx && a->len && j == sa->n)
                        sa->v[sa->n++] = *a;
        }
}

static bool is_server_addr(const struct server_addrs *sa, const struct addr *a)
{
        for (size_t i = 0; i < sa->n; i++)
                if (addr_equal(&sa->v[i], a))
                        return true;
        return false;
}

int timeline_rebindings(struct timeline_client *c, const struct timeline_split *sp)
{
        const struct addr *last = NULL;
        uint64_t max_init = 0, ka_hs = 0, ka_ctr = 0;
        struct server_addrs sa;

        server_addrs(sp, &sa);
        c->n_servers = sa.n;
        for (size_t i = 0; i < sa.n && i < TIMELINE_SERVERS_KEPT; i++)
                c->servers[i] = sa.v[i];
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
                const struct addr *peer = timeline_peer(sp->tl, m->peer);

                if (last && !addr_equal(last, peer) && !is_server_addr(&sa, peer)) {
                        struct timeline_rebind rb = { m->t_us, *last, *peer };

                        if (grow_array((void **)&c->rebinds, &c->cap_rebinds, c->n_rebinds + 1, sizeof(rb)) < 0)
                                return -ENOMEM;
                        c->rebinds[c->n_rebinds++] = rb;
                }
                last = peer;
        }
        return 0;
}

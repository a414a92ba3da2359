/* timeline-client: what a client's log alone shows: its handshakes,
 * answered or not (the direction of a loss is unknown from there), with a
 * restart of its handshake ids as a boundary nothing is said across. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

int timeline_client_view(const struct timeline_split *sp, size_t lo, size_t hi, uint64_t *last_hs,
                         struct timeline_olist *out)
{
        struct timeline_key *rx = NULL;
        size_t nrx;
        int k = timeline_keys_of(sp->c, sp->nc, false, TIMELINE_KEY_TYPE(MESSAGE_HANDSHAKE_RESPONSE), &rx, &nrx);

        for (size_t i = lo; i < hi && k == 0; i++) {
                const struct timeline_packet *p = &sp->c[i];
                const struct timeline_key *ans;

                if (!p->tx || p->type != MESSAGE_HANDSHAKE_INIT)
                        continue;
                if (*last_hs && p->hs != *last_hs + 1)
                        k = timeline_olist_push(out, p->t_us, false, true); /* a restart: a new run of ids */
                *last_hs = p->hs;
                /* its answer, within the margin after it (never before: so
                 * that what became of it lies after it, in its window or
                 * a later one) */
                ans = timeline_key_near(rx, nrx, MESSAGE_HANDSHAKE_RESPONSE, p->hs, p->ctr,
                                        p->t_us + TIMELINE_MATCH_MARGIN_US / 2, TIMELINE_MATCH_MARGIN_US / 2);
                if (k == 0 && (ans || p->t_us <= sp->c_last - sp->grace))
                        k = timeline_olist_push(out, ans ? ans->t_us : p->t_us, ans != NULL, false);
        }
        free(rx);
        return k;
}

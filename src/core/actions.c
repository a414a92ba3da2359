/* actions: filling the action list the protocol core returns. */
#include "core/actions.h"

#include <assert.h>
#include <string.h>

void actions_reset(struct actions *a)
{
        a->n_events = 0;
        a->n_send = 0;
        a->wake_us = 0;
        a->reresolve = false;
}

struct core_event *actions_event(struct actions *a, enum event_kind kind, const struct addr *peer)
{
        struct core_event *ev;

        /* The core never emits more than fit; a bug here must not write past. */
        assert(a->n_events < ACTIONS_MAX_EVENTS);
        if (a->n_events >= ACTIONS_MAX_EVENTS)
                a->n_events = ACTIONS_MAX_EVENTS - 1;
        ev = &a->events[a->n_events++];
        ev->kind = kind;
        ev->peer = *peer;
        ev->has_msg = false;
        ev->invalid = NULL;
        ev->why = EVENT_IGNORE_FOREIGN_ADDR;
        ev->expected = 0;
        ev->lost = 0;
        ev->duration_us = 0;
        ev->rtt_us = 0;
        ev->refusal = NULL;
        return ev;
}

void actions_send(struct actions *a, const struct message *msg, const struct addr *to)
{
        struct core_event *ev = actions_event(a, EVENT_TX, to);

        ev->has_msg = true;
        ev->msg = *msg;
        assert(a->n_send < ACTIONS_MAX_SEND);
        if (a->n_send < ACTIONS_MAX_SEND) {
                a->send[a->n_send].msg = *msg;
                a->send[a->n_send].to = *to;
                a->n_send++;
        }
}

/* client-daemon-trace (client_trace_*): the shell around core/trace (see
 * client-daemon-trace.h). Each copy is logged as a TX line, as every
 * packet is. */
#include "daemon/client-daemon-trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/trace.h"
#include "daemon/log.h"

struct client_trace {
        struct daemon *d;
        struct event *timer;
        struct trace core;
};

/* The trace's line, and its journal entry with the last hop as fields. */
static void log_trace(const struct logtext_trace *t)
{
        char body[LOG_LINE_MAX], peer[ADDR_STRLEN], text[3][80];
        const char *fields[3];
        unsigned last = logtext_trace_last(t);
        size_t n = 0;

        if (logtext_format_trace(t, body, sizeof(body)) < 0)
                return;
        snprintf(text[n], sizeof(text[n]), "CANARY_PEER=%s", addr_format(&t->to, peer));
        fields[n] = text[n];
        n++;
        if (last) {
                snprintf(text[n], sizeof(text[n]), "CANARY_LAST_HOP=%s", logtext_hop_text(&t->hop[last - 1], peer));
                fields[n] = text[n];
                n++;
                snprintf(text[n], sizeof(text[n]), "CANARY_LAST_HOP_TTL=%u", last);
                fields[n] = text[n];
                n++;
        }
        log_structured(LOG_LEVEL_WARNING, LOG_MESSAGE_ID_TRACE, "trace", fields, n, "%s", body);
}

/* Sends, logs and arms what the core asked for. */
static void perform(struct client_trace *ct, const struct trace_actions *a)
{
        if (a->send) {
                struct core_event tx = { .kind = EVENT_TX, .peer = a->to, .has_msg = true, .msg = a->msg };
                uint8_t head[TRACE_HEAD_LEN];
                int r;

                log_event(&tx); /* every packet has its line, a copy too */
                r = udp_send_ttl(ct->d->fd, ct->d->key, &ct->d->ivs, &a->msg, &a->to, (int)a->ttl, head,
                                     sizeof(head));

                if (r == 0) {
                        trace_sent(&ct->core, a->ttl, head, sizeof(head));
                } else {
                        char to[ADDR_STRLEN];

                        /* the hop will time out as a silent one */
                        log_printf(LOG_LEVEL_WARNING, "Cannot send a trace with TTL %u to %s: %s", a->ttl,
                                   addr_format(&a->to, to), strerror(-r));
                }
        }
        if (a->done)
                log_trace(&ct->core.result);
        if (a->wake_us)
                (void)daemon_timer_at(ct->timer, a->wake_us); /* a failure stops the loop */
        else
                event_del(ct->timer);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct client_trace *ct = arg;
        uint64_t start = daemon_now_us();
        struct trace_actions a;

        trace_timer(&ct->core, start, &a);
        perform(ct, &a);
        log_flush();
        daemon_busy(ct->d, start);
}

int client_trace_new(struct client_trace **out, struct daemon *d)
{
        struct client_trace *ct = calloc(1, sizeof(*ct));
        struct trace_config cfg = { .hops = TRACE_DEFAULT_HOPS, .interval_us = TRACE_DEFAULT_INTERVAL_US };

        if (!ct)
                return -ENOMEM;
        ct->d = d;
        ct->timer = evtimer_new(d->base, on_timer, ct);
        if (!ct->timer) {
                free(ct);
                return -ENOMEM;
        }
        trace_init(&ct->core, &cfg);
        *out = ct;
        return 0;
}

void client_trace_free(struct client_trace *ct)
{
        if (!ct)
                return;
        event_free(ct->timer);
        free(ct);
}

void client_trace_set(struct client_trace *ct, unsigned hops, uint64_t interval_us)
{
        struct trace_config cfg = { .hops = hops, .interval_us = interval_us };

        trace_reconfigure(&ct->core, &cfg);
}

void client_trace_after(struct client_trace *ct, const struct client *c, uint64_t now_us)
{
        struct trace_actions a;

        trace_check(&ct->core, c, now_us, &a);
        perform(ct, &a);
}

void client_trace_icmp(struct client_trace *ct, uint64_t now_us, const struct udp_error *e)
{
        struct trace_icmp in = { .offender = e->offender, .dest = e->dest, .time_exceeded = e->time_exceeded,
                                 .quoted = e->quoted, .quoted_len = e->quoted_len };
        struct trace_actions a;

        trace_answer(&ct->core, now_us, &in, &a);
        perform(ct, &a);
}

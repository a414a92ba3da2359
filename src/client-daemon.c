/* client-daemon: the client's event loop (see client-daemon.h). The object
 * owns its socket, timer and signal events; each callback gets the object. */
#include "client-daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "daemon.h"
#include "log.h"
#include "udp.h"

struct client_daemon {
        struct event_base *base;
        struct event *read_ev, *timer_ev;
        struct daemon_signals signals;
        int fd;
        const struct seal_key *key;
        struct client_config cfg;
        struct client core;
        char id_repr[MESSAGE_TEXT_MAX], server_text[ADDR_STRLEN];
};

static void perform(struct client_daemon *d, const struct actions *a)
{
        daemon_perform(d->fd, d->key, a);
        if (a->wake_us)
                daemon_timer_at(d->timer_ev, a->wake_us);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct client_daemon *d = arg;
        struct actions a;

        client_timer(&d->core, daemon_now_us(), &a);
        perform(d, &a);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
        struct client_daemon *d = arg;
        uint8_t buf[SEAL_MAX_PACKET + 1];
        struct actions a;
        struct addr from;

        /* a bounded batch, so a flood cannot starve the timer */
        for (unsigned i = 0; i < 64; i++) {
                ssize_t n = udp_recv(d->fd, buf, sizeof(buf), &from);

                if (n == -EAGAIN)
                        break;
                if (n < 0) {
                        /* e.g. ECONNREFUSED from an ICMP error: a lost packet, nothing more */
                        continue;
                }
                client_receive(&d->core, daemon_now_us(), &from, buf, (size_t)n, &a);
                perform(d, &a);
        }
}

static int setup(struct client_daemon *d, const struct config *cfg)
{
        char err[256];
        int r;

        r = udp_resolve(cfg->host, (uint16_t)cfg->port, false, &d->cfg.server, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "udp-canary: --host %s: %s\n", cfg->host, err);
                return 2;
        }
        memcpy(d->cfg.id, cfg->id, strlen(cfg->id) + 1);
        d->cfg.id_len = strlen(cfg->id);
        d->cfg.handshake_timeout_us = cfg->handshake_timeout_us;
        d->cfg.keepalive_interval_us = cfg->keepalive_interval_us;
        d->cfg.keepalive_count = cfg->keepalive_count;

        d->fd = udp_open(&d->cfg.server, false);
        if (d->fd < 0) {
                fprintf(stderr, "udp-canary: cannot open a UDP socket: %s\n", strerror(-d->fd));
                return 1;
        }
        d->base = event_base_new();
        if (d->base)
                d->read_ev = event_new(d->base, d->fd, EV_READ | EV_PERSIST, on_read, d);
        if (d->base)
                d->timer_ev = evtimer_new(d->base, on_timer, d);
        if (!d->base || !d->read_ev || !d->timer_ev || event_add(d->read_ev, NULL) < 0 ||
            daemon_signals_add(&d->signals, d->base) < 0) {
                fprintf(stderr, "udp-canary: cannot set up the event loop\n");
                return 1;
        }

        message_repr_string(d->cfg.id, d->cfg.id_len, d->id_repr, sizeof(d->id_repr));
        addr_format(&d->cfg.server, d->server_text);
        return 0;
}

int client_daemon_new(struct client_daemon **out, const struct config *cfg, const struct seal_key *key)
{
        struct client_daemon *d = calloc(1, sizeof(*d));
        int r;

        if (!d) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return 1;
        }
        d->fd = -1;
        d->key = key;
        r = setup(d, cfg);
        if (r != 0) {
                client_daemon_free(d);
                return r;
        }
        *out = d;
        return 0;
}

int client_daemon_run(struct client_daemon *d)
{
        struct actions a;

        log_printf(LOG_LEVEL_INFO, "Client %s sending to %s", d->id_repr, d->server_text);
        client_start(&d->core, &d->cfg, d->key, daemon_now_us(), (uint64_t)time(NULL), &a);
        perform(d, &a);
        event_base_dispatch(d->base);
        return d->signals.exit_code;
}

void client_daemon_free(struct client_daemon *d)
{
        if (!d)
                return;
        daemon_signals_free(&d->signals);
        if (d->read_ev)
                event_free(d->read_ev);
        if (d->timer_ev)
                event_free(d->timer_ev);
        if (d->base)
                event_base_free(d->base);
        if (d->fd >= 0)
                close(d->fd);
        free(d);
}

/* client-daemon: the client's event loop (see client-daemon.h). The object
 * owns its socket and timer events; each callback gets the object. */
#include "daemon/client-daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/client.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/udp.h"

struct client_daemon {
        struct daemon daemon;
        struct event *read_ev, *timer_ev;
        int fd;
        const struct seal_key *key;
        struct client_config cfg;
        struct client core;
};

static void update_status(struct client_daemon *d)
{
        char status[256];

        client_status(&d->core, daemon_now_us(), status, sizeof(status));
        daemon_status(&d->daemon, status);
}

static void perform(struct client_daemon *d, const struct actions *a)
{
        daemon_perform(&d->daemon, d->fd, d->key, a);
        if (a->wake_us)
                daemon_timer_at(d->timer_ev, a->wake_us);
        update_status(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct client_daemon *d = arg;
        struct actions a;

        client_timer(&d->core, daemon_now_us(), &a);
        perform(d, &a);
        log_flush();
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
                if (n < 0) /* e.g. ECONNREFUSED from an ICMP error: a lost packet */
                        continue;
                client_receive(&d->core, daemon_now_us(), &from, buf, (size_t)n, &a);
                perform(d, &a);
        }
        log_flush();
}

/* Fills a client_config from the user's settings; resolves the server. */
static int make_config(struct client_config *out, const struct config *cfg, char *err, size_t errlen)
{
        int r = udp_resolve(cfg->host, (uint16_t)cfg->port, false, &out->server, err, errlen);

        if (r < 0)
                return r;
        out->id_len = strlen(cfg->id);
        memcpy(out->id, cfg->id, out->id_len + 1);
        out->handshake_timeout_us = cfg->handshake_timeout_us;
        out->keepalive_interval_us = cfg->keepalive_interval_us;
        out->keepalive_count = cfg->keepalive_count;
        return 0;
}

/* (Re)opens the socket for the server's address family. */
static int open_socket(struct client_daemon *d)
{
        int fd = udp_open(&d->cfg.server, false);
        struct event *ev;

        if (fd < 0)
                return fd;
        ev = event_new(d->daemon.base, fd, EV_READ | EV_PERSIST, on_read, d);
        if (!ev || event_add(ev, NULL) < 0) {
                if (ev)
                        event_free(ev);
                close(fd);
                return -ENOMEM;
        }
        if (d->read_ev)
                event_free(d->read_ev);
        if (d->fd >= 0)
                close(d->fd);
        d->read_ev = ev;
        d->fd = fd;
        return 0;
}

static void write_metrics(FILE *out, void *arg)
{
        struct client_daemon *d = arg;
        struct timespec ts;
        uint64_t drops;

        clock_gettime(CLOCK_REALTIME, &ts);
        metrics_write_client(out, &d->core, daemon_now_us(),
                             (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
        if (udp_drops(d->fd, &drops) == 0)
                metrics_write_socket_drops(out, drops);
}

static int setup(struct client_daemon *d, const struct config *cfg)
{
        char err[256];
        int r;

        if (make_config(&d->cfg, cfg, err, sizeof(err)) < 0) {
                fprintf(stderr, "udp-canary: --host %s: %s\n", cfg->host, err);
                return 2;
        }
        if (daemon_init(&d->daemon) < 0 || !(d->timer_ev = evtimer_new(d->daemon.base, on_timer, d))) {
                fprintf(stderr, "udp-canary: cannot set up the event loop\n");
                return 1;
        }
        r = open_socket(d);
        if (r < 0) {
                fprintf(stderr, "udp-canary: cannot open a UDP socket: %s\n", strerror(-r));
                return 1;
        }
        return daemon_metrics_start(&d->daemon, cfg->metrics_listen, write_metrics, d);
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

struct daemon *client_daemon_base(struct client_daemon *d)
{
        return &d->daemon;
}

static void log_start(const struct client_daemon *d)
{
        char id[MESSAGE_TEXT_MAX], server[ADDR_STRLEN];

        message_repr_string(d->cfg.id, d->cfg.id_len, id, sizeof(id));
        log_lifecycle(LOG_LIFECYCLE_START, "Client %s sending to %s", id, addr_format(&d->cfg.server, server));
}

int client_daemon_run(struct client_daemon *d)
{
        struct actions a;

        log_start(d);
        client_start(&d->core, &d->cfg, d->key, daemon_now_us(), (uint64_t)time(NULL), &a);
        perform(d, &a);
        return daemon_run(&d->daemon);
}

int client_daemon_reconfigure(struct client_daemon *d, const struct config *cfg)
{
        struct client_config next;
        char err[256];
        int r;

        if (make_config(&next, cfg, err, sizeof(err)) < 0) {
                log_printf(LOG_LEVEL_ERROR, "Reload: --host %s: %s; keeping the old settings", cfg->host, err);
                return -EADDRNOTAVAIL;
        }
        if (!addr_equal(&next.server, &d->cfg.server)) {
                d->cfg = next;
                r = open_socket(d);
                if (r < 0)
                        log_printf(LOG_LEVEL_ERROR, "Reload: cannot open a UDP socket: %s", strerror(-r));
                log_start(d);
        }
        d->cfg = next; /* the core reads it through its pointer from the next step on */
        return 0;
}

void client_daemon_free(struct client_daemon *d)
{
        if (!d)
                return;
        if (d->read_ev)
                event_free(d->read_ev);
        if (d->timer_ev)
                event_free(d->timer_ev);
        daemon_free(&d->daemon);
        if (d->fd >= 0)
                close(d->fd);
        free(d);
}

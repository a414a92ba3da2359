/* server-daemon: the server's event loop (see server-daemon.h). The object
 * owns its socket event; each callback gets the object. */
#include "server-daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "notify.h"
#include "server.h"
#include "udp.h"

#define STATUS_EVERY_US 1000000 /* STATUS= at most once a second under load */

struct server_daemon {
        struct daemon daemon;
        struct event *read_ev;
        int fd;
        const struct seal_key *key;
        struct server core;
        bool core_ready;
        struct addr bound;
        uint64_t status_us;
};

static void update_status(struct server_daemon *d, uint64_t now_us)
{
        char status[256];

        d->status_us = now_us;
        server_status(&d->core, status, sizeof(status));
        notify_status(status);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
        struct server_daemon *d = arg;
        uint8_t buf[SEAL_MAX_PACKET + 1];
        size_t clients = d->core.peers.count;
        uint64_t now = 0;
        struct actions a;
        struct addr from;

        /* a bounded batch per wake-up, so signals are seen under a flood */
        for (unsigned i = 0; i < 256; i++) {
                ssize_t n = udp_recv(d->fd, buf, sizeof(buf), &from);

                if (n == -EAGAIN)
                        break;
                if (n < 0)
                        continue;
                now = daemon_now_us();
                server_receive(&d->core, now, &from, buf, (size_t)n, &a);
                daemon_perform(d->fd, d->key, &a);
        }
        if (now && (now - d->status_us >= STATUS_EVERY_US || d->core.peers.count != clients))
                update_status(d, now);
}

static int setup(struct server_daemon *d, const struct config *cfg)
{
        char err[256], text[ADDR_STRLEN];
        struct addr bind_addr;

        if (udp_resolve(cfg->host, (uint16_t)cfg->port, true, &bind_addr, err, sizeof(err)) < 0) {
                fprintf(stderr, "udp-canary: --host %s: %s\n", cfg->host, err);
                return 2;
        }
        d->fd = udp_open(&bind_addr, true);
        if (d->fd < 0) {
                fprintf(stderr, "udp-canary: cannot listen on %s: %s\n", addr_format(&bind_addr, text),
                        strerror(-d->fd));
                return 1;
        }
        if (udp_local(d->fd, &d->bound) < 0)
                d->bound = bind_addr;
        if (server_init(&d->core, d->key, cfg->max_clients) < 0) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return 1;
        }
        d->core_ready = true;
        if (daemon_init(&d->daemon) < 0 ||
            !(d->read_ev = event_new(d->daemon.base, d->fd, EV_READ | EV_PERSIST, on_read, d)) ||
            event_add(d->read_ev, NULL) < 0) {
                fprintf(stderr, "udp-canary: cannot set up the event loop\n");
                return 1;
        }
        return 0;
}

int server_daemon_new(struct server_daemon **out, const struct config *cfg, const struct seal_key *key)
{
        struct server_daemon *d = calloc(1, sizeof(*d));
        int r;

        if (!d) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return 1;
        }
        d->fd = -1;
        d->key = key;
        r = setup(d, cfg);
        if (r != 0) {
                server_daemon_free(d);
                return r;
        }
        *out = d;
        return 0;
}

struct daemon *server_daemon_base(struct server_daemon *d)
{
        return &d->daemon;
}

int server_daemon_run(struct server_daemon *d)
{
        char text[ADDR_STRLEN];

        log_lifecycle(LOG_LIFECYCLE_START, "Listening on %s", addr_format(&d->bound, text));
        update_status(d, daemon_now_us());
        return daemon_run(&d->daemon);
}

int server_daemon_reconfigure(struct server_daemon *d, const struct config *cfg)
{
        char err[256];
        struct addr want;

        if (udp_resolve(cfg->host, (uint16_t)cfg->port, true, &want, err, sizeof(err)) < 0 ||
            (cfg->port != 0 && !addr_equal(&want, &d->bound)))
                log_printf(LOG_LEVEL_WARNING, "Reload: a new --host or --port takes a restart; still on the old one");
        d->core.peers.max = cfg->max_clients;
        return 0;
}

void server_daemon_free(struct server_daemon *d)
{
        if (!d)
                return;
        if (d->read_ev)
                event_free(d->read_ev);
        daemon_free(&d->daemon);
        if (d->core_ready)
                server_free(&d->core);
        if (d->fd >= 0)
                close(d->fd);
        free(d);
}

/* server-daemon: the server's event loop (see server-daemon.h). The object
 * owns its socket and signal events; each callback gets the object. */
#include "server-daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "server.h"
#include "udp.h"

struct server_daemon {
        struct event_base *base;
        struct event *read_ev;
        struct daemon_signals signals;
        int fd;
        const struct seal_key *key;
        struct server core;
        bool core_ready;
        char local_text[ADDR_STRLEN];
};

static void on_read(evutil_socket_t fd, short what, void *arg)
{
        struct server_daemon *d = arg;
        uint8_t buf[SEAL_MAX_PACKET + 1];
        struct actions a;
        struct addr from;

        /* a bounded batch per wake-up, so signals are seen under a flood */
        for (unsigned i = 0; i < 256; i++) {
                ssize_t n = udp_recv(d->fd, buf, sizeof(buf), &from);

                if (n == -EAGAIN)
                        break;
                if (n < 0)
                        continue;
                server_receive(&d->core, daemon_now_us(), &from, buf, (size_t)n, &a);
                daemon_perform(d->fd, d->key, &a);
        }
}

static int setup(struct server_daemon *d, const struct config *cfg)
{
        char err[256], local[ADDR_STRLEN];
        struct addr bind_addr, bound;
        int r;

        r = udp_resolve(cfg->host, (uint16_t)cfg->port, true, &bind_addr, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "udp-canary: --host %s: %s\n", cfg->host, err);
                return 2;
        }
        d->fd = udp_open(&bind_addr, true);
        if (d->fd < 0) {
                fprintf(stderr, "udp-canary: cannot listen on %s: %s\n",
                        addr_format(&bind_addr, local), strerror(-d->fd));
                return 1;
        }
        if (server_init(&d->core, d->key, cfg->max_clients) < 0) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return 1;
        }
        d->core_ready = true;
        d->base = event_base_new();
        if (d->base)
                d->read_ev = event_new(d->base, d->fd, EV_READ | EV_PERSIST, on_read, d);
        if (!d->base || !d->read_ev || event_add(d->read_ev, NULL) < 0 ||
            daemon_signals_add(&d->signals, d->base) < 0) {
                fprintf(stderr, "udp-canary: cannot set up the event loop\n");
                return 1;
        }
        if (udp_local(d->fd, &bound) < 0)
                bound = bind_addr;
        addr_format(&bound, d->local_text);
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

int server_daemon_run(struct server_daemon *d)
{
        log_printf(LOG_LEVEL_INFO, "Listening on %s", d->local_text);
        event_base_dispatch(d->base);
        return d->signals.exit_code;
}

void server_daemon_free(struct server_daemon *d)
{
        if (!d)
                return;
        daemon_signals_free(&d->signals);
        if (d->read_ev)
                event_free(d->read_ev);
        if (d->base)
                event_base_free(d->base);
        if (d->core_ready)
                server_free(&d->core);
        if (d->fd >= 0)
                close(d->fd);
        free(d);
}

/* server-daemon: the server's event loop (see server-daemon.h). The object
 * owns its socket event; each callback gets the object. */
#include "daemon/server-daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "report/logline.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "core/server.h"
#include "daemon/state.h"
#include "daemon/udp.h"

#define STATUS_EVERY_US 1000000 /* STATUS= at most once a second under load */
#define STATE_DELAY_S 1         /* the state file follows changes within this */

struct server_daemon {
        struct daemon daemon;
        struct event *read_ev;
        int fd;
        const struct seal_key *key;
        struct server core;
        bool core_ready;
        struct udp_batch *batch;   /* recvmmsg buffers */
        struct udp_out *out;       /* replies, sent with sendmmsg per batch */
        struct addr bound;
        uint64_t status_us;
        char *state_path;          /* NULL: no state file */
        struct event *state_ev;    /* saves the state a little after a change */
        struct event *silence_ev;  /* server_timer: clients gone silent */
        uint64_t state_saved;      /* core.state_changes when last saved */
        int state_load_err;        /* from setup, logged once the log is open */
        struct state_report state_report;
        int state_save_err;        /* the last save's error, logged once */
        uint64_t drops;            /* the socket's drop count when last logged */
};

static void save_state(struct server_daemon *d)
{
        int r = state_save(d->state_path, &d->core.peers);

        if (r < 0 && r != d->state_save_err)
                log_printf(LOG_LEVEL_ERROR, "Cannot write the state file %s: %s", d->state_path, strerror(-r));
        else if (r == 0 && d->state_save_err)
                log_printf(LOG_LEVEL_INFO, "State file %s written again", d->state_path);
        d->state_save_err = r;
        if (r == 0)
                d->state_saved = d->core.state_changes;
}

static void on_state_timer(evutil_socket_t fd, short what, void *arg)
{
        save_state(arg);
        log_flush();
}

/* After a batch: schedule a save if the replay state changed. */
static void state_changed(struct server_daemon *d)
{
        struct timeval tv = { .tv_sec = STATE_DELAY_S };

        if (d->state_path && d->core.state_changes != d->state_saved && !evtimer_pending(d->state_ev, NULL))
                evtimer_add(d->state_ev, &tv);
}

static void log_state_load(const struct server_daemon *d)
{
        const struct state_report *r = &d->state_report;

        if (!d->state_path)
                return;
        if (d->state_load_err < 0) {
                log_printf(LOG_LEVEL_ERROR, "Cannot read the state file %s: %s; starting with no clients",
                           d->state_path, strerror(-d->state_load_err));
                return;
        }
        if (r->bad_lines)
                log_printf(LOG_LEVEL_WARNING, "State file %s: %zu bad lines skipped%s", d->state_path,
                           r->bad_lines, r->kept_aside ? "; the file is kept as .corrupt" : "");
        if (r->dropped)
                log_printf(LOG_LEVEL_WARNING, "State file %s: %zu clients over --max-clients not loaded",
                           d->state_path, r->dropped);
        log_printf(LOG_LEVEL_INFO, "State file %s: %zu clients loaded", d->state_path, r->loaded);
}

static void update_status(struct server_daemon *d, uint64_t now_us)
{
        char status[256];

        d->status_us = now_us;
        server_status(&d->core, status, sizeof(status));
        daemon_status(&d->daemon, status);
}

/* Datagrams the kernel dropped at our socket would read as network loss in
 * the clients' logs: say so in ours. Checked with the status, at most once
 * a second, and only while datagrams arrive (an idle socket drops nothing). */
static void log_drops(struct server_daemon *d)
{
        uint64_t drops;

        if (udp_drops(d->fd, &drops) < 0 || drops == d->drops)
                return;
        /* the kernel counts in 32 bits; report reads this line back */
        log_printf(LOG_LEVEL_WARNING, "%" PRIu64 LOGLINE_DROPS_TEXT, (uint64_t)(uint32_t)(drops - d->drops));
        d->drops = drops;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
        struct server_daemon *d = arg;
        size_t clients = d->core.peers.count;
        uint64_t now = 0;
        struct actions a;

        /* a bounded number of batches per wake-up, so signals are seen under a flood */
        for (unsigned round = 0; round < 8; round++) {
                int n = udp_recv_batch(d->fd, d->batch);

                if (n < 0)
                        break;
                now = daemon_now_us();
                for (int i = 0; i < n; i++) {
                        server_receive(&d->core, now, &d->batch->from[i], d->batch->buf[i], d->batch->len[i], &a);
                        daemon_queue(&d->daemon, d->fd, d->out, d->key, &a);
                }
                daemon_send_queued(d->fd, d->out);
                if (n < UDP_BATCH)
                        break;
        }
        if (now && (now - d->status_us >= STATUS_EVERY_US || d->core.peers.count != clients)) {
                log_drops(d);
                update_status(d, now);
        }
        log_flush();
        state_changed(d);
}

static void on_silence_timer(evutil_socket_t fd, short what, void *arg)
{
        struct server_daemon *d = arg;
        struct actions a;

        server_timer(&d->core, daemon_now_us(), &a);
        daemon_perform(&d->daemon, d->fd, d->key, &a);
        log_flush();
        daemon_timer_at(d->silence_ev, a.wake_us);
}

static void write_metrics(FILE *out, void *arg)
{
        struct server_daemon *d = arg;
        struct timespec ts;
        uint64_t drops;

        clock_gettime(CLOCK_REALTIME, &ts);
        metrics_write_server(out, &d->core, daemon_now_us(),
                             (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
        if (udp_drops(d->fd, &drops) == 0)
                metrics_write_socket_drops(out, drops);
}

static int setup(struct server_daemon *d, const struct config *cfg)
{
        char err[256], text[ADDR_STRLEN];
        struct server_config scfg;
        struct addr bind_addr;

        if (udp_resolve(cfg->host, (uint16_t)cfg->port, true, &bind_addr, err, sizeof(err)) < 0) {
                fprintf(stderr, "udp-canary: --host %s: %s\n", cfg->host, err);
                return 2;
        }
        d->batch = malloc(sizeof(*d->batch));
        d->out = calloc(1, sizeof(*d->out));
        if (!d->batch || !d->out) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return 1;
        }
        d->fd = udp_open(&bind_addr, true);
        if (d->fd < 0) {
                fprintf(stderr, "udp-canary: cannot listen on %s: %s\n", addr_format(&bind_addr, text),
                        strerror(-d->fd));
                return 1;
        }
        if (udp_local(d->fd, &d->bound) < 0)
                d->bound = bind_addr;
        scfg = (struct server_config){ .max_clients = cfg->max_clients,
                                       .keepalive_interval_us = cfg->keepalive_interval_us,
                                       .keepalive_count = cfg->keepalive_count };
        if (server_init(&d->core, d->key, &scfg) < 0) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return 1;
        }
        d->core_ready = true;
        if (cfg->state_dir) {
                if (asprintf(&d->state_path, "%s/%s", cfg->state_dir, STATE_FILE_NAME) < 0) {
                        d->state_path = NULL;
                        fprintf(stderr, "udp-canary: out of memory\n");
                        return 1;
                }
                d->state_load_err = state_load(d->state_path, &d->core.peers, &d->state_report);
        }
        if (daemon_init(&d->daemon) < 0 ||
            !(d->read_ev = event_new(d->daemon.base, d->fd, EV_READ | EV_PERSIST, on_read, d)) ||
            !(d->state_ev = evtimer_new(d->daemon.base, on_state_timer, d)) ||
            !(d->silence_ev = evtimer_new(d->daemon.base, on_silence_timer, d)) || event_add(d->read_ev, NULL) < 0) {
                fprintf(stderr, "udp-canary: cannot set up the event loop\n");
                return 1;
        }
        return daemon_metrics_start(&d->daemon, cfg->metrics_listen, write_metrics, d);
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
        int r;

        log_state_load(d);
        log_lifecycle(LOG_LIFECYCLE_START, "Listening on %s", addr_format(&d->bound, text));
        update_status(d, daemon_now_us());
        daemon_timer_at(d->silence_ev, daemon_now_us() + 2 * d->core.cfg.keepalive_interval_us);
        r = daemon_run(&d->daemon);
        if (d->state_path && (d->core.state_changes != d->state_saved || d->state_report.kept_aside))
                save_state(d);
        return r;
}

int server_daemon_reconfigure(struct server_daemon *d, const struct config *cfg)
{
        char err[256];
        struct addr want;

        if (udp_resolve(cfg->host, (uint16_t)cfg->port, true, &want, err, sizeof(err)) < 0 ||
            (cfg->port != 0 && !addr_equal(&want, &d->bound)))
                log_printf(LOG_LEVEL_WARNING, "Reload: a new --host or --port takes a restart; still on the old one");
        d->core.peers.max = cfg->max_clients;
        d->core.cfg.max_clients = cfg->max_clients;
        d->core.cfg.keepalive_interval_us = cfg->keepalive_interval_us;
        d->core.cfg.keepalive_count = cfg->keepalive_count;
        return 0;
}

void server_daemon_free(struct server_daemon *d)
{
        if (!d)
                return;
        if (d->read_ev)
                event_free(d->read_ev);
        if (d->state_ev)
                event_free(d->state_ev);
        if (d->silence_ev)
                event_free(d->silence_ev);
        daemon_free(&d->daemon);
        free(d->state_path);
        free(d->batch);
        free(d->out);
        if (d->core_ready)
                server_free(&d->core);
        if (d->fd >= 0)
                close(d->fd);
        free(d);
}

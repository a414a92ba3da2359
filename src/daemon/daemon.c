/* daemon: the parts of the client and server daemons they share. */
#include "daemon/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/util.h>

#include "daemon/fileio.h"
#include "daemon/httpd.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/udp.h"

uint64_t daemon_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
        struct daemon *d = arg;

        notify_stopping();
        log_lifecycle(LOG_LIFECYCLE_STOP, LOGTEXT_EXIT);
        log_flush();
        d->signalled = true;
        event_base_loopbreak(d->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
        struct daemon *d = arg;
        int r;

        notify_reloading();
        r = log_reopen();
        if (r < 0)
                log_printf(LOG_LEVEL_ERROR, "Cannot reopen the log file: %s", fileio_strerror(r));
        r = d->reload ? d->reload(d->reload_arg) : 0;
        if (r == 0)
                log_lifecycle(LOG_LIFECYCLE_RELOAD, LOGTEXT_RELOADED);
        log_flush();
        notify_ready();
}

/* Pings at half the interval systemd asks for: a stuck loop stops them. */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
        notify_watchdog();
}

int daemon_init(struct daemon *d, const struct daemon_ops *ops, void *obj, const struct seal_key *key)
{
        uint64_t wd = notify_watchdog_usec();

        memset(d, 0, sizeof(*d));
        d->fd = -1;
        d->ops = ops;
        d->obj = obj;
        d->key = key;
        d->base = event_base_new();
        d->batch = malloc(sizeof(*d->batch));
        d->out = calloc(1, sizeof(*d->out));
        if (!d->base || !d->batch || !d->out)
                return -ENOMEM;
        d->stop[0] = evsignal_new(d->base, SIGINT, on_stop, d);
        d->stop[1] = evsignal_new(d->base, SIGTERM, on_stop, d);
        d->hup = evsignal_new(d->base, SIGHUP, on_hup, d);
        d->watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
        if (!d->stop[0] || !d->stop[1] || !d->hup || !d->watchdog || evsignal_add(d->stop[0], NULL) < 0 ||
            evsignal_add(d->stop[1], NULL) < 0 || evsignal_add(d->hup, NULL) < 0)
                return -ENOMEM;
        if (wd) {
                struct timeval tv = { .tv_sec = (time_t)(wd / 2 / 1000000),
                                      .tv_usec = (suseconds_t)(wd / 2 % 1000000) };

                if (event_add(d->watchdog, &tv) < 0)
                        return -ENOMEM;
        }
        /* a reader that went away must not kill us; EPIPE is handled */
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

/* The /metrics text; the time it takes counts as the loop's. */
static void write_metrics(FILE *out, void *arg)
{
        struct daemon *d = arg;
        uint64_t start = daemon_now_us();
        struct log_output_drops drops[4];

        d->ops->metrics(out, d->obj);
        metrics_write_log_drops(out, drops, log_output_drops(drops, sizeof(drops) / sizeof(drops[0])));
        metrics_write_loop(out, d->busy.wall_max_us, d->busy.cpu_max_us);
        metrics_write_http(out, d->http->n_conns, d->http->refused, d->http->evicted);
        daemon_busy(d, start);
}

int daemon_metrics_listen(struct daemon *d, const char *listen)
{
        struct addr a = { .len = sizeof(a.in6) };
        int len = (int)a.len, r;

        /* "ADDR:PORT" or "[V6]:PORT", numeric only: no lookup at start-up */
        if (evutil_parse_sockaddr_port(listen, &a.sa, &len) < 0 || addr_port(&a) == 0)
                return -EINVAL;
        a.len = (socklen_t)len;
        d->http = malloc(sizeof(*d->http));
        if (!d->http)
                return -ENOMEM;
        r = httpd_start(d->http, d->base, &a, write_metrics, d);
        if (r < 0) {
                free(d->http);
                d->http = NULL;
                return -EADDRNOTAVAIL;
        }
        return 0;
}

int daemon_metrics_start(struct daemon *d, const char *listen)
{
        int r = listen ? daemon_metrics_listen(d, listen) : 0;

        if (r == -EINVAL)
                fprintf(stderr, "udp-canary: --metrics-listen %s: not IP:PORT (e.g. 127.0.0.1:9101, [::1]:9101)\n",
                        listen);
        else if (r < 0)
                fprintf(stderr, "udp-canary: --metrics-listen %s: cannot listen there\n", listen);
        return r;
}

void daemon_free(struct daemon *d)
{
        struct event **evs[] = { &d->stop[0], &d->stop[1], &d->hup, &d->watchdog, &d->read_ev };

        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
                if (*evs[i])
                        event_free(*evs[i]);
                *evs[i] = NULL;
        }
        if (d->http)
                httpd_stop(d->http);
        free(d->http);
        d->http = NULL;
        if (d->base)
                event_base_free(d->base);
        d->base = NULL;
        if (d->fd >= 0)
                close(d->fd);
        d->fd = -1;
        free(d->batch);
        free(d->out);
        d->batch = NULL;
        d->out = NULL;
}

int daemon_new(void **out, size_t size, int (*setup)(void *obj, const struct config *cfg, const struct seal_key *key),
               void (*free_obj)(void *obj), const struct config *cfg, const struct seal_key *key)
{
        void *obj = calloc(1, size);
        int r;

        if (!obj) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return -ENOMEM;
        }
        r = setup(obj, cfg, key);
        if (r != 0) {
                free_obj(obj);
                return r;
        }
        *out = obj;
        return 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg);

int daemon_socket(struct daemon *d, const struct addr *a, bool bind_it)
{
        int fd = udp_open(a, bind_it);
        struct event *ev;

        if (fd < 0)
                return fd;
        ev = event_new(d->base, fd, EV_READ | EV_PERSIST, on_read, d);
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

int daemon_run(struct daemon *d)
{
        log_flush();
        notify_ready();
        event_base_dispatch(d->base);
        log_flush();
        return d->signalled ? 0 : 1;
}

static void log_send_error(const struct addr *to, int err)
{
        char peer[ADDR_STRLEN];

        log_printf(LOG_LEVEL_WARNING, "Cannot send to %s: %s", addr_format(to, peer), strerror(-err));
}

static void send_queued(struct daemon *d)
{
        size_t n = d->out->n;

        if (n == 0 || udp_out_send(d->fd, d->out) == 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (d->out->err[i] < 0)
                        log_send_error(&d->out->to[i], d->out->err[i]);
}

/* Logs the events and queues the datagrams, sending the queue when full;
 * from: the local address they leave from (NULL: the kernel's choice). */
static void queue(struct daemon *d, const struct actions *a, const struct udp_local *from)
{
        for (size_t i = 0; i < a->n_events; i++)
                log_event(&a->events[i]);
        for (size_t i = 0; i < a->n_send; i++) {
                int r;

                if (d->out->n == UDP_OUT_MAX)
                        send_queued(d);
                r = udp_out_add(d->out, d->key, &d->ivs, &a->send[i].msg, &a->send[i].to, from);
                if (r < 0)
                        log_send_error(&a->send[i].to, r);
        }
}

void daemon_perform(struct daemon *d, const struct actions *a)
{
        queue(d, a, NULL);
        send_queued(d);
}

/* Batches read per wake-up: one, so that no callback holds the loop for
 * more than a batch's work (64 datagrams, about 0.3 ms with a log file);
 * libevent calls again at once while datagrams wait. */
#define DAEMON_READ_ROUNDS 1

/* Unauthentic datagrams: after a few from one source, one hint that its
 * key may differ, naming ours by its fingerprint. A small table: a lost
 * entry only costs a repeated hint. */
static void hint_key(struct daemon *d, const struct addr *from)
{
        enum { HINT_AFTER = 3 };
        size_t n = sizeof(d->bad_key) / sizeof(d->bad_key[0]);
        uint32_t h = 2166136261u;
        char peer[ADDR_STRLEN];

        addr_format(from, peer);
        for (const char *p = peer; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        h %= (uint32_t)n;
        if (!addr_equal(&d->bad_key[h].from, from)) {
                d->bad_key[h].from = *from;
                d->bad_key[h].count = 0;
                d->bad_key[h].told = false;
        }
        if (++d->bad_key[h].count < HINT_AFTER || d->bad_key[h].told || !d->fingerprint)
                return;
        d->bad_key[h].told = true;
        log_printf(LOG_LEVEL_WARNING, "Packets from %s fail authentication: a different key? Ours is %s", peer,
                   d->fingerprint);
}

/* An ICMP error from the socket's queue, to the client or server object. */
static void icmp_error(void *arg, const struct udp_error *e)
{
        struct daemon *d = arg;

        d->ops->icmp(d->obj, daemon_now_us(), e);
}

/* The socket is readable: a bounded number of batches per wake-up, so that
 * signals and timers are seen under a flood; each batch's replies leave in
 * one sendmmsg. */
static void on_read(evutil_socket_t fd, short what, void *arg)
{
        struct daemon *d = arg;
        uint64_t start = daemon_now_us(), now = 0;
        struct actions a;

        for (unsigned round = 0; round < DAEMON_READ_ROUNDS; round++) {
                int n = udp_recv_batch(d->fd, d->batch);

                if (n < 0) {
                        /* EAGAIN, or an ICMP error (the datagrams are still
                         * there): any queued errors are read, or the socket
                         * stays readable and the loop spins */
                        if (udp_drain_errors(d->fd, d->ops->icmp ? icmp_error : NULL, d) && d->ops->refused)
                                d->ops->refused(d->obj, daemon_now_us());
                        break;
                }
                now = daemon_now_us();
                for (int i = 0; i < n; i++) {
                        struct opened in;

                        in.err = seal_open_message(d->key, d->batch->buf[i], d->batch->len[i], &in.msg, &in.why);
                        if (in.err == -EBADMSG)
                                hint_key(d, &d->batch->from[i]);
                        d->ops->receive(d->obj, now, &d->batch->from[i], &in, &a);
                        /* an answer leaves from where the datagram arrived */
                        queue(d, &a, &d->batch->to[i]);
                }
                send_queued(d);
                if (n < UDP_BATCH)
                        break;
        }
        if (now && d->ops->after_read)
                d->ops->after_read(d->obj, now);
        log_flush();
        daemon_busy(d, start);
}

void daemon_status(struct daemon *d, const char *text)
{
        if (strncmp(d->status, text, sizeof(d->status) - 1) == 0)
                return;
        snprintf(d->status, sizeof(d->status), "%s", text);
        notify_status(d->status);
}

void daemon_busy(struct daemon *d, uint64_t start_us)
{
        uint64_t end = daemon_now_us();
        struct timespec ts;

        if (busy_callback(&d->busy, start_us, end) && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
                busy_cpu(&d->busy, end, (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

void daemon_log_fingerprint(const struct daemon *d)
{
        if (d->fingerprint)
                log_printf(LOG_LEVEL_INFO, LOGTEXT_FINGERPRINT "%s", d->fingerprint);
}

int daemon_event_add(struct event *ev, const struct timeval *tv)
{
        if (event_add(ev, tv) == 0)
                return 0;
        log_printf(LOG_LEVEL_ERROR, "Cannot add an event to the loop (out of memory); stopping");
        log_flush();
        event_base_loopbreak(event_get_base(ev));
        return -ENOMEM;
}

int daemon_timer_in(struct event *timer, uint64_t us)
{
        struct timeval tv = { .tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000) };

        return daemon_event_add(timer, &tv);
}

int daemon_timer_at(struct event *timer, uint64_t wake_us)
{
        uint64_t now = daemon_now_us();

        return daemon_timer_in(timer, wake_us > now ? wake_us - now : 0);
}

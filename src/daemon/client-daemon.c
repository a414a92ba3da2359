/* client-daemon: the client's event loop (see client-daemon.h). The object
 * owns its timer event, resolver and probe; the socket and its event are
 * the shared daemon's (daemon.c), embedded in it. Each callback gets the
 * object. */
#include "daemon/client-daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <event2/event.h>

#include "core/client.h"
#include "core/grow.h"
#include "core/probe-client.h"
#include "daemon/client-daemon-probe.h"
#include "daemon/client-daemon-trace.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/resolve.h"
#include "daemon/udp.h"

struct client_daemon {
        struct daemon daemon;
        struct event *timer_ev;
        struct client_config cfg;
        struct client core;
        bool started;              /* the core runs: the server's name resolved */
        char *host;                /* the server as the user named it */
        uint16_t port;
        int family;                /* -4, -6: only that one; 0: either */
        struct resolver *resolver; /* retries the name until it resolves */
        bool looking_up;           /* the resolver has not resolved yet */
        char resolve_err[128];     /* why the name did not resolve at start */
        uint64_t started_us;       /* for the summary at a terminal */
        uint64_t refused_us;       /* when a closed port was last told */
        uint64_t *rtts;            /* every round trip, for its median */
        size_t n_rtts, cap_rtts;
        struct client_probe *probe; /* --probe-every */
        uint64_t probe_every_us, probe_max_delay_s;
        struct client_trace *trace; /* --trace-hops: where a dead flow stops */
};

/* Round trips kept for the summary's median: years of handshakes at the
 * default timers, 8 MB at most. */
#define RTTS_MAX (1u << 20)

static void update_status(struct client_daemon *d)
{
        char status[256];

        client_status(&d->core, daemon_now_us(), status, sizeof(status));
        daemon_status(&d->daemon, status);
}

/* The core asked to be woken at a->wake_us (0: it keeps its timer).
 * Returns 0 or -ENOMEM (see daemon_event_add). */
static int arm_timer(struct client_daemon *d, const struct actions *a)
{
        return a->wake_us ? daemon_timer_at(d->timer_ev, a->wake_us) : 0;
}

static void reresolve(struct client_daemon *d);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct client_daemon *d = arg;
        uint64_t start = daemon_now_us();
        struct actions a;

        client_timer(&d->core, start, &a);
        daemon_perform(&d->daemon, &a);
        (void)arm_timer(d, &a); /* a failure stops the loop */
        if (a.reresolve)
                reresolve(d);
        client_trace_after(d->trace, &d->core, start);
        update_status(d);
        log_flush();
        daemon_busy(&d->daemon, start);
}

/* Keeps the round trip of an answered handshake for the summary. */
static void note_rtts(struct client_daemon *d, const struct actions *a)
{
        for (size_t i = 0; i < a->n_events; i++) {
                const struct core_event *ev = &a->events[i];

                if (ev->kind != EVENT_RX || !ev->rtt_us || d->n_rtts == RTTS_MAX)
                        continue;
                if (grow_array((void **)&d->rtts, &d->cap_rtts, d->n_rtts + 1, sizeof(*d->rtts)) < 0)
                        return;
                d->rtts[d->n_rtts++] = ev->rtt_us;
        }
}

static void receive(void *obj, uint64_t now_us, const struct addr *from, const struct opened *in,
                    struct actions *out)
{
        struct client_daemon *d = obj;

        client_receive(&d->core, now_us, from, in, out);
        client_trace_after(d->trace, &d->core, now_us);
        note_rtts(d, out);
        (void)arm_timer(d, out); /* a failure stops the loop */
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return (x > y) - (x < y);
}

/* Like ping at its end: what this run saw, when a person is watching. */
static void print_summary(struct client_daemon *d, FILE *out)
{
        const struct client_stats *st = &d->core.stats;
        uint64_t now = daemon_now_us(), run = now - d->started_us, in_outages = client_outage_us(&d->core, now);
        char server[ADDR_STRLEN];

        fprintf(out, "--- udp-canary client to %s: %" PRIu64 ".%" PRIu64 " s ---\n", addr_format(&d->cfg.server, server),
                run / 1000000, run / 100000 % 10);
        fprintf(out, "handshakes %" PRIu64 " sent, %" PRIu64 " answered; keepalives %" PRIu64 " sent\n", st->inits,
                st->answered, st->keepalives);
        fprintf(out, "outages %" PRIu64 ", %" PRIu64 ".%" PRIu64 " s in all\n", st->outages, in_outages / 1000000,
                in_outages / 100000 % 10);
        if (d->n_rtts) {
                qsort(d->rtts, d->n_rtts, sizeof(*d->rtts), cmp_u64);
                fprintf(out, "round trip min %.3f / median %.3f / max %.3f ms (%zu)\n", (double)d->rtts[0] / 1e3,
                        (double)d->rtts[d->n_rtts / 2] / 1e3, (double)d->rtts[d->n_rtts - 1] / 1e3, d->n_rtts);
        }
        fputs("NAT rebindings: seen by the server only (its log, or udp-canary report)\n", out);
}

static void after_read(void *obj, uint64_t now_us)
{
        update_status(obj);
}

/* The settings but the server's address, which takes a lookup. */
static void fill_config(struct client_config *out, const struct config *cfg)
{
        out->id_len = strlen(cfg->id);
        memcpy(out->id, cfg->id, out->id_len + 1);
        out->handshake_timeout_us = cfg->handshake_timeout_us;
        out->keepalive_interval_us = cfg->keepalive_interval_us;
        out->keepalive_count = cfg->keepalive_count;
}

/* The settings and the server's address, looked up now. Returns 0, or
 * udp_resolve's error with everything but the server filled in. */
static int make_config(struct client_config *out, const struct config *cfg, char *err, size_t errlen)
{
        fill_config(out, cfg);
        return udp_resolve(cfg->host, (uint16_t)cfg->port, false, cfg->family, &out->server, err, errlen);
}

static void write_metrics(FILE *out, void *obj)
{
        struct client_daemon *d = obj;
        struct timespec ts;
        uint64_t drops;

        clock_gettime(CLOCK_REALTIME, &ts);
        metrics_write_build_info(out, "client", d->cfg.id, d->cfg.id_len, metrics_family(&d->cfg.server, false));
        metrics_write_client(out, &d->core, daemon_now_us(),
                             (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
        if (udp_drops(d->daemon.fd, &drops) == 0)
                metrics_write_socket_drops(out, drops);
        client_probe_write_metrics(out, d->probe);
}

/* The server's host answered that nothing listens on the port: said at
 * most once a minute, as the outage it explains goes on. */
static void refused(void *obj, uint64_t now_us)
{
        struct client_daemon *d = obj;
        char server[ADDR_STRLEN];

        if (d->refused_us && now_us - d->refused_us < 60000000)
                return;
        d->refused_us = now_us;
        log_printf(LOG_LEVEL_WARNING, "The server's port is closed: %s answered that nothing listens there"
                   " (ICMP port unreachable)", addr_format(&d->cfg.server, server));
}

/* An ICMP error on the socket: a trace's answer, maybe. */
static void icmp(void *obj, uint64_t now_us, const struct udp_error *e)
{
        struct client_daemon *d = obj;

        client_trace_icmp(d->trace, now_us, e);
}

static const struct daemon_ops client_ops = {
        .receive = receive,
        .after_read = after_read,
        .metrics = write_metrics,
        .refused = refused,
        .icmp = icmp,
};

static bool is_address(const char *host)
{
        struct in6_addr a;

        return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* --probe-every, and the longest idle it tries: --probe-max-delay when
 * given, else the probe command's default (the server's default, an hour,
 * would make every run that long). */
static void probe_settings(struct client_daemon *d, const struct config *cfg)
{
        d->probe_every_us = cfg->probe_every_us;
        d->probe_max_delay_s = config_is_set(cfg, "probe-max-delay") ? cfg->probe_max_delay_us / 1000000
                                                                    : PROBER_DEFAULT_MAX_DELAY_S;
}

/* The background probe goes to the server the client uses, with its id.
 * Returns 0 or client_probe_set's error. */
static int follow_probe(struct client_daemon *d)
{
        if (!d->started)
                return 0;
        return client_probe_set(d->probe, &d->cfg.server, d->cfg.id, d->cfg.id_len, d->probe_every_us,
                                d->probe_max_delay_s);
}

/* A name that does not resolve now is no reason to exit (at boot the
 * network may not be up yet): the client then starts once it resolves. */
static int setup(void *obj, const struct config *cfg, const struct seal_key *key)
{
        struct client_daemon *d = obj;
        int r;

        d->host = strdup(cfg->host);
        d->port = (uint16_t)cfg->port;
        d->family = cfg->family;
        probe_settings(d, cfg);
        if (!d->host || daemon_init(&d->daemon, &client_ops, d, key) < 0 ||
            !(d->timer_ev = evtimer_new(d->daemon.base, on_timer, d)) ||
            client_probe_new(&d->probe, d->daemon.base, key) < 0 || client_trace_new(&d->trace, &d->daemon) < 0) {
                fprintf(stderr, "udp-canary: cannot set up the event loop\n");
                return -ENOMEM;
        }
        if (make_config(&d->cfg, cfg, d->resolve_err, sizeof(d->resolve_err)) == 0) {
                r = daemon_socket(&d->daemon, &d->cfg.server, false);
                if (r < 0) {
                        fprintf(stderr, "udp-canary: cannot open a UDP socket: %s\n", strerror(-r));
                        return r;
                }
                d->resolve_err[0] = '\0';
        } else if (is_address(cfg->host)) {
                /* an address that does not resolve never will (-4 with an IPv6 one) */
                fprintf(stderr, "udp-canary: --host %s: %s\n", cfg->host, d->resolve_err);
                return -EINVAL;
        }
        client_trace_set(d->trace, cfg->trace_hops, cfg->trace_interval_us);
        return daemon_metrics_start(&d->daemon, cfg->metrics_listen);
}

static void free_obj(void *obj)
{
        client_daemon_free(obj);
}

int client_daemon_new(struct client_daemon **out, const struct config *cfg, const struct seal_key *key)
{
        void *d;
        int r = daemon_new(&d, sizeof(**out), setup, free_obj, cfg, key);

        if (r == 0)
                *out = d;
        return r;
}

struct daemon *client_daemon_base(struct client_daemon *d)
{
        return &d->daemon;
}

static void log_start(const struct client_daemon *d)
{
        char id[MESSAGE_TEXT_MAX], server[ADDR_STRLEN];

        message_repr_string(d->cfg.id, d->cfg.id_len, id, sizeof(id));
        log_lifecycle(LOG_LIFECYCLE_START, LOGTEXT_CLIENT_START "%s" LOGTEXT_CLIENT_SENDING "%s", id,
                      addr_format(&d->cfg.server, server));
        daemon_log_fingerprint(&d->daemon);
}

/* The server is known: start the protocol. Returns 0, or -ENOMEM when a
 * timer could not be armed (logged). */
static int start(struct client_daemon *d)
{
        struct actions a;
        int r;

        d->started = true;
        d->started_us = daemon_now_us();
        log_start(d);
        client_start(&d->core, &d->cfg, daemon_now_us(), (uint64_t)time(NULL), &a);
        daemon_perform(&d->daemon, &a);
        r = arm_timer(d, &a);
        update_status(d);
        if (r == 0)
                r = follow_probe(d);
        return r;
}

static void resolve_failed(void *arg, const char *why, uint64_t retry_us)
{
        struct client_daemon *d = arg;
        char status[256], server[ADDR_STRLEN];

        log_printf(LOG_LEVEL_WARNING, "Cannot resolve %s: %s; trying again in %" PRIu64 " s%s%s", d->host, why,
                   retry_us / 1000000, d->started ? "; still sending to " : "",
                   d->started ? addr_format(&d->cfg.server, server) : "");
        if (d->started) { /* the status stays the protocol's */
                log_flush();
                return;
        }
        snprintf(status, sizeof(status), "Resolving %s: %s; next try in %" PRIu64 " s", d->host, why,
                 retry_us / 1000000);
        daemon_status(&d->daemon, status);
        log_flush();
}


/* The line and journal entry of a move, with both addresses as fields. */
static void log_moved(const struct client_daemon *d, const struct addr *to)
{
        char body[LOG_LINE_MAX], was[ADDR_STRLEN], now[ADDR_STRLEN], text[3][ADDR_STRLEN + 300];
        const char *fields[3] = { text[0], text[1], text[2] };
        ssize_t n = logtext_format_server_moved(d->host, &d->cfg.server, to, body, sizeof(body));

        if (n < 0)
                return;
        snprintf(text[0], sizeof(text[0]), "CANARY_HOST=%.255s", d->host);
        snprintf(text[1], sizeof(text[1]), "CANARY_PEER=%s", addr_format(to, now));
        snprintf(text[2], sizeof(text[2]), "CANARY_OLD_PEER=%s", addr_format(&d->cfg.server, was));
        log_structured(LOG_LEVEL_INFO, LOG_MESSAGE_ID_SERVER_MOVED, "server_moved", fields, 3, "%s", body);
}

/* The running client's server has a new address: a new socket (the family
 * may differ), then a fresh handshake there, and the probe follows. A
 * socket that cannot be opened leaves everything on the old address. */
static void move_to(struct client_daemon *d, const struct addr *a)
{
        struct actions act;
        int r = daemon_socket(&d->daemon, a, false);

        if (r < 0) {
                log_printf(LOG_LEVEL_ERROR, "Cannot open a UDP socket: %s; still sending to the old address",
                           strerror(-r));
                return;
        }
        log_moved(d, a);
        d->cfg.server = *a;
        client_move(&d->core, a, daemon_now_us(), &act);
        daemon_perform(&d->daemon, &act);
        /* a timer that cannot be armed stops the loop */
        if (arm_timer(d, &act) == 0)
                (void)follow_probe(d);
        update_status(d);
}

/* The server's address is known (the resolver's done, or a reload named
 * an address): the protocol starts, or moves there when it differs. The
 * resolver, idle from now on, is freed by the next lookup or with the
 * client, not here inside its own callback. */
static void resolved(void *arg, const struct addr *a)
{
        struct client_daemon *d = arg;
        char server[ADDR_STRLEN];
        int r;

        d->looking_up = false;
        if (d->started && addr_equal(a, &d->cfg.server)) {
                log_printf(LOG_LEVEL_INFO, "Looked up %s again: still %s", d->host, addr_format(a, server));
        } else if (d->started) {
                move_to(d, a);
        } else if ((r = daemon_socket(&d->daemon, a, false)) < 0) {
                log_printf(LOG_LEVEL_ERROR, "Cannot open a UDP socket: %s", strerror(-r));
                event_base_loopbreak(d->daemon.base); /* exit status 1 */
        } else {
                d->cfg.server = *a; /* with the port: the lookup was for host:port */
                (void)start(d);     /* a timer that cannot be armed has stopped the loop */
        }
        log_flush();
}

static const struct resolve_ops resolve_ops = { .done = resolved, .failed = resolve_failed };

/* Resolves the server's name in the background from now on. */
static int resolve_later(struct client_daemon *d)
{
        resolver_free(d->resolver);
        d->resolver = resolver_new(d->daemon.base, d->host, d->port, d->family, &resolve_ops, d);
        d->looking_up = d->resolver != NULL;
        return d->resolver ? 0 : -ENOMEM;
}

/* The core found the server silent for long: its name may point elsewhere
 * now. A lookup already under way (it retries on its own) is left be. */
static void reresolve(struct client_daemon *d)
{
        if (is_address(d->host) || d->looking_up)
                return;
        log_printf(LOG_LEVEL_INFO, "No answer to %u handshakes in a row: looking up %s again",
                   CLIENT_RERESOLVE_UNANSWERED, d->host);
        if (resolve_later(d) < 0)
                log_printf(LOG_LEVEL_ERROR, "Cannot look up %s: out of memory", d->host);
}

int client_daemon_run(struct client_daemon *d)
{
        int r;

        if (!d->resolve_err[0]) {
                /* the loop is not running yet: a failure to arm cannot stop it */
                if (start(d) < 0)
                        return 1;
        } else {
                resolve_failed(d, d->resolve_err, RESOLVE_FIRST_RETRY_US);
                if (resolve_later(d) < 0) {
                        log_printf(LOG_LEVEL_ERROR, "Cannot resolve %s: out of memory", d->host);
                        return 1;
                }
        }
        r = daemon_run(&d->daemon);
        if (d->started && isatty(STDERR_FILENO))
                print_summary(d, stderr);
        return r;
}



/* A reload. The timers and the id apply at once. A server name is looked
 * up again at every reload (in the background: a reload must not wait for
 * DNS), so that a server that moved is followed; until the lookup ends the
 * client goes on with the old address. */
int client_daemon_reconfigure(struct client_daemon *d, const struct config *cfg)
{
        bool same = strcmp(cfg->host, d->host) == 0 && (uint16_t)cfg->port == d->port && cfg->family == d->family;
        struct client_config next = d->cfg;
        char *host;

        fill_config(&next, cfg);
        d->cfg = next;
        probe_settings(d, cfg);
        client_trace_set(d->trace, cfg->trace_hops, cfg->trace_interval_us);
        if (d->started)
                client_reconfigure(&d->core, &d->cfg);
        (void)follow_probe(d); /* a timer that cannot be armed stops the loop */
        if (same && is_address(cfg->host))
                return 0;
        if (is_address(cfg->host) && udp_resolve(cfg->host, (uint16_t)cfg->port, false, cfg->family, &next.server,
                                                 d->resolve_err, sizeof(d->resolve_err)) < 0) {
                log_printf(LOG_LEVEL_ERROR, "Reload: --host %s: %s; keeping the old server", cfg->host, d->resolve_err);
                return -EADDRNOTAVAIL;
        }
        host = strdup(cfg->host);
        if (!host)
                return -ENOMEM;
        free(d->host);
        d->host = host;
        d->port = (uint16_t)cfg->port;
        d->family = cfg->family;
        /* a lookup of the name before must not override this one */
        resolver_free(d->resolver);
        d->resolver = NULL;
        d->looking_up = false;
        if (is_address(cfg->host)) {
                resolved(d, &next.server);
                return 0;
        }
        log_printf(LOG_LEVEL_INFO, "Reload: looking up %s in the background", cfg->host);
        if (resolve_later(d) < 0) {
                log_printf(LOG_LEVEL_ERROR, "Reload: cannot look up %s: out of memory; keeping the old server",
                           cfg->host);
                return -ENOMEM;
        }
        return 0;
}

void client_daemon_free(struct client_daemon *d)
{
        if (!d)
                return;
        resolver_free(d->resolver);
        free(d->host);
        free(d->rtts);
        client_probe_free(d->probe);
        client_trace_free(d->trace);
        if (d->timer_ev)
                event_free(d->timer_ev);
        daemon_free(&d->daemon);
        free(d);
}

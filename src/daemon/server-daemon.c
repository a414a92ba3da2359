/* server-daemon: the server's event loop (see server-daemon.h). The object
 * owns its timers (state, silence, probes) and the state writer (the socket
 * is its daemon's); each callback gets the object. */
#include "daemon/server-daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/fileio.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "core/server.h"
#include "daemon/state-writer.h"
#include "daemon/udp.h"

#define STATUS_EVERY_US 1000000 /* STATUS= at most once a second under load */

/* A state file and its writer: the replay state, or the probes'. */
struct kept {
        char *path;                /* NULL: no state file */
        const char *header;
        struct state_writer *w;    /* writes it off the loop */
        uint64_t noted_us;         /* clients heard since then are not noted yet */
        uint64_t saves;            /* the writer's saves when last looked at */
        uint64_t failures;         /* and its failures */
        int save_err;              /* the last save's error, logged once */
        bool changed;              /* an id rose since the file was loaded */
};

enum { KEPT_REPLAY, KEPT_PROBES, KEPT_COUNT };

static const struct {
        const char *name, *header;
} kept_files[KEPT_COUNT] = {
        [KEPT_REPLAY] = { STATE_FILE_NAME, STATE_REPLAY_HEADER },
        [KEPT_PROBES] = { STATE_PROBES_FILE_NAME, STATE_PROBES_HEADER },
};

struct server_daemon {
        struct daemon daemon;
        struct server core;
        bool core_ready;
        struct addr bound;
        uint64_t status_us;
        size_t status_clients;     /* the number of clients in that status */
        struct kept kept[KEPT_COUNT];
        struct event *state_ev;    /* hands the notes over a little after a change */
        struct event *silence_ev;  /* server_timer: clients gone silent */
        uint64_t silence_at_us;    /* when it is set to fire */
        uint64_t drops;            /* the socket's drop count when last logged */
        struct event *probe_ev;    /* server_probe_timer: probe answers due */
        uint64_t probe_due_us;     /* when probe_ev fires; 0: not armed */
};

/* The limits on NAT timeout probes (see core/probe-server.h). */
static struct probes_config server_probes_config_of(const struct config *cfg)
{
        return (struct probes_config){ .max_delay_s = cfg->probe_max_delay_us / 1000000,
                                       .max_pending = cfg->probe_max_pending,
                                       .max_per_client = PROBES_MAX_PER_CLIENT };
}

static struct server_config server_config_of(const struct config *cfg)
{
        return (struct server_config){ .max_clients = cfg->max_clients,
                                       .keepalive_interval_us = cfg->keepalive_interval_us,
                                       .keepalive_count = cfg->keepalive_count,
                                       .probes = server_probes_config_of(cfg) };
}

/* Notes how a save ended: an error once, and its recovery. */
static void saved(struct kept *k, int r)
{
        if (r < 0 && r != k->save_err)
                log_printf(LOG_LEVEL_ERROR, "Cannot write the state file %s: %s", k->path, strerror(-r));
        else if (r == 0 && k->save_err)
                log_printf(LOG_LEVEL_INFO, "State file %s written again", k->path);
        k->save_err = r;
}

/* The outcome of the writer's latest save, when there is a new one; a
 * failure since the last look is told even if a save worked after it. */
static void check_saved(struct kept *k)
{
        struct state_writer_outcome o;

        state_writer_outcome(k->w, &o);
        if (o.saves == k->saves)
                return;
        if (o.failures != k->failures && o.last == 0)
                saved(k, o.last_error);
        k->saves = o.saves;
        k->failures = o.failures;
        saved(k, o.last);
}

/* The clients of a table heard since the last call, least recent first. */
static struct peer *heard_since(struct server_daemon *d, int which, uint64_t since_us)
{
        return which == KEPT_REPLAY ? server_heard_since(&d->core, since_us)
                                    : probes_heard_since(&d->core.probes, since_us);
}

static struct peers *table_of(struct server_daemon *d, int which)
{
        return which == KEPT_REPLAY ? &d->core.peers : &d->core.probes.clients;
}

/* Notes for the writer the clients heard since the last call whose id
 * rose, oldest first. A note that cannot be made (no memory) leaves the
 * mark where it was, to be made next time. */
static void note_heard(struct server_daemon *d, int which, uint64_t now_us)
{
        struct kept *k = &d->kept[which];

        for (struct peer *p = heard_since(d, which, k->noted_us); p; p = p->newer) {
                if (p->highest_init <= p->noted_init)
                        continue;
                if (state_writer_note(k->w, p->id, p->id_len, p->highest_init) < 0)
                        return;
                p->noted_init = p->highest_init;
                k->changed = true;
        }
        k->noted_us = now_us;
}

/* Every STATE_WRITER_HANDOVER_US while there are notes: hand them over to
 * the writers, and come back once more after that, to tell how the saves
 * went (an idle server would not say it until its next datagram). */
static void on_state_timer(evutil_socket_t fd, short what, void *arg)
{
        struct server_daemon *d = arg;
        uint64_t start = daemon_now_us();
        bool again = false;

        for (int i = 0; i < KEPT_COUNT; i++) {
                struct kept *k = &d->kept[i];
                bool handing = state_writer_busy(k->w); /* notes to hand over, or a save under way */
                int r;

                check_saved(k);
                if (k->save_err)
                        (void)state_writer_retry(k->w);
                r = state_writer_submit(k->w);
                if (r < 0)
                        saved(k, r);
                again |= handing || state_writer_busy(k->w);
        }
        if (again)
                (void)daemon_timer_in(d->state_ev, STATE_WRITER_HANDOVER_US); /* a failure stops the loop */
        log_flush();
        daemon_busy(&d->daemon, start);
}

/* After a batch: note whose id rose; hand it over within the interval. */
static void state_changed(struct server_daemon *d, uint64_t now_us)
{
        bool due = false;

        if (!d->kept[KEPT_REPLAY].w)
                return;
        for (int i = 0; i < KEPT_COUNT; i++) {
                note_heard(d, i, now_us);
                due |= d->kept[i].save_err || state_writer_busy(d->kept[i].w);
        }
        if (due && !evtimer_pending(d->state_ev, NULL))
                (void)daemon_timer_in(d->state_ev, STATE_WRITER_HANDOVER_US); /* a failure stops the loop */
}

/* The last save, at the end: the loop's own table, written by the loop,
 * so that the exit does not wait behind a writer held back by a busy CPU.
 * A file nothing was noted for stays as it is (damaged lines and all, when
 * no copy of them could be kept). */
static void save_final(struct server_daemon *d)
{
        for (int i = 0; i < KEPT_COUNT; i++) {
                struct kept *k = &d->kept[i];

                if (!k->w || !k->changed)
                        continue;
                check_saved(k);
                state_writer_abandon(k->w);
                saved(k, state_save(k->path, k->header, table_of(d, i)));
        }
}

static void log_state_load(const struct kept *k, const struct state_report *r)
{
        size_t plen = strlen(k->path);

        if (r->bad_lines && r->kept_aside)
                log_printf(LOG_LEVEL_WARNING, "State file %s: %zu bad lines skipped; the file is kept as %s",
                           k->path, r->bad_lines, r->aside + plen);
        else if (r->bad_lines)
                log_printf(LOG_LEVEL_WARNING, "State file %s: %zu bad lines skipped; no copy could be kept aside",
                           k->path, r->bad_lines);
        if (r->dropped)
                log_printf(LOG_LEVEL_WARNING, "State file %s: %zu clients over --max-clients not loaded",
                           k->path, r->dropped);
        log_printf(LOG_LEVEL_INFO, "State file %s: %zu clients loaded", k->path, r->loaded);
}

/* Loads one state file into its table and starts its writer. An
 * unreadable file stops the start: serving without it would answer
 * captured datagrams, and the first save would replace it with less. A
 * damaged one is copied aside, and what could be read is written back
 * (by the loop, before the first datagram is served). Returns 0 or a
 * negative errno (said on stderr). */
static int load_kept(struct server_daemon *d, int which)
{
        struct kept *k = &d->kept[which];
        struct peers *t = table_of(d, which);
        struct state_report *rep = malloc(sizeof(*rep));
        int r = -ENOMEM;

        if (!rep)
                goto out;
        r = state_load(k->path, t, rep);
        if (r < 0) {
                fprintf(stderr, "udp-canary: cannot read the state file %s: %s\n", k->path, fileio_strerror(r));
                goto out;
        }
        log_state_load(k, rep);
        for (struct peer *p = t->oldest; p; p = p->newer)
                p->noted_init = p->highest_init; /* on disk already */
        /* with a damaged file safe aside, it is replaced with what was read;
         * without a copy it stays as it is (the writer appends after it) */
        if (rep->bad_lines && rep->kept_aside) {
                saved(k, state_save(k->path, k->header, t));
                rep->lines = t->count;
        }
        r = state_writer_new(&k->w, k->path, k->header, t->max, rep->lines);
        if (r < 0)
                fprintf(stderr, "udp-canary: cannot start the state writer: %s\n", strerror(-r));
        k->noted_us = daemon_now_us();
out:
        free(rep);
        return r;
}

/* Loads the state files, once every start-up check that can fail has
 * passed (a failure after the load must not leave the state changed).
 * Returns 0 or a negative errno (said on stderr). */
static int load_state(struct server_daemon *d)
{
        int r = 0;

        for (int i = 0; i < KEPT_COUNT && r == 0; i++)
                if (d->kept[i].path)
                        r = load_kept(d, i);
        return r;
}

static void update_status(struct server_daemon *d, uint64_t now_us)
{
        char status[256];

        d->status_us = now_us;
        d->status_clients = d->core.peers.count;
        server_status(&d->core, status, sizeof(status));
        daemon_status(&d->daemon, status);
}

/* Datagrams the kernel dropped at our socket would read as network loss in
 * the clients' logs: say so in ours. Checked with the status, at most once
 * a second, and only while datagrams arrive (an idle socket drops nothing). */
static void log_drops(struct server_daemon *d)
{
        uint64_t drops;

        if (udp_drops(d->daemon.fd, &drops) < 0 || drops == d->drops)
                return;
        /* the kernel counts in 32 bits; report reads this line back */
        log_printf(LOG_LEVEL_WARNING, "%" PRIu64 LOGTEXT_DROPS, (uint64_t)(uint32_t)(drops - d->drops));
        d->drops = drops;
}

/* The probes' timer, brought forward when a probe is due sooner. A timer
 * that cannot be armed stops the loop (daemon_event_add). */
static void probe_timer_arm(struct server_daemon *d, uint64_t at_us)
{
        if (d->probe_due_us && d->probe_due_us <= at_us && evtimer_pending(d->probe_ev, NULL))
                return;
        d->probe_due_us = at_us;
        (void)daemon_timer_at(d->probe_ev, at_us);
}

static void on_probe_timer(evutil_socket_t fd, short what, void *arg)
{
        struct server_daemon *d = arg;
        uint64_t start = daemon_now_us();
        struct actions a;

        d->probe_due_us = 0;
        server_probe_timer(&d->core, start, &a);
        daemon_perform(&d->daemon, &a);
        log_flush();
        if (a.wake_us)
                probe_timer_arm(d, a.wake_us);
        daemon_busy(&d->daemon, start);
}

static void receive(void *obj, uint64_t now_us, const struct addr *from, const struct opened *in,
                    struct actions *out)
{
        struct server_daemon *d = obj;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        server_receive(&d->core, now_us, (uint64_t)ts.tv_sec, from, in, out);
        if (out->wake_us) /* a probe was queued */
                probe_timer_arm(d, out->wake_us);
}

/* Returns 0 or -ENOMEM (see daemon_event_add). */
static int set_silence_timer(struct server_daemon *d, uint64_t wake_us)
{
        d->silence_at_us = wake_us;
        return daemon_timer_at(d->silence_ev, wake_us);
}

/* After a wake-up's datagrams: the status (at most once a second, or when
 * the number of clients changed), and a save of the state if it changed. */
static void after_read(void *obj, uint64_t now_us)
{
        struct server_daemon *d = obj;

        /* invalid datagrams left unlogged are summed up at the timer */
        if (d->core.invalid.due_us && d->core.invalid.due_us < d->silence_at_us)
                (void)set_silence_timer(d, d->core.invalid.due_us); /* a failure stops the loop */
        if (now_us - d->status_us >= STATUS_EVERY_US || d->core.peers.count != d->status_clients) {
                log_drops(d);
                update_status(d, now_us);
        }
        state_changed(d, now_us);
}

static void on_silence_timer(evutil_socket_t fd, short what, void *arg)
{
        struct server_daemon *d = arg;
        uint64_t start = daemon_now_us();
        struct actions a;

        server_timer(&d->core, start, &a);
        daemon_perform(&d->daemon, &a);
        log_flush();
        (void)set_silence_timer(d, a.wake_us); /* a failure stops the loop */
        daemon_busy(&d->daemon, start);
}

static void write_metrics(FILE *out, void *obj)
{
        struct server_daemon *d = obj;
        struct timespec ts;
        uint64_t drops;

        clock_gettime(CLOCK_REALTIME, &ts);
        metrics_write_build_info(out, "server", "", 0, metrics_family(&d->bound, true));
        metrics_write_server(out, &d->core, daemon_now_us(),
                             (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
        if (udp_drops(d->daemon.fd, &drops) == 0)
                metrics_write_socket_drops(out, drops);
}

static const struct daemon_ops server_ops = {
        .receive = receive,
        .after_read = after_read,
        .metrics = write_metrics,
};

static int setup(void *obj, const struct config *cfg, const struct seal_key *key)
{
        struct server_daemon *d = obj;
        char err[256], text[ADDR_STRLEN];
        struct server_config scfg = server_config_of(cfg);
        struct addr bind_addr;
        int r;

        if (udp_resolve(cfg->host, (uint16_t)cfg->port, true, cfg->family, &bind_addr, err, sizeof(err)) < 0) {
                fprintf(stderr, "udp-canary: --host %s: %s\n", cfg->host, err);
                return -EINVAL;
        }
        if (daemon_init(&d->daemon, &server_ops, d, key) < 0 ||
            !(d->state_ev = evtimer_new(d->daemon.base, on_state_timer, d)) ||
            !(d->silence_ev = evtimer_new(d->daemon.base, on_silence_timer, d)) ||
            !(d->probe_ev = evtimer_new(d->daemon.base, on_probe_timer, d))) {
                fprintf(stderr, "udp-canary: cannot set up the event loop\n");
                return -ENOMEM;
        }
        r = daemon_socket(&d->daemon, &bind_addr, true);
        if (r < 0) {
                fprintf(stderr, "udp-canary: cannot listen on %s: %s\n", addr_format(&bind_addr, text),
                        strerror(-r));
                return r;
        }
        if (udp_local(d->daemon.fd, &d->bound) < 0)
                d->bound = bind_addr;
        r = daemon_metrics_start(&d->daemon, cfg->metrics_listen);
        if (r != 0)
                return r;
        if (server_init(&d->core, &scfg) < 0) {
                fprintf(stderr, "udp-canary: out of memory\n");
                return -ENOMEM;
        }
        d->core_ready = true;
        for (int i = 0; cfg->state_dir && i < KEPT_COUNT; i++) {
                d->kept[i].header = kept_files[i].header;
                if (asprintf(&d->kept[i].path, "%s/%s", cfg->state_dir, kept_files[i].name) < 0) {
                        d->kept[i].path = NULL;
                        fprintf(stderr, "udp-canary: out of memory\n");
                        return -ENOMEM;
                }
        }
        return 0;
}

static void free_obj(void *obj)
{
        server_daemon_free(obj);
}

int server_daemon_new(struct server_daemon **out, const struct config *cfg, const struct seal_key *key)
{
        void *d;
        int r = daemon_new(&d, sizeof(**out), setup, free_obj, cfg, key);

        if (r == 0)
                *out = d;
        return r;
}

struct daemon *server_daemon_base(struct server_daemon *d)
{
        return &d->daemon;
}

int server_daemon_run(struct server_daemon *d)
{
        char text[ADDR_STRLEN];
        int r;

        if (load_state(d) < 0)
                return 1;
        log_lifecycle(LOG_LIFECYCLE_START, LOGTEXT_LISTENING "%s", addr_format(&d->bound, text));
        daemon_log_fingerprint(&d->daemon);
        update_status(d, daemon_now_us());
        /* the loop is not running yet: a failure to arm cannot stop it */
        if (set_silence_timer(d, daemon_now_us() + 2 * d->core.cfg.keepalive_interval_us) < 0)
                return 1;
        r = daemon_run(&d->daemon);
        save_final(d);
        return r;
}

int server_daemon_reconfigure(struct server_daemon *d, const struct config *cfg)
{
        struct server_config scfg;
        char err[256];
        struct addr want;
        size_t forgotten;

        if (udp_resolve(cfg->host, (uint16_t)cfg->port, true, cfg->family, &want, err, sizeof(err)) < 0 ||
            (cfg->port != 0 && !addr_equal(&want, &d->bound)))
                log_printf(LOG_LEVEL_WARNING, "Reload: a new --host or --port takes a restart; still on the old one");
        scfg = server_config_of(cfg);
        forgotten = server_reconfigure(&d->core, &scfg);
        for (int i = 0; i < KEPT_COUNT; i++)
                if (d->kept[i].w)
                        (void)state_writer_set_max(d->kept[i].w, scfg.max_clients);
        if (forgotten)
                log_printf(LOG_LEVEL_WARNING, "Reload: max-clients %zu: forgot the %zu clients heard from least recently",
                           scfg.max_clients, forgotten);
        state_changed(d, daemon_now_us());
        return 0;
}

void server_daemon_free(struct server_daemon *d)
{
        if (!d)
                return;
        if (d->state_ev)
                event_free(d->state_ev);
        if (d->silence_ev)
                event_free(d->silence_ev);
        if (d->probe_ev)
                event_free(d->probe_ev);
        daemon_free(&d->daemon);
        for (int i = 0; i < KEPT_COUNT; i++) {
                state_writer_free(d->kept[i].w);
                free(d->kept[i].path);
        }
        if (d->core_ready)
                server_free(&d->core);
        free(d);
}

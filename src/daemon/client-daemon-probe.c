/* client-daemon-probe (client_probe_*): the client daemon's background NAT
 * timeout probe (see client-daemon-probe.h). */
#include "daemon/client-daemon-probe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/probe-client.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/probe-client-runner.h"

struct client_probe {
        struct event_base *base;
        const struct seal_key *key;
        struct event *timer;
        struct probe_runner *runner; /* the run under way, or the last one */
        bool running;
        struct addr server;
        char id[MESSAGE_ID_MAX + 1];
        size_t id_len;
        uint64_t every_us, max_delay_s;
        uint64_t started_us; /* of the run under way or the last one */
        bool has_result;
        struct prober_bracket result[PROBER_KINDS];
};

static void on_packet(void *arg, enum event_kind kind, const struct message *m, const struct addr *peer)
{
        struct core_event ev = { .kind = kind, .peer = *peer, .has_msg = true, .msg = *m };

        log_event(&ev);
}

static void on_progress(void *arg, const struct prober *core)
{
        log_flush(); /* the runner's callbacks are outside the daemon's, which flush */
}

/* The result as a line and a journal entry with the bounds as fields. */
static void log_result(const struct prober *core)
{
        static const char *const names[PROBER_KINDS] = { "FRESH", "ESTABLISHED" };
        char verdict[512], text[PROBER_KINDS * 2][64];
        const char *fields[PROBER_KINDS * 2];
        size_t n = 0;

        for (unsigned k = 0; k < PROBER_KINDS; k++) {
                const struct prober_bracket *b = &core->kinds[k];

                if (b->has_lower) {
                        snprintf(text[n], sizeof(text[n]), "CANARY_%s_LOWER_SECONDS=%" PRIu64, names[k], b->lower_s);
                        fields[n] = text[n];
                        n++;
                }
                if (b->has_upper && b->answered) {
                        snprintf(text[n], sizeof(text[n]), "CANARY_%s_UPPER_SECONDS=%" PRIu64, names[k], b->upper_s);
                        fields[n] = text[n];
                        n++;
                }
        }
        prober_verdict(core, verdict, sizeof(verdict));
        log_structured(core->answers ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING, LOG_MESSAGE_ID_NAT_TIMEOUT, "nat_timeout",
                       fields, n, LOGTEXT_NAT_TIMEOUT "%s", verdict);
}

/* Returns 0 or -ENOMEM (see daemon_event_add). */
static int arm(struct client_probe *cp, uint64_t at_us)
{
        return daemon_timer_at(cp->timer, at_us);
}

static void on_done(void *arg, const struct prober *core, int err)
{
        struct client_probe *cp = arg;
        uint64_t now = daemon_now_us(), next = cp->started_us + cp->every_us;

        cp->running = false;
        if (err < 0) {
                /* a socket that could not be opened, or the timer armed */
                log_printf(LOG_LEVEL_WARNING, "NAT idle timeout probe failed: %s", strerror(-err));
        } else {
                log_result(core);
                cp->has_result = true;
                memcpy(cp->result, core->kinds, sizeof(cp->result));
        }
        log_flush();
        if (cp->every_us)
                (void)arm(cp, next > now ? next : now); /* a failure stops the loop */
}

static const struct probe_runner_ops runner_ops = {
        .packet = on_packet,
        .progress = on_progress,
        .done = on_done,
};

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct client_probe *cp = arg;
        struct prober_config cfg;

        if (cp->running || !cp->every_us)
                return;
        /* the last run's runner holds no sockets: it ended */
        probe_runner_free(cp->runner);
        cp->runner = NULL;
        prober_config_default(&cfg);
        cfg.max_delay_s = cp->max_delay_s;
        if (cp->every_us < cfg.time_bound_us)
                cfg.time_bound_us = cp->every_us;
        cp->started_us = daemon_now_us();
        cp->running = true;
        if (probe_runner_start(&cp->runner, cp->base, cp->key, &cp->server, cp->id, cp->id_len, &cfg, &runner_ops, cp) < 0) {
                cp->running = false;
                log_printf(LOG_LEVEL_WARNING, "NAT idle timeout probe failed: out of memory");
                (void)arm(cp, cp->started_us + cp->every_us); /* a failure stops the loop */
        }
        log_flush();
}

int client_probe_new(struct client_probe **out, struct event_base *base, const struct seal_key *key)
{
        struct client_probe *cp = calloc(1, sizeof(*cp));

        if (!cp)
                return -ENOMEM;
        cp->base = base;
        cp->key = key;
        cp->timer = evtimer_new(base, on_timer, cp);
        if (!cp->timer) {
                free(cp);
                return -ENOMEM;
        }
        *out = cp;
        return 0;
}

void client_probe_free(struct client_probe *cp)
{
        if (!cp)
                return;
        probe_runner_free(cp->runner);
        event_free(cp->timer);
        free(cp);
}

int client_probe_set(struct client_probe *cp, const struct addr *server, const char *id, size_t id_len,
                     uint64_t every_us, uint64_t max_delay_s)
{
        bool was_on = cp->every_us != 0, moved = !addr_equal(&cp->server, server);

        if (id_len > MESSAGE_ID_MAX)
                return -ENAMETOOLONG;
        cp->server = *server;
        memcpy(cp->id, id, id_len);
        cp->id_len = id_len;
        cp->every_us = every_us;
        cp->max_delay_s = max_delay_s;
        if (!every_us) {
                evtimer_del(cp->timer);
                probe_runner_free(cp->runner);
                cp->runner = NULL;
                cp->running = false;
        } else if (!was_on) {
                return arm(cp, daemon_now_us() + CLIENT_PROBE_FIRST_US);
        } else if (moved && cp->running) {
                /* a run against the old address would only find it silent:
                 * it stops, unreported, and a new one starts there now */
                probe_runner_free(cp->runner);
                cp->runner = NULL;
                cp->running = false;
                return arm(cp, daemon_now_us());
        }
        return 0;
}

void client_probe_write_metrics(FILE *out, const struct client_probe *cp)
{
        static const char *const kinds[PROBER_KINDS] = { "fresh", "established" };

        if (!cp || !cp->has_result)
                return;
        fputs("# HELP udp_canary_nat_idle_timeout_seconds How long the NAT keeps an idle UDP mapping: the bounds "
              "the latest probe found (lower: an idle that long was answered; upper: one that long was not).\n"
              "# TYPE udp_canary_nat_idle_timeout_seconds gauge\n",
              out);
        for (unsigned k = 0; k < PROBER_KINDS; k++) {
                const struct prober_bracket *b = &cp->result[k];

                if (b->has_lower)
                        fprintf(out, "udp_canary_nat_idle_timeout_seconds{kind=\"%s\",bound=\"lower\"} %" PRIu64 "\n",
                                kinds[k], b->lower_s);
                if (b->has_upper && b->answered)
                        fprintf(out, "udp_canary_nat_idle_timeout_seconds{kind=\"%s\",bound=\"upper\"} %" PRIu64 "\n",
                                kinds[k], b->upper_s);
        }
}

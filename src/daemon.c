/* daemon: the parts of the client and server daemons they share. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "udp.h"

uint64_t daemon_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
        struct daemon_signals *s = arg;

        log_printf(LOG_LEVEL_INFO, "Exit");
        s->exit_code = 0;
        event_base_loopbreak(s->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
        int r = log_reopen();

        if (r < 0)
                log_printf(LOG_LEVEL_ERROR, "Cannot reopen the log file: %s", strerror(-r));
        else
                log_printf(LOG_LEVEL_INFO, "Log file reopened");
}

int daemon_signals_add(struct daemon_signals *s, struct event_base *base)
{
        memset(s, 0, sizeof(*s));
        s->base = base;
        s->exit_code = 1; /* unless a signal ends the loop */
        s->stop[0] = evsignal_new(base, SIGINT, on_stop, s);
        s->stop[1] = evsignal_new(base, SIGTERM, on_stop, s);
        s->hup = evsignal_new(base, SIGHUP, on_hup, s);
        if (!s->stop[0] || !s->stop[1] || !s->hup || evsignal_add(s->stop[0], NULL) < 0 ||
            evsignal_add(s->stop[1], NULL) < 0 || evsignal_add(s->hup, NULL) < 0) {
                daemon_signals_free(s);
                return -ENOMEM;
        }
        /* a reader that went away must not kill us; EPIPE is handled */
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

void daemon_signals_free(struct daemon_signals *s)
{
        for (size_t i = 0; i < 2; i++)
                if (s->stop[i])
                        event_free(s->stop[i]);
        if (s->hup)
                event_free(s->hup);
        s->stop[0] = s->stop[1] = s->hup = NULL;
}

void daemon_perform(int fd, const struct seal_key *key, const struct actions *a)
{
        for (size_t i = 0; i < a->n_events; i++)
                log_event(&a->events[i]);
        for (size_t i = 0; i < a->n_send; i++) {
                int r = udp_send(fd, key, &a->send[i].msg, &a->send[i].to);

                if (r < 0) {
                        char peer[ADDR_STRLEN];

                        log_printf(LOG_LEVEL_WARNING, "Cannot send to %s: %s",
                                   addr_format(&a->send[i].to, peer), strerror(-r));
                }
        }
}

void daemon_timer_at(struct event *timer, uint64_t wake_us)
{
        uint64_t now = daemon_now_us(), delta = wake_us > now ? wake_us - now : 0;
        struct timeval tv = { .tv_sec = (time_t)(delta / 1000000),
                              .tv_usec = (suseconds_t)(delta % 1000000) };

        evtimer_add(timer, &tv);
}

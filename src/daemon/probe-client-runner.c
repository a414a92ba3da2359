/* probe-client-runner (probe_runner_*): the client's NAT timeout probe's
 * I/O on an event loop (see probe-client-runner.h). */
#include "daemon/probe-client-runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/udp.h"

struct probe_runner {
        struct event_base *base;
        struct event *timer;
        int fd[PROBER_MAX_TRIALS];
        struct event *ev[PROBER_MAX_TRIALS];
        const struct seal_key *key;
        struct seal_ivs ivs;
        struct addr server;
        size_t id_len;
        char id[MESSAGE_ID_MAX + 1];
        struct prober core;
        const struct probe_runner_ops *ops;
        void *arg;
        bool over;
};

static void on_read(evutil_socket_t fd, short what, void *arg);

static int open_slot(struct probe_runner *r, unsigned slot)
{
        int fd = udp_open(&r->server, false), err = 0;
        struct event *ev = NULL;

        if (fd < 0)
                return fd;
        /* connected: only the server's datagrams come in, and its ICMP errors */
        if (connect(fd, &r->server.sa, r->server.len) < 0)
                err = -errno;
        if (err == 0 && (!(ev = event_new(r->base, fd, EV_READ | EV_PERSIST, on_read, r)) || event_add(ev, NULL) < 0))
                err = -ENOMEM;
        if (err < 0) {
                if (ev)
                        event_free(ev);
                close(fd);
                return err;
        }
        r->ev[slot] = ev;
        r->fd[slot] = fd;
        return 0;
}

static void close_slot(struct probe_runner *r, unsigned slot)
{
        if (r->ev[slot])
                event_free(r->ev[slot]);
        if (r->fd[slot] >= 0)
                close(r->fd[slot]);
        r->ev[slot] = NULL;
        r->fd[slot] = -1;
}

static void close_all(struct probe_runner *r)
{
        for (unsigned slot = 0; slot < PROBER_MAX_TRIALS; slot++)
                close_slot(r, slot);
}

/* Seals and sends one probe. A send that fails is a lost packet: the trial
 * sees a silence. */
static void send_probe(struct probe_runner *r, unsigned slot, uint64_t id, uint64_t delay_s)
{
        uint8_t iv[SEAL_IV_LEN], packet[SEAL_MAX_PACKET];
        char text[MESSAGE_TEXT_MAX];
        struct message m;
        ssize_t n;
        int len;

        if (message_init(&m, MESSAGE_PROBE, r->id, r->id_len, id, delay_s) < 0)
                return;
        n = message_to_json(&m, text, sizeof(text));
        if (n < 0)
                return;
        seal_ivs_next(&r->ivs, iv);
        len = seal_seal(r->key, iv, (const uint8_t *)text, (size_t)n, packet, sizeof(packet));
        if (len < 0)
                return;
        if (r->ops->packet)
                r->ops->packet(r->arg, EVENT_TX, &m, &r->server);
        (void)send(r->fd[slot], packet, (size_t)len, 0);
}

static void finish(struct probe_runner *r, int err)
{
        close_all(r);
        evtimer_del(r->timer);
        r->over = true;
        r->ops->done(r->arg, &r->core, err);
}

/* Carries out what the core asked: sockets closed and opened, probes
 * sent, the timer set. */
static void perform(struct probe_runner *r, const struct prober_out *out)
{
        for (size_t i = 0; i < out->n_close; i++)
                close_slot(r, out->close[i]);
        for (size_t i = 0; i < out->n_send; i++) {
                unsigned slot = out->send[i].slot;

                if (out->send[i].new_socket) {
                        int err;

                        close_slot(r, slot);
                        err = open_slot(r, slot);
                        if (err < 0) {
                                finish(r, err);
                                return;
                        }
                }
                send_probe(r, slot, out->send[i].id, out->send[i].delay_s);
        }
        if (r->ops->progress)
                r->ops->progress(r->arg, &r->core);
        if (!out->wake_us)
                finish(r, 0);
        else if (daemon_timer_at(r->timer, out->wake_us) < 0)
                finish(r, -ENOMEM);
}

static unsigned slot_of(const struct probe_runner *r, int fd)
{
        for (unsigned slot = 0; slot < PROBER_MAX_TRIALS; slot++)
                if (r->fd[slot] == fd)
                        return slot;
        return PROBER_MAX_TRIALS;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
        struct probe_runner *r = arg;
        uint8_t buf[SEAL_MAX_PACKET + 1];
        unsigned slot = slot_of(r, fd);

        while (slot < PROBER_MAX_TRIALS && r->fd[slot] == fd && !r->over) {
                struct prober_out out;
                struct message m;
                const char *why;
                ssize_t n = recv(fd, buf, sizeof(buf), 0);

                if (n < 0 && errno == ECONNREFUSED)
                        continue; /* an ICMP error: a lost packet */
                if (n < 0)
                        return; /* EAGAIN: all read */
                if (seal_open_message(r->key, buf, (size_t)n, &m, &why) < 0)
                        continue;
                if (r->ops->packet)
                        r->ops->packet(r->arg, EVENT_RX, &m, &r->server);
                if (prober_receive(&r->core, daemon_now_us(), slot, &m, &out))
                        perform(r, &out);
        }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct probe_runner *r = arg;
        struct prober_out out;

        prober_timer(&r->core, daemon_now_us(), &out);
        perform(r, &out);
}

/* Microseconds of the wall clock: a run sends far fewer probes than one a
 * microsecond, so the next run's ids start above this one's. */
static uint64_t first_id(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int probe_runner_start(struct probe_runner **out, struct event_base *base, const struct seal_key *key,
                       const struct addr *server, const char *id, size_t id_len, const struct prober_config *cfg,
                       const struct probe_runner_ops *ops, void *arg)
{
        struct probe_runner *r = calloc(1, sizeof(*r));
        struct prober_config c = *cfg;
        struct prober_out po;

        if (!r || id_len > MESSAGE_ID_MAX) {
                free(r);
                return r ? -ENAMETOOLONG : -ENOMEM;
        }
        for (unsigned slot = 0; slot < PROBER_MAX_TRIALS; slot++)
                r->fd[slot] = -1;
        r->base = base;
        r->key = key;
        r->server = *server;
        r->id_len = id_len;
        memcpy(r->id, id, r->id_len);
        r->ops = ops;
        r->arg = arg;
        r->timer = evtimer_new(base, on_timer, r);
        if (!r->timer) {
                free(r);
                return -ENOMEM;
        }
        c.first_id = first_id();
        prober_start(&r->core, &c, daemon_now_us(), &po);
        *out = r;
        perform(r, &po);
        return 0;
}

void probe_runner_free(struct probe_runner *r)
{
        if (!r)
                return;
        close_all(r);
        if (r->timer)
                event_free(r->timer);
        free(r);
}

const struct prober *probe_runner_core(const struct probe_runner *r)
{
        return &r->core;
}

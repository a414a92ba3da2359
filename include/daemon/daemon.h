/* daemon: what the client and server daemons share: the event base, the
 * clock, signals (SIGINT and SIGTERM stop, SIGHUP reloads), the systemd
 * watchdog, and carrying out the action list the protocol core returns. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "core/actions.h"
#include "core/busy.h"
#include "core/seal.h"

struct udp_batch;
struct udp_error;
struct udp_out;
struct httpd;
struct config;

/* What the client or server object around a daemon does with its events;
 * each gets that object. */
struct daemon_ops {
        /* A datagram from `from`, opened with the key: run the core, put its
         * actions in out (the daemon logs and sends them). */
        void (*receive)(void *obj, uint64_t now_us, const struct addr *from, const struct opened *in,
                        struct actions *out);
        /* After the datagrams of one wake-up (status, state), or NULL. */
        void (*after_read)(void *obj, uint64_t now_us);
        /* The Prometheus text, for --metrics-listen. */
        void (*metrics)(FILE *out, void *obj);
        /* ICMP said nothing listens where we send (a client's socket), or NULL. */
        void (*refused)(void *obj, uint64_t now_us);
        /* Each ICMP error on a client's socket (a trace's answers), or NULL. */
        void (*icmp)(void *obj, uint64_t now_us, const struct udp_error *e);
};

/* The shell the client and server share: the loop, signals, watchdog, the
 * UDP socket with its receive and send batches, and the metrics listener. */
struct daemon {
        struct event_base *base;
        struct event *stop[2]; /* SIGINT, SIGTERM */
        struct event *hup, *watchdog;
        int fd;                 /* the UDP socket; -1 before daemon_socket */
        struct event *read_ev;  /* on fd */
        struct udp_batch *batch; /* recvmmsg buffers */
        struct udp_out *out;     /* replies, sent with one sendmmsg per batch */
        const struct seal_key *key;
        struct seal_ivs ivs;
        const struct daemon_ops *ops;
        void *obj;
        bool signalled; /* SIGINT or SIGTERM ended the loop: exit 0, else 1 */
        /* Called on SIGHUP: reread what can be reread. Returns 0 or a
         * negative errno, having logged why (what was applied before the
         * failure stays applied). */
        int (*reload)(void *arg);
        void *reload_arg;
        char status[256]; /* the last STATUS= sent */
        struct httpd *http;  /* /metrics, when asked for */
        struct busy busy;    /* the longest callback so far, and the most CPU one used (daemon_busy) */
        struct {
                struct addr from;
                unsigned count;
                bool told;
        } bad_key[16]; /* sources of unauthentic datagrams, for one hint each */
        const char *fingerprint; /* the key's (core/fingerprint), for hints */
};

/* Monotonic time in microseconds: the protocol core's clock. */
uint64_t daemon_now_us(void);

/* Makes the event base, the signal events, the watchdog timer and the
 * datagram buffers; obj is what ops get. Returns 0 or -ENOMEM. */
int daemon_init(struct daemon *d, const struct daemon_ops *ops, void *obj, const struct seal_key *key);
void daemon_free(struct daemon *d);

/* Makes a client or server object around its daemon: size bytes, zeroed,
 * filled in by setup, which returns 0 or a negative errno after one line
 * on stderr (-EINVAL: bad input). One that fails goes to free_obj, which
 * takes an object set up in part. Returns 0 with *out set, or setup's
 * error, or -ENOMEM (said on stderr). */
int daemon_new(void **out, size_t size, int (*setup)(void *obj, const struct config *cfg, const struct seal_key *key),
               void (*free_obj)(void *obj), const struct config *cfg, const struct seal_key *key);

/* Opens a UDP socket for a's family (bound to a when bind_it), watched by
 * the loop; replaces the one before, if any. Returns 0 or a negative errno. */
int daemon_socket(struct daemon *d, const struct addr *a, bool bind_it);

/* Tells systemd it is ready, then runs the loop until SIGINT or SIGTERM.
 * Returns the exit status: 0 after a signal, 1 when the loop was stopped
 * on a failure (daemon_event_add, or a caller's event_base_loopbreak). */
int daemon_run(struct daemon *d);

/* Logs every event of the list and sends every message on the socket. A
 * message that cannot be sent is logged and otherwise dropped, as a lost
 * packet. */
void daemon_perform(struct daemon *d, const struct actions *a);

/* Serves /metrics on listen ("ADDR:PORT", "[V6]:PORT") from the event loop,
 * written by ops->metrics. Returns 0, -EINVAL for a malformed address,
 * or -EADDRNOTAVAIL when it cannot be bound. */
int daemon_metrics_listen(struct daemon *d, const char *listen);

/* daemon_metrics_listen for --metrics-listen (NULL: nothing), saying what is
 * wrong on stderr. Returns as daemon_metrics_listen. */
int daemon_metrics_start(struct daemon *d, const char *listen);

/* Sends STATUS=text to systemd unless it is the one sent last. */
void daemon_status(struct daemon *d, const char *text);

/* Notes how long a callback that began at start_us held the loop: the
 * longest is served as udp_canary_loop_busy_max_seconds; the most CPU time
 * the loop's thread used since the callback before it ended (the callback,
 * and the loop's own work between the two; core/busy.h says how closely,
 * the thread's CPU clock being read seldom), as
 * udp_canary_loop_busy_cpu_max_seconds. Where the first is much the longer,
 * the loop waited for a CPU: the machine is busy, not the loop. */
void daemon_busy(struct daemon *d, uint64_t start_us);

/* Logs the key's fingerprint (after the start line), so that the two ends'
 * logs can be compared for the same key. */
void daemon_log_fingerprint(const struct daemon *d);

/* event_add for the loop's events and timers (tv NULL: no timeout), with
 * the one answer to its failure (libevent out of memory): an error logged
 * and the loop stopped, so that the process exits 1 (and systemd restarts
 * it) rather than lives on with a timer that never fires or a socket never
 * read. The caller only stops what it was doing. Returns 0 or -ENOMEM. */
int daemon_event_add(struct event *ev, const struct timeval *tv);

/* daemon_event_add for a timer to fire in us, or at the monotonic time
 * wake_us. */
int daemon_timer_in(struct event *timer, uint64_t us);
int daemon_timer_at(struct event *timer, uint64_t wake_us);

/* httpd: the metrics listener, a deliberately small HTTP/1.x server on the
 * daemon's event loop: GET (or HEAD) /metrics, one request per connection.
 * Anyone who can reach it may be hostile, so everything it holds is
 * bounded: the request head (HTTPD_HEAD_MAX bytes, else 431), the number of
 * connections (HTTPD_CONNS_MAX), the time to send the request line
 * (HTTPD_LINE_TIMEOUT_S) and the time a connection may live in all
 * (HTTPD_TIMEOUT_S, reading and writing alike), and the reply (made once,
 * written as the peer reads it). A full table makes room for a new
 * connection by closing the oldest one that has not sent its request line
 * yet (as sshd's MaxStartups and Go's ReadHeaderTimeout do), so that idle
 * connections cannot keep a scraper out, but only once that one has had
 * HTTPD_EVICT_AGE_MS to send it: else connections reopened as fast as they
 * are closed would push out a scraper between its connect and its request.
 * Until there is room, new connections wait in the listen queue (up to
 * HTTPD_BACKLOG), sending their requests meanwhile. Running out of
 * file descriptors does not make accept spin: a spare descriptor is given
 * up to accept and close the waiting connection, and when even that fails
 * accepting pauses for a moment. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "core/addr.h"

#define HTTPD_HEAD_MAX 8192
#define HTTPD_CONNS_MAX 16
#define HTTPD_TIMEOUT_S 10
#define HTTPD_LINE_TIMEOUT_S 2
#define HTTPD_ACCEPT_PAUSE_MS 100
/* the least time a connection has to send its request line, well within
 * HTTPD_LINE_TIMEOUT_S */
#define HTTPD_EVICT_AGE_MS 250
#define HTTPD_BACKLOG 128

/* Writes the /metrics text to out. */
typedef void httpd_write_fn(FILE *out, void *arg);

struct httpd_conn;

struct httpd {
        struct event_base *base;
        int fd;                 /* the listening socket */
        int spare;              /* held for the moment the fd table is full */
        struct event *accept_ev;
        struct event *pause_ev; /* accepting again after a pause */
        bool waiting;           /* for room: accepting again when a connection closes */
        struct httpd_conn *conns;
        size_t n_conns;
        uint64_t refused;       /* connections closed at once: no fd, no memory */
        uint64_t evicted;       /* closed without a request line, to make room */
        httpd_write_fn *write;
        void *arg;
};

/* Listens on a (TCP) and serves from base's loop. Returns 0 or a negative
 * errno. */
int httpd_start(struct httpd *h, struct event_base *base, const struct addr *a, httpd_write_fn *write, void *arg);

/* Closes every connection and the listener. */
void httpd_stop(struct httpd *h);

/* The request's parsing, apart for the fuzzer: whether len bytes hold a
 * whole request head, and the status for one (200 for GET or HEAD of
 * /metrics, else 400, 404 or 405) and whether it asks for the body. */
bool httpd_head_complete(const char *head, size_t len);
int httpd_route(const char *head, size_t len, bool *with_body);

/* httpd: the bounded metrics listener (see httpd.h). */
#include "daemon/httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/daemon.h"

struct httpd_conn {
        struct httpd *h;
        struct httpd_conn *next, *prev;
        int fd;
        struct event *io;    /* reading the request, then writing the reply */
        struct event *timer; /* the request line's deadline, then the rest of its life */
        char head[HTTPD_HEAD_MAX];
        size_t used;
        bool has_line;       /* the request line came whole: not evicted for room */
        uint64_t born_us;    /* accepted then (daemon_now_us) */
        char *reply;
        size_t len, sent;
};

/* Accepting again after waiting for room. */
static void accept_again(struct httpd *h)
{
        h->waiting = false;
        evtimer_del(h->pause_ev);
        (void)daemon_event_add(h->accept_ev, NULL); /* a failure stops the loop */
}

static void conn_close(struct httpd_conn *c)
{
        struct httpd *h = c->h;

        if (c->prev)
                c->prev->next = c->next;
        else
                h->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        h->n_conns--;
        if (c->io)
                event_free(c->io);
        if (c->timer)
                event_free(c->timer);
        close(c->fd);
        free(c->reply);
        free(c);
        if (h->waiting) /* room now */
                accept_again(h);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
        conn_close(arg);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
        struct httpd_conn *c = arg;
        ssize_t n = send(c->fd, c->reply + c->sent, c->len - c->sent, MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
        if (n > 0)
                c->sent += (size_t)n;
        if (n <= 0 || c->sent == c->len) {
                if (n > 0)
                        shutdown(c->fd, SHUT_WR);
                conn_close(c);
        }
}

static const char *status_text(int status)
{
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 431:
                return "Request Header Fields Too Large";
        default:
                return "Internal Server Error";
        }
}

int httpd_route(const char *head, size_t len, bool *with_body)
{
        const char *sp = memchr(head, ' ', len), *path, *end;
        size_t mlen, plen;

        *with_body = true;
        if (!sp)
                return 400;
        mlen = (size_t)(sp - head);
        path = sp + 1;
        end = memchr(path, ' ', len - mlen - 1);
        if (!end)
                return 400;
        plen = (size_t)(end - path);
        if (mlen == 4 && memcmp(head, "HEAD", 4) == 0)
                *with_body = false;
        else if (mlen != 3 || memcmp(head, "GET", 3) != 0)
                return 405;
        if (plen >= 8 && memcmp(path, "/metrics", 8) == 0 && (plen == 8 || path[8] == '?'))
                return 200;
        return 404;
}

/* The whole reply, head and body, in one buffer. Returns 0 or -ENOMEM. */
static int make_reply(struct httpd_conn *c, int status, bool with_body)
{
        char *body = NULL;
        size_t blen = 0;
        FILE *f = open_memstream(&c->reply, &c->len);
        int r = 0;

        if (!f)
                return -ENOMEM;
        if (status == 200) {
                FILE *b = open_memstream(&body, &blen);

                if (!b) {
                        fclose(f);
                        return -ENOMEM;
                }
                c->h->write(b, c->h->arg);
                if (fclose(b) != 0)
                        r = -ENOMEM;
        }
        fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                status, status_text(status), status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
                status == 200 ? blen : 0, status == 405 ? "Allow: GET, HEAD\r\n" : "");
        if (with_body && blen)
                fwrite(body, 1, blen, f);
        if (fclose(f) != 0)
                r = -ENOMEM;
        free(body);
        return r;
}

/* The request head is complete (or too long): make the reply and turn to
 * writing it. */
static void respond(struct httpd_conn *c, int status)
{
        bool with_body = true;

        if (status == 0)
                status = httpd_route(c->head, c->used, &with_body);
        event_del(c->io);
        if (make_reply(c, status, with_body) < 0 ||
            event_assign(c->io, c->h->base, c->fd, EV_WRITE | EV_PERSIST, on_write, c) < 0 ||
            event_add(c->io, NULL) < 0)
                conn_close(c);
}

bool httpd_head_complete(const char *head, size_t len)
{
        return memmem(head, len, "\r\n\r\n", 4) || memmem(head, len, "\n\n", 2);
}

/* The request line is whole: from now on the connection has what is left
 * of HTTPD_TIMEOUT_S after the line's own deadline, so never more in all.
 * Returns 0 or -ENOMEM. */
static int line_done(struct httpd_conn *c)
{
        struct timeval rest = { .tv_sec = HTTPD_TIMEOUT_S - HTTPD_LINE_TIMEOUT_S };

        c->has_line = true;
        return evtimer_add(c->timer, &rest) < 0 ? -ENOMEM : 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
        struct httpd_conn *c = arg;
        ssize_t n = recv(c->fd, c->head + c->used, sizeof(c->head) - c->used, 0);
        bool line;

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
        if (n <= 0) {
                conn_close(c);
                return;
        }
        line = !c->has_line && memchr(c->head + c->used, '\n', (size_t)n);
        c->used += (size_t)n;
        if (line && line_done(c) < 0) {
                conn_close(c);
                return;
        }
        if (httpd_head_complete(c->head, c->used))
                respond(c, 0);
        else if (c->used == sizeof(c->head))
                respond(c, 431);
}

static int conn_new(struct httpd *h, int fd, struct httpd_conn **out)
{
        struct timeval tv = { .tv_sec = HTTPD_LINE_TIMEOUT_S };
        struct httpd_conn *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->h = h;
        c->fd = fd;
        c->born_us = daemon_now_us();
        c->next = h->conns;
        if (h->conns) /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): an evicted one unlinked itself from h->conns */
                h->conns->prev = c;
        h->conns = c;
        h->n_conns++;
        c->io = event_new(h->base, fd, EV_READ | EV_PERSIST, on_read, c);
        c->timer = evtimer_new(h->base, on_timeout, c);
        if (!c->io || !c->timer || event_add(c->io, NULL) < 0 || evtimer_add(c->timer, &tv) < 0) {
                conn_close(c); /* closes fd too */
                return -ENOMEM;
        }
        *out = c;
        return 0;
}

/* The oldest connection that has not sent its request line, or NULL. New
 * ones go to the front of the list, so it is the last such. */
static struct httpd_conn *oldest_without_line(struct httpd *h)
{
        struct httpd_conn *found = NULL;

        for (struct httpd_conn *c = h->conns; c; c = c->next)
                if (!c->has_line)
                        found = c;
        return found;
}

/* Whether a connection can be taken in: the table has room, or the oldest
 * without its request line has had HTTPD_EVICT_AGE_MS to send it (closed
 * once the new one is accepted). Else accepting waits, until a connection
 * closes or that one is old enough, and the new ones wait in the listen
 * queue. */
static bool room_for_one(struct httpd *h)
{
        struct httpd_conn *v;
        uint64_t age;

        if (h->n_conns < HTTPD_CONNS_MAX)
                return true;
        v = oldest_without_line(h);
        age = v ? daemon_now_us() - v->born_us : 0;
        if (v && age >= HTTPD_EVICT_AGE_MS * 1000ULL)
                return true;
        h->waiting = true;
        event_del(h->accept_ev);
        if (v) /* every one with its line ends within HTTPD_TIMEOUT_S, and closing wakes us */
                (void)daemon_timer_in(h->pause_ev, HTTPD_EVICT_AGE_MS * 1000ULL - age); /* a failure stops the loop */
        return false;
}

/* Takes a new connection in, closing the oldest without its request line
 * for it when the table is full (room_for_one said it may); its request is
 * read at once if it is there already. */
static void take(struct httpd *h, int fd)
{
        struct httpd_conn *c = NULL, *victim = h->n_conns >= HTTPD_CONNS_MAX ? oldest_without_line(h) : NULL;

        if (victim) {
                conn_close(victim);
                h->evicted++;
        }
        if (conn_new(h, fd, &c) < 0)
                h->refused++;
        else
                on_read(fd, EV_READ, c);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
        struct httpd *h = arg;

        if (h->spare < 0)
                h->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        h->waiting = false;
        (void)daemon_event_add(h->accept_ev, NULL); /* a failure stops the loop */
}

/* No descriptor for the connection waiting: give up the spare one to
 * accept it and close it at once, so that it leaves the queue (else the
 * listener stays readable and the loop spins); with no spare, stop
 * accepting for a moment. */
static void shed(struct httpd *h)
{
        int fd = -1;

        if (h->spare >= 0) {
                close(h->spare);
                fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                        close(fd);
                h->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        h->refused += fd >= 0;
        if (fd < 0 || h->spare < 0) {
                event_del(h->accept_ev);
                (void)daemon_timer_in(h->pause_ev, HTTPD_ACCEPT_PAUSE_MS * 1000); /* a failure stops the loop */
        }
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
        struct httpd *h = arg;

        /* a bounded number per wake-up: the datagrams wait meanwhile; and
         * half the table at most, so that a connection taken in is read
         * before as many others as the table holds have come after it */
        for (int i = 0; i < HTTPD_CONNS_MAX / 2 && room_for_one(h); i++) {
                int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
                        continue;
                if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
                        shed(h);
                        return;
                }
                if (fd < 0)
                        return; /* EAGAIN: none left */
                take(h, fd);
        }
}

int httpd_start(struct httpd *h, struct event_base *base, const struct addr *a, httpd_write_fn *write, void *arg)
{
        int one = 1, r = 0;

        memset(h, 0, sizeof(*h));
        h->base = base;
        h->write = write;
        h->arg = arg;
        h->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        h->fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (h->fd < 0 || h->spare < 0)
                r = -errno;
        else if (setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                 bind(h->fd, &a->sa, a->len) < 0 || listen(h->fd, HTTPD_BACKLOG) < 0)
                r = -errno;
        else if (!(h->accept_ev = event_new(base, h->fd, EV_READ | EV_PERSIST, on_accept, h)) ||
                 !(h->pause_ev = evtimer_new(base, on_resume, h)) || event_add(h->accept_ev, NULL) < 0)
                r = -ENOMEM;
        if (r < 0)
                httpd_stop(h);
        return r;
}

void httpd_stop(struct httpd *h)
{
        h->waiting = false; /* closing them is no room to accept into */
        while (h->conns)
                conn_close(h->conns); /* NOLINT(clang-analyzer-unix.Malloc): it unlinks itself from h->conns */
        if (h->accept_ev)
                event_free(h->accept_ev);
        if (h->pause_ev)
                event_free(h->pause_ev);
        if (h->fd >= 0)
                close(h->fd);
        if (h->spare >= 0)
                close(h->spare);
        h->accept_ev = h->pause_ev = NULL;
        h->fd = h->spare = -1;
}

/* loggen: writes logs for `udp-canary report`'s benchmark (report.sh), in
 * the real line format (core/logtext's prefix, the message's repr), the
 * same for the same arguments (a fixed-seed generator, UTC stamps):
 *   loggen timers DIR DAYS CLIENTS
 *     a server's log (DIR/server.log) and each client's (DIR/client-N.log)
 *     with the default timers (a handshake, then 5 keepalives 26.625 s
 *     apart), round trips of 5 to 45 ms, and on some days an outage one way
 *     or both (the client retries its handshake every 5 s), or the NAT
 *     moving the flow to a new port;
 *   loggen ids DIR COUNT
 *     a server's log of COUNT distinct client ids, one handshake each. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define START_S 1795564800 /* 2026-11-25 00:00:00 UTC */
#define KEEPALIVE_MS 26625
#define RETRY_MS 5000
#define DAY_MS (86400 * (int64_t)1000)
#define MAX_CLIENTS 64
#define PENDING 8

struct line {
        int64_t t_ms;
        bool server; /* which log */
        char text[160];
};

struct client {
        unsigned n;
        FILE *log;
        uint64_t hs;
        unsigned ka;           /* keepalives sent in this handshake; 0: next is an init */
        int64_t next_ms;       /* its next message */
        unsigned port;         /* its public port at the server */
        int64_t fault_from, fault_to; /* this day's outage, ms */
        int fault_dir;         /* 1 client to server, 2 server to client, 3 both */
        int64_t rebind_at;     /* this day's new port, or -1 */
        int64_t day;           /* the day the faults above are for */
        struct line pend[PENDING];
        unsigned n_pend;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t below)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t)(rng % below);
}

static void stamp(FILE *f, int64_t t_ms)
{
        static int64_t cached_s = -1;
        static char text[24];
        int64_t s = START_S + t_ms / 1000;

        if (s != cached_s) {
                time_t tt = (time_t)s;
                struct tm tm;

                gmtime_r(&tt, &tm);
                strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
                cached_s = s;
        }
        fprintf(f, "[%s.%03d udp-canary INFO] ", text, (int)(t_ms % 1000));
}

/* A line of the client's (server false) or the server's log: "TX" or "RX". */
static void pend(struct client *c, int64_t t_ms, bool server, const char *dir, const char *type, uint64_t ctr)
{
        struct line *l = &c->pend[c->n_pend++];
        char msg[96];

        snprintf(msg, sizeof(msg), "{'id': 'client-%u', 'type': '%s', 'data': [%" PRIu64 ", %" PRIu64 "]}", c->n, type,
                 c->hs, ctr);
        l->t_ms = t_ms;
        l->server = server;
        if (server)
                snprintf(l->text, sizeof(l->text), "%s 198.51.100.7:%u %s", dir, c->port, msg);
        else
                snprintf(l->text, sizeof(l->text), "%s server %s", dir, msg);
}

/* The day's faults: an outage on one day in three, a new port on one in four. */
static void plan_day(struct client *c, int64_t day)
{
        c->day = day;
        c->fault_from = c->fault_to = c->rebind_at = -1;
        if (rnd(3) == 0) {
                c->fault_from = day * DAY_MS + rnd(86000) * (int64_t)1000;
                c->fault_to = c->fault_from + (30 + rnd(270)) * (int64_t)1000;
                c->fault_dir = 1 + (int)rnd(3);
        }
        if (rnd(4) == 0)
                c->rebind_at = day * DAY_MS + rnd(86000) * (int64_t)1000;
}

static bool passes(const struct client *c, int64_t t, int dir)
{
        return !(t >= c->fault_from && t < c->fault_to && (c->fault_dir & dir));
}

/* Queues the lines of the client's next message and moves it on. */
static void next_message(struct client *c)
{
        int64_t t = c->next_ms, d1 = 3 + rnd(20), d2 = 2 + rnd(20);
        const char *type = c->ka ? "keepalive" : "handshake_init";

        if (t / DAY_MS != c->day)
                plan_day(c, t / DAY_MS);
        if (c->rebind_at >= 0 && t >= c->rebind_at) {
                c->port = 1024 + rnd(60000);
                c->rebind_at = -1;
        }
        if (!c->ka)
                c->hs++;
        pend(c, t, false, "TX", type, c->ka);
        if (passes(c, t, 1))
                pend(c, t + d1, true, "RX", type, c->ka);
        if (c->ka) {
                c->ka = c->ka == 5 ? 0 : c->ka + 1;
                c->next_ms = t + (c->ka ? KEEPALIVE_MS : 1);
                return;
        }
        if (passes(c, t, 1)) {
                pend(c, t + d1, true, "TX", "handshake_response", 0);
                if (passes(c, t + d1, 2)) {
                        pend(c, t + d1 + d2, false, "RX", "handshake_response", 0);
                        c->ka = 1;
                        c->next_ms = t + d1 + d2;
                        return;
                }
        }
        c->next_ms = t + RETRY_MS;
}

/* The earliest line of any client, filling queues as they run dry. */
static struct client *earliest(struct client *cl, unsigned n)
{
        struct client *best = NULL;

        for (unsigned i = 0; i < n; i++) {
                struct client *c = &cl[i];

                /* a message's lines may come after the next one's first */
                while (c->n_pend < 2)
                        next_message(c);
                for (unsigned j = 1; j < c->n_pend; j++)
                        if (c->pend[j].t_ms < c->pend[0].t_ms) {
                                struct line x = c->pend[0];

                                c->pend[0] = c->pend[j];
                                c->pend[j] = x;
                        }
                if (!best || c->pend[0].t_ms < best->pend[0].t_ms)
                        best = c;
        }
        return best;
}

static int timers(const char *dir, long days, long n)
{
        static struct client cl[MAX_CLIENTS];
        char path[4096];
        FILE *server;
        int64_t end = days * DAY_MS;

        if (n < 1 || n > MAX_CLIENTS || days < 1)
                return 2;
        snprintf(path, sizeof(path), "%s/server.log", dir);
        server = fopen(path, "w");
        if (!server)
                return 1;
        stamp(server, 0);
        fprintf(server, "Listening on 0.0.0.0:43210\n");
        for (long i = 0; i < n; i++) {
                struct client *c = &cl[i];

                snprintf(path, sizeof(path), "%s/client-%ld.log", dir, i);
                if (!(c->log = fopen(path, "w")))
                        return 1;
                *c = (struct client){ .n = (unsigned)i, .log = c->log, .hs = 1795600000 + (uint64_t)i * 1000000,
                                      .next_ms = 10 + i * 997, .port = 40000 + (unsigned)i, .day = -1 };
                stamp(c->log, 0);
                fprintf(c->log, "Client 'client-%ld' sending to 203.0.113.2:43210\n", i);
        }
        for (;;) {
                struct client *c = earliest(cl, (unsigned)n);
                struct line l = c->pend[0];

                if (l.t_ms >= end)
                        break;
                memmove(c->pend, c->pend + 1, --c->n_pend * sizeof(*c->pend));
                stamp(l.server ? server : c->log, l.t_ms);
                fprintf(l.server ? server : c->log, "%s\n", l.text);
        }
        for (long i = 0; i < n; i++)
                fclose(cl[i].log);
        return fclose(server) == 0 ? 0 : 1;
}

static int ids(const char *dir, long n)
{
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/server.log", dir);
        if (!(f = fopen(path, "w")))
                return 1;
        for (long i = 0; i < n; i++) {
                stamp(f, i);
                fprintf(f, "RX 198.51.100.%ld:%ld {'id': 'c%07ld', 'type': 'handshake_init', 'data': [%ld, 0]}\n",
                        i % 250 + 1, 1024 + i % 60000, i, 1795600000 + i);
        }
        return fclose(f) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        if (argc == 5 && strcmp(argv[1], "timers") == 0)
                return timers(argv[2], atol(argv[3]), atol(argv[4]));
        if (argc == 4 && strcmp(argv[1], "ids") == 0)
                return ids(argv[2], atol(argv[3]));
        fprintf(stderr, "usage: loggen timers DIR DAYS CLIENTS | loggen ids DIR COUNT\n");
        return 2;
}

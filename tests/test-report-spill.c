/* report-spill: the packets `udp-canary report` puts aside while it reads
 * come back to each client as they went in, through the temporary file and
 * without one (TMPDIR not writable); and a report written client by client
 * as each is worked out (timeline_finish_each, in groups of one client,
 * or timeline_finish_windowed, each in windows of time) says, in text,
 * JSON and the page, what the report of the whole finished timeline says; after it, a client's findings are refused rather than guessed
 * without its packets. Three clients, each log over several chunks of the
 * file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report/findings.h"
#include "report/report-html-rtt.h"
#include "report/report-spill.h"
#include "report/report.h"

#define CLIENTS 3
#define CYCLES 400 /* 7 messages each, logged at both ends: 5,600 packets a client */
#define SEC 1000000LL
#define CHUNK 512 /* packets per chunk of the spill here: a client's fill some 10 */
#define T0 (1795600000LL * SEC)

/* Where lines go: held by the timeline, or handed out and put aside. */
struct feed {
        struct timeline *tl;
        struct report_spill *spill; /* NULL: held */
        bool faults; /* outages each way, the server stopped, its clock ahead */
};

static void add(struct feed *f, unsigned log, int64_t t, bool tx, enum message_type type, unsigned client, uint64_t hs,
                uint64_t ctr, uint16_t port)
{
        struct logline l = { .kind = tx ? LOGLINE_TX : LOGLINE_RX, .t_us = (uint64_t)t };
        char id[16];
        struct timeline_packet p;
        size_t at;

        snprintf(id, sizeof(id), "client-%u", client);
        CHECK(message_init(&l.msg, type, id, strlen(id), hs, ctr) == 0);
        if (log == CLIENTS)
                CHECK(addr_from_string(&l.peer, "198.51.100.7", port) == 0);
        else
                l.peer_is_server = true;
        if (!f->spill) {
                CHECK_INT(timeline_add(f->tl, log, &l), 0);
                return;
        }
        CHECK_INT(timeline_add_out(f->tl, log, &l, &p, &at), 1);
        CHECK_INT(report_spill_put(f->spill, at, &p), 0);
}

/* The server's clock ahead of the clients'. */
#define OFF (3600 * SEC + 13250000)

/* The server's log says it stopped. */
static void server_exit(struct feed *f, int64_t t)
{
        struct logline l = { .kind = LOGLINE_EXIT, .t_us = (uint64_t)(t + OFF) };
        struct timeline_packet p;
        size_t at;

        CHECK_INT(f->spill ? timeline_add_out(f->tl, CLIENTS, &l, &p, &at) : timeline_add(f->tl, CLIENTS, &l), 0);
}

/* Whether the path drops client c's messages of cycle i: client 0's to
 * the server in cycles 100 to 109, client 2's answers in 200 to 205. */
static bool dropped(const struct feed *f, unsigned c, unsigned i, bool to_server)
{
        return f->faults && (to_server ? c == 0 && i >= 100 && i < 110 : c == 2 && i >= 200 && i < 206);
}

/* Each client in turn a handshake and five keepalives 5 s apart; every
 * 37th message lost on its way to the server, client 1's port moved half
 * way; with faults, outages each way (dropped()), the server stopped in
 * cycles 300 to 302, its clock OFF ahead. Client logs are 0..CLIENTS-1,
 * the server's is CLIENTS. */
static void feed(struct feed *f)
{
        uint64_t n = 0;

        timeline_init(f->tl);
        for (unsigned i = 0; i < CYCLES; i++)
                for (unsigned c = 0; c < CLIENTS; c++) {
                        int64_t t = T0 + ((int64_t)i * CLIENTS + c) * 40 * SEC;
                        uint64_t hs = 1000 + i;
                        uint16_t port = (uint16_t)(40000 + c + (c == 1 && i >= CYCLES / 2 ? 100 : 0));
                        bool up = !f->faults || i < 300 || i > 302, in = up && !dropped(f, c, i, true);
                        int64_t off = f->faults ? OFF : 0;

                        if (f->faults && i == 300 && c == 0)
                                server_exit(f, t - SEC);
                        add(f, c, t, true, MESSAGE_HANDSHAKE_INIT, c, hs, 0, 0);
                        if (in) {
                                add(f, CLIENTS, t + 10000 + off, false, MESSAGE_HANDSHAKE_INIT, c, hs, 0, port);
                                add(f, CLIENTS, t + 10000 + off, true, MESSAGE_HANDSHAKE_RESPONSE, c, hs, 0, port);
                        }
                        if (in && !dropped(f, c, i, false))
                                add(f, c, t + 20000, false, MESSAGE_HANDSHAKE_RESPONSE, c, hs, 0, 0);
                        for (unsigned k = 1; k <= 5; k++) {
                                int64_t tk = t + 20000 + (int64_t)(k - 1) * 5 * SEC;

                                add(f, c, tk, true, MESSAGE_KEEPALIVE, c, hs, k, 0);
                                if (++n % 37 && in)
                                        add(f, CLIENTS, tk + 10000 + off, false, MESSAGE_KEEPALIVE, c, hs, k, port);
                        }
                }
}

/* Put aside and given back: each client's packets the same, in order. */
static void test_round_trip(bool file)
{
        struct timeline held, out;
        struct report_spill s;
        struct feed a = { .tl = &held }, b = { .tl = &out, .spill = &s };

        setenv("TMPDIR", file ? "/tmp" : "/nonexistent-udp-canary", 1);
        report_spill_init(&s);
        s.chunk = CHUNK;
        feed(&a);
        feed(&b);
        CHECK(file ? s.fd >= 0 && !s.no_file : s.fd < 0 && s.no_file);
        CHECK_INT(out.n_clients, CLIENTS);
        CHECK_INT(report_spill_load(&s, &out, 0, out.n_clients), 0);
        for (size_t i = 0; i < CLIENTS && i < out.n_clients; i++) {
                const struct timeline_client *x = held.clients[i], *y = out.clients[i];

                CHECK(x->n_pk > CHUNK && x->n_pk == y->n_pk && x->packets == y->packets);
                CHECK(x->n_pk == y->n_pk && memcmp(x->pk, y->pk, x->n_pk * sizeof(*x->pk)) == 0);
        }
        report_spill_free(&s);
        timeline_free(&held);
        timeline_free(&out);
}

/* Held packets put aside log by log, as files read one after another put
 * them (so most chunks are of one log): client i's log is i. */
static void put_by_log(const struct timeline *held, struct report_spill *s)
{
        for (unsigned log = 0; log <= CLIENTS; log++)
                for (size_t i = 0; i < held->n_clients; i++)
                        for (size_t m = 0; m < held->clients[i]->n_pk; m++)
                                if (held->clients[i]->pk[m].log == log)
                                        CHECK_INT(report_spill_put(s, i, &held->clients[i]->pk[m]), 0);
}

/* Client i's packets within each log's span, loaded from the spill: those
 * of the held client within them, in the order they were put (log by log
 * when put_by_log put them); with a file and put by log, the room taken
 * for them at most what the chunks around each span hold. */
static void check_span(const struct timeline *held, struct timeline *out, struct report_spill *s, size_t i,
                       const struct timeline_span *by_log, size_t n_logs, bool put_log_by_log, bool file)
{
        const struct timeline_client *x = held->clients[i];
        struct timeline_client *y = out->clients[i];
        size_t n = 0;
        bool same = true;

        CHECK_INT(report_spill_load_span(s, out, i, by_log, n_logs), 0);
        for (unsigned log = 0; log <= (put_log_by_log ? CLIENTS : 0); log++)
                for (size_t m = 0; m < x->n_pk; m++) {
                        const struct timeline_packet *p = &x->pk[m];

                        if ((put_log_by_log && p->log != log) || p->log >= n_logs ||
                            p->t_us < by_log[p->log].start_us || p->t_us >= by_log[p->log].end_us)
                                continue;
                        same = same && n < y->n_pk && memcmp(p, &y->pk[n], sizeof(*p)) == 0;
                        n++;
                }
        CHECK(same && n == y->n_pk);
        /* chunks of one log: per log a chunk each side of its span, the one
         * where the logs change, and what is not written yet (CHUNK each) */
        if (put_log_by_log && file)
                CHECK(y->cap_pk <= n + (2 * n_logs + 2) * CHUNK);
        free(y->pk);
        y->pk = NULL;
        y->n_pk = y->cap_pk = 0;
}

/* Client i's m-th packet in the order put (log by log by put_by_log), or
 * its first. */
static const struct timeline_packet *nth_put(const struct timeline *held, size_t i, size_t m, bool put_log_by_log)
{
        const struct timeline_client *x = held->clients[i];

        for (unsigned log = 0; log <= (put_log_by_log ? CLIENTS : 0); log++)
                for (size_t j = 0; j < x->n_pk; j++)
                        if ((!put_log_by_log || x->pk[j].log == log) && m-- == 0)
                                return &x->pk[j];
        return &x->pk[0];
}

/* Spans of each client's logs given back from the spill, twice (they stay
 * there), with and without a file, put in as they came (chunks of both
 * logs) or log by log (chunks of one): one log's, both logs' (the
 * server's shifted, as a clock offset would), none, the whole. */
static void test_spans(bool file, bool by_log)
{
        struct timeline held, out;
        struct report_spill s;
        struct feed a = { .tl = &held }, b = { .tl = &out, .spill = by_log ? NULL : &s };
        const int64_t day = (int64_t)CYCLES * CLIENTS * 40 * SEC;
        const int64_t from[] = { T0, T0 + day / 3, T0 + day / 2 + 10000, T0 + day / 5, T0 - SEC, T0 + day / 2 };
        const int64_t to[] = { T0 + day + SEC, T0 + day / 3 + 3600 * SEC, T0 + day / 2 + 20000 + 5 * SEC,
                               T0 + day / 5, T0, INT64_MAX };

        setenv("TMPDIR", file ? "/tmp" : "/nonexistent-udp-canary", 1);
        report_spill_init(&s);
        s.chunk = CHUNK;
        feed(&a);
        feed(&b);
        if (by_log) { /* out held them: only its clients are wanted */
                for (size_t i = 0; i < out.n_clients; i++) {
                        free(out.clients[i]->pk);
                        out.clients[i]->pk = NULL;
                        out.clients[i]->n_pk = out.clients[i]->cap_pk = 0;
                }
                put_by_log(&held, &s);
        }
        CHECK_INT(out.n_clients, CLIENTS);
        for (int twice = 0; twice < 2; twice++)
                for (size_t i = 0; i < CLIENTS && i < out.n_clients; i++)
                        for (size_t j = 0; j < sizeof(from) / sizeof(from[0]); j++)
                                for (unsigned log = 0; log <= CLIENTS + 1; log++) {
                                        struct timeline_span w[CLIENTS + 1] = { 0 };
                                        int64_t shift = (int64_t)(j + 1) * 7 * SEC;

                                        /* one log alone; or (log CLIENTS + 1) the client's and the server's */
                                        for (unsigned m = 0; m <= CLIENTS; m++)
                                                if (m == log || (log > CLIENTS && (m == i || m == CLIENTS)))
                                                        w[m] = (struct timeline_span){ from[j], to[j] };
                                        if (log > CLIENTS && to[j] != INT64_MAX)
                                                w[CLIENTS] = (struct timeline_span){ from[j] + shift, to[j] + shift };
                                        check_span(&held, &out, &s, i, w, CLIENTS + 1, by_log, file);
                                        check_span(&held, &out, &s, i, w, log < CLIENTS ? log : CLIENTS, by_log, false);
                                }
        /* at the ends of chunks: a span starting at the last packet of one
         * (a chunk reaches it) or ending just past it */
        for (size_t i = 0; i < CLIENTS && i < out.n_clients; i++)
                for (size_t j = 1; j <= 6; j++) {
                        const struct timeline_packet *p = nth_put(&held, i, j * CHUNK - 1, by_log);
                        struct timeline_span w[CLIENTS + 1] = { 0 };

                        w[p->log] = (struct timeline_span){ p->t_us, p->t_us + 1 };
                        check_span(&held, &out, &s, i, w, CLIENTS + 1, by_log, file);
                        w[p->log] = (struct timeline_span){ p->t_us - SEC, p->t_us };
                        check_span(&held, &out, &s, i, w, CLIENTS + 1, by_log, file);
                }
        CHECK_INT(report_spill_load_span(&s, &out, CLIENTS, NULL, 0), -EINVAL);
        report_spill_free(&s);
        timeline_free(&held);
        timeline_free(&out);
}

enum format { TEXT, JSON, HTML };

struct writing {
        struct report_writer w;
        struct report_html page;
        bool html;
        struct report_spill *spill;
        bool made; /* each client had what its findings read of its packets made when written */
        unsigned spans; /* windows loaded */
};

static int load(void *ctx, struct timeline *tl, size_t lo, size_t hi)
{
        struct writing *g = ctx;

        CHECK_INT(hi - lo, 1); /* a budget of one packet: one client a group */
        return report_spill_load(g->spill, tl, lo, hi);
}

static int each(void *ctx, const struct timeline *tl, const struct timeline_client *c)
{
        struct writing *g = ctx;

        g->made = g->made && c->scan && c->scan->made && (c->n_rebinds == 0 || c->scan->rb_gap_s);
        return g->html ? report_html_client(&g->page, tl, c) : report_client(&g->w, tl, c);
}

static int load_span(void *ctx, struct timeline *tl, size_t i, const struct timeline_span *by_log, size_t n_logs)
{
        struct writing *g = ctx;

        g->spans++;
        return report_spill_load_span(g->spill, tl, i, by_log, n_logs);
}

enum passes {
        ONE_PASS,
        TWO_PASSES,
        WINDOWS, /* two, the first in windows of time */
};

/* The whole report, and the report written client by client: text, JSON
 * or the page (whose head, written last, lists every client); in one pass,
 * or in two as `udp-canary report` does (all worked out first, each
 * client's packets split by end in place, or in windows of 7 min loaded
 * one at a time; then written with its packets given back). With two,
 * the logs have outages each way, a server stopped and its clock ahead:
 * one pass cannot say what the other flows did then. */
static void test_as_they_come(enum format fmt, enum passes passes)
{
        struct timeline whole, out;
        struct report_spill s;
        bool two_passes = passes != ONE_PASS;
        struct feed a = { .tl = &whole, .faults = two_passes }, b = { .tl = &out, .spill = &s, .faults = two_passes };
        struct report_input in = { .skipped = 3 };
        struct timeline_opts o = { 0 };
        struct writing g = { .spill = &s, .made = true, .html = fmt == HTML };
        struct findings f = { 0 };
        char *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        FILE *fx = open_memstream(&x, &nx), *fy = open_memstream(&y, &ny);

        setenv("TMPDIR", "/tmp", 1);
        report_spill_init(&s);
        s.chunk = CHUNK;
        feed(&a);
        feed(&b);
        if (fmt == HTML) /* its round trip chart */
                whole.rtt_column = out.rtt_column = report_html_rtt_column;
        CHECK_INT(timeline_finish(&whole, &o), 0);
        CHECK_INT(fmt == HTML ? report_write_html(&whole, &in, fx)
                  : fmt == JSON ? report_write_json(&whole, &in, fx)
                                : report_write_text(&whole, &in, fx),
                  0);
        CHECK_INT(fmt == HTML ? report_html_begin(&g.page, fy) : report_begin(&g.w, &out, &in, fmt == JSON, fy), 0);
        if (two_passes) {
                s.keep = 1;
                CHECK_INT(passes == WINDOWS ? timeline_finish_windowed(&out, &o, 1, load, load_span, 7 * 60 * SEC + 1, &g)
                                            : timeline_finish_each(&out, &o, 1, load, NULL, &g),
                          0);
                /* twice over some hundred windows a client */
                CHECK(passes == WINDOWS ? g.spans > 2 * 100 * CLIENTS : g.spans == 0);
                for (size_t i = 0; i < out.n_clients; i++)
                        CHECK(out.clients[i]->pk == NULL && out.clients[i]->n_pk == 0);
                s.keep = 0;
        }
        g.spans = 0;
        CHECK_INT(passes == WINDOWS ? timeline_write_each(&out, 1, load, load_span, 7 * 60 * SEC + 1, each, &g)
                                    : timeline_finish_each(&out, two_passes ? NULL : &o, 1, load, each, &g),
                  0);
        CHECK(passes == WINDOWS ? g.spans > 100 * CLIENTS : g.spans == 0); /* the second pass: once over them */
        CHECK_INT(fmt == HTML ? report_html_end(&g.page, &out, &in) : report_end(&g.w), 0);
        fclose(fx);
        fclose(fy);
        CHECK(g.made);
        CHECK(nx > 1000 && strstr(x, "client-2") != NULL);
        CHECK(fmt != HTML || strstr(x, " round trips: min ") != NULL); /* the chart's columns, compared too */
        CHECK(fmt != TEXT || !two_passes ||
              (strstr(x, "server_to_client") && strstr(x, "the server was not running") && strstr(x, "client-1 down")));
        CHECK_STR(y, x);
        /* afterwards, findings cannot be derived (what they read of the packets is let go): said, not guessed */
        CHECK_INT(findings_derive(&out, out.clients[0], &f), -ENODATA);
        findings_free(&f);
        for (size_t i = 0; i < out.n_clients; i++)
                CHECK(out.clients[i]->pk == NULL && out.clients[i]->n_outages == whole.clients[i]->n_outages &&
                      out.clients[i]->n_rebinds == whole.clients[i]->n_rebinds);
        free(x);
        free(y);
        report_spill_free(&s);
        timeline_free(&whole);
        timeline_free(&out);
}

int main(void)
{
        setenv("TZ", "UTC", 1);
        test_round_trip(true);
        test_round_trip(false);
        for (int by_log = 0; by_log <= 1; by_log++) {
                test_spans(true, by_log);
                test_spans(false, by_log);
        }
        for (enum passes p = ONE_PASS; p <= WINDOWS; p++) {
                test_as_they_come(TEXT, p);
                test_as_they_come(JSON, p);
                test_as_they_come(HTML, p);
        }
        return check_finish("report-spill");
}

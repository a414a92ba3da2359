/* The findings (findings.c) on timelines built from synthetic logs in virtual
 * time: the protocol's schedule through a NAT model (one that forgets idle
 * mappings after 20 s from 20:25 on, one that is flushed, one that moves the
 * client to a new address) and a path with faults, written as a client's and
 * a server's log lines. Each fault must give its finding, with the truth
 * inside the bounds it states, and nothing else may be found: a clean run
 * gives none; each log alone gives what that log can show. The stamps are
 * UTC, as the journal's are; times of day are UTC (TZ is set) but where the
 * recurring test tries other zones. Its argument: udp-canary(8), which
 * must name every kind and every piece of evidence. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "check.h"
#include "core/client.h"
#include "report/findings.h"
#include "report/report.h"

#define S 1000000LL
#define MIN (60 * S)
#define H (3600 * S)
#define T0 (1795564800LL * S + 20 * H) /* 2026-11-25 20:00 UTC */

struct fault {
        int64_t start, end; /* offsets from T0 */
        bool c2s, s2c;
};

struct held_line {
        unsigned log;
        struct logline l;
};

struct sim {
        int64_t ki, ht, delay, end;
        unsigned count;
        const struct fault *faults;
        size_t n_faults;
        bool client_log, server_log;
        /* the NAT: forgets a mapping idle idle_us or more in [forget_from,
         * forget_until); flushed once at flush_at; a new public address
         * from move_at on (0: never) */
        int64_t idle_us, forget_from, forget_until, flush_at, move_at;
        int64_t flush_every; /* flushed again this long after each flush (0: once) */
        int64_t flush_jitter; /* and up to this much more, at random (rng) */
        uint64_t rng;         /* the state of xorshift64 (not 0): the same seed, the same run */
        bool flush_on_handshake; /* the new port first seen at a handshake, not at the next packet */
        int64_t server_down_from, server_down_until; /* the server stopped */
        bool restart_elsewhere; /* the restarted server logs to a file of its own, log 3 */
        int64_t probe_at; /* a probe result (0: none) in log probe_log */
        unsigned probe_below_s, probe_log;
        bool other_client; /* another client runs at the same time, its lines in log other_log */
        unsigned other_log;
        int64_t server_clock; /* the server's clock ahead of the client's by this */
        int64_t shift;        /* every stamp this much after T0 + t */
        bool later_log_first; /* the lines held, then read: log 3 (the restarted server's) first */
        struct held_line *held;
        size_t n_held, cap_held;
        /* state */
        uint16_t port;
        int64_t nat_last;
        bool flushed, probed;
        struct timeline tl;
};

static bool dropped(const struct sim *s, int64_t t, bool c2s)
{
        for (size_t i = 0; i < s->n_faults; i++)
                if (t >= s->faults[i].start && t < s->faults[i].end && (c2s ? s->faults[i].c2s : s->faults[i].s2c))
                        return true;
        return false;
}

static bool server_down(const struct sim *s, int64_t t)
{
        return s->server_down_until && t >= s->server_down_from && t < s->server_down_until;
}

static int by_start(const void *a, const void *b)
{
        const struct fault *x = a, *y = b;

        return (x->start > y->start) - (x->start < y->start);
}

/* xorshift64: a fixed sequence from a fixed seed, the same on every libc. */
static uint64_t next_random(uint64_t *x)
{
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

/* The NAT as a packet of the flow crosses it at t (a handshake or not):
 * the client's public port. */
static uint16_t nat(struct sim *s, int64_t t, bool handshake)
{
        if (s->flush_at && !s->flushed && t >= s->flush_at && (handshake || !s->flush_on_handshake)) {
                s->flushed = !s->flush_every;
                s->flush_at += s->flush_every;
                if (s->flush_jitter)
                        s->flush_at += (int64_t)(next_random(&s->rng) % (uint64_t)s->flush_jitter);
                s->port++;
        }
        if (s->idle_us && s->nat_last && t >= s->forget_from && t < s->forget_until && t - s->nat_last >= s->idle_us)
                s->port++;
        s->nat_last = t;
        return s->port;
}

/* The server's log at t: 1, or 3 once it restarted writing elsewhere. */
static unsigned server_log(const struct sim *s, int64_t t)
{
        return s->restart_elsewhere && s->server_down_until && t >= s->server_down_until ? 3 : 1;
}

static void hold(struct sim *s, unsigned log, const struct logline *l)
{
        if (s->n_held == s->cap_held) {
                struct held_line *more;

                s->cap_held = s->cap_held ? 2 * s->cap_held : 1024;
                more = realloc(s->held, s->cap_held * sizeof(*s->held));
                CHECK(more != NULL);
                if (!more)
                        exit(1);
                s->held = more;
        }
        s->held[s->n_held++] = (struct held_line){ log, *l };
}

/* The held lines read: log 3's first, then the others as they came. */
static void read_held(struct sim *s)
{
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < s->n_held; i++)
                        if ((s->held[i].log == 3) == (pass == 0))
                                CHECK(timeline_add(&s->tl, s->held[i].log, &s->held[i].l) == 0);
        free(s->held);
        s->held = NULL;
        s->n_held = s->cap_held = 0;
}

static void add(struct sim *s, unsigned log, int64_t t, const struct logline *l)
{
        struct logline x = *l;

        x.t_us = (uint64_t)(T0 + s->shift + t + (log == 1 || log == 3 ? s->server_clock : 0));
        if (s->later_log_first) {
                hold(s, log, &x);
                return;
        }
        CHECK(timeline_add(&s->tl, log, &x) == 0);
}

static void line(struct sim *s, unsigned log, int64_t t, bool tx, enum message_type type, uint64_t hs, uint64_t ctr)
{
        struct logline l = { .kind = tx ? LOGLINE_TX : LOGLINE_RX };

        if (log == 0) {
                if (!s->client_log)
                        return;
                CHECK(addr_from_string(&l.peer, "203.0.113.9", 43210) == 0);
        } else {
                if (!s->server_log)
                        return;
                CHECK(addr_from_string(&l.peer, s->move_at && t >= s->move_at ? "198.51.100.99" : "198.51.100.7",
                                       s->port) == 0);
        }
        CHECK(message_init(&l.msg, type, "home", 4, hs, ctr) == 0);
        add(s, log == 0 ? 0 : server_log(s, t), t, &l);
}

/* A message from the client at t: logged sent, and received when it passes. */
static bool c2s(struct sim *s, int64_t t, enum message_type type, uint64_t hs, uint64_t ctr)
{
        line(s, 0, t, true, type, hs, ctr);
        nat(s, t, type == MESSAGE_HANDSHAKE_INIT);
        if (dropped(s, t, true) || server_down(s, t + s->delay))
                return false;
        line(s, 1, t + s->delay, false, type, hs, ctr);
        return true;
}

static void server_stop_lines(struct sim *s)
{
        struct logline exit_line = { .kind = LOGLINE_EXIT }, listen = { .kind = LOGLINE_LISTENING };

        if (!s->server_log || !s->server_down_until)
                return;
        add(s, 1, s->server_down_from, &exit_line);
        add(s, server_log(s, s->server_down_until), s->server_down_until, &listen);
}

static void probe_line(struct sim *s, int64_t t)
{
        char text[160];
        struct logline l = { .kind = LOGLINE_NAT_TIMEOUT, .text = text };

        if (!s->probe_at || s->probed || t < s->probe_at || (s->probe_log == 0 && !s->client_log))
                return;
        s->probed = true;
        l.text_len = (size_t)snprintf(text, sizeof(text),
                                      "the NAT keeps an idle UDP mapping 19 s but not 21 s (fresh), 19 s but not "
                                      "21 s (established): keep PersistentKeepalive below %u s",
                                      s->probe_below_s);
        add(s, s->probe_log, t, &l);
}

/* The protocol's schedule (PROTOCOL.md) through the NAT and the faults. */
static void simulate(struct sim *s)
{
        uint64_t hs = (uint64_t)(T0 / S);
        int64_t t = 0;
        bool stop_logged = false;

        timeline_init(&s->tl);
        s->port = 40000;
        while (t < s->end) {
                int64_t ans = t + 2 * s->delay;

                if (!stop_logged && s->server_down_until && t >= s->server_down_from) {
                        server_stop_lines(s);
                        stop_logged = true;
                }
                probe_line(s, t);
                hs++;
                if (s->other_client) { /* its handshakes, unanswered: only its log matters */
                        struct logline o = { .kind = LOGLINE_TX };

                        CHECK(addr_from_string(&o.peer, "203.0.113.9", 43210) == 0);
                        CHECK(message_init(&o.msg, MESSAGE_HANDSHAKE_INIT, "other", 5, hs, 0) == 0);
                        add(s, s->other_log, t, &o);
                }
                if (!c2s(s, t, MESSAGE_HANDSHAKE_INIT, hs, 0)) {
                        t += s->ht;
                        continue;
                }
                line(s, 1, t + s->delay, true, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                if (dropped(s, t + s->delay, false)) {
                        t += s->ht;
                        continue;
                }
                nat(s, ans, false);
                line(s, 0, ans, false, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                for (unsigned k = 1; k <= s->count; k++)
                        c2s(s, ans + (k - 1) * s->ki, MESSAGE_KEEPALIVE, hs, k);
                t = ans + (s->count - 1) * s->ki + 1000;
        }
}

/* The default timers, both logs, 35 minutes, nothing wrong. */
static struct sim base(void)
{
        return (struct sim){ .ki = (int64_t)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US,
                             .ht = (int64_t)CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US, .count = 5, .delay = 15000,
                             .end = 35 * MIN, .client_log = true, .server_log = true };
}

/* Builds the timeline and the findings of client "home". */
static const struct timeline_client *run(struct sim *s, struct findings *f)
{
        struct timeline_opts o = { 0 };
        const struct timeline_client *c;

        simulate(s);
        if (s->later_log_first)
                read_held(s);
        CHECK(timeline_finish(&s->tl, &o) == 0);
        c = timeline_find(&s->tl, "home", 4);
        CHECK(c != NULL);
        *f = (struct findings){ 0 };
        if (c)
                CHECK(findings_derive(&s->tl, c, f) == 0);
        return c;
}

static size_t count(const struct findings *f, enum findings_kind kind)
{
        size_t n = 0;

        for (size_t i = 0; i < f->n; i++)
                n += f->v[i].kind == kind;
        return n;
}

static const struct findings_item *first(const struct findings *f, enum findings_kind kind)
{
        for (size_t i = 0; i < f->n; i++)
                if (f->v[i].kind == kind)
                        return &f->v[i];
        return NULL;
}

static double ev(const struct findings_item *it, const char *name)
{
        for (size_t i = 0; i < findings_evidence_count(it->kind); i++)
                if (strcmp(findings_kinds[it->kind].evidence[i], name) == 0)
                        return it->evidence[i];
        CHECK(name == NULL); /* no such evidence: fails */
        return NAN;
}

static void done(struct sim *s, struct findings *f)
{
        findings_free(f);
        timeline_free(&s->tl);
}

/* Every outage gives one finding of its direction, and the reverse. */
static void outages_one_to_one(const struct timeline_client *c, const struct findings *f)
{
        static const enum findings_kind by_dir[] = {
                [TIMELINE_BOTH] = FINDINGS_PATH_DOWN,
                [TIMELINE_CLIENT_TO_SERVER] = FINDINGS_OUTBOUND_LOST,
                [TIMELINE_SERVER_TO_CLIENT] = FINDINGS_INBOUND_LOST,
                [TIMELINE_UNKNOWN] = FINDINGS_OUTAGE_UNKNOWN_DIRECTION,
        };
        size_t outage_findings = 0;

        for (size_t i = 0; i < c->n_outages; i++) {
                const struct timeline_outage *o = &c->outages[i];
                enum findings_kind want = o->server_stopped ? FINDINGS_SERVER_STOPPED : by_dir[o->direction];
                size_t hits = 0;

                for (size_t j = 0; j < f->n; j++)
                        hits += f->v[j].kind == want && f->v[j].start_us == o->start_us && f->v[j].end_us == o->end_us &&
                                f->v[j].end_open == o->ongoing;
                CHECK_INT(hits, 1);
        }
        for (size_t j = 0; j < f->n; j++)
                outage_findings += f->v[j].kind >= FINDINGS_OUTBOUND_LOST && f->v[j].kind <= FINDINGS_SERVER_STOPPED;
        CHECK_INT(outage_findings, c->n_outages);
}

static void test_clean(bool client_log, bool server_log)
{
        struct sim s = base();
        struct findings f;
        const struct timeline_client *c;

        s.client_log = client_log;
        s.server_log = server_log;
        c = run(&s, &f);
        CHECK_INT(f.n, 0);
        CHECK(strstr(f.none, "Nothing found in 3") != NULL); /* 34 min and some s */
        CHECK((strstr(f.none, "cannot see NAT rebindings") != NULL) == (client_log && !server_log));
        CHECK((strstr(f.none, "whether the answers reached") != NULL) == (server_log && !client_log));
        CHECK(strstr(f.none, "53.25 s here") != NULL); /* two keepalive intervals of 26.625 s */
        CHECK((strstr(f.none, "no NAT rebinding") != NULL) == server_log); /* never claimed from a client's log */
        (void)c;
        done(&s, &f);
}

/* The NAT forgets mappings idle 20 s from 20:25 on: one finding from
 * then, still holding at the end, the truth inside its bounds. A probe
 * result (probe: its seconds, 0 for none) is the client's when written in
 * its own log (probe_log 0), whoever else writes there or elsewhere
 * (other_log 0 or 2, -1 for no other client); in the other client's log
 * (2) it is not. With the server's clock ahead (server_clock), the same,
 * on the client's clock. */
static void test_nat_idle_timeout(bool client_log, int64_t until, unsigned probe, unsigned probe_log, int other_log,
                                  int64_t server_clock)
{
        struct sim s = base();
        struct findings f;
        const struct timeline_client *c;
        const struct findings_item *it;

        s.server_clock = server_clock;
        s.client_log = client_log;
        s.idle_us = 20 * S;
        s.forget_from = 25 * MIN;
        s.forget_until = until ? until : INT64_MAX;
        s.end = until ? 45 * MIN : 35 * MIN;
        s.probe_at = probe ? 28 * MIN : 0;
        s.probe_below_s = probe;
        s.probe_log = probe_log;
        s.other_client = other_log >= 0;
        s.other_log = other_log >= 0 ? (unsigned)other_log : 0;
        c = run(&s, &f);
        if (!c)
                goto out;
        CHECK(c->n_rebinds >= 3);
        CHECK(!server_clock || (c->offset_known && llabs(c->offset_us - server_clock) <= 1000));
        CHECK_INT(count(&f, FINDINGS_NAT_IDLE_TIMEOUT), 1);
        CHECK_INT(count(&f, FINDINGS_MAPPING_REPLACED), 0);
        CHECK_INT(count(&f, FINDINGS_RECURRING), 0);
        outages_one_to_one(c, &f);
        it = first(&f, FINDINGS_NAT_IDLE_TIMEOUT);
        if (!it)
                goto out;
        /* from the first forgetting on, not before 20:25 */
        CHECK(it->start_us >= T0 + s.forget_from - s.ki);
        CHECK(it->start_us < c->rebinds[0].t_us);
        CHECK(it->start_us >= T0 + 25 * MIN - 27 * S);
        /* exactly where the idle gap before the first rebinding began */
        CHECK(llabs(it->start_us - (c->rebinds[0].t_us - s.ki)) <= 1000);
        CHECK(it->end_open == !until);
        if (until) /* it ends by the first long pause kept after it */
                CHECK(it->end_us >= T0 + until - s.ki && it->end_us <= T0 + until + s.ki + S);
        CHECK(it->idle_lo_s < 20.0 && it->idle_hi_s >= 20.0);
        CHECK(it->idle_hi_s <= (double)s.ki / 1e6 + 0.1);
        CHECK(fabs(ev(it, "idle_timeout_min_s") - it->idle_lo_s) < 1e-9);
        CHECK(fabs(ev(it, "idle_timeout_max_s") - it->idle_hi_s) < 1e-9);
        CHECK_INT((long long)ev(it, "rebindings"), c->n_rebinds);
        CHECK(ev(it, "gaps_kept") >= 1);
        /* 26.6 s rebound, far shorter ones kept: 25 s lies between, and the text may not say more */
        CHECK(strstr(it->text, "might hold or not") != NULL);
        if (probe && client_log && probe_log == 0) {
                CHECK(fabs(ev(it, "probe_keepalive_below_s") - probe) < 1e-9);
                CHECK(strstr(it->advice, "this client's own NAT timeout probe") != NULL);
        } else {
                CHECK(isnan(ev(it, "probe_keepalive_below_s")));
                CHECK(strstr(it->advice, "`udp-canary probe`") != NULL);
        }
out:
        done(&s, &f);
}

/* A NAT that forgets, then the server restarted writing to a new log:
 * the same findings, word for word, whether that log is read after the
 * first or before it (the server's packets then held out of time order,
 * put in order for the idle gaps). */
static void test_server_logs_out_of_order(void)
{
        struct sim a = base(), b;
        struct findings fa, fb;
        const struct timeline_client *ca, *cb;

        a.idle_us = 20 * S;
        a.forget_from = 10 * MIN; /* in the first log, read second */
        a.forget_until = INT64_MAX;
        a.server_down_from = 28 * MIN;
        a.server_down_until = 30 * MIN;
        a.restart_elsewhere = true;
        b = a;
        b.later_log_first = true;
        ca = run(&a, &fa);
        cb = run(&b, &fb);
        if (!ca || !cb)
                goto out;
        CHECK_INT(count(&fa, FINDINGS_NAT_IDLE_TIMEOUT), 1);
        CHECK_INT(fb.n, fa.n);
        for (size_t i = 0; i < fa.n && i < fb.n; i++) {
                CHECK_INT(fb.v[i].kind, fa.v[i].kind);
                CHECK_INT(fb.v[i].start_us, fa.v[i].start_us);
                CHECK_INT(fb.v[i].end_us, fa.v[i].end_us);
                CHECK_STR(fb.v[i].text, fa.v[i].text);
        }
out:
        done(&a, &fa);
        done(&b, &fb);
}

/* A flush: one mapping_replaced, at the rebinding, its idle gap short. */
static void test_flush(void)
{
        struct sim s = base();
        struct findings f;
        const struct timeline_client *c;
        const struct findings_item *it;

        s.flush_at = 10 * MIN;
        c = run(&s, &f);
        CHECK_INT(f.n, 1);
        it = first(&f, FINDINGS_MAPPING_REPLACED);
        CHECK(it != NULL);
        if (c && it && c->n_rebinds == 1) {
                CHECK(it->start_us == c->rebinds[0].t_us && !it->end_open);
                CHECK(it->start_us >= T0 + s.flush_at && it->start_us <= T0 + s.flush_at + s.ki + S);
                CHECK(ev(it, "idle_gap_s") > 0 && ev(it, "idle_gap_s") <= (double)s.ki / 1e6 + 0.1);
                CHECK_INT((long long)ev(it, "old_port"), 40000);
                CHECK_INT((long long)ev(it, "new_port"), 40001);
                CHECK(strstr(it->text, "or the client restarted") == NULL); /* the client's log says it did not */
        }
        done(&s, &f);
}

static void test_address_change(void)
{
        struct sim s = base();
        struct findings f;

        s.move_at = 12 * MIN;
        run(&s, &f);
        CHECK_INT(f.n, 1);
        CHECK_INT(count(&f, FINDINGS_PUBLIC_ADDRESS_CHANGED), 1);
        done(&s, &f);
}

/* Faults one way and the other, and a server stopped: one finding each,
 * saying how long a WireGuard tunnel would have been down. */
static void test_outages(bool client_log, bool server_log)
{
        static const struct fault f3[] = {
                { 5 * MIN, 5 * MIN + 70 * S, true, false }, /* to the server */
                { 12 * MIN, 12 * MIN + 200 * S, false, true }, /* to the client */
        };
        struct sim s = base();
        struct findings f;
        const struct timeline_client *c;

        s.client_log = client_log;
        s.server_log = server_log;
        s.faults = f3;
        s.n_faults = 2;
        s.server_down_from = 22 * MIN;
        s.server_down_until = 24 * MIN;
        c = run(&s, &f);
        if (!c)
                goto out;
        CHECK(c->n_outages >= 3);
        outages_one_to_one(c, &f);
        CHECK_INT(count(&f, FINDINGS_MAPPING_REPLACED) + count(&f, FINDINGS_NAT_IDLE_TIMEOUT), 0);
        if (client_log && !server_log)
                CHECK_INT(count(&f, FINDINGS_OUTAGE_UNKNOWN_DIRECTION), c->n_outages);
        if (server_log) {
                CHECK_INT(count(&f, FINDINGS_OUTBOUND_LOST), 1);
                CHECK_INT(count(&f, FINDINGS_INBOUND_LOST), 1);
                CHECK_INT(count(&f, FINDINGS_SERVER_STOPPED), 1);
        }
        for (size_t i = 0; i < f.n; i++) {
                const struct findings_item *it = &f.v[i];

                if (it->kind == FINDINGS_SERVER_STOPPED || it->kind == FINDINGS_RECURRING)
                        continue;
                /* between the outage's shortest bound and its longest plus 25 s */
                CHECK(fabs(ev(it, "wireguard_down_min_s") - ev(it, "seconds_min")) < 1e-9);
                /* as long when the NAT kept the mapping, up to a keepalive more when that is not known */
                if (!isnan(ev(it, "seconds_max")))
                        CHECK(fabs(ev(it, "wireguard_down_max_s") - ev(it, "seconds_max") -
                                   (ev(it, "mapping_kept") == 1 ? 0 : FINDINGS_WG_KEEPALIVE_S)) < 1e-3);
                CHECK(ev(it, "seconds_min") <= ev(it, "seconds") && ev(it, "lost_messages") >= 2);
                /* kept with a server's log (no rebinding), unknown without */
                CHECK(server_log ? ev(it, "mapping_kept") == 1 : isnan(ev(it, "mapping_kept")));
                CHECK(strstr(it->text, "WireGuard") != NULL);
        }
        for (size_t i = 0; i < 2 && server_log; i++) { /* the truth inside the bounds */
                const struct findings_item *it = first(&f, i ? FINDINGS_INBOUND_LOST : FINDINGS_OUTBOUND_LOST);
                double truth = (double)(f3[i].end - f3[i].start) / 1e6;

                CHECK(it != NULL);
                if (it)
                        CHECK(ev(it, "seconds_min") <= truth + 0.1 &&
                              (isnan(ev(it, "seconds_max")) || ev(it, "seconds_max") >= truth - 0.1));
        }
out:
        done(&s, &f);
}

/* The server restarted writing to a new file: its first log ends with its
 * Exit, yet the server ran again from the new file's first line on, so a
 * later outage is the path's, not the stopped server's. */
static void test_restart_elsewhere(bool client_log)
{
        static const struct fault later[] = { { 28 * MIN, 28 * MIN + 70 * S, true, false } };
        struct sim s = base();
        struct findings f;
        const struct timeline_client *c;

        s.client_log = client_log;
        s.faults = later;
        s.n_faults = 1;
        s.server_down_from = 22 * MIN;
        s.server_down_until = 24 * MIN;
        s.restart_elsewhere = true;
        c = run(&s, &f);
        if (!c)
                goto out;
        outages_one_to_one(c, &f);
        CHECK_INT(count(&f, FINDINGS_SERVER_STOPPED), 1);
        CHECK_INT(count(&f, FINDINGS_OUTBOUND_LOST), 1);
        CHECK(first(&f, FINDINGS_OUTBOUND_LOST) && first(&f, FINDINGS_OUTBOUND_LOST)->start_us > T0 + 24 * MIN);
out:
        done(&s, &f);
}

/* Days of logs with a blackhole at about 04:10 UTC on each: one recurring
 * finding, its time of day in the report's clock (TZ) and named so (the
 * stamps are UTC, as the journal's); at times of day all different, none. */
static void test_recurring(bool same_time, const char *tz, const char *hhmm, const char *zone)
{
        char when[64], said[64];

        struct fault fs[6];
        struct sim s = base();
        struct findings f;
        const struct findings_item *it;

        for (int d = 0; d < 6; d++) {
                /* T0 is 20:00; 04:10 is 8 h 10 min later, minutes apart each day */
                static const int64_t apart[6] = { 0, 5 * H + 13 * MIN, 2 * H, 9 * H + 40 * MIN, 13 * H, 7 * H + 22 * MIN };
                int64_t at = d * 24 * H + 8 * H + 10 * MIN + (same_time ? (d % 3) * 4 * MIN : apart[d]);

                fs[d] = (struct fault){ at, at + 90 * S, true, true };
        }
        s.faults = fs;
        s.n_faults = 6;
        s.end = 6 * 24 * H;
        setenv("TZ", tz, 1);
        tzset();
        run(&s, &f);
        setenv("TZ", "UTC", 1);
        tzset();
        CHECK_INT(count(&f, FINDINGS_RECURRING), same_time ? 1 : 0);
        it = first(&f, FINDINGS_RECURRING);
        if (it) {
                CHECK_STR(it->what, "outages");
                snprintf(when, sizeof(when), "every day around %s (%s)", hhmm, zone);
                snprintf(said, sizeof(said), "around %s %s (", hhmm, zone);
                CHECK_STR(it->when, when);
                CHECK(strstr(it->text, said) != NULL);
                CHECK_INT((long long)ev(it, "days"), 6);
                CHECK_INT((long long)ev(it, "days_in_logs"), 6);
                CHECK(ev(it, "spread_minutes") <= 15);
        }
        CHECK_INT(count(&f, FINDINGS_OUTBOUND_LOST) + count(&f, FINDINGS_PATH_DOWN), 6);
        done(&s, &f);
}

/* Logs from 2027-03-26 23:30 CET to 04-01 13:30 CEST, in Europe/Berlin
 * (Sunday 28 March has 23 hours): 04:10 on all 6 dates from the 27th; an
 * outage then on 5 of them (not the 30th). The days the logs cover at that
 * time of day counted by date: 6 (steps of 24 h from 23:30 CET skip the
 * 28th). */
static void test_recurring_dst(void)
{
        struct fault fs[5];
        struct sim s = base();
        struct findings f;
        const struct findings_item *it;
        size_t n = 0;

        s.shift = 2906 * H + 30 * MIN; /* T0 + shift: 2027-03-26 22:30 UTC */
        for (int d = 0; d < 6; d++) {
                /* 04:10 CET is 4 h 40 min after the start, CEST an hour less from the 28th */
                int64_t at = d * 24 * H + 4 * H + 40 * MIN - (d >= 1 ? H : 0);

                if (d != 3)
                        fs[n++] = (struct fault){ at, at + 90 * S, true, true };
        }
        s.faults = fs;
        s.n_faults = n;
        s.end = 5 * 24 * H + 13 * H;
        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        run(&s, &f);
        setenv("TZ", "UTC", 1);
        tzset();
        CHECK_INT(count(&f, FINDINGS_RECURRING), 1);
        it = first(&f, FINDINGS_RECURRING);
        if (it) {
                CHECK(strncmp(it->when, "every day around 04:", 20) == 0);
                CHECK(strstr(it->when, "(CET/CEST)") != NULL);
                CHECK_INT((long long)ev(it, "days"), 5);
                CHECK_INT((long long)ev(it, "days_in_logs"), 6);
        }
        done(&s, &f);
}

/* Outages every 6 h: a steady period, not a time of day. */
static void test_steady(void)
{
        struct fault fs[8];
        struct sim s = base();
        struct findings f;
        const struct findings_item *it;

        for (int i = 0; i < 8; i++)
                fs[i] = (struct fault){ 30 * MIN + i * 6 * H, 30 * MIN + i * 6 * H + 90 * S, true, true };
        s.faults = fs;
        s.n_faults = 8;
        s.end = 2 * 24 * H;
        run(&s, &f);
        CHECK_INT(count(&f, FINDINGS_RECURRING), 1);
        it = first(&f, FINDINGS_RECURRING);
        if (it) {
                CHECK(fabs(ev(it, "period_s") - 6 * 3600) <= 60);
                CHECK_INT((long long)ev(it, "events"), 8);
                CHECK(strncmp(it->when, "every 6 h", 9) == 0);
        }
        done(&s, &f);
}

/* Outages every `every` from 00:30 UTC on for `days` days (and, with
 * daily, one more at 04:10 each day): one recurring finding with that
 * period and all of them, not the times of day it implies (a period that
 * divides a day puts one on each day at each of them); the daily ones
 * beside it their own. */
static void test_period(int64_t every, int days, bool daily)
{
        struct fault fs[200];
        struct sim s = base();
        struct findings f;
        size_t n = 0, periodic;
        bool found = false;

        for (int64_t at = 4 * H + 30 * MIN; at + 90 * S < days * 24 * H && n < 200; at += every)
                fs[n++] = (struct fault){ at, at + 90 * S, true, true };
        periodic = n;
        for (int d = 0; daily && d < days && n < 200; d++)
                fs[n++] = (struct fault){ d * 24 * H + 8 * H + 10 * MIN, d * 24 * H + 8 * H + 10 * MIN + 90 * S, true,
                                          true };
        s.faults = fs;
        s.n_faults = n;
        s.end = days * 24 * H;
        run(&s, &f);
        CHECK_INT(count(&f, FINDINGS_OUTBOUND_LOST) + count(&f, FINDINGS_PATH_DOWN), n);
        CHECK_INT(count(&f, FINDINGS_RECURRING), daily ? 2 : 1);
        for (size_t i = 0; i < f.n; i++) {
                const struct findings_item *it = &f.v[i];
                char want[32];

                if (it->kind != FINDINGS_RECURRING || strncmp(it->when, "every day", 9) == 0)
                        continue;
                found = true;
                report_duration(every, want);
                CHECK(strncmp(it->when, "every ", 6) == 0 && strcmp(it->when + 6, want) == 0);
                CHECK(fabs(ev(it, "period_s") - (double)every / S) <= 60);
                CHECK_INT((long long)ev(it, "events"), (long long)periodic);
        }
        CHECK(found);
        if (daily && first(&f, FINDINGS_RECURRING)) {
                size_t k = 0;

                for (size_t i = 0; i < f.n; i++)
                        if (f.v[i].kind == FINDINGS_RECURRING && strncmp(f.v[i].when, "every day around 04:", 20) == 0) {
                                k++;
                                CHECK_INT((long long)ev(&f.v[i], "events"), days);
                        }
                CHECK_INT(k, 1);
        }
        done(&s, &f);
}

/* `periodic` outages 2 h apart with `others` more at odd times in the first
 * 6 h: a steady period where chance cannot make it (4 alone, 12 among 6),
 * none where it can (4 in a row among 7 in 6 h: a run that random events
 * as dense make often enough among the candidates tried). */
static void test_period_among(size_t periodic, size_t others, bool claimed)
{
        static const int64_t odd[] = { 17 * MIN, 148 * MIN, 266 * MIN, 71 * MIN, 331 * MIN, 203 * MIN };
        struct fault fs[20];
        struct sim s = base();
        struct findings f;
        const struct findings_item *it;
        size_t n = 0;

        for (int64_t k = 0; k < (int64_t)periodic; k++)
                fs[n++] = (struct fault){ 30 * MIN + k * 2 * H, 30 * MIN + k * 2 * H + 90 * S, true, true };
        for (size_t i = 0; i < others; i++)
                fs[n++] = (struct fault){ 30 * MIN + odd[i], 30 * MIN + odd[i] + 90 * S, true, true };
        qsort(fs, n, sizeof(*fs), by_start);
        s.faults = fs;
        s.n_faults = n;
        s.end = (int64_t)periodic * 2 * H;
        run(&s, &f);
        CHECK_INT(count(&f, FINDINGS_OUTBOUND_LOST) + count(&f, FINDINGS_PATH_DOWN), n);
        CHECK_INT(count(&f, FINDINGS_RECURRING), claimed ? 1 : 0);
        it = first(&f, FINDINGS_RECURRING);
        if (it && claimed) {
                CHECK(strncmp(it->when, "every 2 h", 9) == 0);
                CHECK_INT((long long)ev(it, "events"), periodic);
        }
        done(&s, &f);
}

/* The NAT flushed every 8 h for 5 days: the rebindings come back one
 * finding, every 8 h, not three a day at 00:xx, 08:xx and 16:xx; those
 * times named in its text, in the report's clock (TZ). */
static void test_period_rebindings(const char *tz, const char *times)
{
        struct sim s = base();
        struct findings f;
        const struct findings_item *it;
        size_t flushes;

        s.end = 5 * 24 * H;
        s.flush_at = 4 * H + 12 * MIN; /* 00:12 UTC */
        s.flush_every = 8 * H;
        flushes = (size_t)((s.end - s.flush_at - 1) / s.flush_every + 1);
        setenv("TZ", tz, 1);
        tzset();
        run(&s, &f);
        setenv("TZ", "UTC", 1);
        tzset();
        CHECK_INT(count(&f, FINDINGS_MAPPING_REPLACED), flushes);
        CHECK_INT(count(&f, FINDINGS_RECURRING), 1);
        it = first(&f, FINDINGS_RECURRING);
        if (it) {
                CHECK_STR(it->what, "rebindings");
                CHECK(strncmp(it->when, "every 8 h", 9) == 0);
                CHECK(fabs(ev(it, "period_s") - 8 * 3600) <= 60);
                CHECK_INT((long long)ev(it, "events"), flushes);
                CHECK(strstr(it->text, times) != NULL);
        }
        done(&s, &f);
}

/* The default timers for `days` days, the NAT flushed every `every` from
 * 00:12 UTC on. */
static struct sim flushed(int days, int64_t every)
{
        struct sim s = base();

        s.end = days * 24 * H;
        s.flush_at = 4 * H + 12 * MIN;
        s.flush_every = every;
        return s;
}

/* The NAT flushed every `every` (and up to `jitter` more, at random) for
 * 28 days from 00:12 UTC, each flush seen at the next packet (up to a
 * keepalive interval ki late: 26.6 s, or 60 s, which with a minute's
 * tolerance must be known to be how late the logs see them): at a steady
 * period one recurring finding with it and every rebinding (11 min); at
 * random 10 to 20 min apart none, for the steady runs and times of day
 * among thousands are chance's. */
static void test_chance_rebindings(int64_t every, int64_t jitter, int64_t ki)
{
        struct sim s = flushed(28, every);
        struct findings f;
        const struct timeline_client *c;
        const struct findings_item *it;

        s.flush_jitter = jitter;
        s.rng = 0x9e3779b97f4a7c15ULL;
        s.ki = ki;
        c = run(&s, &f);
        if (!c)
                goto out;
        CHECK(c->n_rebinds >= (size_t)((s.end - 4 * H - 12 * MIN) / (every + jitter)));
        CHECK_INT(count(&f, FINDINGS_NAT_IDLE_TIMEOUT), 0);
        CHECK_INT(count(&f, FINDINGS_RECURRING), jitter ? 0 : 1);
        it = first(&f, FINDINGS_RECURRING);
        if (it && !jitter) {
                char want[32];

                report_duration(every, want);
                CHECK(strncmp(it->when, "every ", 6) == 0 && strcmp(it->when + 6, want) == 0);
                CHECK_INT((long long)ev(it, "events"), c->n_rebinds);
        }
out:
        done(&s, &f);
}

/* The NAT flushed every hour for 10 days, the new port seen at the next
 * handshake (the keepalives before it on the old one), 0 to 107 s (a
 * handshake's cycle) after the hour: one finding, every 60 min, with every
 * rebinding; not short runs at a period a little off, broken where the
 * delay starts over, nor the hours of the day. */
static void test_period_handshakes(void)
{
        struct sim s = base();
        struct findings f;
        const struct timeline_client *c;
        const struct findings_item *it;

        s.end = 10 * 24 * H;
        s.flush_at = 5 * H; /* 01:00 UTC */
        s.flush_every = H;
        s.flush_on_handshake = true;
        c = run(&s, &f);
        if (!c)
                goto out;
        CHECK_INT(c->n_rebinds, (s.end - 5 * H - 1) / H + 1); /* flush_at has moved on */
        CHECK_INT(count(&f, FINDINGS_RECURRING), 1);
        it = first(&f, FINDINGS_RECURRING);
        if (it) {
                CHECK(strncmp(it->when, "every 60 min", 12) == 0);
                CHECK_INT((long long)ev(it, "events"), c->n_rebinds);
        }
out:
        done(&s, &f);
}

/* The NAT flushed every `every` for `days` days from 00:12 UTC, each flush
 * seen at the next packet, and one outage of `down` (both ways) at `at`
 * (0: none) that hides a flush or two: the series goes on across it, one
 * recurring finding with its period and every rebinding on its line (all
 * but the one seen at the outage's end, which may be late by the outage),
 * its missed periods said. Its period as measured, to the second, and
 * every rebinding within the "give or take" of the line it states. */
static void test_period_broken(int64_t every, int days, int64_t at, int64_t down, const char *when)
{
        struct fault fs[1] = { { at, at + down, true, true } };
        struct sim s = flushed(days, every);
        struct findings f;
        const struct timeline_client *c;
        const struct findings_item *it;
        char said[48];

        s.faults = fs;
        s.n_faults = at ? 1 : 0;
        c = run(&s, &f);
        if (!c)
                goto out;
        CHECK_INT(count(&f, FINDINGS_RECURRING), 1);
        it = first(&f, FINDINGS_RECURRING);
        if (!it)
                goto out;
        CHECK_STR(it->when, when);
        CHECK(fabs(ev(it, "period_s") - (double)every / S) < 1);
        CHECK(ev(it, "events") >= (double)c->n_rebinds - (at ? 1 : 0) && ev(it, "events") <= (double)c->n_rebinds);
        CHECK((strstr(it->text, " missed).") != NULL) == (at != 0));
        snprintf(said, sizeof(said), "(give or take %.0f s)", ev(it, "spread_minutes") * 60);
        CHECK(strstr(it->text, said) != NULL);
        /* a flush is seen up to a keepalive interval late: so much off a line at most */
        CHECK(ev(it, "spread_minutes") * 60 <= (double)s.ki / S);
        for (size_t i = 0, on = 0; i < c->n_rebinds && on < (size_t)ev(it, "events"); i++) {
                double x = (double)(c->rebinds[i].t_us - c->rebinds[0].t_us) / S, p = ev(it, "period_s");
                double off = x - p * round(x / p);

                if (at && c->rebinds[i].t_us >= T0 + at && c->rebinds[i].t_us <= T0 + at + down + s.ki)
                        continue; /* seen at the outage's end */
                on++;
                CHECK(fabs(off) <= 2 * ev(it, "spread_minutes") * 60 + 1e-6); /* from the first, not the line */
        }
out:
        done(&s, &f);
}

/* Outages every 3 h, 32 periods, `len` of them from the `missing`-th on
 * left out (none, one, a day): one recurring finding, every 3 h, all of
 * them, the missed periods said. */
static void test_period_missing(int missing, int len)
{
        char said[64];
        struct fault fs[32];
        struct sim s = base();
        struct findings f;
        const struct findings_item *it;
        size_t n = 0;

        for (int i = 0; i < 32; i++)
                if (i < missing || i >= missing + len)
                        fs[n++] = (struct fault){ 30 * MIN + i * 3 * H, 30 * MIN + i * 3 * H + 5 * MIN, true, true };
        s.faults = fs;
        s.n_faults = n;
        s.end = 4 * 24 * H + H;
        run(&s, &f);
        CHECK_INT(count(&f, FINDINGS_OUTBOUND_LOST) + count(&f, FINDINGS_PATH_DOWN), n);
        CHECK_INT(count(&f, FINDINGS_RECURRING), 1);
        it = first(&f, FINDINGS_RECURRING);
        if (it) {
                CHECK_STR(it->when, "every 3 h 0 min");
                CHECK_INT((long long)ev(it, "events"), n);
                snprintf(said, sizeof(said), n == 32 ? "32 times in a row" : "%zu times in 32 periods (%d missed)", n,
                         len);
                CHECK(strstr(it->text, said) != NULL);
        }
        done(&s, &f);
}

/* The NAT flushed every 11 min for 33 days, more rebindings than the 4096
 * judged (udp-canary(8)): one finding still, with the most recent 4096 of
 * them, from the first of those to the last. */
static void test_period_many(void)
{
        enum { judged = 4096 };
        struct sim s = flushed(33, 11 * MIN);
        struct findings f;
        const struct timeline_client *c = run(&s, &f);
        const struct findings_item *it;

        if (!c)
                goto out;
        CHECK(c->n_rebinds > judged);
        CHECK_INT(count(&f, FINDINGS_RECURRING), 1);
        it = first(&f, FINDINGS_RECURRING);
        if (it && c->n_rebinds > judged) {
                CHECK_STR(it->when, "every 11 min 0 s");
                CHECK_INT((long long)ev(it, "events"), judged);
                CHECK_INT(it->start_us, c->rebinds[c->n_rebinds - judged].t_us);
                CHECK_INT(it->end_us, c->rebinds[c->n_rebinds - 1].t_us);
        }
out:
        done(&s, &f);
}

/* One to four outages a day at random times for 30 days: no recurring
 * finding, neither a time of day nor a steady period (by chance some
 * land near each other on several days). */
static void test_chance_outages(void)
{
        struct fault fs[30 * 4];
        struct sim s = base();
        struct findings f;
        uint64_t x = 0x2545f4914f6cdd1dULL;
        size_t n = 0;

        for (int64_t d = 0; d < 30; d++) {
                int64_t per = 1 + (int64_t)(next_random(&x) % 4), slot = 24 * H / per;

                for (int64_t k = 0; k < per; k++) { /* one in each part of the day, apart */
                        int64_t at = d * 24 * H + k * slot + (int64_t)(next_random(&x) % (uint64_t)(slot - 10 * MIN));

                        fs[n++] = (struct fault){ at, at + 90 * S, true, true };
                }
        }
        s.faults = fs;
        s.n_faults = n;
        s.end = 30 * 24 * H;
        run(&s, &f);
        CHECK_INT(count(&f, FINDINGS_OUTBOUND_LOST) + count(&f, FINDINGS_PATH_DOWN), n);
        CHECK_INT(count(&f, FINDINGS_RECURRING), 0);
        done(&s, &f);
}

/* udp-canary(8) names every kind and every piece of evidence. */
static void test_documented(const char *man)
{
        FILE *fp = fopen(man, "r");
        static char text[1 << 18];
        size_t n;

        CHECK(fp != NULL);
        if (!fp)
                return;
        n = fread(text, 1, sizeof(text) - 1, fp);
        text[n] = '\0';
        fclose(fp);
        for (unsigned k = 0; k < FINDINGS_KINDS; k++) {
                char name[96];

                snprintf(name, sizeof(name), "*%s*", findings_kinds[k].name);
                if (!strstr(text, name))
                        fprintf(stderr, "udp-canary(8) does not name %s\n", name);
                CHECK(strstr(text, name) != NULL);
                for (size_t i = 0; i < findings_evidence_count(k); i++) {
                        snprintf(name, sizeof(name), "_%s_", findings_kinds[k].evidence[i]);
                        if (!strstr(text, name))
                                fprintf(stderr, "udp-canary(8) does not name %s\n", name);
                        CHECK(strstr(text, name) != NULL);
                }
        }
}

int main(int argc, char **argv)
{
        setenv("TZ", "UTC", 1);
        tzset();
        test_clean(true, true);
        test_clean(true, false);
        test_clean(false, true);
        test_nat_idle_timeout(true, 0, 0, 0, -1, 0);
        test_nat_idle_timeout(true, 0, 0, 0, -1, 7 * S + 250000); /* the idle gaps on the client's clock */
        test_server_logs_out_of_order();
        test_nat_idle_timeout(false, 0, 0, 0, -1, 0);
        test_nat_idle_timeout(true, 30 * MIN, 0, 0, -1, 0);
        test_nat_idle_timeout(true, 0, 20, 0, -1, 0);
        test_nat_idle_timeout(true, 0, 20, 0, 2, 0); /* another client's log beside: still this one's */
        test_nat_idle_timeout(true, 0, 20, 0, 0, 0); /* two clients in one log: each gets it */
        test_nat_idle_timeout(true, 0, 20, 2, 2, 0); /* in the other client's log: not this one's */
        test_flush();
        test_address_change();
        test_outages(true, true);
        test_outages(true, false);
        test_outages(false, true);
        test_restart_elsewhere(true);
        test_restart_elsewhere(false);
        /* the outages begin at 04:09 to 04:17 UTC: the middle is 04:13 */
        test_recurring(true, "UTC", "04:13", "UTC");
        test_recurring(true, "Europe/Berlin", "05:13", "CET");
        test_recurring(true, "America/New_York", "23:13", "EST");
        test_recurring(false, "UTC", "", "");
        test_recurring_dst();
        test_steady();
        test_period(8 * H, 5, false);
        test_period(8 * H, 5, true);
        test_period(90 * MIN, 3, false);
        test_period(5 * H, 12, false);
        test_period_rebindings("UTC", "every 8 h 0 min at about 00:12, 08:12 and 16:12 UTC (");
        test_period_rebindings("Europe/Berlin", "every 8 h 0 min at about 01:12, 09:12 and 17:12 CET (");
        test_period_among(4, 0, true);
        test_period_among(4, 3, false);
        test_period_among(12, 6, true);
        test_chance_rebindings(10 * MIN, 10 * MIN, (int64_t)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US);
        test_chance_rebindings(11 * MIN, 0, (int64_t)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US);
        test_chance_rebindings(10 * MIN, 10 * MIN, 60 * S);
        test_chance_rebindings(11 * MIN, 0, 60 * S);
        test_chance_outages();
        test_period_handshakes();
        test_period_broken(11 * MIN, 28, 0, 0, "every 11 min 0 s");
        test_period_broken(11 * MIN, 28, 14 * 24 * H + 3 * H, 30 * MIN, "every 11 min 0 s");
        test_period_broken(H, 3, 36 * H + 20 * MIN, 83 * MIN, "every 60 min 0 s");
        test_period_broken(630 * S, 2, 0, 0, "every 10 min 30 s");
        test_period_missing(0, 0);
        test_period_missing(15, 1);
        test_period_missing(6, 8);
        test_period_many();
        if (argc > 1)
                test_documented(argv[1]);
        else
                CHECK(argc > 1); /* give udp-canary(8) as the argument */
        return check_finish("report-findings");
}

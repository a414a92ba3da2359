/* Flows compared in the report (timeline-flows.c, findings-flows.c,
 * report-flows.c) and the last hop of a client's trace on its outages
 * (timeline-trace.c), on synthetic logs: flows following the protocol's
 * schedule, each with its client's log and one server log they share, with
 * faults per flow; the lines go in in time order, per log, as written. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "core/client.h"
#include "report/findings.h"
#include "report/report-flows.h"
#include "report/timeline-internal.h"

#define S 1000000LL
#define MIN (60 * S)
#define T0 (1795564800LL * S) /* 2026-11-25 00:00 UTC */
#define SERVER_LOG 0

struct flow {
        char id[16];
        const char *server; /* its address, as its client log sends to */
        unsigned client_log; /* 0: none */
        int64_t fault_from, fault_to; /* both ways, offsets from T0 */
        int64_t end; /* its client stops */
        int64_t pause_from, pause_to; /* its client does not run (0, 0: runs) */
        int64_t server_log_until; /* its lines in the server's log stop (0: at end) */
};

struct sim {
        struct logline *v;
        size_t n, cap;
};

static void put(struct sim *s, unsigned log, int64_t t, const struct logline *l)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 1024;
                s->v = realloc(s->v, s->cap * sizeof(*s->v));
                CHECK(s->v != NULL);
                if (!s->v)
                        exit(1);
        }
        s->v[s->n] = *l;
        s->v[s->n].t_us = (uint64_t)(T0 + t);
        s->v[s->n].dropped = log; /* the log, until added: unused by packets */
        s->n++;
}

static void msg(struct sim *s, const struct flow *f, bool server, int64_t t, bool tx, enum message_type type,
                uint64_t hs, uint64_t ctr)
{
        struct logline l = { .kind = tx ? LOGLINE_TX : LOGLINE_RX };

        if (server ? (f->server_log_until && t >= f->server_log_until) : !f->client_log)
                return;
        CHECK(addr_from_string(&l.peer, server ? "198.51.100.7" : f->server, server ? 40000 : 43210) == 0);
        CHECK(message_init(&l.msg, type, f->id, strlen(f->id), hs, ctr) == 0);
        put(s, server ? SERVER_LOG : f->client_log, t, &l);
}

static bool lost(const struct flow *f, int64_t t)
{
        return t >= f->fault_from && t < f->fault_to;
}

/* A message from the client: sent, and received when it passes. */
static bool c2s(struct sim *s, const struct flow *f, int64_t t, enum message_type type, uint64_t hs, uint64_t ctr)
{
        msg(s, f, false, t, true, type, hs, ctr);
        if (lost(f, t))
                return false;
        msg(s, f, true, t + 15000, false, type, hs, ctr);
        return true;
}

/* The protocol's schedule (PROTOCOL.md), default timers. */
static void schedule(struct sim *s, const struct flow *f)
{
        int64_t ki = (int64_t)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US, ht = (int64_t)CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        uint64_t hs = (uint64_t)(T0 / S);
        int64_t t = 0;

        while (t < f->end) {
                if (t >= f->pause_from && t < f->pause_to) {
                        t = f->pause_to;
                        continue;
                }
                hs++;
                if (!c2s(s, f, t, MESSAGE_HANDSHAKE_INIT, hs, 0)) {
                        t += ht;
                        continue;
                }
                msg(s, f, true, t + 15000, true, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                if (lost(f, t + 15000)) {
                        t += ht;
                        continue;
                }
                msg(s, f, false, t + 30000, false, MESSAGE_HANDSHAKE_RESPONSE, hs, 0);
                for (unsigned k = 1; k <= CLIENT_DEFAULT_KEEPALIVE_COUNT; k++)
                        c2s(s, f, t + 30000 + (k - 1) * ki, MESSAGE_KEEPALIVE, hs, k);
                t += 30000 + (CLIENT_DEFAULT_KEEPALIVE_COUNT - 1) * ki + 1000;
        }
}

/* A trace line in a client's log at t: hop 1 answered, the rest did not. */
static void trace(struct sim *s, unsigned log, int64_t t, const char *hop1)
{
        struct logline l = { .kind = LOGLINE_TRACE };

        CHECK(addr_from_string(&l.trace.to, "203.0.113.9", 43210) == 0);
        l.trace.handshake = 7;
        l.trace.n_hops = 4;
        CHECK(addr_from_string(&l.trace.hop[0], hop1, 0) == 0);
        put(s, log, t, &l);
}

static int by_time(const void *a, const void *b)
{
        const struct logline *x = a, *y = b;

        return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

static void build(struct sim *s, struct timeline *tl)
{
        struct timeline_opts o = { 0 };

        qsort(s->v, s->n, sizeof(*s->v), by_time);
        timeline_init(tl);
        for (size_t i = 0; i < s->n; i++) {
                unsigned log = (unsigned)s->v[i].dropped;

                s->v[i].dropped = 0;
                CHECK(timeline_add(tl, log, &s->v[i]) == 0);
        }
        CHECK(timeline_finish(tl, &o) == 0);
        free(s->v);
        *s = (struct sim){ 0 };
}

static const struct timeline_client *find(const struct timeline *tl, const char *id)
{
        const struct timeline_client *c = timeline_find(tl, id, strlen(id));

        CHECK(c != NULL);
        return c;
}

/* The outage of c around t (offset from T0), or NULL. */
static const struct timeline_outage *outage_at(const struct timeline_client *c, int64_t t)
{
        for (size_t i = 0; c && i < c->n_outages; i++)
                if (c->outages[i].start_us <= T0 + t && c->outages[i].end_us >= T0 + t)
                        return &c->outages[i];
        return NULL;
}

/* Flows a and b (b may be NULL) with what s holds already into tl: a's
 * client and its outage around at, checked there. */
static const struct timeline_outage *pair(struct sim *s, struct timeline *tl, const struct flow *a,
                                          const struct flow *b, int64_t at, const struct timeline_client **ca)
{
        const struct timeline_outage *o;

        schedule(s, a);
        if (b)
                schedule(s, b);
        build(s, tl);
        *ca = find(tl, a->id);
        o = outage_at(*ca, at);
        CHECK(o != NULL);
        return o;
}

static size_t count_kind(const struct timeline *tl, const struct timeline_client *c, enum findings_kind kind,
                         char *text, size_t cap)
{
        struct findings f = { 0 };
        size_t n = 0;

        CHECK(findings_derive(tl, c, &f) == 0);
        for (size_t i = 0; i < f.n; i++) {
                if (f.v[i].kind == kind && n++ == 0 && text)
                        snprintf(text, cap, "%s", f.v[i].text);
        }
        findings_free(&f);
        return n;
}

static struct flow flow(const char *id, const char *server, unsigned client_log)
{
        struct flow f = { .server = server, .client_log = client_log, .fault_from = -1, .fault_to = -1,
                          .end = 40 * MIN };

        snprintf(f.id, sizeof(f.id), "%s", id);
        return f;
}

/* One flow broken alone (the IPv4 one, or the IPv6 one: broken first):
 * this_flow_only, the other up; both broken: all_flows on both. */
static void test_two_flows(bool both, bool v6_broken)
{
        struct sim s = { 0 };
        struct timeline tl;
        struct flow v4 = flow("home-v4", "203.0.113.9", 1), v6 = flow("home-v6", "2001:db8::9", 2);
        struct flow *broken = v6_broken ? &v6 : &v4, *other = v6_broken ? &v4 : &v6;
        const struct timeline_client *a, *b;
        const struct timeline_outage *o;
        char text[FINDINGS_TEXT_MAX] = "";

        broken->fault_from = 10 * MIN;
        broken->fault_to = 14 * MIN;
        if (both) {
                other->fault_from = 10 * MIN;
                other->fault_to = 14 * MIN;
        }
        o = pair(&s, &tl, broken, other, 12 * MIN, &a);
        b = find(&tl, other->id);
        if (o && b) {
                CHECK(timeline_flow_state(&tl, a, o, b) == (both ? TIMELINE_FLOW_DOWN : TIMELINE_FLOW_UP));
                CHECK(timeline_flow_state(&tl, a, o, a) == TIMELINE_FLOW_UNKNOWN);
        }
        CHECK(count_kind(&tl, a, FINDINGS_THIS_FLOW_ONLY, text, sizeof(text)) == (both ? 0 : 1));
        CHECK(count_kind(&tl, a, FINDINGS_ALL_FLOWS, NULL, 0) == (both ? 1 : 0));
        CHECK(count_kind(&tl, b, FINDINGS_ALL_FLOWS, NULL, 0) == (both ? 1 : 0));
        CHECK(count_kind(&tl, b, FINDINGS_THIS_FLOW_ONLY, NULL, 0) == 0);
        if (!both) {
                CHECK(strstr(text, v6_broken ? "IPv6 only, while IPv4" : "IPv4 only, while IPv6") != NULL);
                CHECK(strstr(text, "the NAT is the suspect") ? !v6_broken : v6_broken);
                CHECK(b && b->n_outages == 0);
        }
        timeline_free(&tl);
}

/* Flows in no log together (two client logs, no server log): unknown;
 * in one client log file (one machine's clock): compared, b up. */
static void test_apart(bool one_file)
{
        struct sim s = { 0 };
        struct timeline tl;
        struct flow v4 = flow("a", "203.0.113.9", 1), v6 = flow("b", "2001:db8::9", one_file ? 1 : 2);
        const struct timeline_client *a;
        const struct timeline_outage *o;

        v4.fault_from = 10 * MIN;
        v4.fault_to = 14 * MIN;
        v4.server_log_until = v6.server_log_until = 1; /* no server log lines at all but the first instant */
        o = pair(&s, &tl, &v4, &v6, 12 * MIN, &a);
        if (o) {
                CHECK(timeline_flow_state(&tl, a, o, find(&tl, "b")) ==
                      (one_file ? TIMELINE_FLOW_UP : TIMELINE_FLOW_UNKNOWN));
                CHECK(count_kind(&tl, a, FINDINGS_THIS_FLOW_ONLY, NULL, 0) == (one_file ? 1 : 0));
        }
        timeline_free(&tl);
}

/* b's state during a's outage at `at` (-1: no such outage), and how many
 * this_flow_only findings a has. */
static int b_during_a(const struct flow *a, const struct flow *b, int64_t at, size_t *this_only)
{
        struct sim s = { 0 };
        struct timeline tl;
        const struct timeline_client *ca = NULL;
        const struct timeline_outage *o = pair(&s, &tl, a, b, at, &ca);
        int state = o ? (int)timeline_flow_state(&tl, ca, o, find(&tl, "b")) : -1;

        *this_only = ca ? count_kind(&tl, ca, FINDINGS_THIS_FLOW_ONLY, NULL, 0) : 0;
        timeline_free(&tl);
        return state;
}

/* "b" stopped at 8 min (or paused from 8 to 16 min) while the server's
 * log went on with "a": during a's outage b neither delivered nor was
 * down, and a log of it covers that time: unknown. */
static void test_silent(bool pause)
{
        struct flow a = flow("a", "203.0.113.9", 1), b = flow("b", "2001:db8::9", 0);
        size_t this_only;

        a.fault_from = 10 * MIN;
        a.fault_to = 14 * MIN;
        if (pause) {
                b.pause_from = 8 * MIN;
                b.pause_to = 16 * MIN;
        } else {
                b.end = 8 * MIN;
        }
        CHECK(b_during_a(&a, &b, 12 * MIN, &this_only) == TIMELINE_FLOW_UNKNOWN);
        CHECK(this_only == 0);
}

/* The server's log ends at 20 min; "b" is in it alone: during a's outage
 * at 25 min (its client log), b's logs cover nothing: not_running. */
static void test_not_running(void)
{
        struct flow a = flow("a", "203.0.113.9", 1), b = flow("b", "2001:db8::9", 0);
        size_t this_only;

        a.fault_from = 25 * MIN;
        a.fault_to = 29 * MIN;
        a.server_log_until = b.server_log_until = 20 * MIN;
        CHECK(b_during_a(&a, &b, 27 * MIN, &this_only) == TIMELINE_FLOW_NOT_RUNNING);
}

/* 34 flows in one server's log, one broken alone: counts, not a list. */
static void test_many(void)
{
        struct sim s = { 0 };
        struct timeline tl;
        const size_t n = REPORT_FLOWS_LISTED + 2;
        const struct timeline_client *c;
        const struct timeline_outage *o;
        json_t *j = json_object();

        for (size_t i = 0; i < n; i++) {
                char id[16];
                struct flow f;

                snprintf(id, sizeof(id), "f%zu", i);
                f = flow(id, "203.0.113.9", 0);
                if (i == 0) {
                        f.fault_from = 10 * MIN;
                        f.fault_to = 14 * MIN;
                }
                schedule(&s, &f);
        }
        build(&s, &tl);
        c = find(&tl, "f0");
        o = outage_at(c, 12 * MIN);
        CHECK(o != NULL);
        if (o) {
                report_json_others(j, &tl, c, o);
                CHECK(json_is_null(json_object_get(j, "others")));
                CHECK(json_integer_value(json_object_get(j, "others_up")) == (json_int_t)(n - 1));
                CHECK(json_integer_value(json_object_get(j, "others_down")) == 0);
        }
        json_decref(j);
        timeline_free(&tl);
}

/* A trace in the client's own log within the outage is its last hop; one
 * outside it, or in another client's log, is not. */
static void test_last_hop(void)
{
        struct sim s = { 0 };
        struct timeline tl;
        struct flow v4 = flow("home-v4", "203.0.113.9", 1), v6 = flow("home-v6", "2001:db8::9", 2);
        const struct timeline_client *a, *b;
        const struct timeline_outage *o;
        json_t *j;
        char text[FINDINGS_TEXT_MAX] = "";

        v4.fault_from = 10 * MIN;
        v4.fault_to = 14 * MIN;
        trace(&s, 1, 5 * MIN, "192.0.2.1");   /* before the outage */
        trace(&s, 1, 12 * MIN, "100.64.0.1"); /* in it */
        trace(&s, 2, 13 * MIN, "192.0.2.2");  /* another client's log */
        o = pair(&s, &tl, &v4, &v6, 12 * MIN, &a);
        b = find(&tl, "home-v6");
        if (!o) {
                timeline_free(&tl);
                return;
        }
        j = report_json_last_hop(&tl, o);
        CHECK(json_is_object(j));
        CHECK(json_string_value(json_object_get(j, "address")) &&
              strcmp(json_string_value(json_object_get(j, "address")), "100.64.0.1") == 0);
        CHECK(json_integer_value(json_object_get(j, "hop")) == 1);
        CHECK(json_array_size(json_object_get(j, "hops")) == 4);
        CHECK(json_is_null(json_array_get(json_object_get(j, "hops"), 1)));
        json_decref(j);
        CHECK(count_kind(&tl, a, FINDINGS_OUTBOUND_LOST, text, sizeof(text)) == 1);
        CHECK(strstr(text, "The last hop that answered was 100.64.0.1 (hop 1), a carrier NAT address") != NULL);
        for (size_t i = 0; b && i < b->n_outages; i++)
                CHECK(b->outages[i].trace < 0);
        timeline_free(&tl);
}

/* No trace: null. */
static void test_no_trace(void)
{
        struct sim s = { 0 };
        struct timeline tl;
        struct flow v4 = flow("home-v4", "203.0.113.9", 1);
        const struct timeline_client *a;
        const struct timeline_outage *o;

        v4.fault_from = 10 * MIN;
        v4.fault_to = 14 * MIN;
        trace(&s, 1, 5 * MIN, "100.64.0.1");  /* before it */
        trace(&s, 1, 30 * MIN, "100.64.0.1"); /* after it */
        o = pair(&s, &tl, &v4, NULL, 12 * MIN, &a);
        if (o) {
                json_t *j = report_json_last_hop(&tl, o);

                CHECK(json_is_null(j));
                json_decref(j);
        }
        timeline_free(&tl);
}

/* The flows' bins: 1 s wide over a month of 10 clients, wider over a year
 * (16 s), all of them within TIMELINE_FLOW_BITS, and no wider than that
 * needs. */
static void test_bins_bound(void)
{
        static const struct {
                int64_t days;
                size_t clients;
                int64_t width_s;
        } cases[] = { { 30, 10, 1 }, { 365, 10, 16 }, { 365, 1, 1 }, { 3650, 100, 1024 } };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct timeline_log lg = { .any = true, .first_us = 1700000000 * (int64_t)1000000 };
                struct timeline tl = { .logs = &lg, .n_logs = 1, .n_clients = cases[i].clients };
                uint64_t span = (uint64_t)cases[i].days * 86400 * 1000000, w;

                lg.last_us = lg.first_us + (int64_t)span;
                timeline_flow_bins(&tl);
                w = (uint64_t)tl.flow_bin_us;
                CHECK_INT(tl.flow_bin_us, cases[i].width_s * 1000000);
                CHECK((span / w + 2) * cases[i].clients <= TIMELINE_FLOW_BITS);
                CHECK(w == 1000000 || (span / (w / 2) + 2) * cases[i].clients > TIMELINE_FLOW_BITS);
        }
}

int main(void)
{
        setenv("TZ", "UTC", 1);
        tzset();
        test_two_flows(false, false);
        test_two_flows(false, true);
        test_two_flows(true, false);
        test_apart(false);
        test_apart(true);
        test_not_running();
        test_silent(false);
        test_silent(true);
        test_many();
        test_last_hop();
        test_no_trace();
        test_bins_bound();
        return check_finish("report-flows");
}

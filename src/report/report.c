/* report: analysing logs per client (see report.h), and the text and JSON
 * forms of the result. */
#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Appends one element to a growing array; false without memory. */
static bool push(void **arr, size_t *n, size_t *cap, size_t size, const void *item)
{
        if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                void *p = realloc(*arr, ncap * size);

                if (!p)
                        return false;
                *arr = p;
                *cap = ncap;
        }
        memcpy((char *)*arr + *n * size, item, size);
        (*n)++;
        return true;
}

int report_init(struct report *r, uint64_t keepalive_interval_us, unsigned keepalive_count)
{
        struct server_config cfg = { .max_clients = SIZE_MAX / 2, .keepalive_interval_us = keepalive_interval_us,
                                     .keepalive_count = keepalive_count };

        memset(r, 0, sizeof(*r));
        return server_init(&r->server, &cfg);
}

void report_free(struct report *r)
{
        for (size_t i = 0; i < r->n_clients; i++) {
                free(r->clients[i]->rtt_us);
                free(r->clients[i]->spans);
                free(r->clients[i]->rebinds);
                free(r->clients[i]);
        }
        free(r->clients);
        server_free(&r->server);
}

static struct report_client *client(struct report *r, const char *id, size_t id_len, uint64_t t_us)
{
        struct report_client *c;

        for (size_t i = 0; i < r->n_clients; i++) {
                c = r->clients[i];
                if (c->id_len == id_len && memcmp(c->id, id, id_len) == 0)
                        goto seen;
        }
        c = calloc(1, sizeof(*c));
        if (!c || !push((void **)&r->clients, &r->n_clients, &r->cap_clients, sizeof(struct report_client *), &c)) {
                free(c);
                return NULL;
        }
        memcpy(c->id, id, id_len);
        c->id_len = id_len;
        c->first_us = t_us;
seen:
        if (t_us < c->first_us)
                c->first_us = t_us;
        if (t_us > c->last_us)
                c->last_us = t_us;
        return c;
}

static void span(struct report_client *c, uint64_t start, uint64_t end, unsigned side, bool open)
{
        struct report_span s = { start, end, side, open };

        if (end > start)
                push((void **)&c->spans, &c->n_spans, &c->cap_spans, sizeof(s), &s);
}

/* A client's own line: its handshakes, answers and outages. */
static void client_line(struct report_client *c, const struct logline *l)
{
        const struct message *m = &l->msg;

        c->client_log = true;
        if (l->kind == LOGLINE_TX && m->type == MESSAGE_HANDSHAKE_INIT) {
                if (c->init_us && !c->init_answered && !c->outage_start_us)
                        c->outage_start_us = c->init_us; /* a retry: the outage began at that init */
                c->inits_sent++;
                c->init_us = l->t_us;
                c->init_id = m->data[0];
                c->init_answered = false;
        } else if (l->kind == LOGLINE_RX && m->type == MESSAGE_HANDSHAKE_RESPONSE && m->data[0] == c->init_id &&
                   !c->init_answered && c->init_us) {
                uint64_t rtt = l->t_us - c->init_us;

                c->init_answered = true;
                c->answered++;
                push((void **)&c->rtt_us, &c->n_rtt, &c->cap_rtt, sizeof(rtt), &rtt);
                if (c->outage_start_us)
                        span(c, c->outage_start_us, l->t_us, REPORT_SIDE_CLIENT, false);
                c->outage_start_us = 0;
        }
}

/* A stopped client: an outage open then ends with it; a new run starts fresh. */
static void client_stopped(struct report *r, uint64_t t_us)
{
        for (size_t i = 0; i < r->n_clients; i++) {
                struct report_client *c = r->clients[i];

                if (!c->client_log)
                        continue;
                if (c->outage_start_us)
                        span(c, c->outage_start_us, t_us, REPORT_SIDE_CLIENT, false);
                c->outage_start_us = 0;
                c->init_us = 0;
        }
}

/* What the server rules made of a line. */
static void server_events(struct report *r, const struct actions *a, uint64_t t_us)
{
        for (size_t i = 0; i < a->n_events; i++) {
                const struct core_event *ev = &a->events[i];
                struct report_client *c = ev->has_msg ? client(r, ev->msg.id, ev->msg.id_len, t_us) : NULL;
                struct report_rebind rb = { t_us, ev->old_peer, ev->peer };

                if (!c)
                        continue;
                switch (ev->kind) {
                case EVENT_NAT_REBIND:
                        push((void **)&c->rebinds, &c->n_rebinds, &c->cap_rebinds, sizeof(rb), &rb);
                        break;
                case EVENT_LOSS:
                        c->lost += ev->lost;
                        break;
                case EVENT_DUPLICATE:
                        c->duplicates++;
                        break;
                case EVENT_REPLAY:
                        c->replays++;
                        break;
                case EVENT_BACK:
                        span(c, t_us - ev->duration_us, t_us, REPORT_SIDE_SERVER, false);
                        break;
                default:
                        break;
                }
        }
}

static void server_line(struct report *r, const struct logline *l)
{
        struct report_client *c = client(r, l->msg.id, l->msg.id_len, l->t_us);
        struct actions a;

        if (!c)
                return;
        c->server_log = true;
        /* the silence timer, in the log's time: one call catches up on any gap
         * (it asks again at once only while it has more to declare) */
        while (r->server_wake_us && r->server_wake_us <= l->t_us) {
                server_timer(&r->server, l->t_us, &a);
                server_events(r, &a, l->t_us);
                r->server_wake_us = a.wake_us;
                if (a.n_events == 0)
                        break;
        }
        if (l->kind == LOGLINE_TX) {
                c->responses_tx += l->msg.type == MESSAGE_HANDSHAKE_RESPONSE;
                return;
        }
        c->inits_rx += l->msg.type == MESSAGE_HANDSHAKE_INIT;
        c->keepalives_rx += l->msg.type == MESSAGE_KEEPALIVE;
        actions_reset(&a);
        server_handle_message(&r->server, l->t_us, &l->peer, &l->msg, &a);
        server_events(r, &a, l->t_us);
        if (!r->server_wake_us)
                r->server_wake_us = l->t_us + 2 * r->server.cfg.keepalive_interval_us;
}

void report_line(struct report *r, const struct logline *l)
{
        r->lines++;
        if (!r->first_us || l->t_us < r->first_us)
                r->first_us = l->t_us;
        if (l->t_us > r->last_us)
                r->last_us = l->t_us;
        if (l->kind == LOGLINE_INVALID) {
                r->invalid++;
                return;
        }
        if (l->kind == LOGLINE_SOCKET_DROPS) {
                r->socket_drops += l->dropped;
                return;
        }
        if (l->kind == LOGLINE_EXIT || l->kind == LOGLINE_CLIENT_START) {
                client_stopped(r, l->t_us);
                return;
        }
        if (l->kind != LOGLINE_TX && l->kind != LOGLINE_RX)
                return;
        if (r->id_filter && (l->msg.id_len != r->id_filter_len || memcmp(l->msg.id, r->id_filter, l->msg.id_len) != 0))
                return;
        if (l->peer_is_server) {
                struct report_client *c = client(r, l->msg.id, l->msg.id_len, l->t_us);

                if (c)
                        client_line(c, l);
        } else {
                server_line(r, l);
        }
}

static int by_start(const void *a, const void *b)
{
        const struct report_span *x = a, *y = b;

        return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

static int by_value(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

/* Overlapping spans become one, seen by both sides where they were. */
static void merge_spans(struct report_client *c)
{
        size_t out = 0;

        if (c->n_spans == 0)
                return; /* qsort(NULL, 0) is undefined */
        qsort(c->spans, c->n_spans, sizeof(*c->spans), by_start);
        for (size_t i = 0; i < c->n_spans; i++) {
                struct report_span *s = &c->spans[i];

                if (out && s->start_us <= c->spans[out - 1].end_us) {
                        struct report_span *last = &c->spans[out - 1];

                        if (s->end_us > last->end_us)
                                last->end_us = s->end_us;
                        last->sides |= s->sides;
                        last->open = last->open || s->open;
                } else {
                        c->spans[out++] = *s;
                }
        }
        c->n_spans = out;
}

void report_finish(struct report *r)
{
        /* clients the server has not heard for two intervals when its log ends */
        for (struct peer *p = r->server.peers.oldest; p; p = p->newer) {
                struct report_client *c;

                if (r->last_us - p->last_seen_us < 2 * r->server.cfg.keepalive_interval_us)
                        continue;
                c = client(r, p->id, p->id_len, p->last_seen_us);
                if (c)
                        span(c, p->last_seen_us, r->last_us, REPORT_SIDE_SERVER, true);
        }
        for (size_t i = 0; i < r->n_clients; i++) {
                struct report_client *c = r->clients[i];

                if (c->outage_start_us)
                        span(c, c->outage_start_us, c->last_us, REPORT_SIDE_CLIENT, true);
                c->outage_start_us = 0;
                merge_spans(c);
                if (c->n_rtt)
                        qsort(c->rtt_us, c->n_rtt, sizeof(*c->rtt_us), by_value);
                for (size_t s = 0; s < c->n_spans; s++)
                        if (c->spans[s].end_us > c->last_us)
                                c->last_us = c->spans[s].end_us;
        }
}

double report_availability(const struct report_client *c)
{
        uint64_t period = c->last_us - c->first_us, down = 0;

        if (period == 0)
                return 1.0;
        for (size_t i = 0; i < c->n_spans; i++)
                down += c->spans[i].end_us - c->spans[i].start_us;
        return down >= period ? 0.0 : 1.0 - (double)down / (double)period;
}

/* --- writing --- */

static const char *stamp(uint64_t t_us, char buf[static 32])
{
        time_t t = (time_t)(t_us / 1000000);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, 32, "%" PRIu64, t_us / 1000000);
        return buf;
}

static const char *side_name(unsigned sides)
{
        return sides == (REPORT_SIDE_CLIENT | REPORT_SIDE_SERVER) ? "both"
               : sides == REPORT_SIDE_CLIENT                      ? "client"
                                                                  : "server";
}

static uint64_t pct(const struct report_client *c, unsigned p)
{
        return c->n_rtt ? c->rtt_us[(c->n_rtt - 1) * p / 100] : 0;
}

static const char *duration(uint64_t us, char buf[static 32])
{
        uint64_t s = us / 1000000;

        if (s < 120)
                snprintf(buf, 32, "%" PRIu64 ".%" PRIu64 " s", s, us / 100000 % 10);
        else if (s < 7200)
                snprintf(buf, 32, "%" PRIu64 " min %" PRIu64 " s", s / 60, s % 60);
        else
                snprintf(buf, 32, "%" PRIu64 " h %" PRIu64 " min", s / 3600, s / 60 % 60);
        return buf;
}

static void text_client(const struct report_client *c, FILE *out)
{
        char id[MESSAGE_TEXT_MAX], a[32], b[32], d[32], o[ADDR_STRLEN], n[ADDR_STRLEN];
        uint64_t expected = c->keepalives_rx + c->lost;

        message_repr_string(c->id, c->id_len, id, sizeof(id));
        fprintf(out, "\nclient %s (seen in: %s%s%s)\n", id, c->client_log ? "client log" : "",
                c->client_log && c->server_log ? ", " : "", c->server_log ? "server log" : "");
        fprintf(out, "  period        %s .. %s (%s)\n", stamp(c->first_us, a), stamp(c->last_us, b),
                duration(c->last_us - c->first_us, d));
        fprintf(out, "  availability  %.2f %%\n", 100.0 * report_availability(c));
        if (c->client_log)
                fprintf(out, "  handshakes    %" PRIu64 " sent, %" PRIu64 " answered\n", c->inits_sent, c->answered);
        if (c->server_log)
                fprintf(out, "  at the server %" PRIu64 " inits received, %" PRIu64 " answered\n", c->inits_rx,
                        c->responses_tx);
        if (c->n_rtt)
                fprintf(out, "  round trip    min %" PRIu64 " ms, median %" PRIu64 " ms, p95 %" PRIu64
                             " ms, max %" PRIu64 " ms (%zu)\n",
                        c->rtt_us[0] / 1000, pct(c, 50) / 1000, pct(c, 95) / 1000, c->rtt_us[c->n_rtt - 1] / 1000,
                        c->n_rtt);
        if (c->server_log)
                fprintf(out, "  keepalives    %" PRIu64 " received, %" PRIu64 " lost (%.1f %%), %" PRIu64
                             " duplicates\n  replays       %" PRIu64 "\n",
                        c->keepalives_rx, c->lost, expected ? 100.0 * (double)c->lost / (double)expected : 0.0,
                        c->duplicates, c->replays);
        fprintf(out, "  outages       %zu\n", c->n_spans);
        for (size_t i = 0; i < c->n_spans; i++) {
                const struct report_span *s = &c->spans[i];

                fprintf(out, "    %s  %s  %10s  %-6s%s\n", stamp(s->start_us, a), stamp(s->end_us, b),
                        duration(s->end_us - s->start_us, d), side_name(s->sides), s->open ? "  (still going)" : "");
        }
        fprintf(out, "  NAT rebindings %zu\n", c->n_rebinds);
        for (size_t i = 0; i < c->n_rebinds; i++)
                fprintf(out, "    %s  %s -> %s\n", stamp(c->rebinds[i].t_us, a), addr_format(&c->rebinds[i].old_peer, o),
                        addr_format(&c->rebinds[i].new_peer, n));
}

void report_write_text(const struct report *r, FILE *out)
{
        char a[32], b[32];

        fprintf(out, "udp-canary report: %" PRIu64 " lines (%" PRIu64 " not understood, skipped), %s .. %s\n",
                r->lines, r->skipped, r->lines ? stamp(r->first_us, a) : "-", r->lines ? stamp(r->last_us, b) : "-");
        fprintf(out, "invalid packets: %" PRIu64 "\n", r->invalid);
        if (r->socket_drops)
                fprintf(out, "dropped at the server's own full socket: %" PRIu64
                             " datagrams (local overload: loss then is not all the network's)\n",
                        r->socket_drops);
        for (size_t i = 0; i < r->n_clients; i++)
                text_client(r->clients[i], out);
}

/* --- JSON: field names are the documented schema --- */

static void json_str(FILE *out, const char *s, size_t n)
{
        char buf[MESSAGE_TEXT_MAX];

        if (message_json_string(s, n, buf, sizeof(buf)) >= 0)
                fputs(buf, out);
        else
                fputs("\"\"", out);
}

static void json_time(FILE *out, const char *name, uint64_t t_us)
{
        char a[32];

        fprintf(out, "\"%s\": \"%s\", \"%s_unix\": %.3f", name, stamp(t_us, a), name, (double)t_us / 1e6);
}

static void json_client(const struct report_client *c, FILE *out)
{
        char o[ADDR_STRLEN], n[ADDR_STRLEN];
        uint64_t expected = c->keepalives_rx + c->lost;

        fputs("    {\"id\": ", out);
        json_str(out, c->id, c->id_len);
        fprintf(out, ", \"seen_in\": {\"client_log\": %s, \"server_log\": %s},\n     \"period\": {",
                c->client_log ? "true" : "false", c->server_log ? "true" : "false");
        json_time(out, "start", c->first_us);
        fputs(", ", out);
        json_time(out, "end", c->last_us);
        fprintf(out, ", \"seconds\": %.3f},\n     \"availability\": %.6f,\n", (double)(c->last_us - c->first_us) / 1e6,
                report_availability(c));
        fprintf(out, "     \"handshakes\": {\"sent\": %" PRIu64 ", \"answered\": %" PRIu64 ", \"received_by_server\": %" PRIu64
                     ", \"answered_by_server\": %" PRIu64 "},\n",
                c->inits_sent, c->answered, c->inits_rx, c->responses_tx);
        fprintf(out, "     \"rtt_ms\": {\"count\": %zu, \"min\": %.3f, \"median\": %.3f, \"p95\": %.3f, \"max\": %.3f},\n",
                c->n_rtt, c->n_rtt ? (double)c->rtt_us[0] / 1e3 : 0.0, (double)pct(c, 50) / 1e3,
                (double)pct(c, 95) / 1e3, c->n_rtt ? (double)c->rtt_us[c->n_rtt - 1] / 1e3 : 0.0);
        fprintf(out, "     \"keepalives\": {\"received\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"duplicates\": %" PRIu64
                     ", \"loss_ratio\": %.6f},\n     \"replays\": %" PRIu64 ",\n     \"outages\": [",
                c->keepalives_rx, c->lost, c->duplicates, expected ? (double)c->lost / (double)expected : 0.0,
                c->replays);
        for (size_t i = 0; i < c->n_spans; i++) {
                fputs(i ? ",\n       {" : "\n       {", out);
                json_time(out, "start", c->spans[i].start_us);
                fputs(", ", out);
                json_time(out, "end", c->spans[i].end_us);
                fprintf(out, ", \"seconds\": %.3f, \"seen_by\": \"%s\", \"ongoing\": %s}",
                        (double)(c->spans[i].end_us - c->spans[i].start_us) / 1e6, side_name(c->spans[i].sides),
                        c->spans[i].open ? "true" : "false");
        }
        fputs("],\n     \"nat_rebindings\": [", out);
        for (size_t i = 0; i < c->n_rebinds; i++) {
                fputs(i ? ",\n       {" : "\n       {", out);
                json_time(out, "time", c->rebinds[i].t_us);
                fprintf(out, ", \"old\": \"%s\", \"new\": \"%s\"}", addr_format(&c->rebinds[i].old_peer, o),
                        addr_format(&c->rebinds[i].new_peer, n));
        }
        fputs("]}", out);
}

void report_write_json(const struct report *r, FILE *out)
{
        fprintf(out, "{\"version\": 1, \"lines\": %" PRIu64 ", \"skipped\": %" PRIu64 ", \"invalid\": %" PRIu64
                     ", \"socket_drops\": %" PRIu64 ",\n \"clients\": [\n",
                r->lines, r->skipped, r->invalid, r->socket_drops);
        for (size_t i = 0; i < r->n_clients; i++) {
                json_client(r->clients[i], out);
                fputs(i + 1 < r->n_clients ? ",\n" : "\n", out);
        }
        fputs(" ]}\n", out);
}

/* metrics: the Prometheus text format of the daemons' counters. Names
 * follow Prometheus' conventions: udp_canary_ prefix, _total for counters,
 * base units (seconds). The server labels per-client series by client id,
 * for the METRICS_PER_CLIENT_MAX clients heard most recently. */
#include "daemon/metrics.h"

#include <inttypes.h>

static const char *const type_label[] = { "handshake_init", "handshake_response", "keepalive" };

static void head(FILE *out, const char *name, const char *type, const char *help)
{
        fprintf(out, "# HELP udp_canary_%s %s\n# TYPE udp_canary_%s %s\n", name, help, name, type);
}

static void counter(FILE *out, const char *name, const char *help, uint64_t v)
{
        head(out, name, "counter", help);
        fprintf(out, "udp_canary_%s %" PRIu64 "\n", name, v);
}

static void gauge(FILE *out, const char *name, const char *help, double v)
{
        head(out, name, "gauge", help);
        fprintf(out, "udp_canary_%s %.17g\n", name, v);
}

static void packets(FILE *out, const uint64_t rx[3], const uint64_t tx[3])
{
        head(out, "packets_total", "counter", "Valid packets, by direction and message type.");
        for (int t = 0; t < 3; t++)
                fprintf(out, "udp_canary_packets_total{direction=\"rx\",type=\"%s\"} %" PRIu64 "\n"
                             "udp_canary_packets_total{direction=\"tx\",type=\"%s\"} %" PRIu64 "\n",
                        type_label[t], rx[t], type_label[t], tx[t]);
}

/* A client id as a label value: its JSON text without the quotes (as the
 * state file writes it, so no two ids look alike: a NUL is \u0000, a
 * backslash \\), then Prometheus' escapes for backslash and quote. */
static void label(FILE *out, const char *s, size_t n)
{
        char json[MESSAGE_TEXT_MAX];
        ssize_t len = message_json_string(s, n, json, sizeof(json));

        for (ssize_t i = 1; i < len - 1; i++) {
                if (json[i] == '\\' || json[i] == '"')
                        fputc('\\', out);
                fputc(json[i], out);
        }
}

static void per_client(FILE *out, const struct server *s, const char *name, const char *type, const char *help,
                       uint64_t mono_us, uint64_t wall_us, int which)
{
        size_t n = 0;

        head(out, name, type, help);
        for (const struct peer *p = s->peers.newest; p && n < METRICS_PER_CLIENT_MAX; p = p->older, n++) {
                if (which == 3 && p->rx == 0)
                        continue; /* restored from the state file, not heard since: when is unknown */
                fprintf(out, "udp_canary_%s{client=\"", name);
                label(out, p->id, p->id_len);
                if (which == 0)
                        fprintf(out, "\"} %" PRIu64 "\n", p->rx);
                else if (which == 1)
                        fprintf(out, "\"} %" PRIu64 "\n", p->lost);
                else if (which == 2)
                        fprintf(out, "\"} %" PRIu64 "\n", p->rebinds);
                else if (which == 4)
                        fprintf(out, "\"} %d\n", p->silent ? 1 : 0);
                else
                        fprintf(out, "\"} %.3f\n", (double)(wall_us - (mono_us - p->last_seen_us)) / 1e6);
        }
}

void metrics_write_server(FILE *out, const struct server *s, uint64_t mono_us, uint64_t wall_us)
{
        packets(out, s->stats.rx_type, s->stats.tx_type);
        counter(out, "invalid_packets_total", "Datagrams that were not a valid, authentic message.", s->stats.invalid);
        counter(out, "replays_total", "Handshakes refused as replays.", s->stats.replays);
        counter(out, "refused_total", "Authentic messages refused as out of bounds (a handshake id far ahead of the clock, a keepalive counter above the count).",
                s->stats.refused);
        counter(out, "nat_rebinds_total", "Client ids heard from a new address.", s->stats.rebinds);
        counter(out, "keepalives_lost_total", "Keepalives that never arrived.", s->stats.lost);
        counter(out, "keepalive_duplicates_total", "Keepalives that arrived twice.", s->stats.duplicates);
        counter(out, "silences_total", "Clients that went silent for two keepalive intervals.", s->stats.silences);
        counter(out, "evictions_total", "Clients forgotten to make room in the table.", s->stats.evicted);
        gauge(out, "clients", "Clients in the table.", (double)s->peers.count);
        gauge(out, "probes_pending", "NAT timeout probe answers waiting for their time.", (double)s->probes.n);
        counter(out, "probes_refused_total", "NAT timeout probes refused: replays, or over a limit.",
                s->probes.stats.refused);
        per_client(out, s, "client_packets_received_total", "counter", "Valid packets received, per client.", mono_us,
                   wall_us, 0);
        per_client(out, s, "client_keepalives_lost_total", "counter", "Keepalives lost, per client.", mono_us, wall_us, 1);
        per_client(out, s, "client_nat_rebinds_total", "counter", "NAT rebindings, per client.", mono_us, wall_us, 2);
        per_client(out, s, "client_last_seen_timestamp_seconds", "gauge", "When each client was last heard (Unix time).",
                   mono_us, wall_us, 3);
        per_client(out, s, "client_silent", "gauge", "1 while a client has been silent for two keepalive intervals.",
                   mono_us, wall_us, 4);
}

void metrics_write_client(FILE *out, const struct client *c, uint64_t mono_us, uint64_t wall_us)
{
        const struct client_stats *st = &c->stats;
        const uint64_t tx[3] = { st->inits, 0, st->keepalives };
        uint64_t cumulative = 0;

        packets(out, st->rx_type, tx);
        counter(out, "invalid_packets_total", "Datagrams that were not a valid, authentic message.", st->invalid);
        counter(out, "handshakes_answered_total", "Handshakes the server answered.", st->answered);
        counter(out, "handshakes_unanswered_total", "Handshakes that went unanswered and were retried.", st->unanswered);
        counter(out, "outages_total", "Outages: stretches of retried handshakes.", st->outages);
        head(out, "outage_seconds_total", "counter", "Time in outages, the one under way included.");
        fprintf(out, "udp_canary_outage_seconds_total %.3f\n", (double)client_outage_us(c, mono_us) / 1e6);
        counter(out, "late_responses_total", "Answers ignored as late, foreign or duplicate.", st->ignored);
        gauge(out, "connected", "1 while the latest handshake is answered.", c->connected ? 1 : 0);
        gauge(out, "last_handshake_timestamp_seconds", "When the latest handshake was answered (Unix time).",
              st->last_answer_us ? (double)(wall_us - (mono_us - st->last_answer_us)) / 1e6 : 0);
        head(out, "handshake_rtt_seconds", "histogram", "Handshake round trips.");
        for (size_t i = 0; i < CLIENT_RTT_BUCKETS; i++) {
                cumulative += st->rtt_buckets[i];
                fprintf(out, "udp_canary_handshake_rtt_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                        (double)client_rtt_bounds_us[i] / 1e6, cumulative);
        }
        fprintf(out, "udp_canary_handshake_rtt_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                     "udp_canary_handshake_rtt_seconds_sum %.6f\nudp_canary_handshake_rtt_seconds_count %" PRIu64 "\n",
                st->rtt_count, (double)st->rtt_sum_us / 1e6, st->rtt_count);
}

void metrics_write_socket_drops(FILE *out, uint64_t drops)
{
        counter(out, "socket_drops_total",
                "Datagrams the kernel dropped because this daemon's receive buffer was full (not network loss).",
                drops);
}

const char *metrics_family(const struct addr *a, bool listening)
{
        if (addr_is_ipv4(a))
                return "ipv4";
        if (a->sa.sa_family != AF_INET6)
                return "";
        /* udp_open turns IPV6_V6ONLY off for `::` only */
        return listening && IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr) ? "both" : "ipv6";
}

void metrics_write_build_info(FILE *out, const char *mode, const char *id, size_t id_len, const char *family)
{
        head(out, "build_info", "gauge",
             "Always 1: the version, what runs (client or server), the client's id, the address family.");
        fprintf(out, "udp_canary_build_info{version=\"%s\",mode=\"%s\",id=\"", PACKAGE_VERSION, mode);
        label(out, id, id_len);
        /* appended last: the labels before it keep their order for those who match on it */
        fprintf(out, "\",family=\"%s\"} 1\n", family);
}

void metrics_write_log_drops(FILE *out, const struct log_output_drops *drops, size_t n)
{
        head(out, "log_lines_dropped_total", "counter",
             "Log lines (journal entries) an output lost: it did not take them in time, and the loop does not wait.");
        for (size_t i = 0; i < n; i++)
                fprintf(out, "udp_canary_log_lines_dropped_total{sink=\"%s\"} %" PRIu64 "\n", drops[i].sink,
                        drops[i].lines);
}

void metrics_write_http(FILE *out, size_t conns, uint64_t refused, uint64_t evicted)
{
        gauge(out, "metrics_connections", "Connections open to this metrics listener.", (double)conns);
        counter(out, "metrics_connections_refused_total",
                "Metrics connections closed at once: no file descriptor or memory left.", refused);
        counter(out, "metrics_connections_evicted_total",
                "Metrics connections closed before their request line came, to make room for a new one.", evicted);
}

void metrics_write_loop(FILE *out, uint64_t busy_max_us, uint64_t busy_cpu_max_us)
{
        gauge(out, "loop_busy_max_seconds",
              "The longest the event loop spent in one callback since the start: how long a datagram may wait.",
              (double)busy_max_us / 1e6);
        gauge(out, "loop_busy_cpu_max_seconds",
              "The most CPU time the event loop's thread used from the end of one callback to the end of the next: "
              "its own work, without the time it waited for a CPU (its CPU clock read after each callback of 0.1 ms or "
              "more, else after every 8th or 1 ms; see udp-canary(8)).",
              (double)busy_cpu_max_us / 1e6);
}

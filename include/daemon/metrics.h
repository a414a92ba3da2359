/* metrics: a client's or a server's counters in the Prometheus text format
 * (version 0.0.4), served on /metrics by the daemons (--metrics-listen). */
#pragma once

/* Per-client series are served for this many clients at most, the most
 * recently heard: each is a time series in Prometheus, and a table of
 * 65,536 clients would make a scrape of tens of megabytes. The totals
 * cover every client. */
#define METRICS_PER_CLIENT_MAX 100

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"
#include "core/client.h"
#include "core/server.h"
#include "daemon/log.h"

/* Times: the monotonic and wall clocks now, to give last-seen times as Unix
 * seconds. */
void metrics_write_server(FILE *out, const struct server *s, uint64_t mono_us, uint64_t wall_us);
void metrics_write_client(FILE *out, const struct client *c, uint64_t mono_us, uint64_t wall_us);

/* The kernel's count of datagrams dropped at the daemon's own socket (its
 * receive buffer full): local overload, to tell apart from network loss. */
void metrics_write_socket_drops(FILE *out, uint64_t drops);

/* udp_canary_build_info: the version, "client" or "server", the client's id
 * (empty for a server), and the family (metrics_family). */
void metrics_write_build_info(FILE *out, const char *mode, const char *id, size_t id_len, const char *family);

/* The family label: "ipv4" or "ipv6" for a client's server address (a
 * mapped IPv4 address is IPv4; "" before the lookup), and for what a server
 * listens on (listening), "both" for `::`, the dual-stack socket. */
const char *metrics_family(const struct addr *a, bool listening);

/* Log lines each output lost, not taking them in time (see log.h). */
void metrics_write_log_drops(FILE *out, const struct log_output_drops *drops, size_t n);

/* The metrics listener's own load: connections open, refused, and evicted. */
void metrics_write_http(FILE *out, size_t conns, uint64_t refused, uint64_t evicted);

/* The longest single event-loop callback so far (a stall of the loop): its
 * wall time, and the most CPU time the loop's thread used in one. */
void metrics_write_loop(FILE *out, uint64_t busy_max_us, uint64_t busy_cpu_max_us);

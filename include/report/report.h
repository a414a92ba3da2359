/* report: what a set of logs says, per client: the period covered,
 * availability, every outage (which side saw it), NAT rebindings, keepalive
 * loss and duplicates, handshakes sent and answered, round trips, invalid
 * and replayed packets. Fed parsed lines in time order (per log); the
 * server's lines go through the same rules the live server applies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/logline.h"
#include "core/server.h"

enum report_side {
        REPORT_SIDE_CLIENT = 1, /* the client's handshakes went unanswered */
        REPORT_SIDE_SERVER = 2, /* the server heard nothing */
};

struct report_span {
        uint64_t start_us, end_us;
        unsigned sides; /* enum report_side bits */
        bool open;      /* still going when the log ends */
};

struct report_rebind {
        uint64_t t_us;
        struct addr old_peer, new_peer;
};

struct report_client {
        size_t id_len;
        char id[MESSAGE_ID_MAX + 1];
        uint64_t first_us, last_us;
        bool client_log, server_log; /* seen in a client's log, a server's */
        /* client side */
        uint64_t inits_sent, answered;
        uint64_t init_us, init_id; /* the latest init sent */
        bool init_answered;
        uint64_t outage_start_us; /* 0: none open */
        uint64_t *rtt_us;
        size_t n_rtt, cap_rtt;
        /* server side */
        uint64_t inits_rx, responses_tx, keepalives_rx, lost, duplicates, replays;
        /* both */
        struct report_span *spans;
        size_t n_spans, cap_spans;
        struct report_rebind *rebinds;
        size_t n_rebinds, cap_rebinds;
};

struct report {
        struct report_client **clients;
        size_t n_clients, cap_clients;
        uint64_t lines, skipped, invalid;
        uint64_t socket_drops; /* datagrams a server dropped at its own full socket */
        uint64_t first_us, last_us;
        struct server server; /* the live rules, for the server's lines */
        uint64_t server_wake_us;
        const char *id_filter; /* only this client id, or NULL */
        size_t id_filter_len;
};

int report_init(struct report *r, uint64_t keepalive_interval_us, unsigned keepalive_count);
void report_free(struct report *r);

/* Adds one parsed line. */
void report_line(struct report *r, const struct logline *l);

/* Closes what is still open at the end of the logs; sorts and merges. */
void report_finish(struct report *r);

/* Availability in [0, 1] of one client over its period. */
double report_availability(const struct report_client *c);

void report_write_text(const struct report *r, FILE *out);
void report_write_json(const struct report *r, FILE *out);
void report_write_svg(const struct report *r, FILE *out);

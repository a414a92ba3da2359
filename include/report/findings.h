/* findings: what a client's reconstructed timeline means, in plain words a
 * non-expert can act on, each with the named numbers it rests on and never
 * more than the logs hold. Free of I/O: derived from the public results of
 * timeline.h (and what timeline_scan read of its packets: the idle gaps), written by
 * report.c. Every kind's name and evidence names live in findings_kinds[],
 * which the writer, udp-canary(8) and the tests share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "report/timeline.h"

enum findings_kind {
        FINDINGS_NAT_IDLE_TIMEOUT,
        FINDINGS_MAPPING_REPLACED,
        FINDINGS_PUBLIC_ADDRESS_CHANGED,
        FINDINGS_OUTBOUND_LOST,           /* an outage client to server */
        FINDINGS_INBOUND_LOST,            /* server to client */
        FINDINGS_PATH_DOWN,               /* both ways */
        FINDINGS_OUTAGE_UNKNOWN_DIRECTION, /* a client's log alone */
        FINDINGS_SERVER_STOPPED,
        FINDINGS_RECURRING,
        FINDINGS_THIS_FLOW_ONLY, /* an outage while another flow stayed up */
        FINDINGS_ALL_FLOWS,      /* an outage every other flow had too */
        FINDINGS_KINDS,
};

#define FINDINGS_MAX_EVIDENCE 8

/* One kind: its name in the JSON, what it means (udp-canary(8) says the
 * same), and the names of its evidence in the order of the values. */
struct findings_kind_info {
        const char *name;
        const char *meaning;
        const char *evidence[FINDINGS_MAX_EVIDENCE]; /* NULL after the last */
};

extern const struct findings_kind_info findings_kinds[FINDINGS_KINDS];

/* A WireGuard tunnel's keepalive the outage findings are told for. */
#define FINDINGS_WG_KEEPALIVE_S 25

/* Past this many, findings are counted in `dropped` (a year of flushes);
 * the last FINDINGS_RECURRING_ROOM of them only for recurring ones, which
 * come last and say most where there are so many. */
#define FINDINGS_MAX 4096
#define FINDINGS_RECURRING_ROOM 8
#define FINDINGS_TEXT_MAX 640

struct findings_item {
        enum findings_kind kind;
        int64_t start_us, end_us;
        bool end_open; /* still holding when the logs end: no end */
        char text[FINDINGS_TEXT_MAX];
        char advice[FINDINGS_TEXT_MAX]; /* "" for none */
        /* in the order of findings_kinds[kind].evidence; NAN where the logs
         * cannot tell (null in the JSON) */
        double evidence[FINDINGS_MAX_EVIDENCE];
        /* nat_idle_timeout: idle_timeout_s [lo, hi] */
        double idle_lo_s, idle_hi_s;
        /* mapping_replaced, public_address_changed: the flow's public address
         * before and after */
        struct addr old_peer, new_peer;
        /* recurring: what recurs ("outages", "rebindings") and when
         * ("every day around 04:10", "every 6 h 0 min") */
        char what[32], when[64];
};

struct findings {
        struct findings_item *v;
        size_t n, cap;
        uint64_t dropped;
        /* when n is 0: the one line that says so, for how long, and what
         * these logs cannot show */
        char none[FINDINGS_TEXT_MAX];
};

/* Derives the findings of a finished client c of tl into f (emptied
 * first), from its results and its scan (c->scan), so while that is made:
 * after timeline_finish(), or in the callback of timeline_finish_each() or
 * timeline_write_each(). Returns 0, -ENOMEM, or -ENODATA for a client
 * whose scan was let go. */
int findings_derive(const struct timeline *tl, const struct timeline_client *c, struct findings *f);
void findings_free(struct findings *f);

/* The number of evidence names of a kind. */
size_t findings_evidence_count(enum findings_kind kind);

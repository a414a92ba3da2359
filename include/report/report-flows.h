/* report-flows: what the report says of an outage beyond its own flow:
 * what the other flows were doing then, and the last hop its client's
 * trace reached. */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "report/timeline.h"

/* The outage's "last_hop": null when no trace ran in it, else {"address",
 * "hop", "time", "time_unix", "hops": [address or null, ...]}. */
json_t *report_json_last_hop(const struct timeline *tl, const struct timeline_outage *o);

/* "the last hop that answered was 100.64.0.1 (hop 1), a carrier NAT
 * address" (or that none did) into buf, or "" when no trace ran in it. */
const char *report_last_hop_text(const struct timeline *tl, const struct timeline_outage *o, char *buf, size_t cap);

/* Flows listed one by one in an outage's "others"; past it, counts only. */
#define REPORT_FLOWS_LISTED 32

/* The outage's "others" (the other flows, each {"id", "server", "state"}),
 * or, past REPORT_FLOWS_LISTED flows, "others": null and the counts
 * "others_down", "others_up", "others_not_running", "others_unknown";
 * past TIMELINE_FLOWS_COMPARED, "others": null alone. */
void report_json_others(json_t *j, const struct timeline *tl, const struct timeline_client *c,
                        const struct timeline_outage *o);

/* "others: b down, c up" into buf ("" with one flow alone). */
const char *report_others_text(const struct timeline *tl, const struct timeline_client *c,
                               const struct timeline_outage *o, char *buf, size_t cap);

/* The name of a state in the JSON ("down", "up", "not_running", "unknown"). */
const char *report_flow_state_name(enum timeline_flow_state s);

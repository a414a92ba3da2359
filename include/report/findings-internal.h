/* findings-internal: what the findings' files share (findings.c the entry
 * and the kinds; findings-nat.c nat_idle_timeout and the other rebindings, with the
 * clients' probe results; findings-outages.c one finding per outage;
 * findings-recurring.c the patterns in time; findings-flows.c each outage
 * against the other flows). Each step adds its findings
 * to f and returns 0 or -ENOMEM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/findings.h"
#include "report/timeline.h"

#define US ((int64_t)1000000)
#define WG_US ((int64_t)FINDINGS_WG_KEEPALIVE_S * US)

/* Where each kind's evidence sits in findings_item.evidence (its names in
 * findings_kinds[], in this order). */
enum { EV_SECONDS, EV_SECONDS_MIN, EV_SECONDS_MAX, EV_LOST, EV_WG_MIN, EV_WG_MAX, EV_MAPPING_KEPT };
enum { EV_NAT_REBINDS, EV_NAT_KEPT, EV_NAT_LO, EV_NAT_HI, EV_NAT_PROBE };
enum { EV_RB_GAP, EV_RB_OLD_PORT, EV_RB_NEW_PORT };
enum { EV_REC_EVENTS, EV_REC_DAYS, EV_REC_DAYS_IN_LOGS, EV_REC_SPREAD, EV_REC_PERIOD };
enum { EV_FLOWS_DOWN, EV_FLOWS_UP, EV_FLOWS_UNKNOWN };

/* --- the text: numbers as the findings' sentences write them --- */

double findings_secs(int64_t us);
void findings_fmt(char buf[static FINDINGS_TEXT_MAX], const char *f, ...) __attribute__((format(printf, 2, 3)));
/* A length as the text says it: to the millisecond (the logs' stamps) up
 * to 10 minutes, else in minutes, rounded down for a lower bound or a best
 * estimate and up for an upper bound, so that no bound printed is tighter
 * than the evidence. */
const char *findings_span_text(int64_t us, bool up, char buf[static 32]);
/* A new finding with every piece of evidence unknown; NULL past the bound
 * (counted) or without memory (*k set). */
struct findings_item *findings_add(struct findings *f, enum findings_kind kind, int64_t start, int64_t end, int *k);

/* --- the steps of findings_derive(), in their order --- */

/* nat_idle_timeout: the periods the scan found (c->scan.nat). */
int findings_nat(const struct timeline *tl, const struct timeline_client *c, struct findings *f);
/* mapping_replaced and public_address_changed: rebindings outside them. */
int findings_rebindings(const struct timeline *tl, const struct timeline_client *c, struct findings *f);
/* One finding per outage, of the kind its direction says. */
int findings_outages(const struct timeline *tl, const struct timeline_client *c, struct findings *f);
/* this_flow_only and all_flows: each outage against the other flows. */
int findings_flows(const struct timeline *tl, const struct timeline_client *c, struct findings *f);
/* recurring: outages or rebindings at one time of day, or a steady period. */
int findings_recurring(const struct timeline_client *c, struct findings *f);

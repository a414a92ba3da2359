/* report-html-rtt: the round trips over time on the HTML page. */
#pragma once

#include <stdio.h>

#include "report/timeline.h"

/* The round trips as the client saw them, over its period: per column of
 * a few pixels the spread, and a line through the medians; a note when
 * there are none. Reads its round trips in time order (timeline_scan.rtt,
 * made while it is written).
 * Returns 0 or -ENOMEM. */
int report_html_rtt_chart(const struct timeline_client *c, FILE *out);

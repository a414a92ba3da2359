/* report-html-rtt: the round trips over time on the HTML page. */
#pragma once

#include <stdio.h>

#include "report/timeline.h"

/* The round trips as the client saw them, over its period: per column of
 * a few pixels the spread, and a line through the medians; a note when
 * there are none. Reads its round trips per column (timeline_scan.rtt,
 * made while it is written with timeline.rtt_column set to
 * report_html_rtt_column). Returns 0, or -ENODATA when they were not made. */
int report_html_rtt_chart(const struct timeline_client *c, FILE *out);

/* The chart's column of an answer at t (timeline.rtt_column). */
size_t report_html_rtt_column(const struct timeline_client *c, int64_t t_us);

/* report: what the timeline found, written for people and programs: text,
 * JSON (version 2, its schema in udp-canary(8)), one summary line per client
 * to paste into a ticket, an SVG picture (report-svg.c) and an HTML page
 * (report-html.c). Formatting only: the findings come from timeline.c,
 * times are shown in local time (TZ). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/timeline.h"

/* What the reading shell counted besides the timeline's own figures. */
struct report_input {
        uint64_t skipped; /* lines not understood (or too long) */
};

/* The one line for a ticket, e.g. "home, 7 days: availability 99.72%, ...". */
void report_summary(const struct timeline_client *c, char *buf, size_t cap);

/* A stamp as the report shows times: local "YYYY-MM-DD HH:MM:SS.mmm". */
const char *report_stamp(int64_t t_us, char buf[static 32]);

/* A duration as people read it: "95 s", "2 h 0 min", "3 days 4 h". */
const char *report_duration(int64_t us, char buf[static 32]);

/* A report written as the clients are worked out (timeline_finish_each):
 * the run's figures first, then each client while its packets are held
 * (its findings read them), then the end. Each returns 0, -EIO when the
 * output failed, or -ENOMEM. */
struct report_writer {
        FILE *out;
        bool json;
        size_t clients;
};

int report_begin(struct report_writer *w, const struct timeline *tl, const struct report_input *in, bool json,
                 FILE *out);
int report_client(struct report_writer *w, const struct timeline *tl, const struct timeline_client *c);
int report_end(struct report_writer *w);

/* The whole report of a finished timeline (packets held) at once. Each returns 0, or -EIO
 * when the output failed (-ENOMEM for JSON). */
int report_write_text(const struct timeline *tl, const struct report_input *in, FILE *out);
int report_write_json(const struct timeline *tl, const struct report_input *in, FILE *out);
int report_write_svg(const struct timeline *tl, FILE *out);
int report_write_html(const struct timeline *tl, const struct report_input *in, FILE *out);

/* The page (report-html.c) written as the clients are worked out, as the
 * report_writer is: begin, each client while its packets are held (its
 * findings and round trips read them; its section kept in a temporary
 * file), then end, which writes the page's head (it lists every client)
 * and the sections, and lets the file go; free lets it go without. Each
 * returns 0, -EIO when the output failed, -ENOMEM, or the temporary
 * file's negative errno. */
struct report_html {
        FILE *out;
        FILE *sections; /* a temporary file, else a stream into mem */
        bool in_memory;
        char *mem;
        size_t mem_len;
};

int report_html_begin(struct report_html *h, FILE *out);
int report_html_client(struct report_html *h, const struct timeline *tl, const struct timeline_client *c);
int report_html_end(struct report_html *h, const struct timeline *tl, const struct report_input *in);
void report_html_free(struct report_html *h);

/* Pieces of the text report shared with the HTML page (report-summary.c,
 * report.c). */
const char *report_rtt_text(const struct timeline_client *c, int64_t us, char buf[static 32]);
void report_availability_bounds(const struct timeline_client *c, double *lo, double *hi);
int64_t report_rebind_interval(const struct timeline_client *c); /* median, 0 for fewer than 2 */
/* Local hours and days (DST-aware): the one at or before t, and the next. */
int64_t report_hour_start(int64_t t_us);
int64_t report_next_hour(int64_t start_us);
int64_t report_day_start(int64_t t_us);
int64_t report_next_day(int64_t start_us);

/* report: what the timeline found, written for people and programs: text,
 * JSON (version 2, its schema in udp-canary(8)), one summary line per client
 * to paste into a ticket, and an SVG picture. Formatting only: the findings
 * come from timeline.c, times are shown in local time (TZ). */
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

/* The whole report of a finished timeline at once. Each returns 0, or -EIO
 * when the output failed (-ENOMEM for JSON). */
int report_write_text(const struct timeline *tl, const struct report_input *in, FILE *out);
int report_write_json(const struct timeline *tl, const struct report_input *in, FILE *out);
int report_write_svg(const struct timeline *tl, FILE *out);

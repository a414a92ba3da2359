/* report-svg: the drawing pieces behind `report --svg` that the HTML page
 * (report-html.c) draws with too: escaping, the shared style and patterns, a
 * time axis, and the outage timeline of a set of clients. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/timeline.h"

/* A time span mapped onto x0..x1 px. */
struct report_svg_frame {
        int64_t t0, t1;
        double x0, x1;
};

double report_svg_x(const struct report_svg_frame *f, int64_t t_us);

/* XML text and attribute values: markup and quotes escaped, control
 * characters shown as '?'. */
void report_svg_escape(FILE *out, const char *s, size_t n);

/* The CSS rules of the classes drawn (without a <style> element), and the
 * <defs> of the patterns they name (ids: "hatch"). */
void report_svg_css(FILE *out);
void report_svg_defs(FILE *out);

/* A time axis along y = bottom, grid lines up to top, ticks labelled in
 * local time. */
void report_svg_axis(const struct report_svg_frame *f, int top, int bottom, FILE *out);

/* One <svg> element: the outage timeline of n clients, one pair of lanes
 * each, with a legend of what is drawn. notes, when not NULL, holds words
 * per outage (notes[i][j] for outage j of clients[i], NULL for none) that
 * its tooltip adds, line by line: the HTML page's other flows and finding.
 * `standalone` makes a document of its own (namespace, title, style and
 * defs inside); else the page around it holds the style and defs. Returns
 * 0, or -ENOMEM. */
int report_svg_timeline(const struct timeline_client *const *clients, size_t n, const char **const *notes,
                        bool standalone, FILE *out);

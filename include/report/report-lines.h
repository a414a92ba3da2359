/* report-lines: a log read line by line in blocks of 1 MiB, each line found
 * with memchr() and handed out in place (no copy, no character at a time),
 * with a bound on its length: a longer line is read to its end and said to
 * be too long, never held whole. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct report_lines {
        FILE *f;
        char *buf;
        size_t start, end; /* what is read and not handed out yet */
        size_t max;        /* lines of max bytes or more are too long */
        bool eof;
};

/* Returns 0, or -ENOMEM (or -EINVAL for a max of a block or more). */
int report_lines_init(struct report_lines *b, FILE *f, size_t max);
void report_lines_free(struct report_lines *b);

/* The next line, without its newline or trailing CRs, in *line (valid until
 * the next call). Returns its length, -E2BIG for a line too long, -1 at the
 * end (ferror() on the file tells a failed read). */
ssize_t report_lines_next(struct report_lines *b, const char **line);

/* What is read past the last line handed out and not handed out yet (for a
 * reader that takes the rest of the file in its own way): its length, and
 * where it is in *rest (valid until the next call). */
size_t report_lines_held(const struct report_lines *b, const char **rest);

/* report-lines: a log's lines read in blocks (see report-lines.h). */
#include "report/report-lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LINES_BLOCK (1 << 20)

int report_lines_init(struct report_lines *b, FILE *f, size_t max)
{
        *b = (struct report_lines){ .f = f, .max = max };
        if (max >= LINES_BLOCK)
                return -EINVAL;
        b->buf = malloc(LINES_BLOCK);
        return b->buf ? 0 : -ENOMEM;
}

void report_lines_free(struct report_lines *b)
{
        free(b->buf);
        b->buf = NULL;
}

/* Moves what is left to the front and reads more; false when nothing came. */
static bool fill(struct report_lines *b)
{
        size_t n;

        if (b->eof)
                return false;
        memmove(b->buf, b->buf + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
        n = fread(b->buf + b->end, 1, LINES_BLOCK - b->end, b->f);
        b->end += n;
        b->eof = n == 0;
        return n > 0;
}

ssize_t report_lines_next(struct report_lines *b, const char **line)
{
        bool over = false;
        char *nl;
        size_t n;

        while (!(nl = memchr(b->buf + b->start, '\n', b->end - b->start))) {
                if (b->end - b->start >= b->max) {
                        over = true; /* its start is dropped; the rest read on */
                        b->start = b->end;
                }
                if (!fill(b)) {
                        if (b->end == b->start && !over)
                                return -1;
                        nl = b->buf + b->end; /* the last line, without a newline */
                        break;
                }
        }
        *line = b->buf + b->start;
        n = (size_t)(nl - *line);
        b->start = nl < b->buf + b->end ? b->start + n + 1 : b->end;
        if (over || n >= b->max)
                return -E2BIG;
        while (n > 0 && (*line)[n - 1] == '\r')
                n--;
        return (ssize_t)n;
}

size_t report_lines_held(const struct report_lines *b, const char **rest)
{
        *rest = b->buf + b->start;
        return b->end - b->start;
}

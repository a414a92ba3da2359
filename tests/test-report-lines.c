/* report-lines: a log read in blocks hands out the lines a reader of one
 * character at a time finds (the report's reader before it): over 3 MiB of
 * lines of lengths around the bound, straddling the blocks, with CRs; with
 * and without a newline at the end; a line longer than the blocks; and
 * short cases: empty, CRs alone, a NUL inside a line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "report/report-lines.h"

#define MAX 100

/* A character at a time: the length, -E2BIG past the bound, -1 at the end. */
static ssize_t reference(FILE *f, char *buf, size_t cap)
{
        size_t n = 0;
        bool over = false, any = false;
        int ch;

        while ((ch = getc(f)) != EOF) {
                any = true;
                if (ch == '\n')
                        break;
                if (n + 1 < cap)
                        buf[n++] = (char)ch;
                else
                        over = true;
        }
        if (!any)
                return -1;
        while (n > 0 && buf[n - 1] == '\r')
                n--;
        return over ? -E2BIG : (ssize_t)n;
}

/* A file of these bytes read both ways, through two handles: the same
 * lines in the same order, and at least expect_min of them. */
static void same_lines(const char *text, size_t len, size_t expect_min)
{
        char path[] = "/tmp/test-report-lines.XXXXXX", ref[MAX];
        int fd = mkstemp(path);
        FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL, *g = NULL;
        struct report_lines b = { .buf = NULL };
        const char *line;
        size_t lines = 0;

        CHECK(f != NULL && fwrite(text, 1, len, f) == len && fflush(f) == 0);
        if (f)
                rewind(f);
        g = fopen(path, "r");
        CHECK(g != NULL);
        CHECK_INT(report_lines_init(&b, f, MAX), 0);
        while (f && g) {
                ssize_t n = report_lines_next(&b, &line), m = reference(g, ref, MAX);

                CHECK_INT(n, m);
                if (n != m || n == -1)
                        break;
                CHECK(n < 0 || memcmp(line, ref, (size_t)n) == 0);
                lines++;
        }
        CHECK(lines >= expect_min);
        report_lines_free(&b);
        if (g)
                fclose(g);
        if (f)
                fclose(f);
        unlink(path);
}

int main(void)
{
        static const struct {
                const char *text;
                size_t len;
        } cases[] = {
                { "", 0 }, { "a", 1 }, { "a\n", 2 }, { "a\r\n", 3 }, { "\n\n\n", 3 }, { "a\r\r\r", 4 },
                { "x\r\ny", 4 }, { "a\0b\n", 4 },
        };
        size_t len = 3u << 20, at = 0;
        char *big = malloc(len);
        unsigned seed = 7;

        CHECK(big != NULL);
        /* lengths around the bound and short ones, so that lines straddle
         * the 1 MiB blocks at every offset */
        while (big && at < len) {
                size_t n;

                seed = seed * 1103515245 + 12345;
                n = seed >> 16 & 1 ? MAX - 3 + (seed >> 8) % 6 : (seed >> 8) % 300;
                for (size_t i = 0; i < n && at < len; i++)
                        big[at++] = (char)(i % 37 == 36 ? (unsigned)'\r' : 'a' + (seed + i) % 26);
                if (at < len)
                        big[at++] = '\n';
        }
        if (big) {
                same_lines(big, len, 10000);
                same_lines(big, len - 1, 10000); /* no newline at the end */
                /* one line longer than two blocks, then a short one */
                memset(big, 'x', len - 4);
                big[len - 4] = big[len - 1] = '\n';
                big[len - 3] = 'o';
                big[len - 2] = 'k';
                same_lines(big, len, 2);
                same_lines(big, len - 4, 1);
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                same_lines(cases[i].text, cases[i].len, 0);
        free(big);
        return check_finish("report-lines");
}

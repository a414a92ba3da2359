/* report-journal: journals and journal exports read for `udp-canary report`
 * (see report-journal.h). */
#include "report/report-journal.h"

#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-journal.h>

#include "core/logtext.h"
#include "report/journal-export.h"

/* Up to so many units (else processes) in one journal input are each a log
 * of their own; past it, their lines go to the first one's. */
#define JOURNAL_SOURCES 64
#define JOURNAL_SOURCE_NAME 200

#define EXPORT_CHUNK (64 * 1024)

/* A journal holds a client's and a server's lines alike when both run on
 * one machine: each unit (else each process) of each machine is a log. */
struct sources {
        char name[JOURNAL_SOURCES][JOURNAL_SOURCE_NAME];
        unsigned log[JOURNAL_SOURCES];
        unsigned n;
};

static unsigned source_log(const struct report_journal_sink *s, struct sources *src, const char *machine,
                           size_t mlen, const char *unit, size_t ulen)
{
        char name[JOURNAL_SOURCE_NAME];

        snprintf(name, sizeof(name), "%.*s/%.*s", (int)(mlen < 64 ? mlen : 64), machine, (int)(ulen < 128 ? ulen : 128),
                 unit);
        for (unsigned i = 0; i < src->n; i++)
                if (strcmp(src->name[i], name) == 0)
                        return src->log[i];
        if (src->n == JOURNAL_SOURCES)
                return src->log[0];
        memcpy(src->name[src->n], name, sizeof(name));
        src->log[src->n] = (*s->next_log)++;
        return src->log[src->n++];
}

/* One entry of ours: its MESSAGE is the text after a log line's stamp. */
static int take_entry(const struct report_journal_sink *s, unsigned log, uint64_t t_us, const char *msg, size_t len)
{
        struct logline l;

        if (len > JEXPORT_MESSAGE_MAX || logline_parse_body(&l, msg, len) < 0) {
                (*s->skipped)++;
                return 0;
        }
        l.t_us = t_us;
        return s->take(s->ctx, log, &l);
}

/* A field's value without its "NAME=", or none. */
static void journal_field(sd_journal *j, const char *field, const char **value, size_t *len)
{
        size_t n = strlen(field) + 1;
        const void *data;

        if (sd_journal_get_data(j, field, &data, len) < 0 || *len < n) {
                *value = "";
                *len = 0;
                return;
        }
        *value = (const char *)data + n;
        *len -= n;
}

static unsigned journal_source(const struct report_journal_sink *s, sd_journal *j, struct sources *src)
{
        const char *machine, *unit;
        size_t mlen, ulen;
        char m[64];

        /* copied: the next sd_journal_get_data may move what this one returned */
        journal_field(j, "_MACHINE_ID", &machine, &mlen);
        snprintf(m, sizeof(m), "%.*s", (int)(mlen < sizeof(m) - 1 ? mlen : sizeof(m) - 1), machine);
        journal_field(j, "_SYSTEMD_UNIT", &unit, &ulen);
        if (ulen == 0)
                journal_field(j, "_PID", &unit, &ulen);
        return source_log(s, src, m, strlen(m), unit, ulen);
}

/* An open journal's entries of ours, in the period asked for. */
static int read_open(const struct report_journal_sink *s, sd_journal *j)
{
        struct sources src = { .n = 0 };
        int k = sd_journal_add_match(j, "SYSLOG_IDENTIFIER=" LOGTEXT_IDENT, 0);

        if (k >= 0)
                k = s->since_us ? sd_journal_seek_realtime_usec(j, s->since_us) : sd_journal_seek_head(j);
        while (k >= 0 && (k = sd_journal_next(j)) > 0) {
                unsigned log = journal_source(s, j, &src);
                const char *msg;
                size_t len;
                uint64_t t;

                if (sd_journal_get_realtime_usec(j, &t) < 0)
                        continue;
                if (t > s->until_us)
                        break;
                if (sd_journal_get_data(j, "MESSAGE", (const void **)&msg, &len) < 0 || len < 8)
                        (*s->skipped)++;
                else
                        k = take_entry(s, log, t, msg + 8, len - 8);
        }
        return k < 0 ? k : 0;
}

/* The globs as `journalctl --file` takes them, so that a quoted '*.journal'
 * reads every such file; one that matches nothing stays as it is, for its
 * error. */
static int expand(const char *const *globs, size_t n, glob_t *g)
{
        int flags = GLOB_NOCHECK;

        for (size_t i = 0; i < n; i++, flags |= GLOB_APPEND) {
                int e = glob(globs[i], flags, NULL, g);

                if (e)
                        return e == GLOB_NOSPACE ? -ENOMEM : -EIO;
        }
        return 0;
}

/* Each file once, however often and by whatever name (a link) the globs
 * match it: read twice, its entries would count twice. */
static void once_each(glob_t *g)
{
        size_t kept = 0;

        for (size_t i = 0; i < g->gl_pathc; i++) {
                struct stat a, b;
                bool again = false;

                if (stat(g->gl_pathv[i], &a) == 0) /* else sd-journal says why it cannot be read */
                        for (size_t j = 0; j < kept && !again; j++)
                                again = stat(g->gl_pathv[j], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
                if (again)
                        free(g->gl_pathv[i]);
                else
                        g->gl_pathv[kept++] = g->gl_pathv[i];
        }
        for (size_t i = kept; i < g->gl_pathc; i++)
                g->gl_pathv[i] = NULL;
        g->gl_pathc = kept;
}

int report_journal_read(const struct report_journal_sink *s, const char *dir, const char *const *globs,
                        size_t n_globs)
{
        sd_journal *j = NULL;
        glob_t g = { 0 };
        int k;

        if (globs) {
                k = expand(globs, n_globs, &g);
                if (k == 0)
                        once_each(&g);
                if (k == 0)
                        k = sd_journal_open_files(&j, (const char **)g.gl_pathv, 0);
        } else if (dir) {
                k = sd_journal_open_directory(&j, dir, 0);
        } else {
                k = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        }
        if (k >= 0)
                k = read_open(s, j);
        sd_journal_close(j);
        if (globs)
                globfree(&g);
        return k;
}

/* What reading one export holds besides the parser: each unit is a log. */
struct export_read {
        const struct report_journal_sink *s;
        struct sources src;
        struct jexport p;
};

static int export_entry(void *ctx, const struct jexport *p)
{
        struct export_read *x = ctx;
        const struct jexport_value *m = &p->v[JEXPORT_MESSAGE], *machine = &p->v[JEXPORT_MACHINE];
        const struct jexport_value *unit = &p->v[p->v[JEXPORT_UNIT].set ? JEXPORT_UNIT : JEXPORT_PID];
        uint64_t t;

        if (!jexport_is(p, JEXPORT_IDENTIFIER, LOGTEXT_IDENT))
                return 0; /* not ours: the journal's match leaves it out too */
        if (!m->set || m->too_long || jexport_realtime(p, &t) < 0) {
                (*x->s->skipped)++;
                return 0;
        }
        return take_entry(x->s, source_log(x->s, &x->src, machine->data, machine->len, unit->data, unit->len), t,
                          m->data, m->len);
}

int report_journal_read_export(const struct report_journal_sink *s, FILE *f, const char *first, size_t len,
                               const char *held, size_t n_held)
{
        struct export_read *x = malloc(sizeof(*x));
        char *buf = malloc(EXPORT_CHUNK);
        int k = -ENOMEM;

        if (x && buf) {
                size_t n;

                x->s = s;
                x->src.n = 0;
                jexport_init(&x->p);
                k = jexport_feed(&x->p, first, len, export_entry, x);
                k = k ? k : jexport_feed(&x->p, "\n", 1, export_entry, x);
                k = k || !n_held ? k : jexport_feed(&x->p, held, n_held, export_entry, x);
                while (k == 0 && (n = fread(buf, 1, EXPORT_CHUNK, f)) > 0)
                        k = jexport_feed(&x->p, buf, n, export_entry, x);
                k = k ? k : jexport_finish(&x->p, export_entry, x);
                *s->skipped += x->p.broken;
        }
        free(buf);
        free(x);
        return k;
}

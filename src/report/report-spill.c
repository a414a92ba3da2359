/* report-spill: the clients' packets kept in chunks, in a temporary file
 * past a bound on what is held in memory (see report-spill.h). */
#include "report/report-spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/grow.h"

/* Packets held in memory before the partly filled chunks go out too. */
#define SPILL_HELD_MAX ((uint64_t)1 << 16)

/* A chunk's log (or SPILL_MIXED when its packets come from more than one)
 * and the span of its packets' times: a span of one log is loaded without
 * reading the chunks of other logs or other times (report_spill_load_span). */
#define SPILL_MIXED UINT16_MAX
_Static_assert(TIMELINE_MAX_LOGS <= SPILL_MIXED, "a log's number is not SPILL_MIXED");
struct spill_chunk {
        uint64_t offset;
        int64_t t_min, t_max;
        uint32_t n; /* report_spill.chunk at most */
        uint16_t log;
};

struct report_spill_client {
        struct timeline_packet *buf; /* not yet written */
        size_t n, cap;
        struct spill_chunk *chunks;  /* written, in order */
        size_t n_chunks, cap_chunks;
};

void report_spill_init(struct report_spill *s)
{
        memset(s, 0, sizeof(*s));
        s->fd = -1;
        s->chunk = REPORT_SPILL_CHUNK;
}

static void client_free(struct report_spill_client *c)
{
        free(c->buf);
        free(c->chunks);
        memset(c, 0, sizeof(*c));
}

void report_spill_free(struct report_spill *s)
{
        for (size_t i = 0; i < s->n; i++)
                client_free(&s->v[i]);
        free(s->v);
        free(s->scratch);
        if (s->fd >= 0)
                close(s->fd);
        report_spill_init(s);
}

int report_spill_file(void)
{
        const char *dir = getenv("TMPDIR");
        char path[4096];
        int fd;

        if (!dir || !*dir)
                dir = "/tmp";
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0 || (size_t)snprintf(path, sizeof(path), "%s/udp-canary-report.XXXXXX", dir) >= sizeof(path))
                return fd >= 0 ? fd : -ENAMETOOLONG;
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        unlink(path);
        return fd;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t offset)
{
        const char *p = buf;

        while (len) {
                ssize_t n = pwrite(fd, p, len, (off_t)offset);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                p += n;
                len -= (size_t)n;
                offset += (uint64_t)n;
        }
        return 0;
}

/* A client's unwritten packets out to the file as a chunk. On no file or a
 * failed write, they stay (and so does all that follows): 0 either way,
 * unless memory ran out. */
static int flush_client(struct report_spill *s, struct report_spill_client *c)
{
        if (s->no_file || c->n == 0)
                return 0;
        if (s->fd < 0 && (s->fd = report_spill_file()) < 0) {
                s->no_file = 1;
                return 0;
        }
        /* room for 2 first, not grow_array's 16: most of 100,000 ids write one or two */
        if (!c->chunks && (c->chunks = malloc(2 * sizeof(*c->chunks))))
                c->cap_chunks = 2;
        if (grow_array((void **)&c->chunks, &c->cap_chunks, c->n_chunks + 1, sizeof(*c->chunks)) < 0)
                return -ENOMEM;
        if (write_all(s->fd, c->buf, c->n * sizeof(*c->buf), s->size) < 0) {
                s->no_file = 1;
                return 0;
        }
        c->chunks[c->n_chunks] = (struct spill_chunk){ s->size, c->buf[0].t_us, c->buf[0].t_us, (uint32_t)c->n,
                                                     c->buf[0].log };
        for (size_t i = 1; i < c->n; i++) {
                struct spill_chunk *ch = &c->chunks[c->n_chunks];

                ch->t_min = c->buf[i].t_us < ch->t_min ? c->buf[i].t_us : ch->t_min;
                ch->t_max = c->buf[i].t_us > ch->t_max ? c->buf[i].t_us : ch->t_max;
                ch->log = c->buf[i].log == ch->log ? ch->log : SPILL_MIXED;
        }
        c->n_chunks++;
        s->size += c->n * sizeof(*c->buf);
        s->held -= c->n;
        if (c->n < s->chunk) { /* flushed for the bound: a client that may say no more */
                free(c->buf);
                c->buf = NULL;
                c->cap = 0;
        }
        c->n = 0;
        return 0;
}

/* Past the bound in memory, every client's partly filled chunk goes out. */
static int flush_all(struct report_spill *s)
{
        int k = 0;

        for (size_t i = 0; i < s->n && k == 0; i++)
                k = flush_client(s, &s->v[i]);
        return k;
}

/* Room for one more: from 2, doubling, up to a chunk while there is a file
 * (many clients say little: 100,000 of them hold a packet or two each);
 * without one, as far as it takes. */
static int grow_buf(const struct report_spill *s, struct report_spill_client *c)
{
        size_t cap = c->cap ? 2 * c->cap : 2;
        struct timeline_packet *b;

        if (!s->no_file && cap > s->chunk)
                cap = s->chunk;
        if (cap <= c->cap || cap > SIZE_MAX / sizeof(*b))
                return -ENOMEM;
        b = realloc(c->buf, cap * sizeof(*b));
        if (!b)
                return -ENOMEM;
        c->buf = b;
        c->cap = cap;
        return 0;
}

int report_spill_put(struct report_spill *s, size_t client, const struct timeline_packet *p)
{
        struct report_spill_client *c;
        int k = 0;

        if (client > s->n)
                return -EINVAL;
        if (client == s->n) {
                if (grow_array((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
                        return -ENOMEM;
                memset(&s->v[s->n++], 0, sizeof(*s->v));
        }
        c = &s->v[client];
        if (c->n == c->cap && grow_buf(s, c) < 0)
                return -ENOMEM;
        c->buf[c->n++] = *p;
        s->held++;
        if (c->n >= s->chunk)
                k = flush_client(s, c);
        if (k == 0 && !s->no_file && s->held > SPILL_HELD_MAX)
                k = flush_all(s);
        return k;
}

static int read_chunk(struct report_spill *s, const struct spill_chunk *ch)
{
        size_t len = ch->n * sizeof(*s->scratch), done = 0;

        while (done < len) {
                ssize_t n = pread(s->fd, (char *)s->scratch + done, len - done, (off_t)(ch->offset + done));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                done += (size_t)n;
        }
        return 0;
}

static int load_client(struct report_spill *s, struct timeline *tl, size_t i)
{
        struct report_spill_client *c = &s->v[i];
        int k = 0;

        for (size_t j = 0; j < c->n_chunks && k == 0; j++) {
                k = read_chunk(s, &c->chunks[j]);
                for (size_t m = 0; m < c->chunks[j].n && k == 0; m++)
                        k = timeline_put(tl, i, &s->scratch[m]);
        }
        for (size_t m = 0; m < c->n && k == 0; m++)
                k = timeline_put(tl, i, &c->buf[m]);
        if (!s->keep) {
                s->held -= c->n;
                client_free(c);
        }
        return k;
}

int report_spill_load(struct report_spill *s, struct timeline *tl, size_t lo, size_t hi)
{
        int k = 0;

        if (!s->scratch && !(s->scratch = malloc(s->chunk * sizeof(*s->scratch))))
                return -ENOMEM;
        for (size_t i = lo; i < hi && i < s->n && k == 0; i++)
                k = load_client(s, tl, i);
        return k;
}

/* Whether packets of log `log` at t are wanted: within its span. */
static bool in_span(const struct timeline_span *by_log, size_t n_logs, unsigned log, int64_t t)
{
        return log < n_logs && t >= by_log[log].start_us && t < by_log[log].end_us;
}

/* Whether a chunk may hold packets wanted (one of both logs' may). */
static bool chunk_may_hold(const struct spill_chunk *ch, const struct timeline_span *by_log, size_t n_logs)
{
        const struct timeline_span *w = ch->log < n_logs ? &by_log[ch->log] : NULL;

        return ch->log == SPILL_MIXED || (w && ch->t_max >= w->start_us && ch->t_min < w->end_us);
}

/* Puts the packets of v that are wanted. */
static int put_span(struct timeline *tl, size_t i, const struct timeline_packet *v, size_t n,
                    const struct timeline_span *by_log, size_t n_logs)
{
        int k = 0;

        for (size_t m = 0; m < n && k == 0; m++)
                if (in_span(by_log, n_logs, v[m].log, v[m].t_us))
                        k = timeline_put(tl, i, &v[m]);
        return k;
}

int report_spill_load_span(struct report_spill *s, struct timeline *tl, size_t i, const struct timeline_span *by_log,
                           size_t n_logs)
{
        const struct report_spill_client *c = i < s->n ? &s->v[i] : NULL;
        size_t most;
        int k = 0;

        if (!c)
                return i < tl->n_clients ? 0 : -EINVAL;
        if (!s->scratch && !(s->scratch = malloc(s->chunk * sizeof(*s->scratch))))
                return -ENOMEM;
        most = c->n;
        for (size_t j = 0; j < c->n_chunks; j++)
                most += chunk_may_hold(&c->chunks[j], by_log, n_logs) ? c->chunks[j].n : 0;
        k = timeline_reserve(tl, i, most);
        for (size_t j = 0; j < c->n_chunks && k == 0; j++) {
                if (!chunk_may_hold(&c->chunks[j], by_log, n_logs))
                        continue;
                k = read_chunk(s, &c->chunks[j]);
                k = k < 0 ? k : put_span(tl, i, s->scratch, c->chunks[j].n, by_log, n_logs);
        }
        return k < 0 ? k : put_span(tl, i, c->buf, c->n, by_log, n_logs);
}

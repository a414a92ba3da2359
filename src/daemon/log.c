/* log: formatting log lines in the original's format, and journal entries
 * (see log.h). The loop formats them into two buffers and hands them at the
 * end of each callback (log_flush) to a thread per output, stderr or the
 * journal, and the log file, without waking it: each thread takes what
 * waits every LOG_FLUSH_MS, or at once after a quiet spell (see
 * worker_pacer), and writes it out with one writev (daemon/log-sink):
 * the loop never waits for the disk, a terminal or journald, which takes
 * tens of microseconds an entry and more when busy, nor for an output that
 * stopped taking them (a pipe nobody reads): past LOG_OUTPUT_MAX_PENDING
 * bytes waiting for it, that output alone loses the lines, counted, and is
 * told how many once it moves again. */
#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "daemon/fileio.h"
#include "daemon/log-sink.h"
#include "daemon/worker.h"

/* Lines wait here until the end of the event loop's callback (log_flush):
 * one write per batch instead of two per line. */
#define LOG_BUFFER (64 * 1024)
/* Journal entries wait here likewise. */
#define JOURNAL_BUFFER (256 * 1024)
enum log_output_id {
        LOG_OUT_CONSOLE, /* stderr, or the journal */
        LOG_OUT_FILE,
        LOG_OUT_COUNT,
};

struct log_output {
        const char *name;     /* "stderr", "journal", "file": the metric's label */
        bool journal;         /* it takes journal entries, not text */
        struct worker worker; /* writes them out */
        struct log_sink sink; /* the thread's (the loop's, without a thread) */
        uint64_t dropped;     /* lines (journal entries) it lost since the start */
        uint64_t untold;      /* of those, not said in it yet */
};

struct logger {
        bool opened;       /* log_open ran: the outputs run */
        bool journal;
        char *path;        /* the log file, to reopen; NULL: none */
        char *buf;         /* the pending text, for stderr and the file alike */
        size_t used, lines;
        char *jbuf;        /* the pending journal entries (see log-sink.h) */
        size_t jused, entries;
        time_t stamp_sec;  /* the second stamp_text was made for */
        char stamp_text[32];
        struct log_output *out[LOG_OUT_COUNT]; /* NULL: not in use */
};

static struct logger logger;
/* Outputs whose thread was stuck in a write at log_close: still its. */
static struct log_output *left_behind[LOG_OUT_COUNT];

/* A regular file, or the terminal or device the user names; never a FIFO
 * that would block the start, or a reload, for good. */
static int open_file(const char *path)
{
        return fileio_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640, FILEIO_ALLOW_OUTPUT);
}

/* JOURNAL_STREAM is "DEVICE:INODE" in decimal (systemd.exec(5)); strtoull,
 * not sscanf, so that a number out of range does not pass. */
static bool journal_stream_parse(const char *s, unsigned long long *dev, unsigned long long *ino)
{
        char *end;

        errno = 0;
        *dev = strtoull(s, &end, 10);
        if (end == s || *end != ':')
                return false;
        s = end + 1;
        *ino = strtoull(s, &end, 10);
        return end != s && *end == '\0' && errno == 0;
}

bool log_stderr_is_journal(void)
{
        const char *env = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!env || !journal_stream_parse(env, &dev, &ino) || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/* An output, its thread started (or, when it cannot start, none: the
 * loop writes it itself). NULL without memory. */
static struct log_output *output_new(const char *name, const char *thread, bool journal, bool to_stderr)
{
        struct log_output *o = calloc(1, sizeof(*o));

        if (!o)
                return NULL;
        o->name = name;
        o->journal = journal;
        log_sink_init(&o->sink, to_stderr);
        (void)worker_start_paced(&o->worker, thread, WORKER_LOW, LOG_OUTPUT_MAX_PENDING, LOG_FLUSH_MS * 1000,
                                 LOG_WAKE_BYTES, log_sink_consume, &o->sink);
        return o;
}

/* Hands the records over (iov: a header, its payload, and so on): to the
 * output's thread, within limit bytes waiting, or, without a thread, to
 * its sink right here. Returns 0, -EAGAIN (over the limit) or -ENOMEM. */
static int hand_over(struct log_output *o, const struct iovec *iov, size_t n, size_t limit)
{
        if (o->worker.started)
                return worker_offerv(&o->worker, iov, n, limit);
        for (size_t i = 0; i + 1 < n; i += 2)
                log_sink_record(&o->sink, (enum log_record)((char *)iov[i].iov_base)[0], iov[i + 1].iov_base,
                                iov[i + 1].iov_len);
        return 0;
}

/* Tells the file's thread which file to write from here on (never dropped:
 * a few bytes past the limit). Returns 0 or -ENOMEM (fd closed). */
static int hand_file(int fd)
{
        struct log_output *o = logger.out[LOG_OUT_FILE];
        char head[LOG_RECORD_HEAD], payload[4 + sizeof(o->sink.path)];
        size_t plen = logger.path ? strlen(logger.path) : 0;
        struct iovec iov[2];

        if (fd < 0 && !o)
                return 0; /* no file before, none now */
        if (!o)
                o = logger.out[LOG_OUT_FILE] = output_new("file", "canary-logfile", false, false);
        if (!o) {
                close(fd);
                return -ENOMEM;
        }
        if (plen >= sizeof(o->sink.path))
                plen = sizeof(o->sink.path) - 1; /* only named in messages */
        memcpy(payload, &fd, 4);
        if (plen)
                memcpy(payload + 4, logger.path, plen);
        iov[0] = (struct iovec){ head, log_record_head(head, LOG_RECORD_FILE, 4 + plen) };
        iov[1] = (struct iovec){ payload, 4 + plen };
        if (hand_over(o, iov, 2, SIZE_MAX) == 0)
                return 0;
        if (fd >= 0)
                close(fd);
        return -ENOMEM;
}

int log_open(const char *path, bool journal)
{
        int fd = -1;

        if (path) {
                fd = open_file(path);
                if (fd < 0)
                        return fd;
        }
        log_flush();
        if (!logger.opened) {
                logger.opened = true;
                logger.buf = malloc(LOG_BUFFER);
                logger.jbuf = malloc(JOURNAL_BUFFER);
                logger.used = logger.jused = 0;
                logger.journal = journal;
                logger.out[LOG_OUT_CONSOLE] =
                        output_new(journal ? "journal" : "stderr", "canary-log", journal, !journal);
        }
        free(logger.path);
        logger.path = path ? strdup(path) : NULL;
        return hand_file(fd);
}

int log_reopen(void)
{
        int fd;

        log_flush();
        if (!logger.path)
                return 0;
        fd = open_file(logger.path);
        if (fd < 0)
                return fd;
        return hand_file(fd);
}

void log_close(void)
{
        struct timespec deadline;

        log_flush();
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += LOG_CLOSE_WAIT_MS / 1000;
        deadline.tv_nsec += (LOG_CLOSE_WAIT_MS % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        for (int i = 0; i < LOG_OUT_COUNT; i++) {
                struct log_output *o = logger.out[i];

                if (!o)
                        continue;
                if (worker_stop_until(&o->worker, &deadline) < 0) { /* writes what is left */
                        left_behind[i] = o;
                        continue;
                }
                log_sink_close(&o->sink);
                free(o);
        }
        free(logger.buf);
        free(logger.jbuf);
        free(logger.path);
        memset(&logger, 0, sizeof(logger));
}

/* "YYYY-mm-dd HH:MM:SS" of a second; made once a second, not once a line. */
static const char *second_stamp(time_t sec, char buf[static 32], time_t *cached_sec)
{
        struct tm tm;

        if (cached_sec && *cached_sec == sec && buf[0])
                return buf;
        if (!localtime_r(&sec, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, 32, "%lld", (long long)sec);
        if (cached_sec)
                *cached_sec = sec;
        return buf;
}


ssize_t log_format_prefix(const struct timespec *ts, enum log_level level, char *buf, size_t cap)
{
        char stamp[32] = "";

        return logtext_format_prefix(second_stamp(ts->tv_sec, stamp, NULL), ts->tv_nsec / 1000000, level, buf, cap);
}

/* A journal entry being built: each field "NAME=value" in buf, pointed at
 * by its iovec. */
struct fields {
        struct iovec iov[LOG_JOURNAL_FIELDS_MAX];
        size_t n;
        char buf[2 * LOG_LINE_MAX];
        size_t used;
};

/* Only the counts: zeroing the 7 KiB buffer for every line showed in profiles. */
static void fields_init(struct fields *f)
{
        f->n = 0;
        f->used = 0;
}

static void field(struct fields *f, const char *name, const char *value, size_t len)
{
        size_t nlen = strlen(name);

        if (f->n >= sizeof(f->iov) / sizeof(f->iov[0]) || f->used + nlen + 1 + len > sizeof(f->buf))
                return;
        memcpy(f->buf + f->used, name, nlen);
        f->buf[f->used + nlen] = '=';
        memcpy(f->buf + f->used + nlen + 1, value, len);
        f->iov[f->n].iov_base = f->buf + f->used;
        f->iov[f->n].iov_len = nlen + 1 + len;
        f->used += nlen + 1 + len;
        f->n++;
}

static void fieldf(struct fields *f, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void fieldf(struct fields *f, const char *name, const char *fmt, ...)
{
        char value[128];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(value, sizeof(value), fmt, ap);
        va_end(ap);
        if (n >= 0)
                field(f, name, value, (size_t)n < sizeof(value) ? (size_t)n : sizeof(value) - 1);
}

static const int priorities[] = {
        [LOG_LEVEL_INFO] = 6,
        [LOG_LEVEL_WARNING] = 4,
        [LOG_LEVEL_ERROR] = 3,
};

/* The bytes of one entry as log-sink.h has them. */
static size_t journal_size(const struct fields *f)
{
        return 4 + 4 * f->n + f->used;
}

/* Writes the entry to out (journal_size bytes); returns its length. */
static size_t journal_serialize(const struct fields *f, char *out)
{
        uint32_t n = (uint32_t)f->n;
        size_t at = 4;

        memcpy(out, &n, 4);
        for (size_t i = 0; i < f->n; i++) {
                uint32_t len = (uint32_t)f->iov[i].iov_len;

                memcpy(out + at, &len, 4);
                memcpy(out + at + 4, f->iov[i].iov_base, len);
                at += 4 + len;
        }
        return at;
}

/* Appends the entry to jbuf, or sends it at once without one. */
static void journal_queue(const struct fields *f)
{
        if (!logger.jbuf) {
                sd_journal_sendv(f->iov, (int)f->n);
                return;
        }
        if (logger.jused + journal_size(f) > JOURNAL_BUFFER)
                log_flush();
        logger.jused += journal_serialize(f, logger.jbuf + logger.jused);
        logger.entries++;
}

static void journal(enum log_level level, const char *body, size_t body_len, struct fields *f)
{
        field(f, "MESSAGE", body, body_len);
        fieldf(f, "PRIORITY", "%d", priorities[level]);
        field(f, "SYSLOG_IDENTIFIER", LOGTEXT_IDENT, sizeof(LOGTEXT_IDENT) - 1);
        journal_queue(f);
}

/* One whole line, stamped now, in out (cap bytes: at least 64 more than
 * LOG_LINE_MAX); the body cut to fit. Returns its length, or -1. */
static ssize_t format_line(enum log_level level, const char *body, size_t body_len, char *out, size_t cap)
{
        struct timespec ts;
        ssize_t n;

        clock_gettime(CLOCK_REALTIME, &ts);
        n = logtext_format_prefix(second_stamp(ts.tv_sec, logger.stamp_text, &logger.stamp_sec),
                                  ts.tv_nsec / 1000000, level, out, cap);
        if (n < 0)
                return -1;
        if (body_len > cap - (size_t)n - 1)
                body_len = cap - (size_t)n - 1;
        memcpy(out + n, body, body_len);
        out[n + (ssize_t)body_len] = '\n';
        return n + (ssize_t)body_len + 1;
}

/* The line (or journal entry) that tells the output how many it lost, in
 * note (cap bytes, room for a line); returns its length, or 0. */
static size_t lost_note(const struct log_output *o, char *note, size_t cap)
{
        char body[256];
        ssize_t n = logtext_format_lines_lost(o->untold, o->name, body, sizeof(body));
        struct fields f;

        if (n < 0)
                return 0;
        if (!o->journal) {
                n = format_line(LOG_LEVEL_WARNING, body, (size_t)n, note, cap);
                return n < 0 ? 0 : (size_t)n;
        }
        fields_init(&f);
        field(&f, "CANARY_EVENT", "lines_lost", 10);
        fieldf(&f, "CANARY_LOST", "%" PRIu64, o->untold);
        field(&f, "MESSAGE", body, (size_t)n);
        fieldf(&f, "PRIORITY", "%d", priorities[LOG_LEVEL_WARNING]);
        field(&f, "SYSLOG_IDENTIFIER", LOGTEXT_IDENT, sizeof(LOGTEXT_IDENT) - 1);
        return journal_size(&f) <= cap ? journal_serialize(&f, note) : 0;
}

/* Hands one batch (count lines or entries) to an output; one whose thread
 * has too much waiting loses it, and goes on losing them until its thread
 * has taken everything waiting (it moves again): then it is told how many,
 * once, not once per batch that happens to fit. */
static void output_send(struct log_output *o, enum log_record kind, const char *data, size_t len, size_t count)
{
        char head[LOG_RECORD_HEAD], nhead[LOG_RECORD_HEAD], note[LOG_LINE_MAX + 64];
        size_t n = 0, nlen = o->untold ? lost_note(o, note, sizeof(note)) : 0;
        struct iovec iov[4];

        if (nlen) {
                iov[n++] = (struct iovec){ nhead, log_record_head(nhead, kind, nlen) };
                iov[n++] = (struct iovec){ note, nlen };
        }
        iov[n++] = (struct iovec){ head, log_record_head(head, kind, len) };
        iov[n++] = (struct iovec){ (void *)(uintptr_t)data, len };
        if (hand_over(o, iov, n, o->untold ? 0 : LOG_OUTPUT_MAX_PENDING) == 0) {
                o->untold = 0;
                return;
        }
        o->dropped += count;
        o->untold += count;
}

void log_flush(void)
{
        struct log_output *console = logger.out[LOG_OUT_CONSOLE], *file = logger.out[LOG_OUT_FILE];

        if (console && console->journal && logger.jused)
                output_send(console, LOG_RECORD_JOURNAL, logger.jbuf, logger.jused, logger.entries);
        if (console && !console->journal && logger.used)
                output_send(console, LOG_RECORD_TEXT, logger.buf, logger.used, logger.lines);
        if (file && logger.used)
                output_send(file, LOG_RECORD_TEXT, logger.buf, logger.used, logger.lines);
        logger.used = logger.jused = 0;
        logger.lines = logger.entries = 0;
}

size_t log_output_drops(struct log_output_drops *out, size_t cap)
{
        size_t n = 0;

        for (int i = 0; i < LOG_OUT_COUNT && n < cap; i++)
                if (logger.out[i])
                        out[n++] = (struct log_output_drops){ logger.out[i]->name, logger.out[i]->dropped };
        return n;
}

/* The line goes to the buffer that log_flush writes, formatted in place;
 * before log_open (tests, early errors) it is written at once. */
static void emit(enum log_level level, const char *body, size_t body_len, struct fields *f)
{
        char line[LOG_LINE_MAX + 64], *out = line;
        ssize_t n;

        if (logger.journal)
                journal(level, body, body_len, f);
        if (logger.journal && !logger.path)
                return;
        if (logger.buf) {
                if (logger.used + sizeof(line) > LOG_BUFFER)
                        log_flush();
                out = logger.buf + logger.used;
        }
        n = format_line(level, body, body_len, out, sizeof(line));
        if (n < 0)
                return;
        if (!logger.buf) {
                (void)fileio_write_all(STDERR_FILENO, line, (size_t)n);
                return;
        }
        logger.used += (size_t)n;
        logger.lines++;
}

__attribute__((format(printf, 3, 0))) static void vlog(enum log_level level, struct fields *f, const char *fmt,
                                                     va_list ap)
{
        char body[LOG_LINE_MAX];
        int n = vsnprintf(body, sizeof(body), fmt, ap);

        if (n >= 0)
                emit(level, body, (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1, f);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
        struct fields f;

        fields_init(&f);
        va_list ap;

        va_start(ap, fmt);
        vlog(level, &f, fmt, ap);
        va_end(ap);
}

void log_lifecycle(enum log_lifecycle kind, const char *fmt, ...)
{
        static const char *const names[] = { "start", "stop", "reload" };
        static const char *const ids[] = { LOG_MESSAGE_ID_START, LOG_MESSAGE_ID_STOP, LOG_MESSAGE_ID_RELOAD };
        struct fields f;

        fields_init(&f);
        va_list ap;

        field(&f, "MESSAGE_ID", ids[kind], strlen(ids[kind]));
        field(&f, "CANARY_EVENT", names[kind], strlen(names[kind]));
        va_start(ap, fmt);
        vlog(LOG_LEVEL_INFO, &f, fmt, ap);
        va_end(ap);
}

static const char *const event_names[EVENT_KIND_COUNT] = {
        [EVENT_TX] = "tx",
        [EVENT_RX] = "rx",
        [EVENT_INVALID] = "invalid",
        [EVENT_REPLAY] = "replay",
        [EVENT_IGNORED] = "ignored",
        [EVENT_EVICTED] = "evicted",
        [EVENT_NAT_REBIND] = "nat_rebind",
        [EVENT_LOSS] = "loss",
        [EVENT_DUPLICATE] = "duplicate",
        [EVENT_SILENT] = "silent",
        [EVENT_BACK] = "back",
        [EVENT_UNANSWERED] = "unanswered",
        [EVENT_OUTAGE_START] = "outage_start",
        [EVENT_OUTAGE_END] = "outage_end",
        [EVENT_REFUSED] = "refused",
        [EVENT_INVALID_MORE] = "invalid_more",
        [EVENT_PROBE_REFUSED] = "probe_refused",
};

/* MESSAGE_IDs of the events that mean something (see the catalog). */
static const char *const event_message_ids[EVENT_KIND_COUNT] = {
        [EVENT_REPLAY] = "29bf874f40d948a09c48d7df4b3ac255",
        [EVENT_EVICTED] = "b65a0ff24e1c402c90b1827575689714",
        [EVENT_NAT_REBIND] = "d6020e22610b48bf896feafe9acb2274",
        [EVENT_LOSS] = "e7427c09729744b18d0bb4b64a2dc498",
        [EVENT_DUPLICATE] = "a8dbc58773c64b92a1281093533a7aad",
        [EVENT_SILENT] = "2649133831f943ee868f5df1bd3fbb04",
        [EVENT_BACK] = "072a2f65e6594e3bb985e22fee420f8f",
        [EVENT_UNANSWERED] = "275859edc8744092a1ec54342e7b0bdd",
        [EVENT_OUTAGE_START] = "4ae4e53b334647fda4bf56088b725a0c",
        [EVENT_OUTAGE_END] = "57f0d727c10d4dec9cccc16d61fc26e7",
        [EVENT_IGNORED] = "107c9bd74b8445ecabae20c510235b40", /* a late response */
        [EVENT_PROBE_REFUSED] = NULL, /* sized to every kind: looked up by kind */
};

/* The event's name in CANARY_EVENT: an ignored stale response is "late". */
static const char *event_name(const struct core_event *ev)
{
        if (ev->kind == EVENT_IGNORED && ev->why == EVENT_IGNORE_STALE)
                return "late";
        return event_names[ev->kind];
}

/* The structured fields of an event (journal only). */
static void event_fields(const struct core_event *ev, struct fields *f)
{
        char peer[ADDR_STRLEN];
        const char *name = event_name(ev), *id = event_message_ids[ev->kind];

        if (id && (ev->kind != EVENT_IGNORED || ev->why == EVENT_IGNORE_STALE))
                field(f, "MESSAGE_ID", id, strlen(id));
        field(f, "CANARY_EVENT", name, strlen(name));
        field(f, "CANARY_DIRECTION", ev->kind == EVENT_TX || ev->kind == EVENT_UNANSWERED ? "tx" : "rx", 2);
        addr_format(&ev->peer, peer);
        field(f, "CANARY_PEER", peer, strlen(peer));
        if (ev->kind == EVENT_NAT_REBIND)
                field(f, "CANARY_OLD_PEER", peer, strlen(addr_format(&ev->old_peer, peer)));
        if (ev->lost)
                fieldf(f, "CANARY_LOST", "%" PRIu64, ev->lost);
        if (ev->rtt_us)
                fieldf(f, "CANARY_RTT_USEC", "%" PRIu64, ev->rtt_us);
        if (ev->duration_us)
                fieldf(f, "CANARY_DURATION_USEC", "%" PRIu64, ev->duration_us);
        if (!ev->has_msg)
                return;
        field(f, "CANARY_CLIENT_ID", ev->msg.id, ev->msg.id_len);
        field(f, "CANARY_TYPE", message_type_name(ev->msg.type), strlen(message_type_name(ev->msg.type)));
        fieldf(f, "CANARY_HANDSHAKE_ID", "%" PRIu64, ev->msg.data[0]);
        if (ev->msg.type == MESSAGE_KEEPALIVE)
                fieldf(f, "CANARY_COUNTER", "%" PRIu64, ev->msg.data[1]);
}

void log_event(const struct core_event *ev)
{
        struct fields f;

        fields_init(&f);
        char body[LOG_LINE_MAX];
        enum log_level level;
        ssize_t n = logtext_format_event(ev, body, sizeof(body), &level);

        if (n < 0)
                return;
        if (logger.journal)
                event_fields(ev, &f);
        emit(level, body, (size_t)n, &f);
}

void log_structured(enum log_level level, const char *message_id, const char *event, const char *const *fields,
                    size_t n_fields, const char *fmt, ...)
{
        struct fields f;
        va_list ap;

        fields_init(&f);
        field(&f, "MESSAGE_ID", message_id, strlen(message_id));
        field(&f, "CANARY_EVENT", event, strlen(event));
        for (size_t i = 0; i < n_fields && i < 8; i++) {
                const char *eq = strchr(fields[i], '=');
                char name[64];

                if (!eq || (size_t)(eq - fields[i]) >= sizeof(name))
                        continue;
                memcpy(name, fields[i], (size_t)(eq - fields[i]));
                name[eq - fields[i]] = '\0';
                field(&f, name, eq + 1, strlen(eq + 1));
        }
        va_start(ap, fmt);
        vlog(level, &f, fmt, ap);
        va_end(ap);
}

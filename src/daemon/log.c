/* log: writing log lines in the original's format, and journal entries (see
 * log.h). Each line is written whole with one write(2), so lines from
 * several processes appending to one file never interleave. Journal
 * entries are sent by a thread of their own (daemon/worker): journald
 * takes tens of microseconds an entry and more when it is busy, and the
 * event loop must not wait for it. */
#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "daemon/fileio.h"
#include "daemon/worker.h"

/* Lines wait here until the end of the event loop's callback (log_flush):
 * one write per batch instead of two per line. */
#define LOG_BUFFER (64 * 1024)
/* Journal entries wait here likewise, then go to the journal thread. */
#define JOURNAL_BUFFER (256 * 1024)
/* The loop waits for journald only when this much is waiting for it:
 * tens of thousands of entries, a few seconds of a busy server. */
#define JOURNAL_MAX_PENDING (32u << 20)

struct logger {
        bool journal;
        char *path;
        int fd;
        bool write_failed; /* reported once, until a write works again */
        bool cut;          /* the file ends in the middle of a line (a failed write) */
        char *buf;         /* the pending text, for stderr and the file alike */
        size_t used;
        time_t stamp_sec;  /* the second stamp_text was made for */
        char stamp_text[32];
        struct worker journal_worker; /* sends the entries in jbuf */
        char *jbuf;        /* entries for it: a field count, then each field's length and bytes */
        size_t jused;
};

static struct logger logger = { .fd = -1 };


/* A regular file, or the terminal or device the user names; never a FIFO
 * that would block the start, or a reload, for good. */
static int open_file(const char *path)
{
        return fileio_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640, FILEIO_ALLOW_OUTPUT);
}

bool log_stderr_is_journal(void)
{
        const char *env = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/* The journal thread's turn: sends each entry of the batch. */
static void journal_send(void *arg, const char *buf, size_t len)
{
        for (size_t at = 0; at + 4 <= len;) {
                struct iovec iov[16];
                uint32_t n, flen;

                memcpy(&n, buf + at, 4);
                at += 4;
                for (uint32_t i = 0; i < n; i++) {
                        memcpy(&flen, buf + at, 4);
                        iov[i].iov_base = (void *)(uintptr_t)(buf + at + 4);
                        iov[i].iov_len = flen;
                        at += 4 + flen;
                }
                sd_journal_sendv(iov, (int)n);
        }
}

/* Closes the file and frees the buffers; the journal thread goes on. */
static void close_file(void)
{
        log_flush();
        free(logger.buf);
        logger.buf = NULL;
        if (logger.fd >= 0)
                close(logger.fd);
        free(logger.path);
        logger.fd = -1;
        logger.path = NULL;
}

int log_open(const char *path, bool journal)
{
        int fd = -1;

        if (path) {
                fd = open_file(path);
                if (fd < 0)
                        return fd;
        }
        close_file();
        logger.buf = malloc(LOG_BUFFER);
        logger.used = 0;
        logger.journal = journal;
        logger.fd = fd;
        logger.cut = false;
        logger.write_failed = false;
        logger.path = path ? strdup(path) : NULL;
        /* without the thread (or its buffer) entries are sent in place */
        if (journal && !logger.journal_worker.started &&
            worker_start(&logger.journal_worker, JOURNAL_MAX_PENDING, journal_send, NULL) == 0 && !logger.jbuf)
                logger.jbuf = malloc(JOURNAL_BUFFER);
        return 0;
}

static bool same_file(int a, int b)
{
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
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
        if (!same_file(fd, logger.fd))
                logger.cut = false; /* a new file: no line of ours cut short in it */
        close(logger.fd);
        logger.fd = fd;
        return 0;
}

void log_close(void)
{
        close_file();
        worker_stop(&logger.journal_worker);
        free(logger.jbuf);
        logger.jbuf = NULL;
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

/* Writes len bytes of buf to fd; *done: how many went out, also on
 * failure. Returns 0 or a negative errno. */
static int write_counted(int fd, const char *buf, size_t len, size_t *done)
{
        *done = 0;
        while (*done < len) {
                ssize_t n = write(fd, buf + *done, len - *done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                *done += (size_t)n;
        }
        return 0;
}

/* Writes the buffer to the log file. A write that fails part way (a full
 * disk) leaves a line cut short: it is ended with a newline before anything
 * else is written, so that the next line is not glued onto it. A failing
 * file is told on stderr (the journal, under systemd) once per stretch of
 * failures, not once per line, and its recovery too. */
static void write_file(const char *buf, size_t len)
{
        size_t done = 0;
        int r = 0;

        if (logger.cut) {
                r = write_counted(logger.fd, "\n", 1, &done);
                logger.cut = r < 0;
        }
        if (r == 0) {
                r = write_counted(logger.fd, buf, len, &done);
                logger.cut = r < 0 && done > 0 && buf[done - 1] != '\n';
        }
        if (r < 0 && !logger.write_failed)
                dprintf(STDERR_FILENO, "udp-canary: cannot write the log file %s: %s; lines are lost until it works again\n",
                        logger.path, strerror(-r));
        else if (r == 0 && logger.write_failed)
                dprintf(STDERR_FILENO, "udp-canary: the log file %s is written again\n", logger.path);
        logger.write_failed = r < 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
        if (fd == logger.fd)
                write_file(buf, len);
        else
                (void)fileio_write_all(fd, buf, len);
}

/* One journal field as "NAME=value" in buf; returns the iovec for it. */
struct fields {
        struct iovec iov[16];
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

/* Hands the waiting entries to the journal thread (or sends them here,
 * should it have no memory for them). */
static void journal_flush(void)
{
        if (logger.jused && worker_submit(&logger.journal_worker, logger.jbuf, logger.jused) < 0)
                journal_send(NULL, logger.jbuf, logger.jused);
        logger.jused = 0;
}

/* Appends the entry to jbuf, or sends it at once when there is none. */
static void journal_queue(const struct fields *f)
{
        size_t need = 4 + 4 * f->n + f->used;
        uint32_t n = (uint32_t)f->n;

        if (!logger.jbuf) {
                sd_journal_sendv(f->iov, (int)f->n);
                return;
        }
        if (logger.jused + need > JOURNAL_BUFFER)
                journal_flush();
        memcpy(logger.jbuf + logger.jused, &n, 4);
        logger.jused += 4;
        for (size_t i = 0; i < f->n; i++) {
                uint32_t len = (uint32_t)f->iov[i].iov_len;

                memcpy(logger.jbuf + logger.jused, &len, 4);
                memcpy(logger.jbuf + logger.jused + 4, f->iov[i].iov_base, len);
                logger.jused += 4 + len;
        }
}

static void journal(enum log_level level, const char *body, size_t body_len, struct fields *f)
{
        field(f, "MESSAGE", body, body_len);
        fieldf(f, "PRIORITY", "%d", priorities[level]);
        field(f, "SYSLOG_IDENTIFIER", LOGTEXT_IDENT, sizeof(LOGTEXT_IDENT) - 1);
        journal_queue(f);
}

void log_flush(void)
{
        journal_flush();
        if (logger.used == 0)
                return;
        if (!logger.journal)
                write_all(STDERR_FILENO, logger.buf, logger.used);
        if (logger.fd >= 0)
                write_all(logger.fd, logger.buf, logger.used);
        logger.used = 0;
}

/* The line goes to the buffer that log_flush writes, formatted in place;
 * before log_open (tests, early errors) it is written at once. */
static void emit(enum log_level level, const char *body, size_t body_len, struct fields *f)
{
        char line[LOG_LINE_MAX + 64], *out = line;
        size_t cap = sizeof(line);
        struct timespec ts;
        ssize_t n;

        if (logger.journal)
                journal(level, body, body_len, f);
        if (logger.journal && logger.fd < 0)
                return;
        if (logger.buf) {
                if (logger.used + sizeof(line) > LOG_BUFFER)
                        log_flush();
                out = logger.buf + logger.used;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        n = logtext_format_prefix(second_stamp(ts.tv_sec, logger.stamp_text, &logger.stamp_sec),
                                  ts.tv_nsec / 1000000, level, out, cap);
        if (n < 0)
                return;
        if (body_len > cap - (size_t)n - 1)
                body_len = cap - (size_t)n - 1;
        memcpy(out + n, body, body_len);
        out[n + (ssize_t)body_len] = '\n';
        n += (ssize_t)body_len + 1;
        if (logger.buf)
                logger.used += (size_t)n;
        else
                write_all(STDERR_FILENO, line, (size_t)n);
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

/* log: formatting log lines in the original's format, and journal entries
 * (see log.h). The loop formats them into two buffers and hands both to a
 * thread at the end of each callback (log_flush); the thread writes them
 * out (daemon/log-sink): the loop never waits for the disk, a terminal or
 * journald, which takes tens of microseconds an entry and more when busy. */
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
#include "daemon/log-sink.h"
#include "daemon/worker.h"

/* Lines wait here until the end of the event loop's callback (log_flush):
 * one write per batch instead of two per line. */
#define LOG_BUFFER (64 * 1024)
/* Journal entries wait here likewise. */
#define JOURNAL_BUFFER (256 * 1024)
/* The loop waits for the thread only when this much is waiting for it:
 * tens of thousands of journal entries, a few seconds of a busy server. */
#define LOG_MAX_PENDING (32u << 20)

struct logger {
        bool opened;       /* log_open ran: the thread runs (if it could start) */
        bool journal;
        char *path;        /* the log file, to reopen; NULL: none */
        char *buf;         /* the pending text, for stderr and the file alike */
        size_t used;
        char *jbuf;        /* the pending journal entries (see log-sink.h) */
        size_t jused;
        time_t stamp_sec;  /* the second stamp_text was made for */
        char stamp_text[32];
        struct worker worker;  /* writes them out */
        struct log_sink sink;  /* the thread's (the loop's, without a thread) */
};

static struct logger logger;

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

/* Hands the records over (iov: a header, its payload, and so on): to the
 * thread, or, without one (it could not start, or no memory to hand them
 * over), to the sink right here, once the thread has written everything
 * before them and waits: the sink is never used from both at once. */
static void hand_over(struct iovec *iov, size_t n)
{
        if (logger.worker.started && worker_submitv(&logger.worker, iov, n) == 0)
                return;
        if (logger.worker.started)
                worker_sync(&logger.worker);
        for (size_t i = 0; i + 1 < n; i += 2)
                log_sink_record(&logger.sink, (enum log_record)((char *)iov[i].iov_base)[0], iov[i + 1].iov_base,
                                iov[i + 1].iov_len);
}

/* Tells the thread which file to write from here on. */
static void hand_file(int fd)
{
        char head[LOG_RECORD_HEAD], payload[4 + sizeof(logger.sink.path)];
        size_t plen = logger.path ? strlen(logger.path) : 0;
        struct iovec iov[2];

        if (plen >= sizeof(logger.sink.path))
                plen = sizeof(logger.sink.path) - 1; /* only named in messages */
        memcpy(payload, &fd, 4);
        if (plen)
                memcpy(payload + 4, logger.path, plen);
        iov[0] = (struct iovec){ head, log_record_head(head, LOG_RECORD_FILE, 4 + plen) };
        iov[1] = (struct iovec){ payload, 4 + plen };
        hand_over(iov, 2);
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
                log_sink_init(&logger.sink, !journal);
                (void)worker_start(&logger.worker, "canary-log", WORKER_LOW, LOG_MAX_PENDING, log_sink_consume, &logger.sink);
        }
        free(logger.path);
        logger.path = path ? strdup(path) : NULL;
        hand_file(fd);
        return 0;
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
        hand_file(fd);
        return 0;
}

void log_close(void)
{
        log_flush();
        worker_stop(&logger.worker); /* writes what is left */
        log_sink_close(&logger.sink);
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

/* Appends the entry to jbuf, or sends it at once without one. */
static void journal_queue(const struct fields *f)
{
        size_t need = 4 + 4 * f->n + f->used;
        uint32_t n = (uint32_t)f->n;

        if (!logger.jbuf) {
                sd_journal_sendv(f->iov, (int)f->n);
                return;
        }
        if (logger.jused + need > JOURNAL_BUFFER)
                log_flush();
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
        char thead[LOG_RECORD_HEAD], jhead[LOG_RECORD_HEAD];
        struct iovec iov[4];
        size_t n = 0;

        if (logger.used) {
                iov[n++] = (struct iovec){ thead, log_record_head(thead, LOG_RECORD_TEXT, logger.used) };
                iov[n++] = (struct iovec){ logger.buf, logger.used };
        }
        if (logger.jused) {
                iov[n++] = (struct iovec){ jhead, log_record_head(jhead, LOG_RECORD_JOURNAL, logger.jused) };
                iov[n++] = (struct iovec){ logger.jbuf, logger.jused };
        }
        if (n)
                hand_over(iov, n);
        logger.used = logger.jused = 0;
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
        if (logger.journal && !logger.path)
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
                (void)fileio_write_all(STDERR_FILENO, line, (size_t)n);
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

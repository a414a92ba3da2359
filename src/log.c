/* log: writing log lines in the original's format (see log.h). Each line is
 * written whole with one write(2), so lines from several processes appending
 * to one file never interleave. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct logger {
        bool to_stderr;
        char *path;
        int fd;
        bool write_failed; /* reported once, until a write works again */
};

static struct logger logger = { .to_stderr = true, .fd = -1 };

static const char *const level_names[] = {
        [LOG_LEVEL_INFO] = "INFO",
        [LOG_LEVEL_WARNING] = "WARNING",
        [LOG_LEVEL_ERROR] = "ERROR",
};

static int open_file(const char *path)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

        return fd < 0 ? -errno : fd;
}

int log_open(const char *path, bool to_stderr)
{
        int fd = -1;

        if (path) {
                fd = open_file(path);
                if (fd < 0)
                        return fd;
        }
        log_close();
        logger.to_stderr = to_stderr;
        logger.fd = fd;
        logger.path = path ? strdup(path) : NULL;
        return 0;
}

int log_reopen(void)
{
        int fd;

        if (!logger.path)
                return 0;
        fd = open_file(logger.path);
        if (fd < 0)
                return fd;
        close(logger.fd);
        logger.fd = fd;
        return 0;
}

void log_close(void)
{
        if (logger.fd >= 0)
                close(logger.fd);
        free(logger.path);
        logger.fd = -1;
        logger.path = NULL;
}

ssize_t log_format_prefix(const struct timespec *ts, enum log_level level, char *buf, size_t cap)
{
        struct tm tm;
        char stamp[32];
        int n;

        if (!localtime_r(&ts->tv_sec, &tm) || strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(stamp, sizeof(stamp), "%lld", (long long)ts->tv_sec);
        n = snprintf(buf, cap, "[%s.%03ld udp-canary %s] ", stamp, ts->tv_nsec / 1000000,
                     level_names[level]);
        return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

static void write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (fd == logger.fd && !logger.write_failed && logger.to_stderr)
                                dprintf(STDERR_FILENO, "udp-canary: cannot write the log file %s: %s\n",
                                        logger.path, n < 0 ? strerror(errno) : "short write");
                        if (fd == logger.fd)
                                logger.write_failed = true;
                        return;
                }
                buf += n;
                len -= (size_t)n;
        }
        if (fd == logger.fd)
                logger.write_failed = false;
}

static void emit(enum log_level level, const char *body, size_t body_len)
{
        char line[LOG_LINE_MAX + 64];
        struct timespec ts;
        ssize_t n;

        clock_gettime(CLOCK_REALTIME, &ts);
        n = log_format_prefix(&ts, level, line, sizeof(line));
        if (n < 0)
                return;
        if (body_len > sizeof(line) - (size_t)n - 1)
                body_len = sizeof(line) - (size_t)n - 1;
        memcpy(line + n, body, body_len);
        line[n + (ssize_t)body_len] = '\n';
        n += (ssize_t)body_len + 1;
        if (logger.to_stderr)
                write_all(STDERR_FILENO, line, (size_t)n);
        if (logger.fd >= 0)
                write_all(logger.fd, line, (size_t)n);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
        char body[LOG_LINE_MAX];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(body, sizeof(body), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        emit(level, body, (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1);
}

void log_event(const struct event *ev)
{
        char body[LOG_LINE_MAX];
        enum log_level level;
        ssize_t n = log_format_event(ev, body, sizeof(body), &level);

        if (n >= 0)
                emit(level, body, (size_t)n);
}

static const char *ignore_reason(const struct event *ev, char *buf, size_t cap)
{
        switch (ev->why) {
        case EVENT_IGNORE_FOREIGN_ADDR:
                return "not from the server's address";
        case EVENT_IGNORE_FOREIGN_ID:
                return "another client's id";
        case EVENT_IGNORE_NOT_RESPONSE:
                return "not a handshake_response";
        case EVENT_IGNORE_STALE:
                snprintf(buf, cap, "answers handshake %" PRIu64 ", the latest sent is %" PRIu64,
                         ev->msg.data[0], ev->expected);
                return buf;
        case EVENT_IGNORE_DUPLICATE:
                return "already answered";
        }
        return "unexpected";
}

ssize_t log_format_event(const struct event *ev, char *buf, size_t cap, enum log_level *level)
{
        char peer[ADDR_STRLEN], msg[MESSAGE_TEXT_MAX], id[MESSAGE_TEXT_MAX], why[96];
        const char *who = ev->peer_is_server ? "server" : addr_format(&ev->peer, peer);
        int n = -1;

        *level = LOG_LEVEL_INFO;
        if (ev->has_msg && (message_to_repr(&ev->msg, msg, sizeof(msg)) < 0 ||
                            message_repr_string(ev->msg.id, ev->msg.id_len, id, sizeof(id)) < 0))
                return -ENOBUFS;

        switch (ev->kind) {
        case EVENT_TX:
        case EVENT_RX:
                n = snprintf(buf, cap, "%s %s %s", ev->kind == EVENT_TX ? "TX" : "RX", who, msg);
                break;
        case EVENT_INVALID:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap, "RX %s [InvalidMessage]%s%s", who, ev->invalid ? " " : "",
                             ev->invalid ? ev->invalid : "");
                break;
        case EVENT_REPLAY:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap,
                             "Replay from %s: handshake %" PRIu64 " of %s is not above %" PRIu64
                             ", not answered",
                             who, ev->msg.data[0], id, ev->expected);
                break;
        case EVENT_IGNORED:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap, "Ignored %s from %s: %s", message_type_name(ev->msg.type), who,
                             ignore_reason(ev, why, sizeof(why)));
                break;
        case EVENT_FULL:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap, "Table of clients full: %s from %s not served", id, who);
                break;
        }
        return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

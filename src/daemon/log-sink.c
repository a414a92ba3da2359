/* log-sink: writing the log's lines out, on the log's thread (see
 * log-sink.h). Each batch of text is written whole with one write(2), so
 * lines from several processes appending to one file never interleave. */
#include "daemon/log-sink.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "daemon/fileio.h"

void log_sink_init(struct log_sink *s, bool to_stderr)
{
        memset(s, 0, sizeof(*s));
        s->to_stderr = to_stderr;
        s->fd = -1;
        s->journal_sendv = sd_journal_sendv;
}

size_t log_record_head(char head[static LOG_RECORD_HEAD], enum log_record kind, size_t len)
{
        uint32_t n = (uint32_t)len;

        head[0] = (char)kind;
        memcpy(head + 1, &n, 4);
        return LOG_RECORD_HEAD;
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

/* Writes to the log file. A write that fails part way (a full disk) leaves
 * a line cut short: it is ended with a newline before anything else is
 * written, so that the next line is not glued onto it. A failing file is
 * told on stderr (the journal, under systemd) once per stretch of
 * failures, not once per line, and its recovery too. */
static void write_file(struct log_sink *s, const char *buf, size_t len)
{
        size_t done = 0;
        int r = 0;

        if (s->cut) {
                r = write_counted(s->fd, "\n", 1, &done);
                s->cut = r < 0;
        }
        if (r == 0) {
                r = write_counted(s->fd, buf, len, &done);
                s->cut = r < 0 && done > 0 && buf[done - 1] != '\n';
        }
        /* strerrordesc_np: strerror's text without its shared buffer (a thread) */
        if (r < 0 && !s->write_failed)
                dprintf(STDERR_FILENO, "udp-canary: cannot write the log file %s: %s; lines are lost until it works again\n",
                        s->path, strerrordesc_np(-r));
        else if (r == 0 && s->write_failed)
                dprintf(STDERR_FILENO, "udp-canary: the log file %s is written again\n", s->path);
        s->write_failed = r < 0;
}

/* Sends each journal entry of the payload: a field count, then each
 * field's length and bytes. Fields past LOG_JOURNAL_FIELDS_MAX are skipped;
 * an entry cut short by the payload's end is not sent. */
static void send_entries(const struct log_sink *s, const char *buf, size_t len)
{
        for (size_t at = 0; at + 4 <= len;) {
                struct iovec iov[LOG_JOURNAL_FIELDS_MAX];
                uint32_t n, flen;

                memcpy(&n, buf + at, 4);
                at += 4;
                for (uint32_t i = 0; i < n; i++) {
                        if (len - at < 4)
                                return;
                        memcpy(&flen, buf + at, 4);
                        if (len - at - 4 < flen)
                                return;
                        if (i < LOG_JOURNAL_FIELDS_MAX)
                                iov[i] = (struct iovec){ (void *)(uintptr_t)(buf + at + 4), flen };
                        at += 4 + (size_t)flen;
                }
                s->journal_sendv(iov, n < LOG_JOURNAL_FIELDS_MAX ? (int)n : LOG_JOURNAL_FIELDS_MAX);
        }
}

static bool same_file(int a, int b)
{
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The log file from here on (after a start, a reload or logrotate). */
static void take_file(struct log_sink *s, const char *payload, size_t len)
{
        int fd;

        memcpy(&fd, payload, 4);
        if (fd < 0 || s->fd < 0 || !same_file(fd, s->fd))
                s->cut = false; /* a new file: no line of ours cut short in it */
        if (s->fd >= 0)
                close(s->fd);
        s->fd = fd;
        len -= 4;
        if (len >= sizeof(s->path))
                len = sizeof(s->path) - 1;
        memcpy(s->path, payload + 4, len);
        s->path[len] = '\0';
}

void log_sink_record(struct log_sink *s, enum log_record kind, const char *payload, size_t len)
{
        switch (kind) {
        case LOG_RECORD_TEXT:
                if (s->to_stderr)
                        (void)fileio_write_all(STDERR_FILENO, payload, len);
                if (s->fd >= 0)
                        write_file(s, payload, len);
                break;
        case LOG_RECORD_JOURNAL:
                send_entries(s, payload, len);
                break;
        case LOG_RECORD_FILE:
                if (len >= 4)
                        take_file(s, payload, len);
                break;
        }
}

void log_sink_consume(void *arg, const char *buf, size_t len)
{
        for (size_t at = 0; at + LOG_RECORD_HEAD <= len;) {
                uint32_t n;

                memcpy(&n, buf + at + 1, 4);
                log_sink_record(arg, (enum log_record)buf[at], buf + at + LOG_RECORD_HEAD, n);
                at += LOG_RECORD_HEAD + n;
        }
}

void log_sink_close(struct log_sink *s)
{
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
}

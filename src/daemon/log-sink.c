/* log-sink: writing the log's lines out, on the log's thread (see
 * log-sink.h). The text the thread takes in one turn is written whole with
 * one writev(2) (up to LOG_SINK_IOV pieces), so that lines from several
 * processes appending to one file never interleave, and a turn costs one
 * call however many callbacks of the loop it holds. */
#include "daemon/log-sink.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>


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

/* Writes the n pieces of iov to fd, with one writev(2) unless it is cut
 * short (iov is advanced past what went out); *done: how many bytes went
 * out, also on failure, and *last the last of them. Returns 0 or a
 * negative errno. */
static int write_counted(int fd, struct iovec *iov, int n, size_t *done, char *last)
{
        *done = 0;
        while (n > 0) {
                ssize_t w = writev(fd, iov, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? -errno : -EIO;
                *done += (size_t)w;
                for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--) {
                        if (iov->iov_len)
                                *last = ((const char *)iov->iov_base)[iov->iov_len - 1];
                        w -= (ssize_t)iov->iov_len;
                }
                if (w > 0 && n > 0) { /* n is 0 only with w: writev writes no more than it is given */
                        *last = ((const char *)iov->iov_base)[w - 1];
                        iov->iov_base = (char *)iov->iov_base + w;
                        iov->iov_len -= (size_t)w;
                }
        }
        return 0;
}

/* Writes to the log file. A write that fails part way (a full disk) leaves
 * a line cut short: it is ended with a newline before anything else is
 * written, so that the next line is not glued onto it. A failing file is
 * told on stderr (the journal, under systemd) once per stretch of
 * failures, not once per line, and its recovery too. */
static void write_file(struct log_sink *s, struct iovec *iov, int n)
{
        struct iovec nl = { .iov_base = (void *)(uintptr_t)"\n", .iov_len = 1 };
        size_t done = 0;
        char last = '\n';
        int r = 0;

        if (s->cut) {
                r = write_counted(s->fd, &nl, 1, &done, &last);
                s->cut = r < 0;
        }
        if (r == 0) {
                r = write_counted(s->fd, iov, n, &done, &last);
                s->cut = r < 0 && done > 0 && last != '\n';
        }
        /* strerrordesc_np: strerror's text without its shared buffer (a thread) */
        if (r < 0 && !s->write_failed)
                dprintf(STDERR_FILENO, "udp-canary: cannot write the log file %s: %s; lines are lost until it works again\n",
                        s->path, strerrordesc_np(-r));
        else if (r == 0 && s->write_failed)
                dprintf(STDERR_FILENO, "udp-canary: the log file %s is written again\n", s->path);
        s->write_failed = r < 0;
}

/* Text, n pieces of it, to stderr and the file, one writev each. */
static void write_text(struct log_sink *s, const struct iovec *iov, int n)
{
        struct iovec mine[LOG_SINK_IOV];
        size_t done;
        char last;

        if (n == 0)
                return;
        if (s->to_stderr) {
                memcpy(mine, iov, (size_t)n * sizeof(*iov));
                (void)write_counted(STDERR_FILENO, mine, n, &done, &last);
        }
        if (s->fd >= 0) {
                memcpy(mine, iov, (size_t)n * sizeof(*iov));
                write_file(s, mine, n);
        }
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
                write_text(s, &(struct iovec){ (void *)(uintptr_t)payload, len }, 1);
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

/* The text of consecutive records (a batch holds one per callback of the
 * loop) is gathered and written with one writev. */
void log_sink_consume(void *arg, const char *buf, size_t len)
{
        struct iovec text[LOG_SINK_IOV];
        int n = 0;

        for (size_t at = 0; at + LOG_RECORD_HEAD <= len;) {
                const char *payload = buf + at + LOG_RECORD_HEAD;
                enum log_record kind = (enum log_record)buf[at];
                uint32_t plen;

                memcpy(&plen, buf + at + 1, 4);
                if (plen > len - at - LOG_RECORD_HEAD)
                        break; /* never handed over so: the buffer is cut */
                at += LOG_RECORD_HEAD + plen;
                if (kind == LOG_RECORD_TEXT && n < LOG_SINK_IOV) {
                        text[n++] = (struct iovec){ (void *)(uintptr_t)payload, plen };
                        continue;
                }
                write_text(arg, text, n); /* what came before, first */
                n = 0;
                if (kind == LOG_RECORD_TEXT)
                        text[n++] = (struct iovec){ (void *)(uintptr_t)payload, plen };
                else
                        log_sink_record(arg, kind, payload, plen);
        }
        write_text(arg, text, n);
}

void log_sink_close(struct log_sink *s)
{
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
}

/* log: the log, in the original's format:
 *   [2024-11-27 13:06:56.795 udp-canary INFO] RX 127.0.0.1:46668 {'id': ...}
 * local time with milliseconds, to stderr and appended to a file; or, when
 * stderr is the journal, natively to journald instead of stderr, with the
 * same text as MESSAGE and structured CANARY_* fields; written out by a thread of the logger's
 * (daemon/log-sink), so that the loop never waits for them. The logger is
 * the one process-wide object besides the event base. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/actions.h"
#include "core/logtext.h"

/* Lifecycle events: journal entries with a MESSAGE_ID (see the catalog in
 * systemd/udp-canary.catalog). */
enum log_lifecycle {
        LOG_LIFECYCLE_START,
        LOG_LIFECYCLE_STOP,
        LOG_LIFECYCLE_RELOAD,
};

/* The MESSAGE_IDs, as 32 hex digits. */
#define LOG_MESSAGE_ID_START "f966171a66b54168b7cd855d12172664"
#define LOG_MESSAGE_ID_STOP "fb8a33779ea24d1aa6c9b21f403aeeee"
#define LOG_MESSAGE_ID_RELOAD "1dfafa3aa457415795d3bf0d9337d0e3"
/* The client's background NAT timeout probe (--probe-every) has a result. */
#define LOG_MESSAGE_ID_NAT_TIMEOUT "5f8191c7f03648ca9be96133f4481b96"
/* The client's server name resolved to another address, now in use. */
#define LOG_MESSAGE_ID_SERVER_MOVED "1caa2c262cb54e4eb0edb701d840781d"
/* A client traced where its dead flow stops (daemon/client-daemon-trace). */
#define LOG_MESSAGE_ID_TRACE "d0a419d4dbe0444ebac7f89cb69866f8"

/* True when stderr is connected to the journal ($JOURNAL_STREAM names
 * stderr's device and inode), as under a systemd service. */
bool log_stderr_is_journal(void);

/* Starts logging: natively to the journal (journal) or as text lines to
 * stderr, and appending to path (unless NULL). Returns 0 or the negative
 * errno of opening the file. */
int log_open(const char *path, bool journal);

/* Reopens the log file (after logrotate moved it). Keeps the old one open
 * when the new one cannot be opened, and returns that error. */
int log_reopen(void);
void log_close(void);

/* Each output (stderr or the journal, and the file) is written by a thread
 * of its own. An output may have this much handed over and not yet written
 * (besides the batch it is writing); past it, its lines are dropped, not
 * waited for: some 25,000 lines, seconds of a busy server's log. */
#define LOG_OUTPUT_MAX_PENDING (8u << 20)
/* A line reaches its output (the file, stderr, the journal) at most
 * LOG_FLUSH_MS after the callback that logged it ends (or once the write
 * in progress ends, when that takes longer), plus its own write and what
 * the host makes the output's thread wait for a CPU: the
 * loop hands each callback's lines over without waking the thread, which
 * takes all that waits every LOG_FLUSH_MS while lines come (the first after
 * a quiet spell at once), or sooner once LOG_WAKE_BYTES wait (a burst). So
 * a busy server costs each output one wake-up per LOG_FLUSH_MS, not one per
 * callback (and text one writev: journal entries are sent one by one); and
 * a SIGKILL loses what waits for the
 * next turn: the last LOG_FLUSH_MS of lines, more when the host kept the
 * thread from a CPU (up to LOG_OUTPUT_MAX_PENDING bytes waiting), and the
 * batch being written. */
#define LOG_FLUSH_MS 50
#define LOG_WAKE_BYTES (128u << 10)

/* At exit, how long the outputs have, all together, to write what they
 * hold; one stuck in a write is left behind, and ends with the process. */
#define LOG_CLOSE_WAIT_MS 1000

/* Lines (journal entries) an output lost since the start, because it did
 * not take them in time; sink: "stderr", "journal" or "file". */
struct log_output_drops {
        const char *sink;
        uint64_t lines;
};

/* The outputs in use, cap at most; returns how many. */
size_t log_output_drops(struct log_output_drops *out, size_t cap);

/* Hands the lines waiting in the buffer to the log thread. The daemons call
 * it at the end of every event-loop callback; log_close and log_reopen call
 * it too, and log_close waits until everything is written. */
void log_flush(void);

__attribute__((format(printf, 2, 3))) void log_printf(enum log_level level, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void log_lifecycle(enum log_lifecycle kind, const char *fmt, ...);
void log_event(const struct core_event *ev);

/* A line of ours with journal fields of its own: MESSAGE_ID and
 * CANARY_EVENT=event, then fields ("NAME=value" each, at most 8). */
__attribute__((format(printf, 6, 7))) void log_structured(enum log_level level, const char *message_id,
                                                         const char *event, const char *const *fields,
                                                         size_t n_fields, const char *fmt, ...);

/* "[YYYY-mm-dd HH:MM:SS.mmm udp-canary LEVEL] " for the given wall time. */
ssize_t log_format_prefix(const struct timespec *ts, enum log_level level, char *buf, size_t cap);

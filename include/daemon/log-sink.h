/* log-sink: where the log's lines end up: stderr, the log file, journald.
 * It runs on the log's worker thread (daemon/worker), so that the event
 * loop never waits for a disk, a terminal or journald; the loop hands it
 * records, in order (see log.c), each
 *     kind (1 byte), payload length (4 bytes), payload
 * TEXT: log lines, for stderr (unless the journal has them) and the file;
 * JOURNAL: entries, each a field count, then each field's length and bytes;
 * FILE: the log file from here on: its fd (4 bytes, -1: none), its path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct iovec;

enum log_record {
        LOG_RECORD_TEXT = 1,
        LOG_RECORD_JOURNAL,
        LOG_RECORD_FILE,
};

#define LOG_RECORD_HEAD 5

/* The most pieces of text written with one writev (Linux's IOV_MAX). */
#define LOG_SINK_IOV 1024

/* The most fields a journal entry has: the writer keeps no more, and the
 * sink sends no more of an entry (the rest skipped). */
#define LOG_JOURNAL_FIELDS_MAX 16

struct log_sink {
        bool to_stderr;    /* the text to stderr too (not when the journal has it) */
        int fd;            /* the log file, or -1 */
        char path[4096];   /* its name, for the lines about it */
        bool write_failed; /* told once, until a write works again */
        bool cut;          /* the file ends in the middle of a line (a failed write) */
        /* sd_journal_sendv, or a test's stand-in */
        int (*journal_sendv)(const struct iovec *iov, int n);
};

void log_sink_init(struct log_sink *s, bool to_stderr);

/* One record's header in head; returns LOG_RECORD_HEAD. */
size_t log_record_head(char head[static LOG_RECORD_HEAD], enum log_record kind, size_t len);

/* Does what one record says. */
void log_sink_record(struct log_sink *s, enum log_record kind, const char *payload, size_t len);

/* Every record in buf (a worker_consume_fn; arg is the sink). */
void log_sink_consume(void *arg, const char *buf, size_t len);

/* Closes the log file. */
void log_sink_close(struct log_sink *s);

/* state-writer: keeps a state file (daemon/state.h) up to date without the
 * event loop ever waiting for the disk. The loop notes each client whose id
 * rose (its client id and new highest id) in a buffer of its own and hands
 * the notes over every STATE_WRITER_HANDOVER_US while there are any; a
 * worker thread (batch, nice 10, as the log's) appends them to the file and
 * fsyncs it. An append costs what the notes do, not what the table does, so
 * that a busy CPU delays it by a scheduling wait and not by a rewrite of
 * every client. Once the file holds more than twice the table and
 * STATE_WRITER_COMPACT_SLACK lines, the thread reads it back and rewrites
 * it whole (a temporary file, then rename); notes wait meanwhile: the one
 * wait longer than an append. At the end the loop writes the file from
 * its own table (state_writer_abandon first): the exit does not wait for a
 * thread the busy CPU holds back. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/state.h"
#include "daemon/worker.h"

/* The loop waits for the writer only when it has fallen this far behind. */
#define STATE_WRITER_MAX_PENDING (64u << 20)
/* Notes are handed over this long after the first of them at most. */
#define STATE_WRITER_HANDOVER_US 250000
/* Lines beyond twice the table before the file is rewritten whole. */
#define STATE_WRITER_COMPACT_SLACK 4096
/* At the end, how long an abandoned writer is waited for (it may be
 * rewriting the file, held back by a busy CPU) before it is left behind. */
#define STATE_WRITER_STOP_US 200000

struct state_writer;

/* Starts the writer for path (header: the first line of a new file),
 * keeping at most max clients; the file holds lines client lines now.
 * Returns 0 or a negative errno. */
int state_writer_new(struct state_writer **out, const char *path, const char *header, size_t max, size_t lines);

/* Notes a client whose id rose to highest. Loop side; cheap. */
int state_writer_note(struct state_writer *w, const char *id, size_t id_len, uint64_t highest);

/* A new maximum number of clients (a reload). */
int state_writer_set_max(struct state_writer *w, size_t max);

/* Asks for an append even with nothing new (after a failed one). */
int state_writer_retry(struct state_writer *w);

/* Hands the notes over. Returns 0 or a negative errno. */
int state_writer_submit(struct state_writer *w);

/* True while notes handed over are not yet applied and saved. */
bool state_writer_busy(struct state_writer *w);

/* Hands the notes over and waits until everything is saved (an append
 * that failed before is tried again). Returns the outcome of the last one. */
int state_writer_sync(struct state_writer *w);

/* How the saves went, for the loop to tell. */
struct state_writer_outcome {
        int last;          /* the last save's outcome: 0 or its negative errno */
        int last_error;    /* the last failure's negative errno */
        uint64_t saves;    /* saves tried so far: a new outcome when it moves */
        uint64_t failures; /* of which failed */
};

void state_writer_outcome(struct state_writer *w, struct state_writer_outcome *out);

/* From now on the writer leaves the file alone: the caller writes it (the
 * last save, from the loop's table). Waits only for an append or rename
 * under way, never for a rewrite. */
void state_writer_abandon(struct state_writer *w);

/* Hands the notes over and ends the thread: waits for the last save, or,
 * once abandoned, STATE_WRITER_STOP_US at most (then the thread is left to
 * end with the process, with what it holds). */
void state_writer_free(struct state_writer *w);

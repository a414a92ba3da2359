/* state-writer: keeps the replay state file up to date without the event
 * loop ever waiting for the disk. The loop notes each client it heard
 * (its id and highest handshake id answered) in a buffer of its own, a few
 * dozen bytes each, and hands the notes over about once a second; a worker
 * thread applies them to a mirror of the state (daemon/state.h) and, when
 * anything changed, rewrites the file from it (temporary file, fsync,
 * rename). Durable on SIGTERM as before: state_writer_free hands over the
 * rest and waits for the last save. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/state.h"
#include "daemon/worker.h"

/* The loop waits for the writer only when it has fallen this far behind. */
#define STATE_WRITER_MAX_PENDING (64u << 20)

struct state_writer;

/* Starts the writer for path, keeping at most max clients. Returns 0 or a
 * negative errno. */
int state_writer_new(struct state_writer **out, const char *path, size_t max);

/* Notes a client heard, answered up to highest. Loop side; cheap. */
int state_writer_note(struct state_writer *w, const char *id, size_t id_len, uint64_t highest);

/* What was noted so far is what the file already holds (the clients just
 * loaded from it): no reason to rewrite it. */
int state_writer_noted_from_file(struct state_writer *w);

/* A new maximum number of clients (a reload). */
int state_writer_set_max(struct state_writer *w, size_t max);

/* Asks for a save even if nothing changed (after a failed one). */
int state_writer_retry(struct state_writer *w);

/* Hands the notes over. Returns 0 or a negative errno. */
int state_writer_submit(struct state_writer *w);

/* True while notes handed over are not yet applied and saved. */
bool state_writer_busy(struct state_writer *w);

/* Hands the notes over and waits until everything is saved (a save that
 * failed before is tried again). Returns the outcome of the last save. */
int state_writer_sync(struct state_writer *w);

/* How the saves went, for the loop to tell. */
struct state_writer_outcome {
        int last;          /* the last save's outcome: 0 or its negative errno */
        int last_error;    /* the last failure's negative errno */
        uint64_t saves;    /* saves tried so far: a new outcome when it moves */
        uint64_t failures; /* of which failed */
};

void state_writer_outcome(struct state_writer *w, struct state_writer_outcome *out);

/* Hands the notes over, waits for the last save, ends the thread. */
void state_writer_free(struct state_writer *w);

/* state: the server's replay state on disk, so that a restart does not
 * reopen the door to replayed handshakes. One line per client, the one
 * heard from least recently first:
 *     1732673217 "home"
 * (the highest handshake id answered, then the id as a JSON string). Written
 * atomically: a temporary file, fsync, rename, fsync of the directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/peers.h"

#define STATE_FILE_NAME "replay.state"

struct state_report {
        size_t loaded;    /* clients read into the table */
        size_t bad_lines; /* lines that could not be read, skipped */
        size_t dropped;   /* clients beyond the table's maximum */
        bool kept_aside;  /* the damaged file was copied to aside */
        char aside[4096]; /* PATH.corrupt, or .corrupt.N when that one exists */
};

/* Reads the state into an empty table. Returns 0 (also for a missing file:
 * nothing loaded), or the negative errno of reading it (-FILEIO_ENOTREG:
 * not a regular file). A file with bad lines loads what it can and is
 * copied aside, durably, so no data is lost; the file itself is left as it
 * is, for state_save to replace with what was read (a last line without
 * its newline counts if it parses). */
int state_load(const char *path, struct peers *t, struct state_report *rep);

/* Writes the whole table. Returns 0 or a negative errno (the old file then
 * stays as it was). */
int state_save(const char *path, const struct peers *t);

/* state_save in a child process, so that the event loop goes on while the
 * file is written and synced: the child works on a copy-on-write snapshot
 * of the table. Returns the child's pid, or a negative errno. */
pid_t state_save_start(const char *path, const struct peers *t);

/* The outcome of a save started by state_save_start: 0, the save's negative
 * errno, or -EINPROGRESS while it runs (only when !wait). */
int state_save_finish(pid_t child, bool wait);

/* state: the server's replay state on disk, so that a restart does not
 * reopen the door to replayed handshakes. One line per client, the one
 * heard from least recently first:
 *     1732673217 "home"
 * (the highest handshake id answered, then the id as a JSON string). Written
 * atomically: a temporary file, fsync, rename, fsync of the directory, from
 * a mirror of the table's replay state that the state writer keeps off the
 * event loop (daemon/state-writer.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/peers.h"

#define STATE_FILE_NAME "replay.state"

struct state_report {
        size_t loaded;    /* clients read into the table */
        size_t bad_lines; /* lines that could not be read, skipped */
        size_t dropped;   /* clients beyond the table's maximum: the least recent */
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

/* The replay state as the writer keeps it: client id -> the highest
 * handshake id answered, least recently heard first. A jansson object, as
 * it keeps the order keys were set in: a hash map and a recency list. */
struct state_mirror {
        json_t *ids; /* id -> integer */
        size_t max;  /* clients kept at most (the server's max-clients) */
};

int state_mirror_init(struct state_mirror *m, size_t max);
void state_mirror_free(struct state_mirror *m);

/* Notes a client as just heard, answered up to highest: it becomes the
 * newest. A lower highest than the one held keeps the held one. Returns 1
 * when the state changed (a new client, a higher id), 0 when only the
 * order did, or -ENOMEM. */
int state_mirror_update(struct state_mirror *m, const char *id, size_t id_len, uint64_t highest);

/* Forgets the least recently heard clients beyond max; returns how many. */
size_t state_mirror_trim(struct state_mirror *m);

/* Writes the whole mirror. Returns 0 or a negative errno: the old file
 * then stays as it was, unless only the fsync of the directory after the
 * rename failed. */
int state_save(const char *path, const struct state_mirror *m);

/* state: the server's replay state on disk, so that a restart does not
 * reopen the door to replayed handshakes (replay.state) or probes
 * (probes.state, apart so that an older release, which reads only
 * replay.state, keeps every handshake id). One line per client:
 *     1732673217 "home"
 * (the highest id, then the client id as a JSON string); a later line is a
 * client heard more recently, and the highest of its lines counts. Two
 * ways of writing: the whole table atomically (a temporary file, fsync,
 * rename, fsync of the directory), or lines appended and fsynced, which
 * costs what they cost and not what the table does (daemon/state-writer.h
 * appends changes and rewrites the file now and then). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/peers.h"

#define STATE_FILE_NAME "replay.state"
#define STATE_PROBES_FILE_NAME "probes.state"
#define STATE_REPLAY_HEADER "# udp-canary replay state 1: highest handshake id answered, client id\n"
#define STATE_PROBES_HEADER "# udp-canary probe state 1: highest probe id accepted, client id\n"

struct state_report {
        size_t loaded;    /* clients read into the table */
        size_t lines;     /* client lines read, good or bad */
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

/* Changes the writer has yet to append: client id -> the highest id,
 * least recently changed first. A jansson object, as
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

/* Writes the table's clients with an id, oldest first, to the new file
 * tmp (fsynced); header is its first line. Returns 0 or a negative errno
 * (tmp removed). */
int state_write_tmp(const char *tmp, const char *header, const struct peers *t);

/* Renames tmp over path and fsyncs the directory. 0 or a negative errno. */
int state_commit(const char *tmp, const char *path);

/* The two: the whole table. Returns 0 or a negative errno: the old file
 * then stays as it was, unless only the fsync of the directory after the
 * rename failed. */
int state_save(const char *path, const char *header, const struct peers *t);

/* Appends the mirror's clients (a new file starts with header; a last
 * line cut short by a failed append is ended first) and fsyncs. Returns 0
 * or a negative errno: some of the lines may then be in the file. */
int state_append(const char *path, const char *header, const struct state_mirror *m);

/* server-daemon: the server process: one UDP socket on the event loop
 * around the server state machine. */
#pragma once

#include "config.h"
#include "seal.h"

struct server_daemon;

/* Sets the daemon up: resolves, opens and binds the socket, prepares the event
 * loop, logs nothing yet. Returns 0, or the exit status to leave with after
 * one line on stderr: 2 when the host does not resolve, 1 when the system
 * refuses. */
int server_daemon_new(struct server_daemon **out, const struct config *cfg, const struct seal_key *key);

/* Runs until SIGINT or SIGTERM; returns the exit status (0 after a signal). */
int server_daemon_run(struct server_daemon *d);

void server_daemon_free(struct server_daemon *d);

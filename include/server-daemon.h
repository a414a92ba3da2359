/* server-daemon: the server process: one UDP socket on the event loop
 * around the server state machine. */
#pragma once

#include "config.h"
#include "seal.h"

/* Runs until SIGINT or SIGTERM. Returns the exit status: 0 after a signal,
 * 1 when the socket cannot be bound or the loop cannot run, 2 when the
 * bind address does not resolve. */
int server_daemon_run(const struct config *cfg, const struct seal_key *key);

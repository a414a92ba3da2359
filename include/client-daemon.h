/* client-daemon: the client process: a UDP socket towards the server and a
 * timer, both on the event loop, around the client state machine. */
#pragma once

#include "config.h"
#include "seal.h"

/* Runs until SIGINT or SIGTERM. Returns the exit status: 0 after a signal,
 * 1 when the loop cannot run, 2 when the host does not resolve. */
int client_daemon_run(const struct config *cfg, const struct seal_key *key);

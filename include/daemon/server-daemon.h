/* server-daemon: the server process: one UDP socket on the event loop
 * around the server state machine. */
#pragma once

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "core/seal.h"

struct server_daemon;

/* Sets the daemon up: resolves, opens and binds the socket, prepares the
 * event loop; logs nothing yet. Returns 0, or after one line on stderr
 * -EINVAL when the address does not resolve, or the system's negative errno
 * (-EADDRINUSE: the port is taken). */
int server_daemon_new(struct server_daemon **out, const struct config *cfg, const struct seal_key *key);

struct daemon *server_daemon_base(struct server_daemon *d);

/* Runs until SIGINT or SIGTERM; returns the exit status (0 after a signal). */
int server_daemon_run(struct server_daemon *d);

/* Takes new settings (on reload). The address and port stay as they are
 * (a new one is logged as needing a restart). */
int server_daemon_reconfigure(struct server_daemon *d, const struct config *cfg);

void server_daemon_free(struct server_daemon *d);

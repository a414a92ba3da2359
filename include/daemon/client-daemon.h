/* client-daemon: the client process: a UDP socket towards the server and a
 * timer, both on the event loop, around the client state machine. */
#pragma once

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "core/seal.h"

struct client_daemon;

/* Sets the daemon up: resolves the server, opens the socket, prepares the
 * event loop; logs nothing yet. Returns 0, or after one line on stderr
 * -EINVAL when the host is an address that cannot be used (a name that does
 * not resolve yet is looked up again once running), or the system's
 * negative errno. */
int client_daemon_new(struct client_daemon **out, const struct config *cfg, const struct seal_key *key);

/* The shared daemon part, to hook a reload callback on. */
struct daemon *client_daemon_base(struct client_daemon *d);

/* Runs until SIGINT or SIGTERM; returns the exit status (0 after a signal). */
int client_daemon_run(struct client_daemon *d);

/* Takes new settings (on reload): id, timers, server. Returns 0, or
 * -EADDRNOTAVAIL when the new host is an address that does not resolve, or
 * -ENOMEM, both logged: the new id and timers apply all the same, and the
 * client keeps sending to the old server. */
int client_daemon_reconfigure(struct client_daemon *d, const struct config *cfg);

void client_daemon_free(struct client_daemon *d);

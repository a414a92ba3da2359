/* server-probe-hooks: the server's hooks into core/probe-server, apart from server.c
 * so that the protocol proper stays as it was. Private to the core. */
#pragma once

#include "core/server.h"

/* The probes' table, with the server's limits; 0 or -ENOMEM. */
int server_probes_init(struct server *s);

/* An authentic probe (see probes_receive), counted in the server's stats. */
void server_probe_receive(struct server *s, uint64_t now_us, const struct addr *from, const struct message *m,
                          struct actions *out);

/* The server's new config applied to the probes. */
void server_probes_reconfigure(struct server *s);

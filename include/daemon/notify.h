/* notify: telling systemd how the service is doing (sd_notify): ready,
 * reloading, stopping, a one-line status, watchdog pings. Every call is a
 * no-op when the process is not run by systemd (no $NOTIFY_SOCKET). */
#pragma once

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);

/* Sends STATUS=text. */
void notify_status(const char *text);

/* The watchdog interval systemd asks for, in microseconds; 0: none. */
uint64_t notify_watchdog_usec(void);

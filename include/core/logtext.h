/* logtext: the texts of the log that the report reads back (the stamp,
 * every event's line, the fixed texts below), made here and nowhere else,
 * so that the writer (daemon/log) and the reader (report/logline) agree by
 * construction; the daemon's other lines (errors, reloads, the state file)
 * are written where they happen, with log_printf. A line is
 *   [2024-11-27 13:06:56.795 udp-canary INFO] RX 127.0.0.1:46668 {'id': ...}
 * the original's format: a local-time stamp with milliseconds, the program
 * name, the level, then the body. Packet lines are the original's byte for
 * byte; the other lines are ours. No I/O. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/actions.h"
#include "core/message.h"

enum log_level {
        LOG_LEVEL_INFO,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_ERROR,
        LOG_LEVEL_COUNT,
};

extern const char *const logtext_level_names[LOG_LEVEL_COUNT];

/* The longest body a line can have (two message texts and some words). */
#define LOG_LINE_MAX (2 * MESSAGE_TEXT_MAX + 256)

/* The program name in every stamp, and the journal's SYSLOG_IDENTIFIER. */
#define LOGTEXT_IDENT "udp-canary"

/* The log file both ends append to by default (the original's), and the
 * one the report reads when given none. */
#define LOGTEXT_DEFAULT_FILE "udp-canary.log"

/* Fixed texts the report recognises. */
#define LOGTEXT_INVALID "[InvalidMessage]"         /* after "RX ADDR " */
#define LOGTEXT_INVALID_MORE " more invalid datagrams from " /* "N more ... from ADDR in the last second" */
#define LOGTEXT_LISTENING "Listening on "          /* a server started: "Listening on ADDR" */
#define LOGTEXT_CLIENT_START "Client "             /* "Client 'ID' sending to ADDR" */
#define LOGTEXT_CLIENT_SENDING " sending to "
#define LOGTEXT_EXIT "Exit"                        /* a clean stop */
#define LOGTEXT_RELOADED "Reloaded"
#define LOGTEXT_FINGERPRINT "Key fingerprint "   /* the key's public name (core/fingerprint) */
/* A client's background NAT timeout probe (--probe-every): this, then the
 * probe's verdict. */
#define LOGTEXT_NAT_TIMEOUT "NAT idle timeout probe: "
/* A client's server name resolved to another address than the one in
 * use (at a reload, or a lookup after unanswered handshakes):
 * LOGTEXT_SERVER_MOVED "NAME now resolves to ADDR, was ADDR". The report
 * does not read it: the addresses of the packet lines say the same. */
#define LOGTEXT_SERVER_MOVED "Server moved: "

/* What a server logs after the count of datagrams the kernel dropped at
 * its full socket. */
#define LOGTEXT_DROPS \
        " datagrams dropped here, the receive buffer full: the server did not keep up (not network loss)"

/* What an output that stalled (stderr, the journal, the file) gets once it
 * moves again, after the count of lines it lost: "N" LOGTEXT_LINES_LOST
 * "stderr did not take them in time". What happened between the line
 * before and this one is unknown from this output. */
#define LOGTEXT_LINES_LOST " log lines lost before this one: "

/* "[STAMP.mmm udp-canary LEVEL] " from a "YYYY-mm-dd HH:MM:SS" stamp and
 * the milliseconds. Returns the length, or -ENOBUFS. */
ssize_t logtext_format_prefix(const char *stamp, long ms, enum log_level level, char *buf, size_t cap);

/* The body of the line that says n lines were lost on output (its level is
 * WARNING). Returns the length, or -ENOBUFS. */
ssize_t logtext_format_lines_lost(uint64_t n, const char *output, char *buf, size_t cap);

/* The body of the line that says the server's name now resolves to `to`
 * rather than `from`. Returns the length, or
 * -ENOBUFS. */
ssize_t logtext_format_server_moved(const char *host, const struct addr *from, const struct addr *to, char *buf,
                                    size_t cap);

/* The body of one event's line, and its level. Returns the length, or
 * -ENOBUFS. */
ssize_t logtext_format_event(const struct core_event *ev, char *buf, size_t cap, enum log_level *level);

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

#include <stdbool.h>
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

/* A client's trace of its path (core/trace), one line per trace:
 *   Trace to 203.0.113.9:43210 after handshake 1732673225: 1 100.64.0.1,
 *   2 *, 3 *, 4 *; last hop that answered: 1 100.64.0.1, a carrier NAT
 *   (RFC 6598 shared address)
 * (one line): each TTL tried, with the address that answered it or "*".
 * A "*" may be a router that limits its ICMP rate, so the line never says
 * more than "last hop that answered"; "no hop answered" when none did. */
#define LOGTEXT_TRACE "Trace to "
#define LOGTEXT_TRACE_AFTER " after handshake "
#define LOGTEXT_TRACE_LAST "; last hop that answered: "
#define LOGTEXT_TRACE_NONE "; no hop answered"
#define LOGTEXT_TRACE_CGNAT ", a carrier NAT (RFC 6598 shared address)"
#define LOGTEXT_TRACE_HOPS_MAX 32

struct logtext_trace {
        struct addr to;         /* where the copies went: the server, with its port */
        uint64_t handshake;     /* the unanswered handshake traced after */
        unsigned n_hops;        /* TTLs tried: 1 to n_hops */
        struct addr hop[LOGTEXT_TRACE_HOPS_MAX]; /* who answered TTL i + 1 (port 0); AF_UNSPEC: nobody */
};

/* The TTL of the last hop that answered (1-based), or 0 when none did. */
unsigned logtext_trace_last(const struct logtext_trace *t);

/* True for an IPv4 address in 100.64.0.0/10, the space RFC 6598 sets aside
 * for carrier-grade NATs (an IPv4-mapped IPv6 one too). */
bool logtext_shared_space(const struct addr *a);

/* A hop's address as the line writes it: no port (an IPv4-mapped one as
 * IPv4), or "*" for AF_UNSPEC. */
const char *logtext_hop_text(const struct addr *a, char buf[static INET6_ADDRSTRLEN]);

/* The body of a trace's line (its level is WARNING). Returns the length,
 * or -ENOBUFS. */
ssize_t logtext_format_trace(const struct logtext_trace *t, char *buf, size_t cap);

/* Reads a trace's line body back, exactly as logtext_format_trace writes
 * it. Returns 0, or -EINVAL for any other text. */
int logtext_parse_trace(struct logtext_trace *t, const char *body, size_t len);

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

/* logline: reading a log line back: ours and the original's share the
 * format, so a user's existing history can be analysed.
 *   [2024-11-27 13:06:56.795 udp-canary INFO] RX 127.0.0.1:46668 {'id': ...}
 * Journal entries carry the same text (the part after "] ") as MESSAGE. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/logtext.h"
#include "core/message.h"

enum logline_kind {
        LOGLINE_OTHER,        /* a line of ours with no part in the report */
        LOGLINE_TX,
        LOGLINE_RX,
        LOGLINE_INVALID,      /* RX ... [InvalidMessage] */
        LOGLINE_LISTENING,    /* a server started */
        LOGLINE_CLIENT_START, /* a client started (ours only) */
        LOGLINE_EXIT,
        LOGLINE_SOCKET_DROPS, /* "N" LOGTEXT_DROPS: the server's own drops */
        LOGLINE_INVALID_MORE, /* "N" LOGTEXT_INVALID_MORE "...": invalid ones not logged one by one */
        LOGLINE_NAT_TIMEOUT,  /* LOGTEXT_NAT_TIMEOUT "verdict": a client's probe result */
        LOGLINE_LINES_LOST,   /* "N" LOGTEXT_LINES_LOST "...": the output lost lines before this one */
        LOGLINE_TRACE,        /* LOGTEXT_TRACE ...: where a client's dead flow stops (trace) */
};


struct logline {
        uint64_t t_us; /* wall clock, microseconds since the epoch */
        enum logline_kind kind;
        bool peer_is_server; /* the peer is "server": a client's line */
        struct addr peer;
        struct message msg; /* TX, RX */
        uint64_t dropped;   /* SOCKET_DROPS; INVALID_MORE; LINES_LOST: how many */
        const char *text;   /* NAT_TIMEOUT: the verdict, in the parsed line */
        size_t text_len;
        struct logtext_trace trace; /* TRACE: its hops, as logtext_parse_trace reads them */
};

/* The local time of the last minute seen, so that a log's lines need not go
 * through strptime() and mktime() each: within one minute a stamp is the
 * minute's start plus its seconds (no time zone changes inside a minute). */
struct logline_clock {
        char minute[16]; /* "YYYY-MM-DD HH:MM" */
        uint64_t minute_us;
        bool valid;
};

/* Parses a whole line (no newline). Returns 0, or -EINVAL when it is not a
 * line of this format. */
int logline_parse(struct logline *l, const char *line, size_t len);

/* The same, with a clock kept between the lines of a run (zeroed at first). */
int logline_parse_with(struct logline *l, struct logline_clock *clock, const char *line, size_t len);

/* Parses the text after the stamp (a journal MESSAGE); t_us is left alone. */
int logline_parse_body(struct logline *l, const char *body, size_t len);

/* "YYYY-MM-DD HH:MM:SS[.mmm]" in local time, to microseconds since the epoch. */
int logline_parse_time(const char *s, size_t len, uint64_t *t_us);

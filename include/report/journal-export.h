/* journal-export: the journal's export format (`journalctl -o export`) read
 * back, so that a journal brought over from another machine as a file is a
 * log like the local journal. A push parser with no I/O: fed the bytes as
 * they come (a file, gzip's output, a fuzzer), it keeps of each entry only
 * the fields the report reads, each bounded, and counts what it cannot read.
 *
 * The format: entries separated by an empty line; each field a line
 * "NAME=value", or, when the value is binary, "NAME\n", its length as 64-bit
 * little-endian, the bytes, "\n". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/message.h"

#define JEXPORT_NAME_MAX 64    /* journald's own bound on a field name */
#define JEXPORT_FIELDS_MAX 4096 /* fields in an entry: more, and it is broken */
/* A longer binary field is taken for a broken length, not skipped over:
 * skipping would swallow the entries after it. */
#define JEXPORT_DATA_MAX (64u << 20)
#define JEXPORT_MESSAGE_MAX (MESSAGE_TEXT_MAX + 256) /* as a log line the report reads */
#define JEXPORT_SMALL_MAX 128   /* the other fields kept */

/* The fields kept (the first of each name in an entry). */
enum jexport_field {
        JEXPORT_MESSAGE,
        JEXPORT_REALTIME,   /* __REALTIME_TIMESTAMP */
        JEXPORT_IDENTIFIER, /* SYSLOG_IDENTIFIER */
        JEXPORT_UNIT,       /* _SYSTEMD_UNIT */
        JEXPORT_PID,        /* _PID */
        JEXPORT_MACHINE,    /* _MACHINE_ID */
        JEXPORT_FIELDS,
};

struct jexport_value {
        char *data;     /* storage in the parser, cap bytes */
        size_t cap, len;
        bool set;       /* the field is in the entry */
        bool too_long;  /* longer than cap: data holds its start only */
};

enum jexport_state { JEXPORT_NAME, JEXPORT_TEXT, JEXPORT_SIZE, JEXPORT_DATA, JEXPORT_DATA_END, JEXPORT_RESYNC };

/* Holds pointers into itself: set up by jexport_init, never copied. */
struct jexport {
        struct jexport_value v[JEXPORT_FIELDS]; /* the entry being read */
        size_t n_fields;
        uint64_t entries; /* complete entries handed on */
        uint64_t broken;  /* entries cut short or malformed, not handed on */

        enum jexport_state state;
        char name[JEXPORT_NAME_MAX];
        size_t name_len;
        struct jexport_value *cur; /* where the field's value goes; NULL: dropped */
        unsigned char size[8];
        size_t size_len;
        uint64_t remaining;
        bool newline; /* RESYNC: the last byte was a newline */
        char message[JEXPORT_MESSAGE_MAX];
        char small[JEXPORT_FIELDS - 1][JEXPORT_SMALL_MAX];
};

/* Called with the parser when an entry is complete (its fields in p->v);
 * a negative return stops the parsing and is returned. */
typedef int (*jexport_entry_fn)(void *ctx, const struct jexport *p);

void jexport_init(struct jexport *p);

/* Parses len more bytes. Returns 0, or the callback's negative value. */
int jexport_feed(struct jexport *p, const char *data, size_t len, jexport_entry_fn fn, void *ctx);

/* The input has ended: an entry whose last field ended with its newline is
 * whole (the empty line after it only separates); one cut inside a field is
 * counted broken. Returns 0, or the callback's negative value. */
int jexport_finish(struct jexport *p, jexport_entry_fn fn, void *ctx);

/* Whether a line (no newline) can begin an export: a field name as journald
 * allows them, then '=' or the end of the line (a binary field). */
bool jexport_starts(const char *line, size_t len);

/* The entry's __REALTIME_TIMESTAMP, microseconds; -EINVAL when missing or
 * not a number that fits. */
int jexport_realtime(const struct jexport *p, uint64_t *t_us);

/* Whether a kept field is set, whole, and equal to text. */
bool jexport_is(const struct jexport *p, enum jexport_field f, const char *text);

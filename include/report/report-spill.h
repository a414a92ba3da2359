/* report-spill: where `udp-canary report` keeps the clients' packets
 * between reading the logs and working each client out, so that only one
 * group of clients' packets is in memory at a time (timeline_finish_each):
 * per client, in chunks written to an unlinked temporary file ($TMPDIR, else
 * /tmp) as they fill, or kept in memory when no such file can be written. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "report/timeline.h"

struct report_spill_client;

/* Packets per chunk of a client in the file (128 KiB): the index of the
 * chunks, 32 bytes each, is what grows with the logs (a year of 10
 * clients: 320 KB), against the packets not yet written, one chunk a
 * client at most. */
#define REPORT_SPILL_CHUNK 4096

struct report_spill {
        struct report_spill_client *v; /* by client index */
        size_t n, cap;
        int fd;             /* -1 until the first chunk is written */
        uint64_t size;      /* of the file */
        uint64_t held;      /* packets in memory, not yet written */
        int no_file;        /* a file could not be made or written: all in memory */
        struct timeline_packet *scratch; /* one chunk read back */
        int keep;           /* load keeps the packets too, for a second pass */
        uint32_t chunk;     /* packets per chunk: REPORT_SPILL_CHUNK (a test's fewer, for more of them) */
};

void report_spill_init(struct report_spill *s);
void report_spill_free(struct report_spill *s);

/* Keeps a packet of a client (indices from 0, each new one the next).
 * Returns 0, -ENOMEM, or -EINVAL for an index out of order. */
int report_spill_put(struct report_spill *s, size_t client, const struct timeline_packet *p);

/* Gives the packets of clients [lo, hi) back to tl (timeline_put), in the
 * order they were put, and lets them go here unless keep is set. Returns 0, -ENOMEM, or the
 * file's -errno. */
int report_spill_load(struct report_spill *s, struct timeline *tl, size_t lo, size_t hi);

/* Gives back to tl (timeline_put) the packets of client i that are within
 * their log's span, by_log[log] = [start_us, end_us) on the log's own clock
 * (before any offset; logs past n_logs: none), in the order they were put;
 * they stay here, to be loaded again for another span. Only the chunks
 * that may hold some are read (each records its log, unless it mixes
 * logs, and the span of its times): a span of a long log costs what it
 * holds, not the whole log. Room for them is taken at once
 * (timeline_reserve), not for all the client's packets. Returns 0,
 * -ENOMEM, -EINVAL for no such client, or the file's -errno. */
int report_spill_load_span(struct report_spill *s, struct timeline *tl, size_t i, const struct timeline_span *by_log,
                           size_t n_logs);

/* An unlinked file in $TMPDIR (else /tmp), open to read and write, gone
 * when we are: its descriptor, or a negative errno. */
int report_spill_file(void);

/* report-journal: journals as `udp-canary report` reads them: this
 * machine's, another machine's journal files (a directory, or files), and
 * exports (`journalctl -o export`) brought over as a file. Of each entry with
 * SYSLOG_IDENTIFIER=udp-canary it takes MESSAGE as the text after a log
 * line's stamp and the entry's realtime as its time; each unit (else each
 * process) of each machine in one input is a log of its own. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "report/logline.h"

/* Where the entries go: the report's filters and reconstruction. */
struct report_journal_sink {
        int (*take)(void *ctx, unsigned log, const struct logline *l); /* 0, or a negative errno: stop */
        void *ctx;
        unsigned *next_log;          /* the next free log number: each source takes one */
        uint64_t *skipped;           /* entries of ours not understood, counted here */
        uint64_t since_us, until_us; /* a journal seeks to since and stops past until */
};

/* The local journal (no dir, no globs), a directory's journal files (as
 * `journalctl -D`), or the files the globs match (as `journalctl --file`;
 * one journal of them all). Returns 0 or a negative errno. */
int report_journal_read(const struct report_journal_sink *s, const char *dir, const char *const *globs,
                        size_t n_globs);

/* The rest of a stream whose first line (no newline) began an export (see
 * jexport_starts): the bytes already read past that line (held), then what
 * is left in f. Returns 0 or a negative errno. */
int report_journal_read_export(const struct report_journal_sink *s, FILE *f, const char *first, size_t len,
                               const char *held, size_t n_held);

/* report-cmd: `udp-canary report`, the shell around the timeline: options,
 * reading files (plain or gzip-compressed, through `gzip -dc`; log lines, or
 * a journal export told apart by its first line) line by line (report-lines)
 * with a bound on the line length, or journals (report-journal.c: the
 * journal, directories, files, and a journal file given as a FILE), each
 * file once however often it is named, the packets put aside
 * (report-spill), all clients worked out, then each client's report written
 * with its packets given back (a large client's a week at a time), so that
 * memory follows one group of clients or one week, not the logs (see
 * timeline-internal.h). Each file is its own log: its
 * role and clock are its own. */
#include "report/report-cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/duration.h"
#include "core/logtext.h"
#include "report/journal-export.h"
#include "report/report-html-rtt.h"
#include "report/report-journal.h"
#include "report/report-lines.h"
#include "report/report-spill.h"
#include "report/report.h"

/* Longer lines are no log line of ours: skipped without being held. */
#define REPORT_LINE_MAX (MESSAGE_TEXT_MAX + 256)

extern char **environ;

static const char usage[] =
        "usage: udp-canary report [--json] [--svg FILE|-] [--html FILE|-] [--id ID] [--since T] [--until T]\n"
        "                         [--keepalive-interval S] [--handshake-timeout S] [--keepalive-count N]\n"
        "                         [--journal] [--journal-dir DIR] [--journal-file FILE] [FILE...]\n"
        "\n"
        "Reads udp-canary logs (this program's or the original udp-canary.py's, or\n"
        "`journalctl -o export` output, plain or gzip-compressed, or journal files;\n"
        "each file once; default udp-canary.log) or journals (this machine's, or\n"
        "another's copied files), and tells per client when the flow broke, in which\n"
        "direction and for how long, with bounds; NAT rebindings; delivery per\n"
        "direction; round trips; a summary line per client.\n"
        "Give the client's and the server's logs together to match every message sent\n"
        "to its receipt (their clocks need not agree).\n"
        "  --json                 write JSON (version 2) instead of text\n"
        "  --svg FILE             also draw the timeline into FILE ('-': standard output)\n"
        "  --html FILE            also write the report as one self-contained page ('-': standard output)\n"
        "  --id ID                only this client (an error when it is not in the logs)\n"
        "  --journal              read the journal (SYSLOG_IDENTIFIER=udp-canary)\n"
        "  --journal-dir DIR, --journal-file FILE\n"
        "                         read journal files copied from another machine\n"
        "                         (FILE may be a glob: '*.journal'; both repeatable)\n"
        "  --since T, --until T   only lines in this period, 'YYYY-MM-DD[ HH:MM[:SS]]'\n"
        "  --keepalive-interval S, --handshake-timeout S, --keepalive-count N\n"
        "                         the clients' timers; by default learned from the logs\n";

#define REPORT_JOURNAL_PATHS 256

struct opts {
        bool help, json, journal;
        const char *svg, *html, *id;
        const char *jdirs[REPORT_JOURNAL_PATHS], *jfiles[REPORT_JOURNAL_PATHS];
        size_t n_jdirs, n_jfiles;
        uint64_t since_us, until_us;
        struct timeline_opts timers;
};

/* Packets of the clients worked out together: with the working copies
 * made from them (about three times their size), tens of megabytes. */
#define REPORT_GROUP_PACKETS ((uint64_t)1 << 18)
/* A client of more packets is worked out a week of its time at a time
 * (and a margin around it), not all at once. */
#define REPORT_WINDOW_US (7 * 86400 * (int64_t)1000000)

/* What one run holds: the timeline, the packets put aside until their
 * client is worked out, the writers, and what the shell counts. */
struct run {
        struct timeline tl;
        struct report_spill spill;
        struct report_input in;
        const struct opts *o;
        unsigned next_log;
        struct report_writer w;
        bool writing;   /* the text or JSON report goes out client by client */
        int write_error;
        struct report_html page; /* --html, client by client too */
        FILE *page_out;          /* NULL without --html */
        int page_error;
};

/* Says what is wrong with the command line; returns -EINVAL. */
static int fail(const char *what, const char *value)
{
        fprintf(stderr, "udp-canary report: %s%s%s\n", what, value ? " " : "", value ? value : "");
        return -EINVAL;
}

/* A time option: a full stamp, or without seconds, or a day. */
static int parse_when(const char *s, uint64_t *t_us)
{
        char buf[48];

        if (strlen(s) > 24)
                return -EINVAL;
        if (logline_parse_time(s, strlen(s), t_us) == 0)
                return 0;
        snprintf(buf, sizeof(buf), "%s:00", s);
        if (logline_parse_time(buf, strlen(buf), t_us) == 0)
                return 0;
        snprintf(buf, sizeof(buf), "%s 00:00:00", s);
        return logline_parse_time(buf, strlen(buf), t_us);
}


static int parse_opt(struct opts *o, int opt, char **argv)
{
        unsigned long count;
        char *end;

        switch (opt) {
        case 'j': o->json = true; return 0;
        case 's': o->svg = optarg; return 0;
        case 'H': o->html = optarg; return 0;
        case 'i': o->id = optarg; return 0;
        case 'J': o->journal = true; return 0;
        case 'D':
        case 'F':
                if ((opt == 'D' ? o->n_jdirs : o->n_jfiles) == REPORT_JOURNAL_PATHS)
                        return fail("too many journal paths, past", argv[optind - 1]);
                if (opt == 'D')
                        o->jdirs[o->n_jdirs++] = optarg;
                else
                        o->jfiles[o->n_jfiles++] = optarg;
                return 0;
        case 'S':
        case 'U':
                if (parse_when(optarg, opt == 'S' ? &o->since_us : &o->until_us) < 0)
                        return fail("not a time (YYYY-MM-DD HH:MM[:SS]):", optarg);
                return 0;
        case 'k':
        case 't':
                if (duration_parse(optarg, opt == 'k' ? &o->timers.keepalive_us : &o->timers.handshake_timeout_us) < 0)
                        return fail("not a number of seconds from 0.001 to 86400:", optarg);
                return 0;
        case 'c':
                errno = 0;
                count = strtoul(optarg, &end, 10); /* checked before it is narrowed */
                if (*end || end == optarg || errno || count < 1 || count > TIMELINE_MAX_KEEPALIVE_COUNT)
                        return fail("--keepalive-count: not a whole number from 1 to 1000:", optarg);
                o->timers.keepalive_count = (unsigned)count;
                return 0;
        case 'h': o->help = true; return 0;
        case ':': return fail("this option needs a value:", argv[optind - 1]);
        default: return fail("unknown option:", argv[optind - 1]);
        }
}

/* Returns 0 (with o->help set for --help) or -EINVAL after saying what is
 * wrong. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
        static const struct option longopts[] = {
                { "json", no_argument, NULL, 'j' },
                { "svg", required_argument, NULL, 's' },
                { "html", required_argument, NULL, 'H' },
                { "id", required_argument, NULL, 'i' },
                { "journal", no_argument, NULL, 'J' },
                { "journal-dir", required_argument, NULL, 'D' },
                { "journal-file", required_argument, NULL, 'F' },
                { "since", required_argument, NULL, 'S' },
                { "until", required_argument, NULL, 'U' },
                { "keepalive-interval", required_argument, NULL, 'k' },
                { "handshake-timeout", required_argument, NULL, 't' },
                { "keepalive-count", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        int opt, k = 0;

        *o = (struct opts){ .until_us = UINT64_MAX };
        opterr = 0;
        optind = 1;
        while (k == 0 && !o->help && (opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
                k = parse_opt(o, opt, argv);
        return k;
}

/* A line into the timeline; its packet, if any, put aside. */
static int take_packet(struct run *r, unsigned log, const struct logline *l)
{
        struct timeline_packet p;
        size_t client;
        int k = timeline_add_out(&r->tl, log, l, &p, &client);

        return k <= 0 ? k : report_spill_put(&r->spill, client, &p);
}

/* One parsed line: kept when in the period and of the client asked for. */
static int take(struct run *r, unsigned log, const struct logline *l)
{
        const struct opts *o = r->o;

        if (l->t_us < o->since_us || l->t_us > o->until_us)
                return 0;
        if (o->id && (l->kind == LOGLINE_TX || l->kind == LOGLINE_RX) &&
            (l->msg.id_len != strlen(o->id) || memcmp(l->msg.id, o->id, l->msg.id_len) != 0))
                return 0;
        return take_packet(r, log, l);
}

static int take_entry(void *ctx, unsigned log, const struct logline *l)
{
        return take(ctx, log, l);
}

/* The journal reader's view of this run. */
static struct report_journal_sink sink(struct run *r)
{
        return (struct report_journal_sink){ .take = take_entry, .ctx = r, .next_log = &r->next_log,
                                             .skipped = &r->in.skipped, .since_us = r->o->since_us,
                                             .until_us = r->o->until_us };
}

static int read_stream(struct run *r, FILE *f, unsigned log)
{
        struct report_lines b;
        struct logline_clock clock = { .valid = false };
        const char *line;
        bool first = true;
        ssize_t n;
        int k = report_lines_init(&b, f, REPORT_LINE_MAX);

        while (k == 0 && (n = report_lines_next(&b, &line)) != -1) {
                struct logline l;

                if (first && n > 0 && jexport_starts(line, (size_t)n)) {
                        struct report_journal_sink s = sink(r);
                        const char *held;
                        size_t n_held = report_lines_held(&b, &held);

                        k = report_journal_read_export(&s, f, line, (size_t)n, held, n_held);
                        break;
                }
                first = false;
                if (n == 0)
                        continue;
                if (n < 0 || logline_parse_with(&l, &clock, line, (size_t)n) < 0)
                        r->in.skipped++;
                else
                        k = take(r, log, &l);
        }
        report_lines_free(&b);
        return k;
}

/* A compressed log through `gzip -dc` reading the open file: no zlib
 * needed, and a rotated log reads as it is. */
static int read_gzip(struct run *r, int file, unsigned log)
{
        char *const argv[] = { (char *)"gzip", (char *)"-dc", NULL };
        posix_spawn_file_actions_t fa;
        int fd[2], status = 0, k;
        pid_t pid = -1;
        FILE *f = NULL;

        if (pipe2(fd, O_CLOEXEC) < 0)
                return -errno;
        k = -posix_spawn_file_actions_init(&fa);
        if (k == 0) {
                k = -posix_spawn_file_actions_adddup2(&fa, file, STDIN_FILENO);
                k = k ? k : -posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
                k = k ? k : -posix_spawnp(&pid, "gzip", &fa, NULL, argv, environ);
                posix_spawn_file_actions_destroy(&fa);
        }
        close(fd[1]);
        if (k == 0 && !(f = fdopen(fd[0], "r")))
                k = -errno;
        if (k == 0)
                k = read_stream(r, f, log);
        if (f)
                fclose(f); /* closes fd[0]: a gzip still writing ends on SIGPIPE */
        else
                close(fd[0]);
        if (pid > 0 && (waitpid(pid, &status, 0) < 0 || (k == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))))
                k = k ? k : -EIO;
        return k;
}

/* Opens a log: non-blocking (a FIFO in its place must not hang us), and
 * only a regular file (-EISDIR for a directory, -EINVAL for the rest). */
static int open_log(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), k = 0;
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                k = -errno; /* st is not to be read then */
        else if (!S_ISREG(st.st_mode))
                k = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        if (k < 0) {
                close(fd);
                return k;
        }
        return fd;
}

/* A journal file's own magic (systemd's journal-def.h: "LPKSHHRH"). */
#define REPORT_JOURNAL_MAGIC "LPKSHHRH"

/* A path escaped so that glob(3) takes it as it is: a new string, or NULL. */
static char *glob_escaped(const char *path)
{
        size_t n = strlen(path), j = 0;
        char *escaped = malloc(2 * n + 1);

        if (!escaped)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (strchr("\\*?[", path[i]))
                        escaped[j++] = '\\';
                escaped[j++] = path[i];
        }
        escaped[j] = '\0';
        return escaped;
}

static int read_text(struct run *r, int fd)
{
        unsigned log = r->next_log++;
        unsigned char magic[2];
        FILE *f;
        int k;

        /* gzip's magic, whatever the name: rotated logs are not always .gz */
        if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
                k = read_gzip(r, fd, log);
                close(fd);
                return k;
        }
        f = fdopen(fd, "r");
        if (!f) {
                k = -errno;
                close(fd);
                return k;
        }
        k = read_stream(r, f, log);
        if (k == 0 && ferror(f))
                k = -EIO;
        fclose(f);
        return k;
}

/* The files read so far, so that one given twice (two names, a link) is
 * read once: counted twice, its every message would look sent twice; and
 * the journal files given as FILEs, read with --journal-file's as one
 * journal (each file once: report-journal.c), but not those of a
 * --journal-dir (dirs, their directories). */
struct inputs {
        struct stat *seen;
        size_t n_seen;
        const char **jglobs; /* --journal-file's, then the FILEs' (escaped, owned) */
        size_t n_jglobs, n_jopts;
        struct stat *dirs;
        size_t n_dirs;
};

static bool seen_before(struct inputs *in, const struct stat *st)
{
        for (size_t i = 0; i < in->n_seen; i++)
                if (in->seen[i].st_dev == st->st_dev && in->seen[i].st_ino == st->st_ino)
                        return true;
        in->seen[in->n_seen++] = *st;
        return false;
}

/* Whether a journal file is read with a --journal-dir already: in it, or
 * in a directory of it (a machine's, as /var/log/journal holds them). */
static bool in_journal_dir(const struct inputs *in, const char *path)
{
        char *dir = realpath(path, NULL);
        bool found = false;

        for (int up = 0; dir && up < 2 && !found; up++) {
                char *slash = strrchr(dir, '/');
                struct stat st;

                if (!slash)
                        break;
                *(slash == dir ? slash + 1 : slash) = '\0';
                for (size_t i = 0; i < in->n_dirs && !found && stat(dir, &st) == 0; i++)
                        found = in->dirs[i].st_dev == st.st_dev && in->dirs[i].st_ino == st.st_ino;
        }
        free(dir);
        return found;
}

static void read_once(const char *path)
{
        fprintf(stderr, "udp-canary report: %s was given already (under this name or another): read once\n", path);
}

/* A FILE: a log read now, or a journal file put with --journal-file's. */
static int read_file(struct run *r, const char *path, struct inputs *in)
{
        char magic[sizeof(REPORT_JOURNAL_MAGIC) - 1];
        int fd = open_log(path), k = 0;
        struct stat st;

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                k = -errno;
        else if (seen_before(in, &st))
                read_once(path);
        else if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
                 memcmp(magic, REPORT_JOURNAL_MAGIC, sizeof(magic)) != 0)
                return read_text(r, fd);
        else if (in_journal_dir(in, path))
                read_once(path);
        else if (!(in->jglobs[in->n_jglobs] = glob_escaped(path)))
                k = -ENOMEM;
        else
                in->n_jglobs++;
        close(fd);
        return k;
}

/* Says why an input cannot be read; returns k, the negative errno. */
static int cannot_read(int k, const char *what, const char *path, bool file)
{
        fprintf(stderr, "udp-canary report: cannot read %s%s%s: %s\n", what, path ? " " : "", path ? path : "",
                file && k == -EINVAL ? "not a regular file" : strerror(-k));
        return k;
}

static void inputs_free(struct inputs *in)
{
        for (size_t i = in->n_jopts; i < in->n_jglobs; i++)
                free((char *)in->jglobs[i]);
        free(in->jglobs);
        free(in->seen);
        free(in->dirs);
}

static int inputs_init(struct inputs *in, const struct opts *o, int n)
{
        *in = (struct inputs){ .n_jopts = o->n_jfiles, .n_jglobs = o->n_jfiles };
        in->seen = calloc((size_t)n + 1, sizeof(*in->seen));
        in->jglobs = calloc(o->n_jfiles + (size_t)n + 1, sizeof(*in->jglobs));
        in->dirs = calloc(o->n_jdirs + 1, sizeof(*in->dirs));
        if (!in->seen || !in->jglobs || !in->dirs)
                return -ENOMEM;
        memcpy(in->jglobs, o->jfiles, o->n_jfiles * sizeof(*in->jglobs));
        for (size_t i = 0; i < o->n_jdirs; i++)
                if (stat(o->jdirs[i], &in->dirs[in->n_dirs]) == 0)
                        in->n_dirs++;
        return 0;
}

static int read_inputs(struct run *r, int n, char **paths)
{
        static char *fallback[] = { LOGTEXT_DEFAULT_FILE };
        const struct opts *o = r->o;
        struct report_journal_sink s = sink(r);
        struct inputs in;
        int k;

        if (n == 0 && !o->journal && !o->n_jdirs && !o->n_jfiles) {
                n = 1;
                paths = fallback;
        }
        if ((k = inputs_init(&in, o, n)) < 0) {
                inputs_free(&in);
                return cannot_read(k, "the files", NULL, false);
        }
        if (o->journal && (k = report_journal_read(&s, NULL, NULL, 0)) < 0)
                cannot_read(k, "the journal", NULL, false);
        for (size_t i = 0; k == 0 && i < o->n_jdirs; i++)
                if ((k = report_journal_read(&s, o->jdirs[i], NULL, 0)) < 0)
                        cannot_read(k, "the journal in", o->jdirs[i], false);
        for (int i = 0; k == 0 && i < n; i++)
                if ((k = read_file(r, paths[i], &in)) < 0)
                        cannot_read(k, paths[i], NULL, true);
        if (k == 0 && in.n_jglobs && (k = report_journal_read(&s, NULL, in.jglobs, in.n_jglobs)) < 0)
                cannot_read(k, "the journal files", NULL, false);
        inputs_free(&in);
        return k < 0 ? k : 0;
}

/* Opens where --svg or --html writes ('-': standard output); NULL after
 * saying why not. */
static FILE *open_output(const char *path)
{
        FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");

        if (!f)
                fprintf(stderr, "udp-canary report: cannot write %s: %s\n", path, strerror(errno));
        return f;
}

/* Closes what open_output() opened, and says when writing it failed (k, or
 * the close). Returns 0 or a negative errno. */
static int close_output(const char *path, FILE *f, int k)
{
        if (f == stdout ? fflush(f) != 0 : fclose(f) != 0)
                k = k ? k : -EIO;
        if (k < 0)
                fprintf(stderr, "udp-canary report: cannot write %s: %s\n", path, strerror(-k));
        return k < 0 ? k : 0;
}

/* The picture, from what each client kept, once all are worked out. */
static int write_svg(const struct run *r, const char *path)
{
        FILE *f = open_output(path);
        int k;

        if (!f)
                return -EIO;
        k = report_write_svg(&r->tl, f);
        return close_output(path, f, k);
}

/* A group of clients' packets back from where they were put aside. */
static int load_group(void *ctx, struct timeline *tl, size_t lo, size_t hi)
{
        struct run *r = ctx;

        return report_spill_load(&r->spill, tl, lo, hi);
}

/* A span of a client's packets back from where they were put aside. */
static int load_span(void *ctx, struct timeline *tl, size_t i, const struct timeline_span *by_log, size_t n_logs)
{
        struct run *r = ctx;

        return report_spill_load_span(&r->spill, tl, i, by_log, n_logs);
}

/* Each client, once worked out: its part of the report and of the page,
 * right away, while its scan (what its findings read of its packets) is
 * made. */
static int write_client(void *ctx, const struct timeline *tl, const struct timeline_client *c)
{
        struct run *r = ctx;
        int k = r->writing ? report_client(&r->w, tl, c) : 0;

        if (k < 0)
                return r->write_error = k;
        if (r->page_out && (k = report_html_client(&r->page, tl, c)) < 0)
                r->page_error = k;
        return k;
}

/* Each client worked out and written: all worked out first, then written
 * in a second pass over their packets, since each outage says what the
 * other flows did then, and so that the first pass lets a client's packets
 * go as soon as they are split by end, or (a client over the group's
 * budget) holds only a window of them at a time; and in the second, what
 * the findings and the page read of a client's packets is made from them
 * given back, again a window at a time for a client over the budget. */
static int finish_each(struct run *r)
{
        const struct timeline_opts *t = &r->o->timers;
        int k;

        r->tl.rtt_column = r->o->html ? report_html_rtt_column : NULL; /* the page's chart, only with the page */
        r->spill.keep = 1;
        k = timeline_finish_windowed(&r->tl, t, REPORT_GROUP_PACKETS, load_group, load_span, REPORT_WINDOW_US, r);
        r->spill.keep = 0;
        return k < 0 ? k
                     : timeline_write_each(&r->tl, REPORT_GROUP_PACKETS, load_group, load_span, REPORT_WINDOW_US,
                                           write_client, r);
}

/* Starts the page (--html), its file open. Returns 0 or a negative errno. */
static int page_begin(struct run *r)
{
        int k;

        if (!r->o->html)
                return 0;
        r->page_out = open_output(r->o->html);
        if (!r->page_out)
                return -EIO;
        k = report_html_begin(&r->page, r->page_out);
        if (k < 0) {
                close_output(r->o->html, r->page_out, k);
                r->page_out = NULL;
        }
        return k;
}

/* Ends the page (all of it written when k is 0) and closes its file. */
static int page_end(struct run *r, int k)
{
        int e;

        if (!r->page_out)
                return k;
        if (k == 0)
                r->page_error = report_html_end(&r->page, &r->tl, &r->in);
        else
                report_html_free(&r->page);
        e = close_output(r->o->html, r->page_out, r->page_error);
        r->page_out = NULL;
        return k < 0 ? k : e;
}

/* Works the clients out group by group, writing each as it comes (the
 * report, the page); the picture after them all. */
static int finish_and_write(struct run *r)
{
        const struct opts *o = r->o;
        int k = page_begin(r);

        if (k < 0)
                return k;
        /* with --svg - or --html -, that alone goes to standard output */
        r->writing = (!o->svg || strcmp(o->svg, "-") != 0) && (!o->html || strcmp(o->html, "-") != 0);
        if (r->writing)
                k = r->write_error = report_begin(&r->w, &r->tl, &r->in, o->json, stdout);
        if (k == 0)
                k = finish_each(r);
        if (k == 0 && r->writing)
                k = r->write_error = report_end(&r->w);
        if (k == 0 && r->writing && fflush(stdout) != 0)
                k = r->write_error = -EIO;
        if (r->write_error)
                fprintf(stderr, "udp-canary report: cannot write the report\n");
        else if (k < 0 && !r->page_error)
                fprintf(stderr, "udp-canary report: %s\n", strerror(-k));
        k = page_end(r, k);
        return k == 0 && o->svg ? write_svg(r, o->svg) : k;
}

/* A client's arrays (its packets, their split, the messages' indices) are
 * large and go once it is worked out: with glibc's threshold fixed, they
 * are mapped and given back when freed, rather than, once one such was
 * freed, taken from the heap, where what they leave between smaller
 * allocations stays ours (40 MB over a year of one client). */
static void large_arrays_mapped(void)
{
#ifdef M_MMAP_THRESHOLD
        mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

/* With TZ unset, glibc looks at /etc/localtime again at every mktime (a
 * stamp's minute, tens of thousands of times a month of logs: 0.6 s of
 * system time); named as the zone, it is read once. The same zone: only
 * where that file is there, as without it glibc's zone is UTC either way. */
static void zone_read_once(void)
{
        if (!getenv("TZ") && access("/etc/localtime", R_OK) == 0)
                (void)setenv("TZ", ":/etc/localtime", 1);
}

int report_main(int argc, char **argv)
{
        struct opts o;
        struct run r = { .o = &o };
        int k, status = 0;

        zone_read_once();
        k = parse_opts(&o, argc, argv);

        if (k < 0)
                return 2;
        if (o.help) {
                fputs(usage, stdout);
                return fflush(stdout) == 0 ? 0 : 2;
        }
        large_arrays_mapped();
        timeline_init(&r.tl);
        report_spill_init(&r.spill);
        k = read_inputs(&r, argc - optind, argv + optind);
        if (k == 0 && o.id && r.tl.n_clients == 0) {
                fprintf(stderr, "udp-canary report: no client %s in the logs\n", o.id);
                status = 1;
        }
        if (k == 0 && status == 0)
                k = finish_and_write(&r);
        report_spill_free(&r.spill);
        timeline_free(&r.tl);
        return k < 0 ? 2 : status;
}

/* report-cmd: `udp-canary report`, the shell around the timeline: options,
 * reading files (plain or gzip-compressed, through `gzip -dc`) or the
 * journal line by line (report-lines) with a bound on the line length, the
 * packets put aside (report-spill), and each client's report written as
 * soon as it is worked out, so that memory follows one group of clients,
 * not the logs (see timeline-internal.h). Each file is its own log: its
 * role and clock are its own. */
#include "report/report-cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "core/duration.h"
#include "core/logtext.h"
#include "report/report-lines.h"
#include "report/report-spill.h"
#include "report/report.h"

/* Longer lines are no log line of ours: skipped without being held. */
#define REPORT_LINE_MAX (MESSAGE_TEXT_MAX + 256)

extern char **environ;

static const char usage[] =
        "usage: udp-canary report [--json] [--svg FILE|-] [--id ID] [--since T] [--until T]\n"
        "                         [--keepalive-interval S] [--handshake-timeout S] [--keepalive-count N]\n"
        "                         [FILE... | --journal]\n"
        "\n"
        "Reads udp-canary logs (this program's or the original udp-canary.py's, plain or\n"
        "gzip-compressed; default udp-canary.log) or the journal, and tells per client\n"
        "when the flow broke, in which direction and for how long, with bounds; NAT\n"
        "rebindings; delivery per direction; round trips; a summary line per client.\n"
        "Give the client's and the server's logs together to match every message sent\n"
        "to its receipt (their clocks need not agree).\n"
        "  --json                 write JSON (version 2) instead of text\n"
        "  --svg FILE             also draw the timeline into FILE ('-': standard output)\n"
        "  --id ID                only this client (an error when it is not in the logs)\n"
        "  --journal              read the journal (SYSLOG_IDENTIFIER=udp-canary)\n"
        "  --since T, --until T   only lines in this period, 'YYYY-MM-DD[ HH:MM[:SS]]'\n"
        "  --keepalive-interval S, --handshake-timeout S, --keepalive-count N\n"
        "                         the clients' timers; by default learned from the logs\n";

struct opts {
        bool json, journal;
        const char *svg, *id;
        uint64_t since_us, until_us;
        struct timeline_opts timers;
};

/* Packets of the clients worked out together: with the working copies
 * made from them (about three times their size), tens of megabytes. */
#define REPORT_GROUP_PACKETS ((uint64_t)1 << 18)

/* What one run holds: the timeline, the packets put aside until their
 * client is worked out, and what the shell counts. */
struct run {
        struct timeline tl;
        struct report_spill spill;
        struct report_input in;
        const struct opts *o;
        unsigned next_log;
        struct report_writer w;
        bool writing;   /* the text or JSON report goes out client by client */
        int write_error;
};

static int fail(const char *what, const char *value)
{
        fprintf(stderr, "udp-canary report: %s%s%s\n", what, value ? " " : "", value ? value : "");
        return 2;
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
        case 'i': o->id = optarg; return 0;
        case 'J': o->journal = true; return 0;
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
        case 'h':
                fputs(usage, stdout);
                exit(0);
        case ':': return fail("this option needs a value:", argv[optind - 1]);
        default: return fail("unknown option:", argv[optind - 1]);
        }
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
        static const struct option longopts[] = {
                { "json", no_argument, NULL, 'j' },
                { "svg", required_argument, NULL, 's' },
                { "id", required_argument, NULL, 'i' },
                { "journal", no_argument, NULL, 'J' },
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
        while (k == 0 && (opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
                k = parse_opt(o, opt, argv);
        if (k == 0 && o->journal && optind < argc)
                k = fail("give files or --journal, not both", NULL);
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

static int read_stream(struct run *r, FILE *f, unsigned log)
{
        struct report_lines b;
        struct logline_clock clock = { .valid = false };
        const char *line;
        ssize_t n;
        int k = report_lines_init(&b, f, REPORT_LINE_MAX);

        while (k == 0 && (n = report_lines_next(&b, &line)) != -1) {
                struct logline l;

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
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                int k = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;

                close(fd);
                return k;
        }
        return fd;
}

static int read_file(struct run *r, const char *path)
{
        unsigned log = r->next_log++;
        unsigned char magic[2];
        int fd = open_log(path), k;
        FILE *f;

        if (fd < 0)
                return fd;
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

#define JOURNAL_SOURCES 64

/* The journal holds a client's and a server's lines alike when both run on
 * one machine: each unit (else each process) is a log of its own. */
struct sources {
        char name[JOURNAL_SOURCES][128];
        unsigned n;
};

static unsigned journal_source(sd_journal *j, struct sources *src)
{
        const void *data;
        size_t len;
        char name[128];

        if (sd_journal_get_data(j, "_SYSTEMD_UNIT", &data, &len) < 0 && sd_journal_get_data(j, "_PID", &data, &len) < 0)
                return 0;
        snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) - 1 ? len : sizeof(name) - 1), (const char *)data);
        for (unsigned i = 0; i < src->n; i++)
                if (strcmp(src->name[i], name) == 0)
                        return i;
        if (src->n == JOURNAL_SOURCES)
                return 0;
        memcpy(src->name[src->n], name, sizeof(name));
        return src->n++;
}

/* The journal: its MESSAGE after "udp-canary ", one log per source. */
static int read_journal(struct run *r)
{
        struct sources src = { .n = 0 };
        const struct opts *o = r->o;
        sd_journal *j = NULL;
        int k = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);

        if (k < 0)
                return k;
        k = sd_journal_add_match(j, "SYSLOG_IDENTIFIER=udp-canary", 0);
        if (k >= 0)
                k = o->since_us ? sd_journal_seek_realtime_usec(j, o->since_us) : sd_journal_seek_head(j);
        while (k >= 0 && (k = sd_journal_next(j)) > 0) {
                const void *data;
                size_t len;
                struct logline l;

                if (sd_journal_get_realtime_usec(j, &l.t_us) < 0)
                        continue;
                if (l.t_us > o->until_us)
                        break;
                if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8 || len > REPORT_LINE_MAX ||
                    logline_parse_body(&l, (const char *)data + 8, len - 8) < 0)
                        r->in.skipped++;
                else if ((k = take(r, journal_source(j, &src), &l)) < 0)
                        break;
        }
        sd_journal_close(j);
        return k < 0 ? k : 0;
}

static int read_inputs(struct run *r, int n, char **paths)
{
        static char *fallback[] = { LOGTEXT_DEFAULT_FILE };
        int k;

        if (r->o->journal) {
                k = read_journal(r);
                if (k < 0)
                        fprintf(stderr, "udp-canary report: cannot read the journal: %s\n", strerror(-k));
                return k < 0 ? 2 : 0;
        }
        if (n == 0) {
                n = 1;
                paths = fallback;
        }
        for (int i = 0; i < n; i++) {
                k = read_file(r, paths[i]);
                if (k < 0) {
                        fprintf(stderr, "udp-canary report: cannot read %s: %s\n", paths[i],
                                k == -EINVAL ? "not a regular file" : strerror(-k));
                        return 2;
                }
        }
        return 0;
}

static int write_svg(const struct run *r, const char *path)
{
        bool to_stdout = strcmp(path, "-") == 0;
        FILE *f = to_stdout ? stdout : fopen(path, "we");
        int k;

        if (!f) {
                fprintf(stderr, "udp-canary report: cannot write %s: %s\n", path, strerror(errno));
                return 2;
        }
        k = report_write_svg(&r->tl, f);
        if (to_stdout ? fflush(f) != 0 : fclose(f) != 0)
                k = -EIO;
        if (k < 0)
                fprintf(stderr, "udp-canary report: cannot write %s: %s\n", path, strerror(-k));
        return k < 0 ? 2 : 0;
}

/* A group of clients' packets back from where they were put aside. */
static int load_group(void *ctx, struct timeline *tl, size_t lo, size_t hi)
{
        struct run *r = ctx;

        return report_spill_load(&r->spill, tl, lo, hi);
}

/* Each client, once worked out: its part of the report, right away. */
static int write_client(void *ctx, const struct timeline *tl, const struct timeline_client *c)
{
        struct run *r = ctx;
        int k = r->writing ? report_client(&r->w, tl, c) : 0;

        if (k < 0)
                r->write_error = k;
        return k;
}

/* Works the clients out group by group, writing each as it comes; the
 * picture (--svg) after them all, from what each client kept. */
static int finish_and_write(struct run *r)
{
        const struct opts *o = r->o;
        int k = 0;

        /* with --svg -, the picture alone goes to standard output */
        r->writing = !o->svg || strcmp(o->svg, "-") != 0;
        if (r->writing)
                k = report_begin(&r->w, &r->tl, &r->in, o->json, stdout);
        r->write_error = k;
        if (k == 0)
                k = timeline_finish_each(&r->tl, &o->timers, REPORT_GROUP_PACKETS, load_group, write_client, r);
        if (k == 0 && r->writing)
                k = r->write_error = report_end(&r->w);
        if (k == 0 && fflush(stdout) != 0)
                k = r->write_error = -EIO;
        if (k < 0 && r->write_error) {
                fprintf(stderr, "udp-canary report: cannot write the report\n");
                return 2;
        }
        if (k < 0) {
                fprintf(stderr, "udp-canary report: %s\n", strerror(-k));
                return 2;
        }
        return o->svg ? write_svg(r, o->svg) : 0;
}

int report_main(int argc, char **argv)
{
        struct opts o;
        struct run r = { .o = &o };
        int status = parse_opts(&o, argc, argv);

        if (status)
                return status;
        timeline_init(&r.tl);
        report_spill_init(&r.spill);
        status = read_inputs(&r, argc - optind, argv + optind);
        if (status == 0 && o.id && r.tl.n_clients == 0) {
                fprintf(stderr, "udp-canary report: no client %s in the logs\n", o.id);
                status = 1;
        }
        if (status == 0)
                status = finish_and_write(&r);
        report_spill_free(&r.spill);
        timeline_free(&r.tl);
        return status;
}

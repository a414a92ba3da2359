/* report-cmd: `udp-canary report` (see report-cmd.h). */
#include "report/report-cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-journal.h>

#include "daemon/config.h"
#include "report/report.h"

static const char usage[] =
        "usage: udp-canary report [--json] [--svg FILE] [--id ID] [--keepalive-interval S]\n"
        "                         [--keepalive-count N] [FILE... | --journal [--since T] [--until T]]\n"
        "\n"
        "Reads udp-canary logs (this program's or the original udp-canary.py's; default\n"
        "udp-canary.log) or the journal, and tells per client: the period, availability,\n"
        "outages and which side saw them, NAT rebindings, keepalive loss and duplicates,\n"
        "handshakes, round trips, invalid and replayed packets.\n"
        "  --json                 write JSON instead of text\n"
        "  --svg FILE             also draw the timeline into FILE\n"
        "  --id ID                only this client\n"
        "  --journal              read the journal (SYSLOG_IDENTIFIER=udp-canary)\n"
        "  --since T, --until T   journal period, 'YYYY-MM-DD HH:MM[:SS]'\n"
        "  --keepalive-interval S, --keepalive-count N   the clients' timers (silence is\n"
        "                         two intervals; default 26.625 s and 5)\n";

struct opts {
        bool json, journal;
        const char *svg, *id;
        uint64_t since_us, until_us;
        uint64_t keepalive_us;
        unsigned keepalive_count;
};

static int fail(const char *what, const char *value)
{
        fprintf(stderr, "udp-canary report: %s%s%s\n", what, value ? " " : "", value ? value : "");
        return 2;
}

/* A time option: a full stamp, or without seconds. */
static int parse_when(const char *s, uint64_t *t_us)
{
        char buf[32];

        if (logline_parse_time(s, strlen(s), t_us) == 0)
                return 0;
        snprintf(buf, sizeof(buf), "%s:00", s);
        if (logline_parse_time(buf, strlen(buf), t_us) == 0)
                return 0;
        snprintf(buf, sizeof(buf), "%s 00:00:00", s);
        return logline_parse_time(buf, strlen(buf), t_us);
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
        static const struct option longopts[] = {
                { "json", no_argument, NULL, 'j' },          { "svg", required_argument, NULL, 's' },
                { "id", required_argument, NULL, 'i' },      { "journal", no_argument, NULL, 'J' },
                { "since", required_argument, NULL, 'S' },   { "until", required_argument, NULL, 'U' },
                { "keepalive-interval", required_argument, NULL, 'k' },
                { "keepalive-count", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },          { 0 },
        };
        int opt;

        *o = (struct opts){ .keepalive_us = 26625000, .keepalive_count = 5, .until_us = UINT64_MAX };
        opterr = 0;
        optind = 1;
        while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
                char *end;
                double d;

                switch (opt) {
                case 'j': o->json = true; break;
                case 's': o->svg = optarg; break;
                case 'i': o->id = optarg; break;
                case 'J': o->journal = true; break;
                case 'S':
                case 'U':
                        if (parse_when(optarg, opt == 'S' ? &o->since_us : &o->until_us) < 0)
                                return fail("not a time (YYYY-MM-DD HH:MM[:SS]):", optarg);
                        break;
                case 'k':
                        d = strtod(optarg, &end);
                        if (*end || !(d >= 0.001 && d <= 86400))
                                return fail("--keepalive-interval: not a number of seconds:", optarg);
                        o->keepalive_us = (uint64_t)(d * 1e6);
                        break;
                case 'c':
                        o->keepalive_count = (unsigned)strtoul(optarg, &end, 10);
                        if (*end || o->keepalive_count < 1 || o->keepalive_count > 1000)
                                return fail("--keepalive-count: not a whole number from 1 to 1000:", optarg);
                        break;
                case 'h':
                        fputs(usage, stdout);
                        exit(0);
                case ':':
                        return fail("this option needs a value:", argv[optind - 1]);
                default:
                        return fail("unknown option:", argv[optind - 1]);
                }
        }
        if (o->journal && optind < argc)
                return fail("give files or --journal, not both", NULL);
        return 0;
}

/* The first stamp in a file, to put several files in time order. */
struct input {
        const char *path;
        uint64_t first_us;
};

static uint64_t first_stamp(const char *path)
{
        FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        uint64_t t = UINT64_MAX;
        struct logline l;

        while (f && t == UINT64_MAX && (n = getline(&line, &cap, f)) >= 0)
                if (n > 0 && logline_parse(&l, line, (size_t)(line[n - 1] == '\n' ? n - 1 : n)) == 0)
                        t = l.t_us;
        free(line);
        if (f)
                fclose(f);
        return t;
}

static int by_first(const void *a, const void *b)
{
        const struct input *x = a, *y = b;

        return x->first_us < y->first_us ? -1 : x->first_us > y->first_us;
}

static int read_file(struct report *r, const char *path)
{
        FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (!f)
                return -errno;
        while ((n = getline(&line, &cap, f)) >= 0) {
                struct logline l;
                size_t len = (size_t)n;

                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        len--;
                if (len == 0)
                        continue;
                if (logline_parse(&l, line, len) == 0)
                        report_line(r, &l);
                else
                        r->skipped++;
        }
        free(line);
        fclose(f);
        return 0;
}

static int read_journal(struct report *r, const struct opts *o)
{
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

                if (sd_journal_get_realtime_usec(j, &l.t_us) < 0 || l.t_us < o->since_us)
                        continue;
                if (l.t_us > o->until_us)
                        break;
                if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
                        continue;
                if (logline_parse_body(&l, (const char *)data + 8, len - 8) == 0)
                        report_line(r, &l);
                else
                        r->skipped++;
        }
        sd_journal_close(j);
        return k < 0 ? k : 0;
}

static int read_inputs(struct report *r, const struct opts *o, int n, char **paths)
{
        static char *fallback[] = { CONFIG_DEFAULT_LOG };
        struct input *in;
        int status = 0;

        if (o->journal) {
                int k = read_journal(r, o);

                if (k < 0)
                        fprintf(stderr, "udp-canary report: cannot read the journal: %s\n", strerror(-k));
                return k < 0 ? 1 : 0;
        }
        if (n == 0) {
                n = 1;
                paths = fallback;
        }
        in = calloc((size_t)n, sizeof(*in));
        if (!in)
                return 1;
        for (int i = 0; i < n; i++)
                in[i] = (struct input){ paths[i], first_stamp(paths[i]) };
        qsort(in, (size_t)n, sizeof(*in), by_first);
        for (int i = 0; i < n && status == 0; i++) {
                int k = read_file(r, in[i].path);

                if (k < 0) {
                        fprintf(stderr, "udp-canary report: cannot read %s: %s\n", in[i].path, strerror(-k));
                        status = 2;
                }
        }
        free(in);
        return status;
}

int report_main(int argc, char **argv)
{
        struct report r;
        struct opts o;
        int status = parse_opts(&o, argc, argv);

        if (status)
                return status;
        if (report_init(&r, o.keepalive_us, o.keepalive_count) < 0)
                return 1;
        r.id_filter = o.id;
        r.id_filter_len = o.id ? strlen(o.id) : 0;
        status = read_inputs(&r, &o, argc - optind, argv + optind);
        if (status == 0) {
                report_finish(&r);
                if (o.json)
                        report_write_json(&r, stdout);
                else
                        report_write_text(&r, stdout);
                if (o.svg) {
                        FILE *f = fopen(o.svg, "we");

                        if (!f) {
                                fprintf(stderr, "udp-canary report: cannot write %s: %s\n", o.svg, strerror(errno));
                                status = 2;
                        } else {
                                report_write_svg(&r, f);
                                if (fclose(f) != 0)
                                        status = 2;
                        }
                }
        }
        report_free(&r);
        return status;
}

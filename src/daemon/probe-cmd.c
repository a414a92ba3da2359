/* probe-cmd: `udp-canary probe` (see probe-cmd.h). The trial logic is the
 * core's (core/probe-client), its I/O the runner's
 * (daemon/probe-client-runner); this file reads the options and the key,
 * and writes. */
#include "daemon/probe-cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "core/duration.h"
#include "core/logtext.h"
#include "core/probe-client.h"
#include "core/seal.h"
#include "core/unicode.h"
#include "daemon/daemon.h"
#include "daemon/fileio.h"
#include "daemon/key.h"
#include "daemon/log.h"
#include "daemon/probe-client-runner.h"
#include "daemon/udp.h"

static const char usage[] =
        "usage: udp-canary probe --id ID --host HOST [--port PORT] (--key-file FILE | --key KEY)\n"
        "                        [--max-delay S] [--resolution S] [--time-bound S] [--json] [--log FILE]\n"
        "\n"
        "Measures how long the NAT in front of this machine keeps an idle UDP mapping,\n"
        "fresh (one packet out, then silence) and established (after exchanges both\n"
        "ways), by asking the server (udp-canary --server) to answer probes after a\n"
        "delay. Each trial uses a socket of its own, so a running client is untouched.\n"
        "  --id ID           the client id (probes count per id on the server)\n"
        "  --host HOST       the server; --port PORT its port (default 43210)\n"
        "  --key-file FILE   the key (or --key KEY)\n"
        "  --max-delay S     the longest idle tried (default 600)\n"
        "  --resolution S    narrow the bounds to S seconds or 10%, whichever is larger\n"
        "                    (default 5)\n"
        "  --time-bound S    no trial ends later than this after the start (default 900,\n"
        "                    at least 15)\n"
        "  --json            write the result as JSON\n"
        "  --log FILE        append every packet to FILE, as the daemons log them\n"
        "Exit status: 0 a verdict, 1 the system refused, 2 bad input, 3 no probe was\n"
        "answered (a server that does not answer probes, or nothing gets through).\n";

/* Shorter leaves no room for an established trial: its warm-up exchanges
 * (3 s), the wait for an answer (3 s), a delay. */
#define PROBE_MIN_TIME_BOUND_S 15

struct probe_opts {
        const char *id, *host, *key_file, *log;
        char *key; /* in argv: wiped once read, so that ps does not show it */
        long port;
        bool json, help;
        struct prober_config cfg;
};

/* One run of the command: the loop, the runner, what it writes. */
struct probe_run {
        const struct probe_opts *o;
        struct event_base *base;
        struct event *ticker;
        struct probe_runner *runner;
        struct seal_key *key;
        struct addr server;
        int log_fd;
        bool tty, over, answered;
        int err; /* the runner's: a socket not opened, a timer not armed */
};

static int parse_seconds(const char *v, uint64_t *s)
{
        uint64_t us;

        if (duration_parse(v, &us) < 0 || us < 1000000)
                return -EINVAL;
        *s = us / 1000000;
        return 0;
}

static const struct option longopts[] = {
        { "id", required_argument, NULL, 'i' },         { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },       { "key", required_argument, NULL, 'k' },
        { "key-file", required_argument, NULL, 'K' },   { "log", required_argument, NULL, 'l' },
        { "max-delay", required_argument, NULL, 'm' },  { "resolution", required_argument, NULL, 'r' },
        { "time-bound", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },             { 0 },
};

/* One option's value into o (bound_s: --time-bound). Returns 0 or -EINVAL. */
static int set_opt(struct probe_opts *o, int c, char *v, uint64_t *bound_s)
{
        char *end;

        switch (c) {
        case 'i':
                o->id = v;
                return 0;
        case 'H':
                o->host = v;
                return 0;
        case 'k':
                o->key = v;
                return 0;
        case 'K':
                o->key_file = v;
                return 0;
        case 'l':
                o->log = v;
                return 0;
        case 'j':
                o->json = true;
                return 0;
        case 'm':
                return parse_seconds(v, &o->cfg.max_delay_s);
        case 'r':
                return parse_seconds(v, &o->cfg.resolution_s);
        case 't':
                return parse_seconds(v, bound_s);
        case 'p':
                errno = 0;
                o->port = strtol(v, &end, 10);
                return errno || *end || o->port < 1 || o->port > 65535 ? -EINVAL : 0;
        default:
                return -EINVAL;
        }
}

/* Returns 0 (with o->help set after printing the usage for --help), or
 * -EINVAL after saying what is wrong. */
static int parse_opts(struct probe_opts *o, int argc, char **argv)
{
        uint64_t bound_s = PROBER_DEFAULT_TIME_BOUND_US / 1000000;
        int c, idx = -1;

        o->port = 43210;
        prober_config_default(&o->cfg);
        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
                if (c == 'h') {
                        fputs(usage, stdout);
                        o->help = true;
                        return 0;
                }
                if (c == '?' || c == ':') {
                        fprintf(stderr, "udp-canary probe: unknown option or missing value: '%s'\n%s",
                                argv[optind - 1], usage);
                        return -EINVAL;
                }
                if (set_opt(o, c, optarg, &bound_s) < 0) {
                        fprintf(stderr, "udp-canary probe: --%s: bad value '%s'\n", longopts[idx].name, optarg);
                        return -EINVAL;
                }
        }
        o->cfg.time_bound_us = bound_s * 1000000;
        if (bound_s < PROBE_MIN_TIME_BOUND_S) {
                fprintf(stderr, "udp-canary probe: --time-bound: at least %d s (an established trial's "
                                "exchanges and waits)\n", PROBE_MIN_TIME_BOUND_S);
                return -EINVAL;
        }
        if (optind < argc || !o->id || !o->host || (!o->key) == (!o->key_file)) {
                fprintf(stderr, "udp-canary probe: needs --id, --host and one of --key-file, --key\n%s", usage);
                return -EINVAL;
        }
        if (strlen(o->id) > MESSAGE_ID_MAX || !unicode_utf8_valid((const uint8_t *)o->id, strlen(o->id))) {
                fprintf(stderr, "udp-canary probe: --id: not UTF-8 text of up to %d bytes\n", MESSAGE_ID_MAX);
                return -EINVAL;
        }
        return 0;
}

/* A packet's line, as the daemons write it, appended to --log. */
static void log_packet(struct probe_run *run, enum event_kind kind, const struct message *m)
{
        char line[LOG_LINE_MAX + 64], body[LOG_LINE_MAX];
        struct core_event ev = { .kind = kind, .peer = run->server, .has_msg = true, .msg = *m };
        enum log_level level;
        struct timespec ts;
        ssize_t p, n;

        if (run->log_fd < 0)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        n = logtext_format_event(&ev, body, sizeof(body), &level);
        p = log_format_prefix(&ts, level, line, sizeof(line));
        if (n < 0 || p < 0 || (size_t)(p + n) + 1 > sizeof(line))
                return;
        memcpy(line + p, body, (size_t)n);
        line[p + n] = '\n';
        (void)fileio_write_all(run->log_fd, line, (size_t)(p + n) + 1);
}

static void on_packet(void *arg, enum event_kind kind, const struct message *m, const struct addr *peer)
{
        log_packet(arg, kind, m);
}

static void progress(struct probe_run *run, const struct prober *core)
{
        char line[256];

        if (!run->tty)
                return;
        prober_progress(core, daemon_now_us(), line, sizeof(line));
        fprintf(stderr, "\r\033[Kprobe: %s", line);
        fflush(stderr);
}

static void on_progress(void *arg, const struct prober *core)
{
        progress(arg, core);
}

static void on_done(void *arg, const struct prober *core, int err)
{
        struct probe_run *run = arg;

        run->over = true;
        run->err = err;
        event_base_loopbreak(run->base);
}

static const struct probe_runner_ops runner_ops = {
        .packet = on_packet,
        .progress = on_progress,
        .done = on_done,
};

/* Once a second on a terminal, so that the elapsed time moves. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
        struct probe_run *run = arg;

        if (run->runner)
                progress(run, probe_runner_core(run->runner));
}

static json_t *bracket_json(const struct prober_bracket *b)
{
        char text[64];

        prober_bracket_text(b, text, sizeof(text));
        return json_pack("{s:o, s:o, s:b, s:i, s:i, s:s}", "lower",
                         b->has_lower ? json_integer((json_int_t)b->lower_s) : json_null(), "upper",
                         b->has_upper ? json_integer((json_int_t)b->upper_s) : json_null(), "answered", b->answered,
                         "trials_answered", (json_int_t)b->answered_trials, "trials_silent",
                         (json_int_t)b->silent_trials, "text", text);
}

static int write_json(const struct prober *core, uint64_t elapsed_us, const char *verdict)
{
        uint64_t below = prober_keepalive_below_s(core);
        json_t *root = json_pack("{s:i, s:o, s:o, s:o, s:i, s:f, s:s, s:s}", "version", 1, "fresh",
                                 bracket_json(&core->kinds[PROBER_FRESH]), "established",
                                 bracket_json(&core->kinds[PROBER_ESTABLISHED]), "keepalive_below",
                                 below ? json_integer((json_int_t)below) : json_null(), "answers",
                                 (json_int_t)core->answers, "elapsed_seconds", (double)elapsed_us / 1e6,
                                 "verdict", verdict, "external_port",
                                 "seen by the server only: its log's RX lines of the probes");
        int r = root && json_dumpf(root, stdout, JSON_INDENT(2)) == 0 ? 0 : -ENOMEM;

        json_decref(root);
        if (r == 0)
                fputc('\n', stdout);
        return r;
}

/* The key from --key or --key-file, into sodium-locked memory. */
static int load_key(const struct probe_opts *o, struct seal_key **out)
{
        uint8_t key[KEY_LEN];
        int r = o->key ? key_decode(o->key, key) : key_read_file(o->key_file, true, key);

        if (o->key)
                sodium_memzero(o->key, strlen(o->key));

        if (r < 0) {
                fprintf(stderr, "udp-canary probe: %s: %s\n", o->key ? "--key" : o->key_file,
                        r == -EPERM ? "readable by group or others; make it private (chmod 600)"
                                    : r == -EINVAL || r == -EMSGSIZE ? "not a key" : strerror(-r));
                return r;
        }
        *out = sodium_malloc(sizeof(**out));
        r = *out ? seal_key_init(*out, key, AES128_IMPL_AUTO) : -ENOMEM;
        sodium_memzero(key, sizeof(key));
        return r;
}

/* Returns 0, or after saying why -EINVAL for bad input (the key, the
 * host) or the system's negative errno. */
static int setup(struct probe_run *run)
{
        char err[256];
        const struct probe_opts *o = run->o;

        if (load_key(o, &run->key) < 0)
                return -EINVAL;
        if (udp_resolve(o->host, (uint16_t)o->port, false, 0, &run->server, err, sizeof(err)) < 0) {
                fprintf(stderr, "udp-canary probe: --host %s: %s\n", o->host, err);
                return -EINVAL;
        }
        if (o->log) {
                run->log_fd = open(o->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
                if (run->log_fd < 0) {
                        fprintf(stderr, "udp-canary probe: cannot open %s: %s\n", o->log, strerror(errno));
                        return -EIO;
                }
        }
        run->base = event_base_new();
        run->ticker = run->base ? event_new(run->base, -1, EV_PERSIST, on_tick, run) : NULL;
        if (!run->ticker) {
                fprintf(stderr, "udp-canary probe: cannot set up the event loop\n");
                return -ENOMEM;
        }
        return 0;
}

static void teardown(struct probe_run *run)
{
        probe_runner_free(run->runner);
        if (run->ticker)
                event_free(run->ticker);
        if (run->base)
                event_base_free(run->base);
        if (run->key) {
                seal_key_wipe(run->key);
                sodium_free(run->key);
        }
        if (run->log_fd >= 0)
                close(run->log_fd);
}

/* The run, its verdict written (run->answered: any probe was). Returns 0
 * or a negative errno after saying why. */
static int run_probe(struct probe_run *run, const struct probe_opts *o)
{
        struct timeval second = { .tv_sec = 1 };
        uint64_t start = daemon_now_us(), elapsed;
        const struct prober *core;
        char verdict[512];

        if ((run->tty && event_add(run->ticker, &second) < 0) ||
            probe_runner_start(&run->runner, run->base, run->key, &run->server, o->id, strlen(o->id), &o->cfg, &runner_ops, run) < 0) {
                fprintf(stderr, "udp-canary probe: out of memory\n");
                return -ENOMEM;
        }
        if (!run->over)
                event_base_dispatch(run->base);
        if (run->tty)
                fputs("\r\033[K", stderr);
        if (run->err < 0) {
                fprintf(stderr, "udp-canary probe: stopped (a UDP socket not opened, or a timer not armed): %s\n",
                        strerror(-run->err));
                return run->err == -EINVAL ? -EIO : run->err;
        }
        elapsed = daemon_now_us() - start;
        core = probe_runner_core(run->runner);
        prober_verdict(core, verdict, sizeof(verdict));
        if (o->json)
                write_json(core, elapsed, verdict);
        else
                printf("%s\n", verdict);
        if (fflush(stdout) != 0)
                return -EIO;
        run->answered = core->answers != 0;
        return 0;
}

int probe_main(int argc, char **argv)
{
        struct probe_opts o = { 0 };
        struct probe_run run = { .o = &o, .log_fd = -1 };
        int r = parse_opts(&o, argc, argv);

        if (r < 0 || o.help)
                return r < 0 ? 2 : 0;
        run.tty = isatty(STDERR_FILENO) == 1;
        r = setup(&run);
        if (r == 0)
                r = run_probe(&run, &o);
        teardown(&run);
        if (r < 0)
                return r == -EINVAL ? 2 : 1;
        return run.answered ? 0 : PROBE_EXIT_NO_ANSWER;
}

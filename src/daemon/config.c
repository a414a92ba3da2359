/* config: parsing the command line and config files (see config.h). */
#include "daemon/config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <sodium.h>

#include "daemon/fileio.h"
#include "core/client.h"
#include "core/duration.h"
#include "core/message.h"
#include "core/probe-client.h"
#include "core/server.h"
#include "core/trace.h"
#include "core/unicode.h"

enum kind { K_MODE, K_STRING, K_SECRET, K_PORT, K_SECONDS, K_COUNT, K_SIZE, K_FAMILY };

struct option_def {
        const char *name;
        enum kind kind;
        size_t offset; /* into struct config; for K_MODE, the mode */
        long min, max; /* for numbers */
        bool in_file;  /* may appear in a config file */
};

#define AT(field) offsetof(struct config, field)

static const struct option_def defs[] = {
        { "client", K_MODE, CONFIG_MODE_CLIENT, 0, 0, true },
        { "server", K_MODE, CONFIG_MODE_SERVER, 0, 0, true },
        { "generate-key", K_MODE, CONFIG_MODE_GENERATE_KEY, 0, 0, false },
        { "id", K_STRING, AT(id), 0, 0, true },
        { "host", K_STRING, AT(host), 0, 0, true },
        { "port", K_PORT, AT(port), 0, 65535, true },
        { "key", K_SECRET, AT(key), 0, 0, true },
        { "key-file", K_STRING, AT(key_file), 0, 0, true },
        { "log", K_STRING, AT(log), 0, 0, true },
        { "config", K_STRING, AT(config_file), 0, 0, false },
        { "optional-config", K_STRING, AT(optional_config), 0, 0, false },
        { "default-id", K_STRING, AT(default_id), 0, 0, false },
        { "keepalive-interval", K_SECONDS, AT(keepalive_interval_us), 0, 0, true },
        { "handshake-timeout", K_SECONDS, AT(handshake_timeout_us), 0, 0, true },
        { "keepalive-count", K_COUNT, AT(keepalive_count), 1, 1000, true },
        { "max-clients", K_SIZE, AT(max_clients), 1, 16777216, true },
        { "state-dir", K_STRING, AT(state_dir), 0, 0, true },
        { "metrics-listen", K_STRING, AT(metrics_listen), 0, 0, true },
        { "probe-max-delay", K_SECONDS, AT(probe_max_delay_us), 0, 0, true },
        { "probe-max-pending", K_SIZE, AT(probe_max_pending), 0, 16777216, true },
        { "probe-every", K_SECONDS, AT(probe_every_us), 0, 0, true },
        { "trace-hops", K_COUNT, AT(trace_hops), 0, TRACE_HOPS_MAX, true },
        { "trace-interval", K_SECONDS, AT(trace_interval_us), 0, 0, true },
        { "help", K_MODE, CONFIG_MODE_HELP, 0, 0, false },
        { "version", K_MODE, CONFIG_MODE_VERSION, 0, 0, false },
        { "fingerprint", K_MODE, CONFIG_MODE_FINGERPRINT, 0, 0, false },
        { "ipv4", K_FAMILY, AF_INET, 0, 0, true },
        { "ipv6", K_FAMILY, AF_INET6, 0, 0, true },
};
enum { N_DEFS = sizeof(defs) / sizeof(defs[0]) };
_Static_assert(N_DEFS <= 32, "struct config's set has one bit per option");

void config_usage(FILE *out)
{
        fputs("usage: udp-canary (--client | --server | --generate-key | --fingerprint) [--id ID] [--host HOST]\n"
              "                  [--port PORT] [--key KEY | --key-file FILE] [--log LOG]\n"
              "                  [--config FILE] [--optional-config FILE] [--default-id ID]\n"
              "                  [--keepalive-interval SECONDS]\n"
              "                  [--handshake-timeout SECONDS] [--keepalive-count N]\n"
              "                  [--max-clients N] [--state-dir DIR] [--metrics-listen ADDR:PORT]\n"
              "                  [--probe-max-delay SECONDS] [--probe-max-pending N] [--probe-every SECONDS]\n"
              "                  [--trace-hops N] [--trace-interval SECONDS]\n"
              "       udp-canary probe --id ID --host HOST [--port PORT] --key-file FILE [...]\n"
              "       udp-canary report [--json] [--svg FILE] [--id ID] [LOG... | --journal]\n"
              "\n"
              "Logs every packet of a WireGuard-like UDP exchange on both ends, to see when\n"
              "and how a NAT drops or re-maps the flow.\n"
              "\n"
              "  --client                 run the client (needs --id, --host and a key)\n"
              "  --server                 run the server (needs a key)\n"
              "  --generate-key           print a new key and exit\n"
              "  --fingerprint            print the key's fingerprint (as both ends log it) and exit\n"
              "  --id ID                  the client's name\n"
              "  --host HOST              client: the server (IPv4, IPv6 or name);\n",
              out);
        fprintf(out,
                "                           server: the address to bind (default %s; :: for both)\n"
                "  --port PORT              server UDP port (default %d)\n"
                "  -4, --ipv4, -6, --ipv6   only IPv4, or only IPv6, for --host\n"
                "  --key KEY                the key, base64 (visible to other users; prefer --key-file)\n"
                "  --key-file FILE          read the key from FILE (mode 0600 or stricter)\n"
                "  --log LOG                append the log to LOG (default %s; '' for none)\n"
                "  --config FILE            read 'name = value' lines; the command line wins\n"
                "  --optional-config FILE   the same, but a missing FILE is fine\n"
                "  --default-id ID          the client id when no --id is given (units: the instance)\n"
                "  --keepalive-interval S   seconds between keepalives (default %g)\n"
                "  --handshake-timeout S    seconds before an unanswered handshake is retried (default %g)\n"
                "  --keepalive-count N      keepalives per handshake (default %d)\n"
                "  --max-clients N          server: most clients remembered (default %d)\n"
                "  --state-dir DIR          server: keep the replay state in DIR/replay.state\n"
                "  --metrics-listen A:P     serve Prometheus metrics on http://A:P/metrics\n"
                "  --probe-max-delay S      server: longest NAT probe delay answered (default %d)\n"
                "  --probe-max-pending N    server: NAT probe answers waiting, at most (default %d; 0: none)\n"
                "  --probe-every S          client: measure the NAT's idle timeouts this often (default off)\n"
                "  --trace-hops N           client: trace where an unanswered flow stops, TTL 1 to N (default %d; 0: off)\n"
                "  --trace-interval S       client: one trace per outage, and at most one per S seconds (default %g)\n"
                "  --help, --version\n"
                "\n"
                "udp-canary report --help tells how to read the logs back;\n"
                "udp-canary probe --help how to measure the NAT's idle timeouts.\n",
                CONFIG_DEFAULT_SERVER_HOST, CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_LOG,
                (double)CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US / 1e6, (double)CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US / 1e6,
                CLIENT_DEFAULT_KEEPALIVE_COUNT, SERVER_DEFAULT_MAX_CLIENTS, PROBES_DEFAULT_MAX_DELAY_S,
                PROBES_DEFAULT_MAX_PENDING, TRACE_DEFAULT_HOPS, (double)TRACE_DEFAULT_INTERVAL_US / 1e6);
}

__attribute__((format(printf, 2, 3))) static int fail(char err[static CONFIG_ERR_MAX], const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, CONFIG_ERR_MAX, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

void config_init(struct config *c)
{
        memset(c, 0, sizeof(*c));
}

static void free_secret(char *s)
{
        if (s)
                sodium_memzero(s, strlen(s));
        free(s);
}

/* The string fields of a config, for copying. */
#define STRING_FIELDS(c)                                                                          \
        {                                                                                         \
                &(c)->id, &(c)->host, &(c)->key, &(c)->key_file, &(c)->log, &(c)->config_file,    \
                        &(c)->optional_config, &(c)->default_id, &(c)->state_dir,                 \
                        &(c)->metrics_listen                                                      \
        }

int config_copy(struct config *dst, const struct config *src)
{
        char *const *from[] = STRING_FIELDS(src);
        char **to[] = STRING_FIELDS(dst);
        size_t n = sizeof(to) / sizeof(to[0]);
        int r = 0;

        *dst = *src;
        for (size_t i = 0; i < n; i++)
                *to[i] = NULL;
        for (size_t i = 0; i < n && r == 0; i++)
                if (*from[i] && !(*to[i] = strdup(*from[i])))
                        r = -ENOMEM;
        if (r < 0)
                config_free(dst);
        return r;
}

void config_free(struct config *c)
{
        free(c->metrics_listen);
        free(c->state_dir);
        free(c->optional_config);
        free(c->default_id);
        free(c->id);
        free(c->host);
        free_secret(c->key);
        free(c->key_file);
        free(c->log);
        free(c->config_file);
        memset(c, 0, sizeof(*c));
}

const char *config_log_path(const struct config *c, bool journal)
{
        if (c->log)
                return *c->log ? c->log : NULL;
        return journal ? NULL : CONFIG_DEFAULT_LOG;
}

bool config_is_set(const struct config *c, const char *name)
{
        for (size_t i = 0; i < N_DEFS; i++)
                if (strcmp(defs[i].name, name) == 0)
                        return c->set & (1u << i);
        return false;
}

static int parse_long(const char *v, long min, long max, long *out)
{
        char *end;
        long n;

        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < min || n > max)
                return -EINVAL;
        *out = n;
        return 0;
}

static bool is_true(const char *v)
{
        return !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on");
}

static bool is_false(const char *v)
{
        return !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off");
}

/* The table's row of an option, by its long name (it is there). */
static size_t def_index(const char *name)
{
        size_t i = 0;

        while (i < N_DEFS - 1 && strcmp(defs[i].name, name) != 0)
                i++;
        return i;
}

/* Stores one value. `where` names the source for errors ("--port" or
 * "file:3: port"). */
static int set_value(struct config *c, size_t i, const char *value, const char *where,
                     char err[static CONFIG_ERR_MAX])
{
        const struct option_def *d = &defs[i];
        void *field = (char *)c + d->offset;
        long n;

        switch (d->kind) {
        case K_MODE:
                if (c->mode != CONFIG_MODE_NONE && c->mode != (enum config_mode)d->offset &&
                    d->offset <= CONFIG_MODE_GENERATE_KEY && c->mode <= CONFIG_MODE_GENERATE_KEY)
                        return fail(err, "%s: not allowed with another of --client, --server, --generate-key",
                                    where);
                /* --fingerprint, --help, --version say something of the
                 * settings and exit: they win over the modes that run */
                if (c->mode <= CONFIG_MODE_GENERATE_KEY || (enum config_mode)d->offset > c->mode)
                        c->mode = (enum config_mode)d->offset;
                break;
        case K_STRING:
        case K_SECRET:
                if (d->kind == K_SECRET)
                        free_secret(*(char **)field);
                else
                        free(*(char **)field);
                *(char **)field = strdup(value);
                if (!*(char **)field)
                        return fail(err, "out of memory");
                break;
        case K_PORT:
                if (parse_long(value, d->min, d->max, &n) < 0)
                        return fail(err, "%s: '%s' is not a port number (0 to 65535)", where, value);
                c->port = n;
                break;
        case K_SECONDS:
                if (duration_parse(value, field) < 0)
                        return fail(err, "%s: '%s' is not a number of seconds (%g to %g)", where, value,
                                    DURATION_MIN_S, DURATION_MAX_S);
                break;
        case K_FAMILY: /* -4 or -6; in a file, "ipv4 = true" */
                if (value && is_false(value))
                        break;
                if (value && !is_true(value))
                        return fail(err, "%s: '%s' is not true or false", where, value);
                if (c->family && c->family != (int)d->offset)
                        return fail(err, "%s: not with the other of --ipv4 and --ipv6", where);
                c->family = (int)d->offset;
                break;
        case K_COUNT:
        case K_SIZE:
                if (parse_long(value, d->min, d->max, &n) < 0)
                        return fail(err, "%s: '%s' is not a whole number from %ld to %ld", where, value,
                                    d->min, d->max);
                if (d->kind == K_COUNT)
                        *(unsigned *)field = (unsigned)n;
                else
                        *(size_t *)field = (size_t)n;
                break;
        }
        c->set |= 1u << i;
        return 0;
}

int config_parse_args(struct config *c, int argc, char **argv, char err[static CONFIG_ERR_MAX])
{
        struct option longopts[N_DEFS + 1];
        char where[64];
        int opt, idx = -1;

        for (size_t i = 0; i < N_DEFS; i++) {
                bool flag = defs[i].kind == K_MODE || defs[i].kind == K_FAMILY;

                longopts[i] = (struct option){ defs[i].name, flag ? no_argument : required_argument, NULL,
                                               (int)(256 + i) };
        }
        longopts[N_DEFS] = (struct option){ 0 };
        opterr = 0;
        optind = 0; /* full reset, so tests can parse again */
        while ((opt = getopt_long(argc, argv, ":hV46", longopts, &idx)) != -1) {
                static const struct {
                        int opt;
                        const char *name;
                } shorts[] = { { 'h', "help" }, { 'V', "version" }, { '4', "ipv4" }, { '6', "ipv6" } };
                size_t i;

                for (size_t k = 0; k < sizeof(shorts) / sizeof(shorts[0]); k++)
                        if (opt == shorts[k].opt)
                                opt = 256 + (int)def_index(shorts[k].name);
                if (opt == '?')
                        return fail(err, "unknown or ambiguous option '%s'", argv[optind - 1]);
                if (opt == ':')
                        return fail(err, "option '%s' needs a value", argv[optind - 1]);
                i = (size_t)(opt - 256);
                snprintf(where, sizeof(where), "--%s", defs[i].name);
                if (set_value(c, i, optarg, where, err) < 0)
                        return -EINVAL;
                if (defs[i].kind == K_SECRET)
                        sodium_memzero(optarg, strlen(optarg));
        }
        if (optind < argc)
                return fail(err, "unexpected argument '%s'", argv[optind]);
        return 0;
}

static char *trim(char *s)
{
        char *end = s + strlen(s);

        while (*s == ' ' || *s == '\t')
                s++;
        while (end > s && strchr(" \t\r\n", end[-1]))
                *--end = '\0';
        return s;
}

static int file_line(struct config *c, const char *path, unsigned lineno, char *line,
                     char err[static CONFIG_ERR_MAX])
{
        char *s = trim(line), *eq, *name, *value, where[CONFIG_ERR_MAX / 2];

        if (*s == '\0' || *s == '#')
                return 0;
        eq = strchr(s, '=');
        if (!eq)
                return fail(err, "%s:%u: expected 'name = value'", path, lineno);
        *eq = '\0';
        name = trim(s);
        value = trim(eq + 1);
        for (size_t i = 0; i < N_DEFS; i++) {
                if (strcmp(defs[i].name, name) != 0)
                        continue;
                if (!defs[i].in_file)
                        return fail(err, "%s:%u: '%s' cannot be set in a config file", path, lineno, name);
                if (defs[i].kind == K_SECRET)
                        c->key_lines++;
                if (c->set & (1u << i))
                        return 0; /* the command line wins */
                snprintf(where, sizeof(where), "%s:%u: %s", path, lineno, name);
                if (defs[i].kind == K_MODE) {
                        if (is_false(value))
                                return 0;
                        if (!is_true(value))
                                return fail(err, "%s: '%s' is not true or false", where, value);
                        if (c->mode != CONFIG_MODE_NONE && !c->mode_from_file)
                                return 0; /* a mode given on the command line wins */
                        /* both true in the files: which one is meant cannot be told */
                        if (c->mode != CONFIG_MODE_NONE && c->mode != (enum config_mode)defs[i].offset)
                                return fail(err, "%s: client and server both set to true; choose one", where);
                        c->mode_from_file = true;
                }
                return set_value(c, i, value, where, err);
        }
        return fail(err, "%s:%u: unknown option '%s'", path, lineno, name);
}

int config_parse_text(struct config *c, const char *name, const char *text, size_t len,
                      char err[static CONFIG_ERR_MAX])
{
        char line[4096];
        unsigned lineno = 0;
        int r = 0;

        while (len > 0 && r == 0) {
                const char *nl = memchr(text, '\n', len);
                size_t n = nl ? (size_t)(nl - text) : len;

                lineno++;
                if (n >= sizeof(line))
                        r = fail(err, "%s:%u: line too long", name, lineno);
                else if (memchr(text, '\0', n) || !unicode_utf8_valid((const uint8_t *)text, n))
                        r = fail(err, "%s:%u: not UTF-8 text", name, lineno);
                if (r == 0) {
                        memcpy(line, text, n);
                        line[n] = '\0';
                        r = file_line(c, name, lineno, line, err);
                }
                text += nl ? n + 1 : n;
                len -= nl ? n + 1 : n;
        }
        sodium_memzero(line, sizeof(line)); /* it may have held the key */
        return r;
}

static bool private_file(int fd)
{
        struct stat st;

        return fstat(fd, &st) == 0 && !(st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH));
}

int config_load_file(struct config *c, const char *path, char err[static CONFIG_ERR_MAX])
{
        int fd = fileio_open(path, O_RDONLY, 0, 0);
        FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
        char *text;
        size_t len;
        unsigned keys;
        int r;

        if (!f) {
                r = fd < 0 ? fd : -errno;
                if (fd >= 0)
                        close(fd);
                snprintf(err, CONFIG_ERR_MAX, "cannot read config file %s: %s", path, fileio_strerror(r));
                return r;
        }
        text = malloc(CONFIG_FILE_MAX + 1);
        len = text ? fread(text, 1, CONFIG_FILE_MAX + 1, f) : 0;
        keys = c->key_lines;
        if (!text)
                r = fail(err, "out of memory");
        else if (ferror(f))
                r = fail(err, "cannot read config file %s", path);
        else if (len > CONFIG_FILE_MAX)
                r = fail(err, "%s: larger than %d bytes, not a config file", path, CONFIG_FILE_MAX);
        else
                r = config_parse_text(c, path, text, len, err);
        /* the same rule as for --key-file: a key others can read is no key */
        if (r == 0 && c->key_lines > keys && !private_file(fd))
                r = fail(err, "%s: holds the key but is readable by group or others; make it private (chmod 600) "
                         "or use key-file", path);
        if (text) {
                sodium_memzero(text, len);
                free(text);
        }
        fclose(f);
        return r;
}

int config_load_files(struct config *c, char err[static CONFIG_ERR_MAX])
{
        int r = 0;

        if (c->config_file)
                r = config_load_file(c, c->config_file, err);
        if (r == 0 && c->optional_config && access(c->optional_config, F_OK) == 0)
                r = config_load_file(c, c->optional_config, err);
        return r;
}

/* "name:port" or "1.2.3.4:port": one colon, digits after it (an IPv6
 * address has several colons, and its port goes with --port too). */
static bool host_has_port(const char *host)
{
        const char *colon = strchr(host, ':');

        return colon && !strchr(colon + 1, ':') && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

static int finish_client(struct config *c, char err[static CONFIG_ERR_MAX])
{
        if (!c->id && c->default_id && !(c->id = strdup(c->default_id)))
                return fail(err, "out of memory");
        if (!c->id)
                return fail(err, "--client needs --id");
        if (strlen(c->id) > MESSAGE_ID_MAX)
                return fail(err, "--id: longer than %d bytes", MESSAGE_ID_MAX);
        if (!unicode_utf8_valid((const uint8_t *)c->id, strlen(c->id)))
                return fail(err, "--id: not UTF-8 text");
        if (!c->host || !*c->host)
                return fail(err, "--client needs --host (the server)");
        if (host_has_port(c->host))
                return fail(err, "--host %s: give the host alone and the port with --port", c->host);
        if (c->port == 0)
                return fail(err, "--port: the client needs a port from 1 to 65535");
        /* each run lasts --probe-every at most: a shorter one sends nothing */
        if (c->probe_every_us && c->probe_every_us < PROBER_MIN_TIME_BOUND_US)
                return fail(err, "--probe-every: at least %llu s (a run shorter than that sends no probe), or 0 for never",
                            (unsigned long long)(PROBER_MIN_TIME_BOUND_US / 1000000));
        return 0;
}

int config_finish(struct config *c, char err[static CONFIG_ERR_MAX])
{
        if (c->mode == CONFIG_MODE_NONE)
                return fail(err, "one of --client, --server, --generate-key is required");
        if (!config_is_set(c, "port"))
                c->port = CONFIG_DEFAULT_PORT;
        if (!config_is_set(c, "keepalive-interval"))
                c->keepalive_interval_us = CLIENT_DEFAULT_KEEPALIVE_INTERVAL_US;
        if (!config_is_set(c, "handshake-timeout"))
                c->handshake_timeout_us = CLIENT_DEFAULT_HANDSHAKE_TIMEOUT_US;
        if (!config_is_set(c, "keepalive-count"))
                c->keepalive_count = CLIENT_DEFAULT_KEEPALIVE_COUNT;
        if (!config_is_set(c, "max-clients"))
                c->max_clients = SERVER_DEFAULT_MAX_CLIENTS;
        if (!config_is_set(c, "probe-max-delay"))
                c->probe_max_delay_us = PROBES_DEFAULT_MAX_DELAY_S * 1000000ULL;
        if (!config_is_set(c, "probe-max-pending"))
                c->probe_max_pending = PROBES_DEFAULT_MAX_PENDING;
        if (!config_is_set(c, "trace-hops"))
                c->trace_hops = TRACE_DEFAULT_HOPS;
        if (!config_is_set(c, "trace-interval"))
                c->trace_interval_us = TRACE_DEFAULT_INTERVAL_US;
        if (c->key && c->key_file)
                return fail(err, "give either --key or --key-file, not both");
        if (c->mode == CONFIG_MODE_CLIENT)
                return finish_client(c, err);
        if (c->mode == CONFIG_MODE_SERVER && !c->host && !(c->host = strdup(CONFIG_DEFAULT_SERVER_HOST)))
                return fail(err, "out of memory");
        return 0;
}

/* main: the udp-canary command. Reads the configuration, loads the key, and
 * runs the client or the server, or prints a key or its fingerprint; on
 * SIGHUP rereads the configuration and the key. Exit status: 0 fine, 1 the
 * system refused something (bind, log file), 2 bad input. `udp-canary
 * report` and `udp-canary probe` are handed to their commands
 * (report/report-cmd.c, daemon/probe-cmd.c), whose statuses are their own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/fingerprint.h"
#include "daemon/client-daemon.h"
#include "daemon/config.h"
#include "daemon/fileio.h"
#include "daemon/key.h"
#include "daemon/log.h"
#include "daemon/probe-cmd.h"
#include "report/report-cmd.h"
#include "core/seal.h"
#include "daemon/server-daemon.h"

#define EXIT_USAGE 2

/* Everything the process runs with. */
struct app {
        struct config cli;     /* the command line alone: reloads start here */
        struct config cfg;     /* in force: command line + config files */
        struct seal_key *key;  /* locked in memory, wiped when freed */
        char fingerprint[FINGERPRINT_TEXT_LEN + 1]; /* the key's, for the logs */
        bool journal;          /* stderr is the journal */
        struct client_daemon *client;
        struct server_daemon *server;
};

/* The key's fingerprint for the logs; a reload that brings another key
 * says so. */
static void note_fingerprint(struct app *app, const uint8_t key[static KEY_LEN], bool reloading)
{
        char now[FINGERPRINT_TEXT_LEN + 1];

        fingerprint_text(key, now);
        if (reloading && strcmp(now, app->fingerprint) != 0)
                log_printf(LOG_LEVEL_INFO, LOGTEXT_FINGERPRINT "%s (was %s)", now, app->fingerprint);
        memcpy(app->fingerprint, now, sizeof(now));
}

static const char *key_error(int r)
{
        switch (r) {
        case -EPERM:
                return "readable by group or others; make it private (chmod 600)";
        case -EINVAL:
                return "not base64 text";
        case -EMSGSIZE:
                return "not a 16-byte key (24 base64 characters)";
        case -EFBIG:
                return "far too large for a key";
        case -ENOKEY:
                return "a key is needed: --key-file FILE (or --key KEY)";
        default:
                return fileio_strerror(r);
        }
}

/* The key from --key, --key-file, or systemd's credential "key", in that
 * order. On failure err says which and why. */
static int load_key(const struct config *cfg, uint8_t key[static KEY_LEN], char err[static CONFIG_ERR_MAX])
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char path[CONFIG_ERR_MAX / 2];
        int r;

        if (cfg->key) {
                r = key_decode(cfg->key, key);
                snprintf(path, sizeof(path), "--key");
        } else if (cfg->key_file) {
                r = key_read_file(cfg->key_file, true, key);
                snprintf(path, sizeof(path), "--key-file %s", cfg->key_file);
        } else if (creds && *creds) {
                /* systemd made this copy for us alone; its mode is systemd's choice */
                snprintf(path, sizeof(path), "%s/key", creds);
                r = key_read_file(path, false, key);
                snprintf(path, sizeof(path), "credential %s/key", creds);
        } else {
                r = -ENOKEY;
        }
        if (r == -ENOKEY)
                snprintf(err, CONFIG_ERR_MAX, "%s", key_error(r));
        else if (r < 0)
                snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, key_error(r));
        return r;
}

/* The settings in force: the command line, then the config files, then the
 * key. Returns 0, or a negative errno (-EINVAL: bad input) with err set. */
static int load(const struct app *app, struct config *cfg, uint8_t key[static KEY_LEN],
                char err[static CONFIG_ERR_MAX])
{
        int r = config_copy(cfg, &app->cli);

        if (r < 0) {
                snprintf(err, CONFIG_ERR_MAX, "out of memory");
                return r;
        }
        if (config_load_files(cfg, err) < 0 || config_finish(cfg, err) < 0 || load_key(cfg, key, err) < 0) {
                config_free(cfg);
                return -EINVAL;
        }
        return 0;
}

static bool same_text(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* Settings a reload cannot apply (the listener and the state file are
 * set up once): a change is named in a warning, and the old values stay
 * in next, which is what runs. */
static void keep_unapplied(struct config *old, struct config *next)
{
        char **fields[][2] = { { &old->metrics_listen, &next->metrics_listen },
                               { &old->state_dir, &next->state_dir } };
        static const char *const names[] = { "metrics-listen", "state-dir" };
        const char *changed[2];
        size_t n = 0;

        for (size_t i = 0; i < 2; i++) {
                char *t = *fields[i][1];

                if (same_text(*fields[i][0], t) || (i == 1 && next->mode != CONFIG_MODE_SERVER))
                        continue; /* unchanged, or a state-dir, which a client has no use for */
                changed[n++] = names[i];
                *fields[i][1] = *fields[i][0];
                *fields[i][0] = t;
        }
        if (n == 1)
                log_printf(LOG_LEVEL_WARNING, "Reload: a new %s takes a restart; still the old one", changed[0]);
        else if (n == 2)
                log_printf(LOG_LEVEL_WARNING, "Reload: a new %s and %s take a restart; still the old ones",
                           changed[0], changed[1]);
}

/* SIGHUP: reread the config files and the key. Bad input (a config line,
 * the key, another mode) keeps the old settings whole; past that the new
 * ones apply, even when the log file cannot be reopened or the daemon
 * cannot apply all of them (it logs what it kept). */
static int reload(void *arg)
{
        struct app *app = arg;
        char err[CONFIG_ERR_MAX];
        uint8_t key[KEY_LEN];
        struct config next;
        const char *path;
        int r = load(app, &next, key, err);

        if (r == 0 && next.mode != app->cfg.mode) {
                snprintf(err, sizeof(err), "the mode (client or server) takes a restart");
                config_free(&next);
                r = -EINVAL;
        }
        if (r < 0) {
                log_printf(LOG_LEVEL_ERROR, "Reload failed, keeping the old settings: %s", err);
                return r;
        }
        seal_key_init(app->key, key, AES128_IMPL_AUTO); /* same implementation as before: cannot fail */
        note_fingerprint(app, key, true);
        sodium_memzero(key, sizeof(key));
        keep_unapplied(&app->cfg, &next);
        path = config_log_path(&next, app->journal);
        r = log_open(path, app->journal);
        if (r < 0)
                log_printf(LOG_LEVEL_ERROR, "Reload: cannot open the log file %s: %s", path, fileio_strerror(r));
        r = app->client ? client_daemon_reconfigure(app->client, &next)
                        : server_daemon_reconfigure(app->server, &next);
        config_free(&app->cfg);
        app->cfg = next;
        return r;
}

/* Sets up the daemon, and only then opens the log: bad input leaves no log
 * file behind. */
static int run(struct app *app)
{
        const char *path = config_log_path(&app->cfg, app->journal);
        struct daemon *base;
        int r;

        if (app->cfg.mode == CONFIG_MODE_CLIENT)
                r = client_daemon_new(&app->client, &app->cfg, app->key);
        else
                r = server_daemon_new(&app->server, &app->cfg, app->key);
        if (r < 0)
                return r == -EINVAL ? EXIT_USAGE : 1; /* said on stderr */
        r = log_open(path, app->journal);
        if (r < 0) {
                fprintf(stderr, "udp-canary: cannot open the log file %s: %s\n", path, fileio_strerror(r));
                return 1;
        }
        base = app->client ? client_daemon_base(app->client) : server_daemon_base(app->server);
        base->reload = reload;
        base->reload_arg = app;
        base->fingerprint = app->fingerprint;
        r = app->client ? client_daemon_run(app->client) : server_daemon_run(app->server);
        log_close();
        return r;
}

/* Prints the fingerprint of the key the settings name. */
static int print_fingerprint(struct app *app, char err[static CONFIG_ERR_MAX])
{
        uint8_t key[KEY_LEN];

        if (load(app, &app->cfg, key, err) < 0)
                return EXIT_USAGE;
        note_fingerprint(app, key, false);
        sodium_memzero(key, sizeof(key));
        printf("%s\n", app->fingerprint);
        return 0;
}

static int start(struct app *app, char err[static CONFIG_ERR_MAX])
{
        uint8_t key[KEY_LEN];
        int r;

        if (load(app, &app->cfg, key, err) < 0)
                return EXIT_USAGE;
        app->key = sodium_malloc(sizeof(*app->key));
        r = app->key ? seal_key_init(app->key, key, AES128_IMPL_AUTO) : -ENOMEM;
        note_fingerprint(app, key, false);
        sodium_memzero(key, sizeof(key));
        if (r < 0) {
                snprintf(err, CONFIG_ERR_MAX, "cannot set up the cipher: %s", strerror(-r));
                return 1;
        }
        app->journal = log_stderr_is_journal();
        return run(app);
}

static void app_free(struct app *app)
{
        client_daemon_free(app->client);
        server_daemon_free(app->server);
        if (app->key) {
                seal_key_wipe(app->key);
                sodium_free(app->key);
        }
        config_free(&app->cfg);
        config_free(&app->cli);
}

int main(int argc, char **argv)
{
        char err[CONFIG_ERR_MAX] = "", text[KEY_TEXT_LEN + 1];
        struct app app = { 0 };
        int r = 0;

        if (sodium_init() < 0)
                return 1;
        if (argc > 1 && strcmp(argv[1], "report") == 0)
                return report_main(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "probe") == 0)
                return probe_main(argc - 1, argv + 1);
        config_init(&app.cli);
        if (config_parse_args(&app.cli, argc, argv, err) < 0) {
                r = EXIT_USAGE;
                goto out;
        }
        switch (app.cli.mode) {
        case CONFIG_MODE_HELP:
                config_usage(stdout);
                break;
        case CONFIG_MODE_FINGERPRINT:
                r = print_fingerprint(&app, err);
                break;
        case CONFIG_MODE_VERSION:
                /* which crypto paths this CPU runs: they differ severalfold in speed */
                printf("udp-canary %s (AES-128: %s, HMAC-SHA256: libsodium %s)\n", PACKAGE_VERSION,
                       aes128_impl_name(AES128_IMPL_AUTO), sodium_version_string());
                break;
        case CONFIG_MODE_GENERATE_KEY:
                /* a key that did not reach its file must not look made */
                key_generate(text);
                printf("%s\n", text);
                sodium_memzero(text, sizeof(text));
                if (fflush(stdout) != 0 || ferror(stdout)) {
                        snprintf(err, sizeof(err), "--generate-key: cannot write the key: %s", strerror(errno));
                        r = 1;
                }
                break;
        default:
                r = start(&app, err);
                break;
        }
out:
        if (r != 0 && *err)
                fprintf(stderr, "udp-canary: %s\n", err);
        app_free(&app);
        return r;
}

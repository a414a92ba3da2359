/* main: the udp-canary command. Reads the configuration, loads the key, and
 * runs the client or the server, or prints a key. Exit status: 0 fine,
 * 1 the system refused something (bind, log file), 2 bad input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client-daemon.h"
#include "config.h"
#include "key.h"
#include "log.h"
#include "seal.h"
#include "server-daemon.h"

#define EXIT_USAGE 2

static int usage_error(const char *msg)
{
        fprintf(stderr, "udp-canary: %s\n", msg);
        return EXIT_USAGE;
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
        default:
                return strerror(-r);
        }
}

/* The key from --key, --key-file, or systemd's credential "key", in that order. */
static int load_key(const struct config *cfg, uint8_t key[static KEY_LEN])
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char path[4096], msg[4200];
        int r;

        if (cfg->key) {
                r = key_decode(cfg->key, key);
                snprintf(msg, sizeof(msg), "--key: %s", key_error(r));
        } else if (cfg->key_file) {
                r = key_read_file(cfg->key_file, true, key);
                snprintf(msg, sizeof(msg), "--key-file %s: %s", cfg->key_file, key_error(r));
        } else if (creds && *creds) {
                /* systemd made this copy for us alone; its mode is systemd's choice */
                snprintf(path, sizeof(path), "%s/key", creds);
                r = key_read_file(path, false, key);
                snprintf(msg, sizeof(msg), "credential %s: %s", path, key_error(r));
        } else {
                r = -ENOKEY;
                snprintf(msg, sizeof(msg), "a key is needed: --key-file FILE (or --key KEY)");
        }
        if (r < 0)
                return usage_error(msg);
        return 0;
}

/* Sets up the daemon, and only then opens the log: bad input leaves no log
 * file behind. */
static int start(const struct config *cfg, const struct seal_key *sk)
{
        struct client_daemon *client = NULL;
        struct server_daemon *server = NULL;
        int r;

        if (cfg->mode == CONFIG_MODE_CLIENT)
                r = client_daemon_new(&client, cfg, sk);
        else
                r = server_daemon_new(&server, cfg, sk);
        if (r != 0)
                return r;
        r = log_open(*cfg->log ? cfg->log : NULL, true);
        if (r < 0) {
                fprintf(stderr, "udp-canary: cannot open the log file %s: %s\n", cfg->log, strerror(-r));
                r = 1;
        } else {
                r = client ? client_daemon_run(client) : server_daemon_run(server);
        }
        client_daemon_free(client);
        server_daemon_free(server);
        return r;
}

static int run(struct config *cfg)
{
        uint8_t key[KEY_LEN];
        struct seal_key *sk;
        int r;

        if (load_key(cfg, key) != 0)
                return EXIT_USAGE;
        sk = sodium_malloc(sizeof(*sk)); /* locked in memory, wiped when freed */
        if (!sk)
                return usage_error("out of memory");
        r = seal_key_init(sk, key, AES128_IMPL_AUTO);
        sodium_memzero(key, sizeof(key));
        if (r < 0) {
                sodium_free(sk);
                return usage_error("cannot set up the cipher");
        }

        r = start(cfg, sk);
        log_close();
        seal_key_wipe(sk);
        sodium_free(sk);
        return r;
}

int main(int argc, char **argv)
{
        char err[CONFIG_ERR_MAX], text[KEY_TEXT_LEN + 1];
        struct config cfg;
        int r = 0;

        if (sodium_init() < 0)
                return 1;
        config_init(&cfg);
        if (config_parse_args(&cfg, argc, argv, err) < 0 ||
            (cfg.config_file && config_load_file(&cfg, cfg.config_file, err) < 0) ||
            (cfg.mode < CONFIG_MODE_HELP && config_finish(&cfg, err) < 0)) {
                r = usage_error(err);
                goto out;
        }
        switch (cfg.mode) {
        case CONFIG_MODE_HELP:
                fputs(config_usage, stdout);
                break;
        case CONFIG_MODE_VERSION:
                printf("udp-canary %s\n", PACKAGE_VERSION);
                break;
        case CONFIG_MODE_GENERATE_KEY:
                key_generate(text);
                printf("%s\n", text);
                sodium_memzero(text, sizeof(text));
                break;
        default:
                r = run(&cfg);
                break;
        }
out:
        config_free(&cfg);
        return r;
}

/* config: what the user asked for, from the command line (the original's
 * options plus ours) and from a --config file of "name = value" lines whose
 * names are the long option names. The command line wins over the file.
 * Every error is one line naming the option, or the file and line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/logtext.h"

#define CONFIG_DEFAULT_PORT 43210
#define CONFIG_DEFAULT_LOG LOGTEXT_DEFAULT_FILE
#define CONFIG_DEFAULT_SERVER_HOST "0.0.0.0"
#define CONFIG_ERR_MAX 512
#define CONFIG_FILE_MAX (1 << 20) /* a config file is small; a larger one is a mistake */

enum config_mode {
        CONFIG_MODE_NONE,
        CONFIG_MODE_CLIENT,
        CONFIG_MODE_SERVER,
        CONFIG_MODE_GENERATE_KEY,
        /* informational, each winning over those above it: */
        CONFIG_MODE_FINGERPRINT,
        CONFIG_MODE_HELP,
        CONFIG_MODE_VERSION,
};

struct config {
        enum config_mode mode;
        char *id, *host, *key, *key_file, *log, *config_file, *optional_config, *default_id, *state_dir, *metrics_listen;
        long port;
        uint64_t keepalive_interval_us, handshake_timeout_us;
        unsigned keepalive_count;
        size_t max_clients;
        int family; /* AF_INET or AF_INET6 (-4, -6); 0: either */
        uint64_t probe_max_delay_us; /* server: longest probe delay answered */
        size_t probe_max_pending;    /* server: probe answers waiting, at most; 0: none */
        uint64_t probe_every_us;     /* client: run the NAT timeout probe this often; 0: never */
        unsigned trace_hops;         /* client: the highest TTL a trace tries; 0: never trace */
        uint64_t trace_interval_us;  /* client: at least this long between two traces */
        uint32_t set; /* which options have a value (bit per option) */
        unsigned key_lines; /* 'key' lines read from config files, used or not */
        bool mode_from_file; /* the mode was set by a config file, not the command line */
};

void config_init(struct config *c);

/* A deep copy (the reload starts again from the command line's settings). */
int config_copy(struct config *dst, const struct config *src);
void config_free(struct config *c);

/* Parses argv. A --key value is wiped from argv (so ps does not show it).
 * Returns 0 or -EINVAL with the reason in err. */
int config_parse_args(struct config *c, int argc, char **argv, char err[static CONFIG_ERR_MAX]);

/* Reads a config file; its values fill only what is not set yet. Returns 0,
 * or a negative errno with the reason in err. */
int config_load_file(struct config *c, const char *path, char err[static CONFIG_ERR_MAX]);

/* Parses config text (len bytes, from a file called name for errors). */
int config_parse_text(struct config *c, const char *name, const char *text, size_t len,
                      char err[static CONFIG_ERR_MAX]);

/* Reads --config, then --optional-config if that file exists. */
int config_load_files(struct config *c, char err[static CONFIG_ERR_MAX]);

/* Applies defaults and checks that the mode has what it needs. */
int config_finish(struct config *c, char err[static CONFIG_ERR_MAX]);

/* The log file to append to, or NULL for none: --log if given ('' means
 * none), else udp-canary.log, except under the journal (which is the log). */
const char *config_log_path(const struct config *c, bool journal);

/* True when the option (by long name) has a value from anywhere. */
bool config_is_set(const struct config *c, const char *name);

/* The usage text, with the defaults this build has. */
void config_usage(FILE *out);

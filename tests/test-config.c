/* The command line and config files: the original's forms, ours, the
 * command line winning over the file, and a clear error for each mistake. */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "daemon/config.h"

static char err[CONFIG_ERR_MAX];

/* Parses a NULL-terminated list of arguments (copied: parsing may wipe). */
static int parse(struct config *c, const char *const *args)
{
        char *argv[32], copies[32][128];
        int argc = 0, r;

        argv[argc++] = strcpy(copies[0], "udp-canary");
        for (; *args; args++, argc++)
                argv[argc] = strcpy(copies[argc], *args);
        argv[argc] = NULL;
        config_init(c);
        err[0] = '\0';
        r = config_parse_args(c, argc, argv, err);
        if (r == 0)
                r = config_finish(c, err);
        return r;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_original_forms(void)
{
        struct config c;

        CHECK_INT(parse(&c, ARGS("--client", "--id", "home", "--host", "192.0.2.1", "--key", "k")), 0);
        CHECK_INT(c.mode, CONFIG_MODE_CLIENT);
        CHECK_STR(c.id, "home");
        CHECK_STR(c.host, "192.0.2.1");
        CHECK_INT(c.port, 43210);
        CHECK_STR(config_log_path(&c, false), "udp-canary.log");
        CHECK(config_log_path(&c, true) == NULL); /* the journal is the log */
        CHECK_INT(c.keepalive_interval_us, 26625000);
        CHECK_INT(c.handshake_timeout_us, 5000000);
        CHECK_INT(c.keepalive_count, 5);
        CHECK_INT(c.trace_hops, 8);
        CHECK_INT(c.trace_interval_us, 300000000);
        config_free(&c);

        CHECK_INT(parse(&c, ARGS("--client", "--id", "home", "--host", "h", "--key", "k", "--trace-hops", "0",
                                 "--trace-interval", "60")), 0);
        CHECK_INT(c.trace_hops, 0);
        CHECK_INT(c.trace_interval_us, 60000000);
        config_free(&c);
        CHECK_INT(parse(&c, ARGS("--client", "--id", "home", "--host", "h", "--key", "k", "--trace-hops", "32")), 0);
        CHECK_INT(c.trace_hops, 32);
        config_free(&c);

        /* --opt=value, unique prefixes (argparse allows both) */
        CHECK_INT(parse(&c, ARGS("--ser", "--port=5000", "--key=k", "--lo", "x.log")), 0);
        CHECK_INT(c.mode, CONFIG_MODE_SERVER);
        CHECK_INT(c.port, 5000);
        CHECK_STR(c.host, "0.0.0.0");
        CHECK_STR(c.log, "x.log");
        CHECK_STR(config_log_path(&c, true), "x.log");
        config_free(&c);

        CHECK_INT(parse(&c, ARGS("--server", "--key=k", "--log", "")), 0);
        CHECK(config_log_path(&c, false) == NULL);
        config_free(&c);

        /* the units' defaults: id from the instance unless given */
        CHECK_INT(parse(&c, ARGS("--client", "--default-id", "inst", "--host", "h", "--key=k")), 0);
        CHECK_STR(c.id, "inst");
        config_free(&c);
        CHECK_INT(parse(&c, ARGS("--client", "--default-id", "inst", "--id", "mine", "--host", "h", "--key=k")), 0);
        CHECK_STR(c.id, "mine");
        config_free(&c);

        CHECK_INT(parse(&c, ARGS("--generate-key")), 0);
        CHECK_INT(c.mode, CONFIG_MODE_GENERATE_KEY);
        config_free(&c);

        CHECK_INT(parse(&c, ARGS("--server", "--key", "k", "--keepalive-interval", "0.25",
                                 "--handshake-timeout", "1.5", "--keepalive-count", "3")), 0);
        CHECK_INT(c.keepalive_interval_us, 250000);
        CHECK_INT(c.handshake_timeout_us, 1500000);
        CHECK_INT(c.keepalive_count, 3);
        config_free(&c);
}

/* The --key value is gone from argv after parsing. */
static void test_key_wiped(void)
{
        char a0[] = "udp-canary", a1[] = "--server", a2[] = "--key", a3[] = "DP2hvII7udFu0b2DBvmrxw==",
             a4[] = "--key=DP2hvII7udFu0b2DBvmrxw==";
        char *argv[] = { a0, a1, a2, a3, a4, NULL };
        struct config c;

        config_init(&c);
        CHECK_INT(config_parse_args(&c, 5, argv, err), 0);
        CHECK_STR(c.key, "DP2hvII7udFu0b2DBvmrxw==");
        CHECK(memmem(a3, sizeof(a3), "DP2h", 4) == NULL);
        CHECK(memmem(a4, sizeof(a4), "DP2h", 4) == NULL);
        CHECK_STR(a4, "--key="); /* the option itself stays readable */
        config_free(&c);
}

struct bad {
        const char *const *args;
        const char *says; /* a part of the one-line error */
};

static void test_errors(void)
{
        const struct bad cases[] = {
                { ARGS("--id", "x"), "one of --client, --server, --generate-key is required" },
                { ARGS("--client", "--server"), "not allowed" },
                { ARGS("--client", "--host", "h", "--key", "k"), "--client needs --id" },
                { ARGS("--client", "--id", "x", "--key", "k"), "--client needs --host" },
                { ARGS("--server", "--port", "65536"), "'65536' is not a port number" },
                { ARGS("--server", "--port", "-1"), "is not a port number" },
                { ARGS("--server", "--port", "12ab"), "is not a port number" },
                { ARGS("--client", "--id", "x", "--host", "h", "--port", "0"), "port from 1 to 65535" },
                { ARGS("--server", "--bogus"), "unknown or ambiguous option '--bogus'" },
                { ARGS("--server", "--k", "x"), "ambiguous" }, /* --key or --key-file or --keepalive-... */
                { ARGS("--server", "--port"), "needs a value" },
                { ARGS("--server", "stray"), "unexpected argument 'stray'" },
                { ARGS("--server", "--key", "a", "--key-file", "b"), "either --key or --key-file" },
                { ARGS("--server", "--keepalive-interval", "0"), "not a number of seconds" },
                { ARGS("--server", "--keepalive-interval", "nan"), "not a number of seconds" },
                { ARGS("--server", "--handshake-timeout", "1e9"), "not a number of seconds" },
                { ARGS("--server", "--keepalive-count", "0"), "whole number from 1 to 1000" },
                { ARGS("--client", "--trace-hops", "33"), "whole number from 0 to 32" },
                { ARGS("--client", "--trace-interval", "-1"), "not a number of seconds" },
                { ARGS("--client", "--id", "\xff", "--host", "h"), "not UTF-8" },
        };
        struct config c;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                CHECK_INT(parse(&c, cases[i].args), -EINVAL);
                if (!strstr(err, cases[i].says))
                        fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, err, cases[i].says);
                CHECK(strstr(err, cases[i].says) != NULL);
                CHECK(strchr(err, '\n') == NULL);
                config_free(&c);
        }
}

static const char *write_file(const char *text)
{
        static char path[] = "/tmp/udp-canary-test-XXXXXX";
        int fd;

        strcpy(path, "/tmp/udp-canary-test-XXXXXX");
        fd = mkstemp(path);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                exit(99);
        close(fd);
        return path;
}

static void test_file(void)
{
        struct config c;
        const char *path = write_file("# a profile\n"
                                      "\n"
                                      "  host = vps.example.org  \n"
                                      "id=home\n"
                                      "port = 5000\n"
                                      "keepalive-interval = 25\n"
                                      "client = yes\n");

        char a0[] = "udp-canary", a1[] = "--port", a2[] = "6000";
        char *argv[] = { a0, a1, a2, NULL };

        /* the mode comes from the file; the command line's port wins over the file's */
        config_init(&c);
        CHECK_INT(config_parse_args(&c, 3, argv, err), 0);
        CHECK_INT(config_load_file(&c, path, err), 0);
        CHECK_INT(config_finish(&c, err), 0);
        CHECK_INT(c.mode, CONFIG_MODE_CLIENT);
        CHECK_STR(c.host, "vps.example.org");
        CHECK_STR(c.id, "home");
        CHECK_INT(c.port, 6000);
        CHECK_INT(c.keepalive_interval_us, 25000000);
        config_free(&c);
        unlink(path);
}

static void test_file_errors(void)
{
        static const struct {
                const char *text, *says;
        } cases[] = {
                { "host = a\nnonsense\n", ":2: expected 'name = value'" },
                { "colour = blue\n", ":1: unknown option 'colour'" },
                { "port = 99999\n", ":1: port: '99999' is not a port number" },
                { "config = other\n", "cannot be set in a config file" },
                { "client = maybe\n", "is not true or false" },
                { "id = \xc3\x28\n", ":1: not UTF-8 text" },
        };
        static const struct {
                const char *text, *says;
        } no_mode[] = {
                { "client = true\nserver = true\n", ":2: server: client and server both set to true" },
                { "server = yes\nclient = on\n", ":2: client: client and server both set to true" },
        };
        char a0[] = "udp-canary", a1[] = "--server";
        char *argv[] = { a0, a1, NULL };
        struct config c;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *path = write_file(cases[i].text);

                config_init(&c);
                CHECK_INT(config_parse_args(&c, 2, argv, err), 0);
                CHECK(config_load_file(&c, path, err) < 0);
                CHECK(strstr(err, cases[i].says) != NULL);
                if (!strstr(err, cases[i].says)) { /* not %s: gcc's sanitizer build took it for null */
                        fprintf(stderr, "file case %zu: \"%s\" lacks \"", i, err);
                        fputs(cases[i].says, stderr);
                        fputs("\"\n", stderr);
                }
                CHECK(strstr(err, path) != NULL); /* names the file */
                config_free(&c);
                unlink(path);
        }
        /* with no mode on the command line, a file may not set both */
        for (size_t i = 0; i < sizeof(no_mode) / sizeof(no_mode[0]); i++) {
                const char *path = write_file(no_mode[i].text);

                config_init(&c);
                CHECK(config_load_file(&c, path, err) < 0);
                CHECK(strstr(err, no_mode[i].says) != NULL);
                config_free(&c);
                unlink(path);
        }
        /* the command line's mode wins over the files' */
        {
                const char *path = write_file("client = true\nserver = true\n");

                config_init(&c);
                CHECK_INT(config_parse_args(&c, 2, argv, err), 0);
                CHECK_INT(config_load_file(&c, path, err), 0);
                CHECK_INT(c.mode, CONFIG_MODE_SERVER);
                config_free(&c);
                unlink(path);
        }
        config_init(&c);
        CHECK_INT(config_load_file(&c, "/nonexistent/udp-canary.conf", err), -ENOENT);
        CHECK(strstr(err, "/nonexistent/udp-canary.conf") != NULL);
        config_free(&c);
}

int main(void)
{
        test_original_forms();
        test_key_wiped();
        test_errors();
        test_file();
        test_file_errors();
        return check_finish("config");
}

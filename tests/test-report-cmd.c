/* `udp-canary report`'s command line, called as main calls it: --help
 * prints the usage and returns 0 to its caller, as often as it is asked
 * (an exit from inside fails the test: the atexit check below); a wrong
 * option and a file that cannot be read return 2; a directory is no log. */
#include <unistd.h>

#include "check.h"
#include "report/report-cmd.h"

static bool returned;

static void exited_inside(void)
{
        if (!returned) {
                fprintf(stderr, "report_main exited instead of returning its status\n");
                _exit(1);
        }
}

/* report_main on the arguments, with its standard output and error caught
 * in out (NUL-terminated). Returns its status. */
static int run(const char *const *args, char *out, size_t cap)
{
        char *argv[8];
        int argc = 0, saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO), status;
        FILE *f = tmpfile();
        size_t n;

        while (args[argc] && argc < 7) {
                argv[argc] = (char *)args[argc];
                argc++;
        }
        argv[argc] = NULL;
        CHECK(f && saved_out >= 0 && saved_err >= 0);
        fflush(stdout);
        fflush(stderr);
        dup2(fileno(f), STDOUT_FILENO);
        dup2(fileno(f), STDERR_FILENO);
        status = report_main(argc, argv);
        fflush(stdout);
        fflush(stderr);
        dup2(saved_out, STDOUT_FILENO);
        dup2(saved_err, STDERR_FILENO);
        close(saved_out);
        close(saved_err);
        rewind(f);
        n = fread(out, 1, cap - 1, f);
        out[n] = '\0';
        fclose(f);
        return status;
}

int main(void)
{
        static char out[8192];
        char dir[] = "/tmp/test-report-cmd.XXXXXX";

        atexit(exited_inside);
        for (int i = 0; i < 2; i++) {
                CHECK_INT(run((const char *const[]){ "report", "--help", NULL }, out, sizeof(out)), 0);
                CHECK(strstr(out, "usage: udp-canary report") != NULL);
        }
        CHECK_INT(run((const char *const[]){ "report", "-h", "--no-such-option", NULL }, out, sizeof(out)), 0);
        CHECK_INT(run((const char *const[]){ "report", "--no-such-option", NULL }, out, sizeof(out)), 2);
        CHECK(strstr(out, "unknown option") != NULL);
        CHECK_INT(run((const char *const[]){ "report", "/nonexistent/udp-canary.log", NULL }, out, sizeof(out)), 2);
        CHECK(strstr(out, "cannot read /nonexistent/udp-canary.log") != NULL);
        CHECK(mkdtemp(dir) != NULL);
        CHECK_INT(run((const char *const[]){ "report", dir, NULL }, out, sizeof(out)), 2);
        CHECK(strstr(out, "Is a directory") != NULL);
        rmdir(dir);
        returned = true;
        return check_finish("report-cmd");
}

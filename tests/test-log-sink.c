/* The log sink (daemon/log-sink): records taken apart in order; a line cut
 * short by a failing write (a full disk, here a file size limit) ended with
 * a newline before the next line, in that file only; a failing file told
 * once on stderr, its recovery too; a turn's text records written as one,
 * in order, cut and ended the same; journal entries sent field by field,
 * at most LOG_JOURNAL_FIELDS_MAX of them, an entry cut short never. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "daemon/log-sink.h"

static char dir[256];

static void path_of(char *out, size_t cap, const char *name)
{
        snprintf(out, cap, "%s/%s", dir, name);
}

/* The whole file, or "" when it cannot be read. */
static const char *slurp(const char *path)
{
        static char buf[4096];
        ssize_t n = -1;
        int fd = open(path, O_RDONLY);

        if (fd >= 0) {
                n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
        }
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

/* Appends one record (head and payload) to buf at *used. */
static void put_record(char *buf, size_t *used, enum log_record kind, const void *payload, size_t len)
{
        *used += log_record_head(buf + *used, kind, len);
        memcpy(buf + *used, payload, len);
        *used += len;
}

/* Appends a record that hands the sink the log file at path (opened as
 * log.c opens it). */
static void put_file(char *buf, size_t *used, const char *path)
{
        char payload[4 + 256];
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        size_t plen = strlen(path);

        CHECK(fd >= 0);
        memcpy(payload, &fd, 4);
        memcpy(payload + 4, path, plen);
        put_record(buf, used, LOG_RECORD_FILE, payload, 4 + plen);
}

/* Hands the sink the log file at path, through log_sink_consume as the
 * log's thread gets it. */
static void use_file(struct log_sink *s, const char *path)
{
        char buf[LOG_RECORD_HEAD + 4 + 256];
        size_t used = 0;

        put_file(buf, &used, path);
        log_sink_consume(s, buf, used);
}

static void text(struct log_sink *s, const char *line)
{
        log_sink_record(s, LOG_RECORD_TEXT, line, strlen(line));
}

/* The file size limit (RLIMIT_FSIZE): writes past it fail with EFBIG, the
 * one that crosses it part way, as on a full disk. */
static void limit_files(rlim_t bytes)
{
        struct rlimit rl;

        CHECK_INT(getrlimit(RLIMIT_FSIZE, &rl), 0);
        rl.rlim_cur = bytes == RLIM_INFINITY ? rl.rlim_max : bytes;
        CHECK_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static unsigned count_of(const char *hay, const char *needle)
{
        unsigned n = 0;

        for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
                n++;
        return n;
}

static void test_cut_line(void)
{
        struct log_sink s;
        char a[300];
        const char *err;

        path_of(a, sizeof(a), "cut.log");
        log_sink_init(&s, false);
        use_file(&s, a);
        capture_begin();
        text(&s, "one\n");
        limit_files(strlen("one\nsecond"));
        text(&s, "second line\n"); /* "second" written, then EFBIG */
        text(&s, "third\n");       /* the repair itself fails: lost */
        limit_files(RLIM_INFINITY);
        text(&s, "fourth\n");
        err = capture_end();
        CHECK_STR(slurp(a), "one\nsecond\nfourth\n");
        CHECK_INT(count_of(err, "cannot write the log file"), 1);
        CHECK_INT(count_of(err, a), 2);
        CHECK_INT(count_of(err, "is written again"), 1);

        /* a write failing right after a whole line leaves nothing to end */
        capture_begin();
        limit_files(strlen(slurp(a)) + strlen("fifth\n"));
        text(&s, "fifth\nsixth\n");
        limit_files(RLIM_INFINITY);
        text(&s, "seventh\n");
        capture_end();
        CHECK_STR(slurp(a), "one\nsecond\nfourth\nfifth\nseventh\n");
        log_sink_close(&s);
        unlink(a);
}

static void put_text(char *buf, size_t *used, const char *line)
{
        put_record(buf, used, LOG_RECORD_TEXT, line, strlen(line));
}

/* A turn's text records (one per callback of the loop) written with one
 * writev: a write cut in the middle of the second is ended like any
 * other; the text before a new file goes to the one before; more records
 * than LOG_SINK_IOV are all written, in order. */
static void test_batch(void)
{
        static char buf[4 * LOG_SINK_IOV * (LOG_RECORD_HEAD + 2)], want[2 * 1536 + 1];
        struct log_sink s;
        char a[300], b[300];
        size_t used = 0;

        path_of(a, sizeof(a), "batch-a.log");
        path_of(b, sizeof(b), "batch-b.log");
        log_sink_init(&s, false);
        use_file(&s, a);
        capture_begin();
        put_text(buf, &used, "one\n");
        put_text(buf, &used, "two\n");
        put_text(buf, &used, "three\n");
        limit_files(strlen("one\ntw"));
        log_sink_consume(&s, buf, used);
        limit_files(RLIM_INFINITY);
        used = 0;
        put_text(buf, &used, "four\n");
        log_sink_consume(&s, buf, used);
        capture_end();
        CHECK_STR(slurp(a), "one\ntw\nfour\n");

        used = 0;
        put_text(buf, &used, "old\n");
        put_file(buf, &used, b);
        put_text(buf, &used, "new\n");
        log_sink_consume(&s, buf, used);
        CHECK_STR(slurp(a), "one\ntw\nfour\nold\n");
        CHECK_STR(slurp(b), "new\n");

        used = 0;
        for (unsigned i = 0; i < 1536; i++) {
                char line[3] = { (char)('a' + i % 26), '\n', '\0' };

                put_text(buf, &used, line);
                memcpy(want + 2 * i, line, 3);
        }
        unlink(b);
        use_file(&s, b);
        log_sink_consume(&s, buf, used);
        CHECK_STR(slurp(b), want);
        log_sink_close(&s);
        unlink(a);
        unlink(b);
}

/* The repair goes to the file that was cut: the same file opened again
 * (a reload) still gets it, a new one (logrotate) does not. */
static void test_cut_then_new_file(void)
{
        struct log_sink s;
        char a[300], b[300];

        path_of(a, sizeof(a), "a.log");
        path_of(b, sizeof(b), "b.log");
        log_sink_init(&s, false);
        use_file(&s, a);
        capture_begin();
        limit_files(strlen("half"));
        text(&s, "half a line\n");
        limit_files(RLIM_INFINITY);
        use_file(&s, a);
        text(&s, "after a reload\n");
        CHECK_STR(slurp(a), "half\nafter a reload\n");

        limit_files(strlen(slurp(a)) + strlen("cut"));
        text(&s, "cut again\n");
        limit_files(RLIM_INFINITY);
        use_file(&s, b);
        text(&s, "rotated\n");
        capture_end();
        CHECK_STR(slurp(b), "rotated\n");
        CHECK_STR(slurp(a), "half\nafter a reload\ncut");
        log_sink_close(&s);
        unlink(a);
        unlink(b);
}

/* Text goes to stderr as well unless the journal has it; without a file
 * only there. */
static void test_stderr(void)
{
        struct log_sink s;
        char a[300];

        path_of(a, sizeof(a), "both.log");
        log_sink_init(&s, true);
        capture_begin();
        text(&s, "before the file\n");
        use_file(&s, a);
        text(&s, "with the file\n");
        log_sink_close(&s);
        text(&s, "after\n");
        CHECK_STR(capture_end(), "before the file\nwith the file\nafter\n");
        CHECK_STR(slurp(a), "with the file\n");
        unlink(a);

        log_sink_init(&s, false);
        capture_begin();
        text(&s, "nowhere\n");
        CHECK_STR(capture_end(), "");
}

/* The journal's stand-in: each entry as "n:field|field|" in got. */
static char got[8192];
static size_t got_len;

static int record_sendv(const struct iovec *iov, int n)
{
        got_len += (size_t)snprintf(got + got_len, sizeof(got) - got_len, "%d:", n);
        for (int i = 0; i < n; i++)
                got_len += (size_t)snprintf(got + got_len, sizeof(got) - got_len, "%.*s|", (int)iov[i].iov_len,
                                            (const char *)iov[i].iov_base);
        got_len += (size_t)snprintf(got + got_len, sizeof(got) - got_len, "\n");
        return 0;
}

/* One entry of n fields F0=0, F1=1... appended to buf. */
static void put_entry(char *buf, size_t *used, uint32_t n)
{
        memcpy(buf + *used, &n, 4);
        *used += 4;
        for (uint32_t i = 0; i < n; i++) {
                char field[32];
                uint32_t len = (uint32_t)snprintf(field, sizeof(field), "F%u=%u", i, i);

                memcpy(buf + *used, &len, 4);
                memcpy(buf + *used + 4, field, len);
                *used += 4 + len;
        }
}

static void test_journal(void)
{
        char entries[2048], records[4096], want[1024];
        size_t n = 0, used = 0, w = 0;
        struct log_sink s;

        log_sink_init(&s, false);
        s.journal_sendv = record_sendv;
        got_len = 0;
        put_entry(entries, &n, 2);
        put_entry(entries, &n, LOG_JOURNAL_FIELDS_MAX + 4); /* the rest skipped */
        put_entry(entries, &n, 1);                          /* found after them */
        put_record(records, &used, LOG_RECORD_JOURNAL, entries, n);
        log_sink_consume(&s, records, used);
        w += (size_t)snprintf(want + w, sizeof(want) - w, "2:F0=0|F1=1|\n%d:", LOG_JOURNAL_FIELDS_MAX);
        for (unsigned i = 0; i < LOG_JOURNAL_FIELDS_MAX; i++)
                w += (size_t)snprintf(want + w, sizeof(want) - w, "F%u=%u|", i, i);
        snprintf(want + w, sizeof(want) - w, "\n1:F0=0|\n");
        CHECK_STR(got, want);

        /* entries cut short by the payload's end are not sent */
        got_len = 0;
        got[0] = '\0';
        n = 0;
        put_entry(entries, &n, 1);
        put_entry(entries, &n, 3);
        for (size_t cut = n - 1; cut > strlen("1234F0=0") + 4; cut--) {
                got_len = 0;
                log_sink_record(&s, LOG_RECORD_JOURNAL, entries, cut);
                CHECK_STR(got, "1:F0=0|\n");
        }
}

/* Records of every kind in one buffer, done in their order. */
static void test_consume_order(void)
{
        char buf[1024], a[300], payload[4 + 300];
        size_t used = 0, plen;
        struct log_sink s;
        int fd;

        path_of(a, sizeof(a), "order.log");
        log_sink_init(&s, false);
        s.journal_sendv = record_sendv;
        got_len = 0;
        put_record(buf, &used, LOG_RECORD_TEXT, "no file yet\n", 12);
        fd = open(a, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        plen = strlen(a);
        memcpy(payload, &fd, 4);
        memcpy(payload + 4, a, plen);
        put_record(buf, &used, LOG_RECORD_FILE, payload, 4 + plen);
        put_record(buf, &used, LOG_RECORD_TEXT, "first\n", 6);
        put_record(buf, &used, LOG_RECORD_JOURNAL, "\0\0\0\0", 4); /* an entry of no field */
        put_record(buf, &used, LOG_RECORD_TEXT, "second\n", 7);
        log_sink_consume(&s, buf, used);
        CHECK_STR(slurp(a), "first\nsecond\n");
        CHECK_STR(got, "0:\n");
        CHECK_STR(s.path, a);
        log_sink_close(&s);
        CHECK_INT(s.fd, -1);
        unlink(a);
}

int main(void)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/test-log-sink-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return 1;
        }
        signal(SIGXFSZ, SIG_IGN); /* past the size limit: EFBIG, not death */
        test_cut_line();
        test_cut_then_new_file();
        test_batch();
        test_stderr();
        test_journal();
        test_consume_order();
        rmdir(dir);
        return check_finish("log-sink");
}

/* The replay state file: a round trip keeps every id (awkward ones too),
 * its highest handshake id and the recency order; a truncated or corrupt
 * file loads what it can and is kept aside; a missing one is no error; a
 * failed save leaves the old file as it was. The mirror of unsaved
 * changes never lowers an id and forgets the least recent first; the
 * writer appends what was noted, after a line cut short too, tries again
 * after a failure, rewrites the file whole once it has grown, saves at
 * the end, and leaves the file alone once abandoned. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "peer.h"
#include "core/server.h"
#include "daemon/state-writer.h"

static char dir[] = "/tmp/udp-canary-state-XXXXXX";
static char path[256];

static void table_add(struct peers *t, const char *id, size_t len, uint64_t highest)
{
        struct peer *p;

        CHECK_INT(peers_add(t, id, len, &p), 0);
        p->highest_init = highest;
}

static void write_file(const char *text, size_t len)
{
        FILE *f = fopen(path, "w");

        if (!f || fwrite(text, 1, len, f) != len)
                exit(99);
        fclose(f);
}

static void test_round_trip(void)
{
        static const char nul_id[] = "nul\0byte";
        struct peers t, u;
        struct state_report rep;
        const struct peer *p;

        CHECK_INT(peers_init(&t, 100), 0);
        table_add(&t, "home", 4, 1732673217);
        table_add(&t, "caf\xc3\xa9 \"q\" \\ \n\t\x7f", 15, 5);
        table_add(&t, "none", 4, 0); /* no id: not written */
        table_add(&t, nul_id, sizeof(nul_id) - 1, 9223372036854775807ULL);
        table_add(&t, "", 0, 1);
        CHECK_INT(state_save(path, STATE_REPLAY_HEADER, &t), 0);

        CHECK_INT(peers_init(&u, 100), 0);
        CHECK_INT(state_load(path, &u, &rep), 0);
        CHECK_INT(rep.loaded, 4);
        CHECK_INT(rep.bad_lines, 0);
        CHECK(!rep.kept_aside);
        p = peers_find(&u, "home", 4);
        CHECK(p && p->highest_init == 1732673217);
        p = peers_find(&u, "caf\xc3\xa9 \"q\" \\ \n\t\x7f", 15);
        CHECK(p && p->highest_init == 5);
        p = peers_find(&u, nul_id, sizeof(nul_id) - 1);
        CHECK(p && p->highest_init == 9223372036854775807ULL);
        /* the recency order survives: oldest first */
        CHECK(u.oldest && strcmp(u.oldest->id, "home") == 0);
        CHECK(u.newest && u.newest->id_len == 0);
        peers_free(&u);

        /* a smaller table takes the most recent ones */
        CHECK_INT(peers_init(&u, 2), 0);
        CHECK_INT(state_load(path, &u, &rep), 0);
        CHECK_INT(rep.loaded, 2);
        CHECK_INT(rep.dropped, 2);
        CHECK(peers_find(&u, nul_id, sizeof(nul_id) - 1) && peers_find(&u, "", 0));
        CHECK(!peers_find(&u, "home", 4));
        peers_free(&u);
        peers_free(&t);
}

static void test_damaged(void)
{
        static const char good[] = "# udp-canary replay state 1\n7 \"a\"\n8 \"b\"\n";
        static const char truncated[] = "# udp-canary replay state 1\n7 \"a\"\n8 \"b";
        static const char no_newline[] = "# udp-canary replay state 1\n7 \"a\"\n8 \"b\"";
        char aside1[310];
        static const char corrupt[] = "7 \"a\"\nnot a line\n-1 \"x\"\n5 x\n99999999999999999999 \"y\"\n5 \"\\ud800\"\n";
        char aside[300], back[256];
        struct state_report rep;
        struct peers t;
        FILE *f;

        snprintf(aside, sizeof(aside), "%s.corrupt", path);
        write_file(good, sizeof(good) - 1);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK_INT(rep.loaded, 2);
        peers_free(&t);

        write_file(truncated, sizeof(truncated) - 1);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK_INT(rep.loaded, 1);
        CHECK_INT(rep.bad_lines, 1);
        CHECK(rep.kept_aside);
        CHECK_STR(rep.aside, aside);
        /* the file stays whole where it is, and a copy is aside */
        f = fopen(path, "r");
        CHECK(f && fread(back, 1, sizeof(back), f) == sizeof(truncated) - 1);
        if (f)
                fclose(f);
        f = fopen(aside, "r");
        CHECK(f && fread(back, 1, sizeof(back), f) == sizeof(truncated) - 1); /* nothing lost */
        if (f)
                fclose(f);
        peers_free(&t);
        /* damaged again: the older copy is kept, the new one goes beside it */
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        snprintf(aside1, sizeof(aside1), "%s.1", aside);
        CHECK_STR(rep.aside, aside1);
        CHECK(access(aside, F_OK) == 0 && access(aside1, F_OK) == 0);
        unlink(aside1);
        peers_free(&t);

        /* a whole last line without its newline is a line */
        write_file(no_newline, sizeof(no_newline) - 1);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK_INT(rep.loaded, 2);
        CHECK_INT(rep.bad_lines, 0);
        CHECK(peers_find(&t, "b", 1) && peers_find(&t, "b", 1)->highest_init == 8);
        peers_free(&t);
        unlink(aside);

        write_file(corrupt, sizeof(corrupt) - 1);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK_INT(rep.loaded, 1);
        CHECK_INT(rep.bad_lines, 5);
        peers_free(&t);

        write_file("\0\0\0\n", 4);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK_INT(rep.loaded, 0);
        CHECK_INT(rep.bad_lines, 1);
        peers_free(&t);
        unlink(aside);
}

static void test_missing_and_unwritable(void)
{
        struct state_report rep;
        struct peers m, t;
        char bad[300];

        unlink(path);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK_INT(rep.loaded, 0);
        peers_free(&t);

        CHECK_INT(peers_init(&m, 10), 0);
        table_add(&m, "a", 1, 3);
        snprintf(bad, sizeof(bad), "%s/no/such/dir/replay.state", dir);
        CHECK_INT(state_save(bad, STATE_REPLAY_HEADER, &m), -ENOENT);

        /* a failed save leaves the old file alone */
        CHECK_INT(state_save(path, STATE_REPLAY_HEADER, &m), 0);
        chmod(dir, 0500);
        if (geteuid() != 0) { /* root writes anyway */
                table_add(&m, "b", 1, 4);
                CHECK(state_save(path, STATE_REPLAY_HEADER, &m) < 0);
        }
        chmod(dir, 0700);
        peers_free(&m);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK(peers_find(&t, "a", 1) != NULL);
        peers_free(&t);
}

/* The ids of the mirror, oldest first, as "a,b,c". */
static const char *mirror_order(const struct state_mirror *m)
{
        static char out[256];
        size_t used = 0, len;
        const char *key;
        json_t *value;

        out[0] = '\0';
        json_object_keylen_foreach(m->ids, key, len, value) {
                used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%.*s", used ? "," : "", (int)len, key);
                if (used >= sizeof(out))
                        break;
        }
        return out;
}

static uint64_t mirror_highest(const struct state_mirror *m, const char *id)
{
        return (uint64_t)json_integer_value(json_object_get(m->ids, id));
}

static void test_mirror(void)
{
        struct state_mirror m;

        CHECK_INT(state_mirror_init(&m, 3), 0);
        CHECK_INT(state_mirror_update(&m, "a", 1, 5), 1);
        CHECK_INT(state_mirror_update(&m, "b", 1, 7), 1);
        CHECK_INT(state_mirror_update(&m, "c", 1, 9), 1);
        CHECK_STR(mirror_order(&m), "a,b,c");
        /* heard again without a new handshake: only the order changes */
        CHECK_INT(state_mirror_update(&m, "a", 1, 5), 0);
        CHECK_STR(mirror_order(&m), "b,c,a");
        /* a lower id never lowers what is held */
        CHECK_INT(state_mirror_update(&m, "b", 1, 2), 0);
        CHECK_INT(mirror_highest(&m, "b"), 7);
        CHECK_INT(state_mirror_update(&m, "c", 1, 10), 1);
        CHECK_STR(mirror_order(&m), "a,b,c");
        /* over the maximum: the least recently heard go first */
        CHECK_INT(state_mirror_update(&m, "d", 1, 1), 1);
        CHECK_INT(state_mirror_trim(&m), 1);
        CHECK_STR(mirror_order(&m), "b,c,d");
        m.max = 1;
        CHECK_INT(state_mirror_trim(&m), 2);
        CHECK_STR(mirror_order(&m), "d");
        state_mirror_free(&m);
}

/* The file's client lines, oldest first, as "7 a,8 b". */
static const char *file_lines(void)
{
        static char out[256];
        struct state_report rep;
        struct peers t;
        size_t used = 0;

        out[0] = '\0';
        CHECK_INT(peers_init(&t, 100), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        for (const struct peer *p = t.oldest; p && used < sizeof(out); p = p->newer)
                used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%llu %s", used ? "," : "",
                                         (unsigned long long)p->highest_init, p->id);
        peers_free(&t);
        return out;
}

static uint64_t saves_of(struct state_writer *w)
{
        struct state_writer_outcome o;

        state_writer_outcome(w, &o);
        return o.saves;
}

static uint64_t failures_of(struct state_writer *w)
{
        struct state_writer_outcome o;

        state_writer_outcome(w, &o);
        return o.failures;
}

/* The file's first line. */
static const char *first_line(void)
{
        static char out[256];
        FILE *f = fopen(path, "r");

        out[0] = '\0';
        if (f && !fgets(out, sizeof(out), f))
                out[0] = '\0';
        if (f)
                fclose(f);
        return out;
}

static void test_writer(void)
{
        struct state_writer *w;
        uint64_t before;
        char moved[300];
        FILE *f;

        unlink(path);
        CHECK_INT(state_writer_new(&w, path, STATE_REPLAY_HEADER, 3, 0), 0);
        /* nothing noted: no file */
        CHECK_INT(state_writer_sync(w), 0);
        CHECK_INT(saves_of(w), 0);
        CHECK(access(path, F_OK) < 0);

        /* changes are appended, in order, to a new file with its header */
        CHECK_INT(state_writer_note(w, "b", 1, 8), 0);
        CHECK_INT(state_writer_note(w, "a", 1, 9), 0);
        CHECK(state_writer_busy(w));
        CHECK_INT(state_writer_sync(w), 0);
        CHECK(!state_writer_busy(w));
        CHECK_STR(file_lines(), "8 b,9 a");
        CHECK_STR(first_line(), STATE_REPLAY_HEADER);

        /* nothing noted: no save */
        before = saves_of(w);
        CHECK_INT(state_writer_sync(w), 0);
        CHECK_INT(saves_of(w), before);

        /* a later line counts as the more recent */
        CHECK_INT(state_writer_note(w, "b", 1, 10), 0);
        CHECK_INT(state_writer_sync(w), 0);
        CHECK_STR(file_lines(), "9 a,10 b");

        /* an append that failed is tried again at the next sync, with
         * nothing new noted (something in the file's way) */
        snprintf(moved, sizeof(moved), "%s.moved", path);
        CHECK_INT(rename(path, moved), 0);
        CHECK_INT(mkdir(path, 0700), 0);
        CHECK_INT(state_writer_note(w, "c", 1, 5), 0);
        CHECK(state_writer_sync(w) < 0);
        CHECK_INT(failures_of(w), 1);
        CHECK_INT(rmdir(path), 0);
        CHECK_INT(rename(moved, path), 0);
        CHECK_INT(state_writer_sync(w), 0);
        CHECK_STR(file_lines(), "9 a,10 b,5 c");

        /* a last line cut short stays apart from the next one */
        f = fopen(path, "a");
        CHECK(f && fputs("7 \"cut", f) >= 0);
        if (f)
                fclose(f);
        CHECK_INT(state_writer_note(w, "d", 1, 4), 0);
        CHECK_INT(state_writer_sync(w), 0);
        CHECK_STR(file_lines(), "9 a,10 b,5 c,4 d");
        snprintf(moved, sizeof(moved), "%s.corrupt", path);
        unlink(moved); /* file_lines read it, bad line and all */

        /* the last notes are saved at the end */
        CHECK_INT(state_writer_note(w, "e", 1, 3), 0);
        state_writer_free(w);
        CHECK_STR(file_lines(), "9 a,10 b,5 c,4 d,3 e");

        /* once abandoned, the file is the caller's */
        CHECK_INT(state_writer_new(&w, path, STATE_REPLAY_HEADER, 3, 5), 0);
        state_writer_abandon(w);
        CHECK_INT(state_writer_note(w, "f", 1, 2), 0);
        state_writer_free(w);
        CHECK_STR(file_lines(), "9 a,10 b,5 c,4 d,3 e");
        unlink(moved);
}

/* A file grown past twice the table and the slack is rewritten whole at
 * the next append: the newest max clients, each once; not before. */
static void test_writer_compacts(void)
{
        size_t lines = 2 * 2 + STATE_WRITER_COMPACT_SLACK;
        struct state_writer *w;
        FILE *f = fopen(path, "w");

        CHECK(f && fputs(STATE_REPLAY_HEADER, f) >= 0);
        for (size_t i = 1; f && i <= lines; i++)
                fprintf(f, "%zu \"%zu\"\n", i, i % 3);
        if (f)
                fclose(f);
        CHECK_INT(state_writer_new(&w, path, STATE_REPLAY_HEADER, 2, lines - 1), 0);
        CHECK_INT(state_writer_note(w, "x", 1, 1), 0);
        CHECK_INT(state_writer_sync(w), 0);
        CHECK_INT(saves_of(w), 1); /* at the limit: not yet */
        CHECK_INT(state_writer_note(w, "y", 1, 1), 0);
        CHECK_INT(state_writer_sync(w), 0);
        CHECK_INT(saves_of(w), 3); /* the append, then the rewrite */
        state_writer_free(w);
        CHECK_STR(file_lines(), "1 x,1 y");
        CHECK_STR(first_line(), STATE_REPLAY_HEADER);
}

int main(void)
{
        if (sodium_init() < 0 || !mkdtemp(dir))
                return 99;
        snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
        test_round_trip();
        test_damaged();
        test_missing_and_unwritable();
        test_mirror();
        test_writer();
        test_writer_compacts();
        unlink(path);
        rmdir(dir);
        return check_finish("state");
}

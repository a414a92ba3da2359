/* The replay state file: a round trip keeps every id (awkward ones too),
 * its highest handshake id and the recency order; a truncated or corrupt
 * file loads what it can and is kept aside; a missing one is no error; a
 * failed save leaves the old file as it was. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "daemon/state.h"

static char dir[] = "/tmp/udp-canary-state-XXXXXX";
static char path[256];

static void add(struct peers *t, const char *id, size_t len, uint64_t highest)
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
        add(&t, "home", 4, 1732673217);
        add(&t, "caf\xc3\xa9 \"q\" \\ \n\t\x7f", 15, 5);
        add(&t, nul_id, sizeof(nul_id) - 1, 9223372036854775807ULL);
        add(&t, "", 0, 1);
        CHECK_INT(state_save(path, &t), 0);

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
        struct peers t;
        char bad[300];

        unlink(path);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK_INT(rep.loaded, 0);

        add(&t, "a", 1, 3);
        snprintf(bad, sizeof(bad), "%s/no/such/dir/replay.state", dir);
        CHECK_INT(state_save(bad, &t), -ENOENT);

        /* a failed save leaves the old file alone */
        CHECK_INT(state_save(path, &t), 0);
        chmod(dir, 0500);
        if (geteuid() != 0) { /* root writes anyway */
                add(&t, "b", 1, 4);
                CHECK(state_save(path, &t) < 0);
        }
        chmod(dir, 0700);
        peers_free(&t);
        CHECK_INT(peers_init(&t, 10), 0);
        CHECK_INT(state_load(path, &t, &rep), 0);
        CHECK(peers_find(&t, "a", 1) != NULL);
        peers_free(&t);
}

int main(void)
{
        if (sodium_init() < 0 || !mkdtemp(dir))
                return 99;
        snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
        test_round_trip();
        test_damaged();
        test_missing_and_unwritable();
        unlink(path);
        rmdir(dir);
        return check_finish("state");
}

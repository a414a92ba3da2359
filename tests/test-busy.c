/* The loop's busy figures (core/busy) on a virtual clock and a virtual
 * thread CPU clock: the longest callback; the CPU clock read after every
 * long callback, and otherwise only every BUSY_READ_AFTER callbacks or
 * BUSY_READ_EVERY_US; the CPU of a callback that waited for a CPU told
 * apart from its wall time when short callbacks came before it unread, to
 * within the loop's own work between them; a callback that did its work
 * all on the CPU counted whole. */
#include "check.h"
#include "core/busy.h"

/* A loop's thread: wall and CPU time, and how often the CPU clock was read. */
struct sim {
        struct busy b;
        uint64_t now, cpu;
        unsigned reads;
};

/* Sleeps gap microseconds (using gap_cpu of them on the CPU: epoll_wait,
 * the dispatch), then runs a callback for wall microseconds, cpu of them on
 * the CPU (the rest waiting for one). */
static void callback(struct sim *s, uint64_t gap, uint64_t gap_cpu, uint64_t wall, uint64_t cpu)
{
        uint64_t start;

        s->now += gap;
        s->cpu += gap_cpu;
        start = s->now;
        s->now += wall;
        s->cpu += cpu;
        if (busy_callback(&s->b, start, s->now)) {
                busy_cpu(&s->b, s->now, s->cpu);
                s->reads++;
        }
}

/* 5,000 datagrams a second, each its own callback of 15 us: the clock is
 * read every BUSY_READ_EVERY_US or BUSY_READ_AFTER callbacks, not each. */
static void test_reads_seldom(void)
{
        struct sim s = { .now = 1000000 };
        unsigned n = 5000, per_read = (BUSY_READ_EVERY_US + 199) / 200; /* callbacks 200 us apart */

        if (per_read > BUSY_READ_AFTER)
                per_read = BUSY_READ_AFTER;
        for (unsigned i = 0; i < n; i++)
                callback(&s, 185, 3, 15, 15);
        CHECK(per_read > 1);
        CHECK(s.reads <= n / per_read + 1);
        CHECK(s.reads >= n / BUSY_READ_AFTER);
        CHECK_INT(s.b.wall_max_us, 15);
        /* each read: the last callback, and the loop's work and the other
         * callbacks' CPU less their wall time: 15 us and a few gaps */
        CHECK(s.b.cpu_max_us >= 15 && s.b.cpu_max_us <= 15 + 3 * per_read);
}

/* Back to back, short: every BUSY_READ_AFTER-th. */
static void test_reads_after_count(void)
{
        struct sim s = { .now = 1000000 };

        for (unsigned i = 0; i < 10 * BUSY_READ_AFTER; i++)
                callback(&s, 1, 1, 10, 10);
        CHECK_INT(s.reads, 1 + (10 * BUSY_READ_AFTER - 1) / BUSY_READ_AFTER);
}

/* Long callbacks: each read. */
static void test_reads_long(void)
{
        struct sim s = { .now = 1000000 };

        for (unsigned i = 0; i < 20; i++)
                callback(&s, 1, 1, BUSY_READ_LONG_US, BUSY_READ_LONG_US);
        CHECK_INT(s.reads, 20);
        CHECK_INT(s.b.cpu_max_us, BUSY_READ_LONG_US + 1);
}

/* A callback that held the loop 3 ms, 0.3 ms of it on the CPU (the rest
 * waiting for one), after short callbacks not read: its CPU, not its wall
 * time, give or take the loop's work between those callbacks. */
static void test_waited(void)
{
        struct sim s = { .now = 1000000 };

        callback(&s, 100, 2, 20, 20);
        for (unsigned i = 0; i < 3; i++)
                callback(&s, 100, 2, 20, 20);
        callback(&s, 100, 2, 3000, 300);
        CHECK(s.reads == 2);
        CHECK_INT(s.b.wall_max_us, 3000);
        CHECK(s.b.cpu_max_us >= 300 && s.b.cpu_max_us <= 300 + 4 * 2);
}

/* A short callback that waited for a CPU, not read after, makes the next
 * read's share smaller, never larger: never more than the CPU used. */
static void test_short_wait_before(void)
{
        struct sim s = { .now = 1000000 };

        callback(&s, 100, 2, 20, 20);
        callback(&s, 100, 2, 90, 10); /* 80 us waiting, under BUSY_READ_LONG_US */
        callback(&s, 100, 2, 500, 500);
        CHECK_INT(s.reads, 2);
        CHECK(s.b.cpu_max_us >= 500 - 80 && s.b.cpu_max_us <= 500 + 2 * 2);
}

/* The first read only starts the count (the start-up before it is not a
 * callback's); a clock that went back is no span. */
static void test_first_and_back(void)
{
        struct sim s = { .now = 1000000, .cpu = 50000 };

        callback(&s, 0, 0, 20, 20);
        CHECK_INT(s.reads, 1);
        CHECK_INT(s.b.cpu_max_us, 0);
        CHECK(busy_callback(&s.b, s.now, s.now + BUSY_READ_LONG_US));
        busy_cpu(&s.b, s.now + BUSY_READ_LONG_US, 10);
        CHECK_INT(s.b.cpu_max_us, 0);
        CHECK(!busy_callback(&s.b, s.now + 200, s.now + 210));
        CHECK(!busy_callback(&s.b, s.now + 200, s.now + 100)); /* an end before its start: none */
        CHECK_INT(s.b.wall_max_us, BUSY_READ_LONG_US);
}

int main(void)
{
        test_reads_seldom();
        test_reads_after_count();
        test_reads_long();
        test_waited();
        test_short_wait_before();
        test_first_and_back();
        return check_finish("busy");
}

/* The worker thread: everything handed over is consumed, in order, also
 * what is still waiting when it stops; the loop side never holds more than
 * its limit waiting (a submit waits instead); worker_sync returns only when
 * all is consumed. A thread stuck in its work: an offer past the limit is
 * refused without waiting, and a stop with a deadline leaves it behind.
 * The pacer on a virtual clock: what is handed over at t is taken by
 * t + every_us (or the end of the turn in progress, when longer); under
 * steady traffic the thread is signalled once and turns at most once per
 * every_us; after a quiet spell a hand-over is taken at once; wake_bytes
 * waiting wake it early. A paced thread turns no more often for real. */
#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "daemon/worker.h"

struct sink {
        char got[1 << 16];
        size_t len;
        unsigned turns;
        unsigned slow; /* microseconds per turn, so that batches pile up */
};

static void consume(void *arg, const char *buf, size_t len)
{
        struct sink *s = arg;

        if (s->slow)
                usleep(s->slow);
        if (s->len + len <= sizeof(s->got))
                memcpy(s->got + s->len, buf, len);
        s->len += len;
        s->turns++;
}

static void test_order(unsigned slow, size_t max_pending, uint64_t every_us)
{
        static struct sink s;
        struct worker w;
        char want[1 << 16];
        size_t n = 0;

        memset(&s, 0, sizeof(s));
        s.slow = slow;
        CHECK_INT(worker_start_paced(&w, "test-worker", WORKER_LOW, max_pending, every_us, 4096, consume, &s), 0);
        for (unsigned i = 0; i < 2000; i++) {
                char line[32];
                int len = snprintf(line, sizeof(line), "%u,", i);

                CHECK_INT(worker_submit(&w, line, (size_t)len), 0);
                memcpy(want + n, line, (size_t)len);
                n += (size_t)len;
                pthread_mutex_lock(&w.lock);
                CHECK(w.used <= max_pending || w.used == (size_t)len);
                pthread_mutex_unlock(&w.lock);
                if (i == 1000) {
                        worker_sync(&w);
                        CHECK_INT(s.len, n); /* all of it, at once */
                        CHECK(!worker_busy(&w));
                }
        }
        worker_stop(&w); /* with some still waiting, when slow */
        CHECK_INT(s.len, n);
        CHECK(memcmp(s.got, want, n) == 0);
        /* a slow consumer gets many batches a turn */
        if (slow)
                CHECK(s.turns < 2000);
}

static atomic_bool release;
static atomic_uint stuck_turns;

/* Stuck until released, like a write to a pipe nobody reads. */
static void stuck(void *arg, const char *buf, size_t len)
{
        atomic_fetch_add(&stuck_turns, 1);
        while (!atomic_load(&release))
                usleep(1000);
}

static void test_stuck(void)
{
        static struct worker w; /* stays in place for the thread left behind */
        struct iovec iov = { .iov_base = "0123456789", .iov_len = 10 };
        struct timespec deadline;

        CHECK_INT(worker_start(&w, "test-stuck", WORKER_LOW, 64, stuck, NULL), 0);
        CHECK_INT(worker_offerv(&w, &iov, 1, 20), 0);
        while (atomic_load(&stuck_turns) == 0) /* taken: the thread is stuck in it */
                usleep(1000);
        CHECK_INT(worker_offerv(&w, &iov, 1, 20), 0);
        CHECK_INT(worker_offerv(&w, &iov, 1, 20), 0);
        CHECK_INT(worker_offerv(&w, &iov, 1, 20), -EAGAIN); /* 30 > 20: refused, not waited for */
        CHECK_INT(worker_offerv(&w, &iov, 1, SIZE_MAX), 0);  /* no limit: taken */
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += 50 * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        CHECK_INT(worker_stop_until(&w, &deadline), -ETIMEDOUT);
        atomic_store(&release, true); /* it ends on its own, detached */
}

#define SIM_MAX 50000

/* The pacer driven as the thread drives it, on a virtual clock: n
 * hand-overs of size bytes, the i-th at at[i] (rising, from 1 on); each
 * turn's consume() takes work_us; a signalled thread runs at once. */
struct sim {
        uint64_t took[SIM_MAX]; /* when the i-th hand-over was taken */
        unsigned signals, turns;
        uint64_t min_gap;       /* between two turns */
        size_t most;            /* the most bytes taken in one turn */
};

static void simulate(struct sim *r, uint64_t every_us, size_t wake_bytes, const uint64_t *at, size_t n, size_t size,
                     uint64_t work_us)
{
        struct worker_pacer p = { .every_us = every_us, .wake_bytes = wake_bytes };
        uint64_t turn = 0, last = UINT64_MAX;
        size_t next = 0, waiting = 0, used = 0;

        memset(r, 0, sizeof(*r));
        r->min_gap = UINT64_MAX;
        for (;;) {
                enum worker_step step;

                if (next < n && at[next] < turn) { /* the loop hands over first */
                        used += size;
                        if (worker_pacer_handed(&p, used)) {
                                r->signals++;
                                turn = at[next];
                        }
                        next++;
                        continue;
                }
                if (turn == UINT64_MAX)
                        break; /* asleep, and nothing more comes */
                step = worker_pacer_turn(&p, turn, used, false);
                if (step == WORKER_DOZE) {
                        turn = p.due_us;
                        continue;
                }
                if (step != WORKER_TAKE) {
                        turn = UINT64_MAX;
                        continue;
                }
                worker_pacer_took(&p, turn);
                for (; waiting < next; waiting++)
                        r->took[waiting] = turn;
                if (last != UINT64_MAX && turn - last < r->min_gap)
                        r->min_gap = turn - last;
                last = turn;
                r->most = used > r->most ? used : r->most;
                used = 0;
                r->turns++;
                turn += work_us;
        }
        CHECK_INT(waiting, n); /* every hand-over taken */
}

/* Each hand-over taken by at + every_us, or by the end of the turn in
 * progress when a turn takes longer: the promise of worker.h. */
static void check_taken_in_time(const struct sim *r, const uint64_t *at, size_t n, uint64_t every_us, uint64_t work_us)
{
        uint64_t bound = every_us > work_us ? every_us : work_us, worst = 0;

        for (size_t i = 0; i < n; i++) {
                CHECK(r->took[i] >= at[i]);
                if (r->took[i] - at[i] > worst)
                        worst = r->took[i] - at[i];
        }
        CHECK(worst <= bound);
}

static void test_pacer(void)
{
        static uint64_t at[SIM_MAX];
        static struct sim r;
        const uint64_t every = 50000;

        /* steady: 5,000 hand-overs/s for 10 s */
        for (size_t i = 0; i < SIM_MAX; i++)
                at[i] = 1 + i * 200;
        simulate(&r, every, 1 << 20, at, SIM_MAX, 400, 100);
        check_taken_in_time(&r, at, SIM_MAX, every, 100);
        CHECK_INT(r.signals, 1); /* the first, after the start; then never */
        CHECK(r.turns <= (at[SIM_MAX - 1] - at[0]) / every + 2); /* the last one due after the last hand-over */
        CHECK(r.min_gap >= every);
        /* a turn longer than every_us: the next one right after it */
        simulate(&r, every, 1 << 20, at, SIM_MAX, 400, 3 * every);
        check_taken_in_time(&r, at, SIM_MAX, every, 3 * every);
        CHECK_INT(r.signals, 1);
        /* quiet spells: each hand-over taken at once */
        for (size_t i = 0; i < 100; i++)
                at[i] = 1 + i * 3 * every;
        simulate(&r, every, 65536, at, 100, 400, 100);
        for (size_t i = 0; i < 100; i++)
                CHECK(r.took[i] == at[i]);
        CHECK_INT(r.signals, 100);
        /* a burst: 16 KiB every 10 us wakes it each 64 KiB, long before
         * it is due; what piles up in a turn of 100 us is taken after it */
        for (size_t i = 0; i < 1000; i++)
                at[i] = 1 + i * 10;
        simulate(&r, every, 65536, at, 1000, 16384, 100);
        check_taken_in_time(&r, at, 1000, 100, 100);
        CHECK(r.most <= 65536 + 16384 * (100 / 10 + 1));
        /* unpaced (the state file): every hand-over taken at once */
        for (size_t i = 0; i < 1000; i++)
                at[i] = 1 + i * 200;
        simulate(&r, 0, 0, at, 1000, 400, 100);
        check_taken_in_time(&r, at, 1000, 0, 0);
        CHECK_INT(r.turns, 1000);
}

static atomic_uint turns;

static void count_turn(void *arg, const char *buf, size_t len)
{
        atomic_fetch_add(&turns, 1);
}

static uint64_t mono_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A real paced thread under a hand-over every millisecond: its turns are
 * every_us apart at least (the stop's own turn aside), however slow the
 * host: the count bounded by the time it took, not by what it should. */
static void test_paced_turns(void)
{
        const uint64_t every = 20000;
        struct worker w;
        uint64_t start;

        CHECK_INT(worker_start_paced(&w, "test-paced", WORKER_LOW, 1 << 20, every, 1 << 20, count_turn, NULL), 0);
        start = mono_us();
        for (int i = 0; i < 200; i++) {
                CHECK_INT(worker_submit(&w, "x", 1), 0);
                usleep(1000);
        }
        worker_stop(&w);
        CHECK(atomic_load(&turns) <= (mono_us() - start) / every + 2);
        CHECK(atomic_load(&turns) >= 1);
}

int main(void)
{
        test_order(0, 1 << 20, 0);
        test_order(200, 64, 0); /* a submit waits for room */
        test_order(0, 1 << 20, 50000); /* paced: worker_sync hurries it */
        test_pacer();
        test_paced_turns();
        test_stuck();
        return check_finish("worker");
}

/* The worker thread: everything handed over is consumed, in order, also
 * what is still waiting when it stops; the loop side never holds more than
 * its limit waiting (a submit waits instead); worker_sync returns only when
 * all is consumed. A thread stuck in its work: an offer past the limit is
 * refused without waiting, and a stop with a deadline leaves it behind. */
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

static void test_order(unsigned slow, size_t max_pending)
{
        static struct sink s;
        struct worker w;
        char want[1 << 16];
        size_t n = 0;

        memset(&s, 0, sizeof(s));
        s.slow = slow;
        CHECK_INT(worker_start(&w, "test-worker", WORKER_LOW, max_pending, consume, &s), 0);
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

int main(void)
{
        test_order(0, 1 << 20);
        test_order(200, 64); /* a submit waits for room */
        test_stuck();
        return check_finish("worker");
}

/* The worker thread: everything handed over is consumed, in order, also
 * what is still waiting when it stops; the loop side never holds more than
 * its limit waiting (a submit waits instead); worker_sync returns only when
 * all is consumed. */
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

int main(void)
{
        test_order(0, 1 << 20);
        test_order(200, 64); /* a submit waits for room */
        return check_finish("worker");
}

/* worker: the loop's slow writes on a thread of their own (see worker.h). */
#include "daemon/worker.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

/* The loop's thread comes first. A normal thread woken by the loop takes
 * the CPU from it (the scheduler favours the woken), and once running it is
 * given whole slices of milliseconds: a state save of 100,000 clients held
 * the loop 3.5 to 4 ms in the stall benchmark. A batch thread is never
 * favoured when woken, and at nice 10 weighs a tenth of the loop; an idle
 * one runs only when the CPU has nothing else to do (the longest callback
 * there: 0.45 ms in six runs of six). Best effort: a refusal (seccomp, a
 * container) leaves the thread as it was. */
static void lower_priority(enum worker_priority priority)
{
        struct sched_param param = { 0 };

        if (priority == WORKER_IDLE) {
                (void)sched_setscheduler(0, SCHED_IDLE, &param);
                return;
        }
        (void)sched_setscheduler(0, SCHED_BATCH, &param);
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE);
}

enum worker_step worker_pacer_turn(struct worker_pacer *p, uint64_t now_us, size_t used, bool stop)
{
        p->woken = false;
        if (used > 0 && (stop || p->hurry || now_us >= p->due_us || used >= p->wake_bytes)) {
                p->state = WORKER_WORKING;
                p->hurry = false;
                return WORKER_TAKE;
        }
        p->hurry = false; /* nothing waits */
        if (stop)
                return WORKER_END;
        /* after a turn, the thread dozes until due even with nothing
         * waiting: what the loop hands over meanwhile does not wake it */
        p->state = now_us >= p->due_us ? WORKER_ASLEEP : WORKER_DOZING;
        return p->state == WORKER_ASLEEP ? WORKER_SLEEP : WORKER_DOZE;
}

void worker_pacer_took(struct worker_pacer *p, uint64_t now_us)
{
        p->due_us = now_us + p->every_us;
}

bool worker_pacer_handed(struct worker_pacer *p, size_t used)
{
        if (p->woken || p->state == WORKER_WORKING || (p->state == WORKER_DOZING && used < p->wake_bytes))
                return false;
        p->woken = true;
        return true;
}

static uint64_t monotonic_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Waits on wake (the lock held) as the pacer said: for a signal, or until
 * its next turn is due. */
static void wait_for_turn(struct worker *w, enum worker_step step)
{
        struct timespec until;

        if (step == WORKER_SLEEP) {
                pthread_cond_wait(&w->wake, &w->lock);
                return;
        }
        until.tv_sec = (time_t)(w->pacer.due_us / 1000000);
        until.tv_nsec = (long)(w->pacer.due_us % 1000000) * 1000;
        (void)pthread_cond_timedwait(&w->wake, &w->lock, &until);
}

static void *run(void *arg)
{
        struct worker *w = arg;
        char *mine = NULL; /* the buffer the thread works through */
        size_t mine_cap = 0;

        lower_priority(w->priority);
        pthread_mutex_lock(&w->lock);
        for (;;) {
                uint64_t now = monotonic_us();
                enum worker_step step = worker_pacer_turn(&w->pacer, now, w->used, w->stop);
                char *taken;
                size_t taken_cap, len;

                if (step == WORKER_END)
                        break;
                if (step != WORKER_TAKE) {
                        wait_for_turn(w, step);
                        continue;
                }
                worker_pacer_took(&w->pacer, now);
                /* take the whole pending buffer; the loop refills the other */
                taken = w->pending, taken_cap = w->cap, len = w->used;
                w->pending = mine, w->cap = mine_cap, w->used = 0;
                mine = taken, mine_cap = taken_cap;
                w->busy = true;
                pthread_cond_broadcast(&w->done); /* room again */
                pthread_mutex_unlock(&w->lock);
                w->consume(w->arg, mine, len);
                if (mine_cap > WORKER_KEEP) { /* a burst's buffer: not kept for good */
                        free(mine);
                        mine = NULL;
                        mine_cap = 0;
                }
                pthread_mutex_lock(&w->lock);
                w->busy = false;
                pthread_cond_broadcast(&w->done);
        }
        pthread_mutex_unlock(&w->lock);
        free(mine);
        return NULL;
}

int worker_start(struct worker *w, const char *name, enum worker_priority priority, size_t max_pending,
                 worker_consume_fn consume, void *arg)
{
        return worker_start_paced(w, name, priority, max_pending, 0, 0, consume, arg);
}

int worker_start_paced(struct worker *w, const char *name, enum worker_priority priority, size_t max_pending,
                       uint64_t every_us, size_t wake_bytes, worker_consume_fn consume, void *arg)
{
        pthread_condattr_t monotonic;
        sigset_t all, old;
        int r;

        memset(w, 0, sizeof(*w));
        w->max_pending = max_pending;
        w->pacer.every_us = every_us;
        w->pacer.wake_bytes = wake_bytes;
        w->priority = priority;
        w->consume = consume;
        w->arg = arg;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_init(&monotonic);
        pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
        pthread_cond_init(&w->wake, &monotonic);
        pthread_cond_init(&w->done, &monotonic);
        pthread_condattr_destroy(&monotonic);
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&w->thread, NULL, run, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                pthread_cond_destroy(&w->done);
                pthread_cond_destroy(&w->wake);
                pthread_mutex_destroy(&w->lock);
                return -r;
        }
        (void)pthread_setname_np(w->thread, name);
        w->started = true;
        return 0;
}

/* Room for len more bytes in the pending buffer (the lock held). */
static int reserve(struct worker *w, size_t len)
{
        if (len > SIZE_MAX - w->used)
                return -EOVERFLOW;
        return grow_array((void **)&w->pending, &w->cap, w->used + len, 1);
}

static size_t total(const struct iovec *iov, size_t n)
{
        size_t len = 0;

        for (size_t i = 0; i < n; i++)
                len += iov[i].iov_len;
        return len;
}

/* Appends the pieces and wakes the thread (the lock held). */
static int append(struct worker *w, const struct iovec *iov, size_t n, size_t len)
{
        int r = reserve(w, len);

        for (size_t i = 0; r == 0 && i < n; i++) {
                if (iov[i].iov_len)
                        memcpy(w->pending + w->used, iov[i].iov_base, iov[i].iov_len);
                w->used += iov[i].iov_len;
        }
        if (r == 0 && worker_pacer_handed(&w->pacer, w->used))
                pthread_cond_signal(&w->wake);
        return r;
}

int worker_submitv(struct worker *w, const struct iovec *iov, size_t n)
{
        size_t len = total(iov, n);
        int r;

        if (len == 0)
                return 0;
        pthread_mutex_lock(&w->lock);
        while (w->used > 0 && w->used + len > w->max_pending)
                pthread_cond_wait(&w->done, &w->lock);
        r = append(w, iov, n, len);
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_offerv(struct worker *w, const struct iovec *iov, size_t n, size_t limit)
{
        size_t len = total(iov, n);
        int r = -EAGAIN;

        if (len == 0)
                return 0;
        pthread_mutex_lock(&w->lock);
        if (w->used == 0 || w->used + len <= limit)
                r = append(w, iov, n, len);
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_submit(struct worker *w, const void *buf, size_t len)
{
        struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

        return worker_submitv(w, &iov, 1);
}

bool worker_busy(struct worker *w)
{
        bool busy;

        pthread_mutex_lock(&w->lock);
        busy = w->busy || w->used > 0;
        pthread_mutex_unlock(&w->lock);
        return busy;
}

void worker_sync(struct worker *w)
{
        pthread_mutex_lock(&w->lock);
        w->pacer.hurry = true;
        pthread_cond_signal(&w->wake);
        while (w->busy || w->used > 0)
                pthread_cond_wait(&w->done, &w->lock);
        pthread_mutex_unlock(&w->lock);
}

void worker_stop(struct worker *w)
{
        (void)worker_stop_until(w, NULL);
}

int worker_stop_until(struct worker *w, const struct timespec *deadline)
{
        bool stuck;

        if (!w->started)
                return 0;
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_signal(&w->wake);
        while (deadline && (w->busy || w->used > 0) && pthread_cond_timedwait(&w->done, &w->lock, deadline) == 0)
                ;
        stuck = deadline && (w->busy || w->used > 0);
        pthread_mutex_unlock(&w->lock);
        if (stuck) {
                /* stuck: the process ends without it; w stays, for it */
                pthread_detach(w->thread);
                return -ETIMEDOUT;
        }
        pthread_join(w->thread, NULL);
        free(w->pending);
        pthread_cond_destroy(&w->done);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        w->started = false;
        w->pending = NULL;
        return 0;
}

/* worker: a thread that does the loop's slow writes for it. The event loop
 * hands over batches of bytes (log lines and journal entries, state file
 * changes) with worker_submit and goes on at once; the thread gives
 * everything handed over since its last turn to consume(), in order, so
 * that the loop never waits for a disk or for journald unless the thread
 * falls behind by more than max_pending bytes. Nothing of the loop's is
 * touched by the thread but what consume() is given: the two share nothing
 * else. A paced worker (worker_start_paced) is not woken by every hand-over:
 * it takes what waits at most every so often (see struct worker_pacer). */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

/* How a worker's thread yields the CPU to the loop's (see worker.c). */
enum worker_priority {
        WORKER_LOW,  /* batch, nice 10: about a tenth of a CPU the loop
                        wants too; for the log, which must keep up */
        WORKER_IDLE, /* only CPU time no other thread wants; for the state
                        file, which may lag a busy machine */
};

#define WORKER_NICE 10

/* Buffers grown past this by a burst are freed once worked through. */
#define WORKER_KEEP (256u << 10)

/* Called in the thread with the bytes of one or more batches. */
typedef void (*worker_consume_fn)(void *arg, const char *buf, size_t len);

/* When the thread takes what was handed over. Waking a sleeping thread
 * costs a futex call on each side and two context switches: once per
 * callback of the loop, that was more than the rest of a handshake. So
 * after each turn a paced thread waits every_us (from when it took the
 * batch) and takes all that came meanwhile in one turn, unaided; it is
 * woken only when it sleeps for want of work (the first hand-over after a
 * quiet spell is taken at once), or when wake_bytes wait. A byte handed
 * over at t is therefore taken by t + every_us, or by the end of the turn
 * in progress when that turn takes longer. The thread's decisions, kept
 * apart from the thread so that a test drives them on a virtual clock: */
enum worker_state {
        WORKER_ASLEEP,  /* waits for a hand-over, however long */
        WORKER_DOZING,  /* waits until due_us, or wake_bytes, or a stop */
        WORKER_WORKING, /* in consume(): sees what waits when it is done */
};

struct worker_pacer {
        uint64_t every_us;  /* 0: every hand-over is taken at once */
        size_t wake_bytes;  /* this much waiting wakes a dozing thread */
        enum worker_state state;
        uint64_t due_us;    /* the thread's next turn (CLOCK_MONOTONIC) */
        bool woken;         /* signalled since it began to wait */
        bool hurry;         /* worker_sync: take what waits now */
};

/* What the thread does next (worker_pacer_turn). */
enum worker_step {
        WORKER_TAKE,  /* take what waits, and consume it */
        WORKER_SLEEP, /* wait for a signal */
        WORKER_DOZE,  /* wait for a signal, or until due_us */
        WORKER_END,   /* stopping, nothing left */
};

/* The thread at now_us, with used bytes waiting, about to take or wait
 * (stop: the worker is stopping). Sets the state to match. */
enum worker_step worker_pacer_turn(struct worker_pacer *p, uint64_t now_us, size_t used, bool stop);

/* The thread takes a batch at now_us: its next turn is due every_us on. */
void worker_pacer_took(struct worker_pacer *p, uint64_t now_us);

/* The loop handed something over, used bytes now waiting: true when the
 * thread must be signalled (once per wait, not per hand-over). */
bool worker_pacer_handed(struct worker_pacer *p, size_t used);

struct worker {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake; /* to the thread: work, or stop */
        pthread_cond_t done; /* to the loop: a turn ended (CLOCK_MONOTONIC) */
        char *pending;       /* handed over, not yet taken */
        size_t used, cap;
        size_t max_pending;  /* worker_submit waits above this */
        struct worker_pacer pacer;
        bool busy;           /* consume() runs */
        bool stop;
        bool started;
        enum worker_priority priority;
        worker_consume_fn consume;
        void *arg;
};

/* Starts the thread, named name (for ps and top: 15 characters at most),
 * at priority, with every signal blocked in it (they are the loop's). Returns 0 or a
 * negative errno. */
int worker_start(struct worker *w, const char *name, enum worker_priority priority, size_t max_pending,
                 worker_consume_fn consume, void *arg);

/* The same for a paced worker: every_us and wake_bytes as in struct
 * worker_pacer. */
int worker_start_paced(struct worker *w, const char *name, enum worker_priority priority, size_t max_pending,
                       uint64_t every_us, size_t wake_bytes, worker_consume_fn consume, void *arg);

/* Hands len bytes of buf over. Waits only while the bytes still to be
 * taken, these with them, would be more than max_pending (never when none
 * are). Returns 0 or -ENOMEM (nothing handed). */
int worker_submit(struct worker *w, const void *buf, size_t len);

/* The same for n pieces, handed over as one: the thread never sees some
 * of them without the rest. */
int worker_submitv(struct worker *w, const struct iovec *iov, size_t n);

/* Hands the n pieces over as one, unless that would leave more than limit
 * bytes waiting (with some waiting already): then nothing, -EAGAIN. Never
 * waits for the thread, whatever max_pending says; for an output that may
 * stall for good. Returns 0, -EAGAIN or -ENOMEM (nothing handed). */
int worker_offerv(struct worker *w, const struct iovec *iov, size_t n, size_t limit);

/* True while anything handed over has not been consumed yet. */
bool worker_busy(struct worker *w);

/* Waits until everything handed over so far has been consumed (a paced
 * thread is hurried). */
void worker_sync(struct worker *w);

/* Consumes what is left, ends the thread and frees what it holds; a
 * worker never started is left alone. */
void worker_stop(struct worker *w);

/* The same, unless the thread has not consumed everything by deadline
 * (CLOCK_MONOTONIC; stuck in a write that may never end): then it is left
 * running, detached, with w and what it holds, and -ETIMEDOUT returned;
 * w must stay in place until the process ends. */
int worker_stop_until(struct worker *w, const struct timespec *deadline);

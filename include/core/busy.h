/* busy: how long the event loop's callbacks hold it, and how much of that
 * time its thread was on a CPU, for udp_canary_loop_busy_max_seconds and
 * udp_canary_loop_busy_cpu_max_seconds. The wall clock is cheap to read
 * (vDSO); the thread's CPU clock is a syscall, which at 5,000 handshakes/s
 * (a callback each) was a twentieth of a handshake's CPU. So it is read
 * after every callback of BUSY_READ_LONG_US or more, and otherwise after
 * the BUSY_READ_AFTER-th callback since the last read or the first one
 * BUSY_READ_EVERY_US after it. A span between two reads may then hold a
 * few short callbacks: the last one's CPU is taken as the span's less the
 * wall time of the others (a short callback's CPU time is its wall time
 * unless it waited for a CPU). That is the figure of one read per callback
 * (the callback, and the loop's own work since the callback before it
 * ended) plus the loop's own work between the others (epoll_wait and the
 * dispatch, microseconds each), less any wait for a CPU inside the others
 * (each shorter than BUSY_READ_LONG_US). No I/O: the daemon reads the
 * clocks, a test drives it on a virtual clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define BUSY_READ_LONG_US 100
#define BUSY_READ_AFTER 8
#define BUSY_READ_EVERY_US 1000

struct busy {
        uint64_t wall_max_us; /* the longest callback */
        uint64_t cpu_max_us;  /* the most CPU time, as above */
        bool read;            /* the CPU clock was read before */
        uint64_t read_at_us;  /* when it was last read (wall) */
        uint64_t read_cpu_us; /* what it said */
        unsigned unread;      /* callbacks since */
        uint64_t others_us;   /* their wall time, but the last one's */
        uint64_t last_us;     /* the last one's */
};

/* A callback held the loop from start_us to end_us (monotonic): true when
 * the thread's CPU clock is to be read now and given to busy_cpu. */
bool busy_callback(struct busy *b, uint64_t start_us, uint64_t end_us);

/* The thread's CPU time, cpu_us, read at end_us after the callback for
 * which busy_callback said so. */
void busy_cpu(struct busy *b, uint64_t end_us, uint64_t cpu_us);

/* busy: the loop's longest callback, and its thread's CPU time in it, with
 * the CPU clock read seldom (see busy.h). */
#include "core/busy.h"

bool busy_callback(struct busy *b, uint64_t start_us, uint64_t end_us)
{
        uint64_t took = end_us > start_us ? end_us - start_us : 0;

        if (took > b->wall_max_us)
                b->wall_max_us = took;
        b->others_us += b->last_us; /* 0 when the clock was read after it */
        b->last_us = took;
        b->unread++;
        return !b->read || took >= BUSY_READ_LONG_US || b->unread >= BUSY_READ_AFTER ||
               end_us - b->read_at_us >= BUSY_READ_EVERY_US;
}

void busy_cpu(struct busy *b, uint64_t end_us, uint64_t cpu_us)
{
        /* the first read only starts the count: its span holds the start-up */
        if (b->read && cpu_us >= b->read_cpu_us) {
                uint64_t span = cpu_us - b->read_cpu_us;
                uint64_t own = span > b->others_us ? span - b->others_us : 0;

                if (own > b->cpu_max_us)
                        b->cpu_max_us = own;
        }
        /* a new span from here: the maxima kept, the rest counted afresh */
        *b = (struct busy){ .wall_max_us = b->wall_max_us, .cpu_max_us = b->cpu_max_us, .read = true,
                            .read_at_us = end_us, .read_cpu_us = cpu_us };
}

/* duration: parsing seconds (see duration.h). */
#include "core/duration.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int duration_parse(const char *s, uint64_t *us)
{
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(d) || d < DURATION_MIN_S || d > DURATION_MAX_S)
                return -EINVAL;
        *us = (uint64_t)llround(d * 1e6);
        return 0;
}

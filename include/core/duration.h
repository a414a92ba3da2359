/* duration: seconds as users write them ("26.625", "5"), to microseconds.
 * One parser for every option that takes seconds (the daemon's and the
 * report's), with one rounding and one range. */
#pragma once

#include <stdint.h>

/* The range: microseconds never overflow, and a typo like 266250 is caught. */
#define DURATION_MIN_S 0.001
#define DURATION_MAX_S 86400.0

/* Parses s, a decimal number of seconds in the range, rounded to the
 * nearest microsecond. Returns 0 or -EINVAL. */
int duration_parse(const char *s, uint64_t *us);

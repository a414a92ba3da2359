/* grow: room in an array that grows by doubling, its byte size checked for
 * overflow, so that no caller writes its own doubling. */
#pragma once

#include <stddef.h>

/* Makes *p (of *cap elements of size bytes) hold at least need elements:
 * the capacity (16 when there is none yet) doubles until it does, and stays
 * at most max elements. On failure *p and *cap are as they were. Returns 0,
 * -EOVERFLOW when need is past max or the bytes past SIZE_MAX, -ENOMEM,
 * -EINVAL for a size of 0. */
int grow_array_max(void **p, size_t *cap, size_t need, size_t max, size_t size);

/* The same without a bound of the caller's. */
int grow_array(void **p, size_t *cap, size_t need, size_t size);

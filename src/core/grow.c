/* grow: the one doubling of growing arrays (see grow.h). */
#include "core/grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define FIRST_CAP 16

int grow_array_max(void **p, size_t *cap, size_t need, size_t max, size_t size)
{
        size_t ncap = *cap ? *cap : FIRST_CAP;
        void *np;

        if (size == 0)
                return -EINVAL;
        if (need <= *cap)
                return 0;
        if (max > SIZE_MAX / size)
                max = SIZE_MAX / size; /* past it, the byte count wraps */
        if (need > max)
                return -EOVERFLOW;
        while (ncap < need)
                ncap = ncap > max / 2 ? max : ncap * 2;
        if (ncap > max)
                ncap = max;
        np = realloc(*p, ncap * size);
        if (!np)
                return -ENOMEM;
        *p = np;
        *cap = ncap;
        return 0;
}

int grow_array(void **p, size_t *cap, size_t need, size_t size)
{
        return grow_array_max(p, cap, need, SIZE_MAX, size);
}

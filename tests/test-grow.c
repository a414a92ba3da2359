/* The growth helper (core/grow): capacities it picks, contents kept across
 * a move, the caller's bound, and sizes whose byte count would wrap refused
 * with the array left as it was. */
#include <errno.h>

#include "check.h"
#include "core/grow.h"

static void test_doubling(void)
{
        int *v = NULL;
        size_t cap = 0;

        CHECK_INT(grow_array((void **)&v, &cap, 1, sizeof(*v)), 0);
        CHECK_INT(cap, 16);
        for (int i = 0; i < 16; i++)
                v[i] = i;
        CHECK_INT(grow_array((void **)&v, &cap, 16, sizeof(*v)), 0); /* room already */
        CHECK_INT(cap, 16);
        CHECK_INT(grow_array((void **)&v, &cap, 17, sizeof(*v)), 0);
        CHECK_INT(cap, 32);
        CHECK_INT(grow_array((void **)&v, &cap, 1000, sizeof(*v)), 0); /* past one doubling */
        CHECK_INT(cap, 1024);
        for (int i = 0; i < 16; i++)
                CHECK_INT(v[i], i);
        v[999] = 7; /* under valgrind or ASan, a write past the block shows */
        free(v);
}

static void test_bound(void)
{
        char *v = NULL;
        size_t cap = 0;

        CHECK_INT(grow_array_max((void **)&v, &cap, 10, 40, 1), 0);
        CHECK_INT(cap, 16);
        CHECK_INT(grow_array_max((void **)&v, &cap, 33, 40, 1), 0);
        CHECK_INT(cap, 40); /* 64 would pass the bound */
        CHECK_INT(grow_array_max((void **)&v, &cap, 41, 40, 1), -EOVERFLOW);
        CHECK_INT(cap, 40);
        free(v);
}

static void test_overflow(void)
{
        char *v = NULL, *before;
        size_t cap = 0;
        size_t huge = SIZE_MAX / 4 + 1; /* four of them wrap a size_t */

        CHECK_INT(grow_array((void **)&v, &cap, 4, huge), -EOVERFLOW);
        CHECK(v == NULL && cap == 0);
        CHECK_INT(grow_array((void **)&v, &cap, 1, 0), -EINVAL);
        CHECK_INT(grow_array((void **)&v, &cap, 1, 8), 0);
        before = v;
        /* doubling from 16 would stop at SIZE_MAX / 8 elements: more is refused */
        CHECK_INT(grow_array((void **)&v, &cap, SIZE_MAX / 8 + 1, 8), -EOVERFLOW);
        CHECK(v == before && cap == 16);
        CHECK_INT(grow_array((void **)&v, &cap, SIZE_MAX, 2), -EOVERFLOW);
        CHECK(v == before && cap == 16);
        free(v);
}

int main(void)
{
        test_doubling();
        test_bound();
        test_overflow();
        return check_finish("grow");
}

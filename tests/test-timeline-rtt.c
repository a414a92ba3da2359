/* timeline-rtt: the round trips kept as counts of values give, added in
 * one go or in many batches, every order statistic exactly while few values
 * differ (stamps in ms), and within the rounding promised once many do
 * (stamps in us), in no more bins than the bound; smallest and largest
 * exact throughout. */
#include <stdlib.h>

#include "check.h"
#include "report/timeline.h"

#define N 200000

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static int by_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

/* v's values added to one histogram whole, to another in batches of
 * varying sizes (each sorted, as timeline_round_trips gives them); v is
 * left sorted. */
static void fill(int64_t *v, size_t n, struct timeline_rtt *whole, struct timeline_rtt *parts)
{
        for (size_t at = 0, len; at < n; at += len) {
                len = 1 + next() % 5000;
                len = len > n - at ? n - at : len;
                qsort(v + at, len, sizeof(*v), by_i64);
                CHECK_INT(timeline_rtt_add(parts, v + at, len), 0);
        }
        qsort(v, n, sizeof(*v), by_i64);
        CHECK_INT(timeline_rtt_add(whole, v, n), 0);
        CHECK_INT(whole->count, n);
        CHECK_INT(parts->count, n);
        CHECK_INT(whole->bits, parts->bits);
        CHECK(whole->n_bins == parts->n_bins &&
              memcmp(whole->v, parts->v, whole->n_bins * sizeof(*whole->v)) == 0);
        CHECK_INT(whole->min_us, v[0]);
        CHECK_INT(whole->max_us, v[n - 1]);
        CHECK_INT(parts->min_us, v[0]);
        CHECK_INT(parts->max_us, v[n - 1]);
}

/* Stamps in ms: round trips of 20 to 900 ms, a few hundred values. */
static void test_exact(void)
{
        int64_t *v = malloc(N * sizeof(*v));
        struct timeline_rtt whole = { 0 }, parts = { 0 };

        for (size_t i = 0; i < N; i++)
                v[i] = (int64_t)(20 + next() % 880) * 1000;
        fill(v, N, &whole, &parts);
        CHECK(whole.n_bins <= 880);
        for (size_t i = 0; i < N; i++)
                if (timeline_rtt_at(&whole, i) != v[i]) {
                        CHECK_INT(timeline_rtt_at(&whole, i), v[i]);
                        break;
                }
        CHECK_INT(timeline_rtt_quantile(&whole, 95, 100), v[(N - 1) * 95 / 100]);
        CHECK(timeline_rtt_exact(&whole) && timeline_rtt_exact(&parts));
        timeline_rtt_free(&whole);
        timeline_rtt_free(&parts);
        free(v);
}

/* Stamps in us, from 300 us to 40 s: a value each, rounded. */
static void test_rounded(void)
{
        int64_t *v = malloc(N * sizeof(*v));
        struct timeline_rtt whole = { 0 }, parts = { 0 };
        double worst = 0;

        for (size_t i = 0; i < N; i++)
                v[i] = (int64_t)(300 + (next() % 1000000) * (next() % 40000) / 1000);
        fill(v, N, &whole, &parts);
        CHECK(whole.n_bins <= TIMELINE_RTT_BINS && whole.bits >= TIMELINE_RTT_MIN_BITS && whole.bits < 63);
        for (size_t i = 0; i < N; i++) {
                int64_t got = timeline_rtt_at(&whole, i);
                double err = (double)(v[i] - got) / (double)v[i];

                worst = err > worst ? err : worst;
                if (got > v[i] || err >= 1.0 / 128) {
                        CHECK_INT(timeline_rtt_at(&whole, i), v[i]);
                        break;
                }
        }
        CHECK(worst > 0); /* rounded indeed: the case tests what it says */
        CHECK(!timeline_rtt_exact(&whole) && !timeline_rtt_exact(&parts)); /* and says so */
        timeline_rtt_free(&whole);
        timeline_rtt_free(&parts);
        free(v);
}

static void test_empty_and_one(void)
{
        struct timeline_rtt h = { 0 };
        int64_t one = 31000;

        CHECK_INT(timeline_rtt_add(&h, NULL, 0), 0);
        CHECK_INT(h.count, 0);
        CHECK(timeline_rtt_exact(&h));
        CHECK_INT(timeline_rtt_quantile(&h, 1, 2), 0);
        CHECK_INT(timeline_rtt_add(&h, &one, 1), 0);
        CHECK_INT(timeline_rtt_quantile(&h, 1, 2), 31000);
        CHECK_INT(timeline_rtt_quantile(&h, 95, 100), 31000);
        timeline_rtt_free(&h);
}

int main(void)
{
        test_exact();
        test_rounded();
        test_empty_and_one();
        return check_finish("timeline-rtt");
}

/* timeline-rtt: a client's round trips kept as counts of values (struct
 * timeline_rtt), so that a year of them takes no more room than a day's
 * once their values repeat, and the median and p95 within 1/128 (0.8 %,
 * rounded down) when more than TIMELINE_RTT_BINS values differ. */
#include "report/timeline-internal.h"

#include <errno.h>
#include <stdlib.h>

/* v rounded down to its first `bits` significant bits (v >= 0). */
static int64_t quantize(int64_t v, unsigned bits)
{
        unsigned len;

        if (v <= 0 || bits >= 63)
                return v;
        len = 64 - (unsigned)__builtin_clzll((unsigned long long)v);
        return len <= bits ? v : (int64_t)(((uint64_t)v >> (len - bits)) << (len - bits));
}

/* The next run of equal values of sorted[*at..n) once rounded. */
static struct timeline_rtt_bin next_run(const int64_t *sorted, size_t n, size_t *at, unsigned bits)
{
        struct timeline_rtt_bin b = { quantize(sorted[*at], bits), 0 };

        while (*at < n && quantize(sorted[*at], bits) == b.us) {
                b.n++;
                (*at)++;
        }
        return b;
}

static size_t runs(const int64_t *sorted, size_t n, unsigned bits)
{
        size_t r = 0;

        for (size_t at = 0; at < n; r++)
                next_run(sorted, n, &at, bits);
        return r;
}

/* Fewer significant bits until the n bins in h->v fit, or the finest
 * error allowed: how many are left (at most 64 doublings of
 * 2^(TIMELINE_RTT_MIN_BITS - 1) bins, then). */
static size_t coarsen(struct timeline_rtt *h, size_t n)
{
        while (n > TIMELINE_RTT_BINS && h->bits > TIMELINE_RTT_MIN_BITS) {
                size_t w = 0;

                h->bits--;
                for (size_t r = 0; r < n; r++) {
                        int64_t q = quantize(h->v[r].us, h->bits);

                        if (w && h->v[w - 1].us == q)
                                h->v[w - 1].n += h->v[r].n;
                        else
                                h->v[w++] = (struct timeline_rtt_bin){ q, h->v[r].n };
                }
                n = w;
        }
        return n;
}

int timeline_rtt_add(struct timeline_rtt *h, const int64_t *sorted, size_t n)
{
        struct timeline_rtt_bin *m, in = { 0 };
        size_t nm = 0, i = 0, at = 0;

        if (!n)
                return 0;
        if (!h->bits)
                h->bits = 63;
        m = malloc((h->n_bins + runs(sorted, n, h->bits)) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        while (i < h->n_bins || at < n || in.n) {
                if (!in.n && at < n)
                        in = next_run(sorted, n, &at, h->bits);
                if (in.n && (i == h->n_bins || in.us < h->v[i].us)) {
                        m[nm++] = in;
                        in.n = 0;
                        continue;
                }
                m[nm] = h->v[i++];
                if (in.n && in.us == m[nm].us) {
                        m[nm].n += in.n;
                        in.n = 0;
                }
                nm++;
        }
        h->min_us = h->count ? min64(h->min_us, sorted[0]) : sorted[0];
        h->max_us = h->count ? max64(h->max_us, sorted[n - 1]) : sorted[n - 1];
        h->count += n;
        free(h->v);
        h->v = m;
        h->n_bins = (uint32_t)coarsen(h, nm);
        return 0;
}

int64_t timeline_rtt_at(const struct timeline_rtt *h, uint64_t i)
{
        uint64_t below = 0;

        if (i == 0)
                return h->min_us;
        if (i + 1 >= h->count)
                return h->max_us;
        for (uint32_t b = 0; b < h->n_bins; b++) {
                below += h->v[b].n;
                if (i < below) /* a rounded value may lie under the exact smallest */
                        return max64(h->min_us, h->v[b].us);
        }
        return h->max_us;
}

int64_t timeline_rtt_quantile(const struct timeline_rtt *h, unsigned num, unsigned den)
{
        return h->count ? timeline_rtt_at(h, (h->count - 1) * num / den) : 0;
}

void timeline_rtt_free(struct timeline_rtt *h)
{
        free(h->v);
        *h = (struct timeline_rtt){ 0 };
}

/* findings-recurring: outages or rebindings at the same time of day on 3 or
 * more days, or at a steady period. */
#include "report/findings-internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"

/* --- recurring: the same time of day on 3 or more days, or a steady period --- */

#define REC_WINDOW_MIN 15
#define REC_MIN_DAYS 3
#define REC_MIN_STEADY 4
#define REC_STEADY_MIN_US (600 * US) /* shorter periods are the timers' or the NAT's */
#define REC_MAX_EVENTS 4096         /* more: too many to call any one a pattern */
#define REC_MAX_FINDINGS 8

struct event {
        int64_t t_us;
        int minute; /* of the local day */
        int day;    /* local days since 1970, near enough to tell days apart */
        bool used;
};

static int by_minute(const void *a, const void *b)
{
        const struct event *x = a, *y = b;

        return x->minute != y->minute ? x->minute - y->minute : (x->t_us > y->t_us) - (x->t_us < y->t_us);
}

static int by_event_time(const void *a, const void *b)
{
        const struct event *x = a, *y = b;

        return (x->t_us > y->t_us) - (x->t_us < y->t_us);
}

static bool local(int64_t t_us, struct tm *tm)
{
        time_t t = (time_t)(t_us / US);

        return localtime_r(&t, tm) != NULL;
}

/* The name of the report's clock at t: its time zone's ("UTC", "CET"), as
 * TZ gives it, or "local time" where it has none. */
static void zone_at(int64_t t_us, char buf[static 16])
{
        struct tm tm;

        if (!local(t_us, &tm) || strftime(buf, 16, "%Z", &tm) == 0)
                snprintf(buf, 16, "local time");
}

/* The clock of a span's times of day: one zone, or both where it changed
 * between (a DST change: "CEST/CET"). */
static void clock_of(int64_t from_us, int64_t to_us, char buf[static 32])
{
        char a[16], b[16];

        zone_at(from_us, a);
        zone_at(to_us, b);
        snprintf(buf, 32, strcmp(a, b) ? "%s/%s" : "%s", a, b);
}

static int day_of(const struct tm *tm)
{
        return (tm->tm_year - 70) * 366 + tm->tm_yday;
}

/* How many days of the logs saw this minute of the day. */
static size_t days_covering(const struct timeline_client *c, int minute)
{
        size_t n = 0;
        struct tm tm;

        for (int64_t t = c->first_us; t <= c->last_us && n <= 3660; t += 86400 * US) {
                time_t at;

                if (!local(t, &tm))
                        break;
                tm.tm_hour = minute / 60;
                tm.tm_min = minute % 60;
                tm.tm_sec = 0;
                tm.tm_isdst = -1;
                at = mktime(&tm);
                n += at != (time_t)-1 && (int64_t)at * US >= c->first_us - 60 * US && (int64_t)at * US <= c->last_us;
        }
        return n;
}

/* Distinct days among the unused events v[i..j) (modulo n). */
static size_t distinct_days(const struct event *v, size_t n, size_t i, size_t j, int *seen, size_t *events)
{
        size_t d = 0;

        *events = 0;
        for (size_t a = i; a < j; a++) {
                const struct event *e = &v[a % n];
                size_t b = 0;

                if (e->used)
                        continue;
                (*events)++;
                while (b < d && seen[b] != e->day)
                        b++;
                if (b == d)
                        seen[d++] = e->day;
        }
        return d;
}

static int minute_of(const struct event *v, size_t n, size_t a)
{
        return v[a % n].minute + (a >= n ? 1440 : 0);
}

/* The 15-minute window of the day with events on the most days. */
static size_t best_window(const struct event *v, size_t n, int *seen, size_t *from, size_t *to)
{
        size_t best = 0, j = 0;

        for (size_t i = 0; i < n; i++) {
                size_t days, events;

                j = j > i ? j : i;
                while (j < i + n && minute_of(v, n, j) - v[i].minute <= REC_WINDOW_MIN)
                        j++;
                days = distinct_days(v, n, i, j, seen, &events);
                if (days > best) {
                        best = days;
                        *from = i;
                        *to = j;
                }
        }
        return best;
}

static int daily(const struct timeline_client *c, struct event *v, size_t n, const char *what, struct findings *f)
{
        int *seen = malloc((n ? n : 1) * sizeof(*seen)), k = 0;

        if (!seen)
                return -ENOMEM;
        qsort(v, n, sizeof(*v), by_minute);
        for (unsigned r = 0; r < REC_MAX_FINDINGS && k == 0; r++) {
                size_t from = 0, to = 0, events, days = best_window(v, n, seen, &from, &to);
                int64_t first = INT64_MAX, last = INT64_MIN;
                int lo = 0, hi = 0, mid;
                char zone[32];
                struct findings_item *it;

                if (days < REC_MIN_DAYS)
                        break;
                distinct_days(v, n, from, to, seen, &events);
                for (size_t a = from, m = 0; a < to; a++) {
                        struct event *e = &v[a % n];

                        if (e->used)
                                continue;
                        lo = m++ ? lo : minute_of(v, n, a);
                        hi = minute_of(v, n, a);
                        first = e->t_us < first ? e->t_us : first;
                        last = e->t_us > last ? e->t_us : last;
                        e->used = true;
                }
                mid = (lo + (hi - lo) / 2) % 1440;
                it = findings_add(f, FINDINGS_RECURRING, first, last, &k);
                if (!it)
                        continue;
                clock_of(first, last, zone);
                snprintf(it->what, sizeof(it->what), "%s", what);
                snprintf(it->when, sizeof(it->when), "every day around %02d:%02d (%s)", mid / 60, mid % 60, zone);
                it->evidence[EV_REC_EVENTS] = (double)events;
                it->evidence[EV_REC_DAYS] = (double)days;
                it->evidence[EV_REC_DAYS_IN_LOGS] = (double)days_covering(c, mid);
                if (it->evidence[EV_REC_DAYS_IN_LOGS] < (double)days) /* a window over midnight */
                        it->evidence[EV_REC_DAYS_IN_LOGS] = (double)days;
                it->evidence[EV_REC_SPREAD] = hi - lo;
                it->evidence[EV_REC_PERIOD] = 86400;
                findings_fmt(it->text,
                    "%c%s came at the same time of day: around %02d:%02d %s (%02d:%02d to %02d:%02d) on %zu of the %.0f "
                    "days the logs cover there, %zu in all. Something scheduled (a router's nightly reboot, a "
                    "provider's reconnect, a backup) is the usual cause.",
                    what[0] - 'a' + 'A', what + 1, mid / 60, mid % 60, zone, lo % 1440 / 60, lo % 60, hi % 1440 / 60,
                    hi % 60, days, it->evidence[EV_REC_DAYS_IN_LOGS], events);
        }
        free(seen);
        return k;
}

/* Runs of 4 or more events, not already in a daily pattern, each interval
 * within a minute (or 2 %) of the run's first. */
static int steady(struct event *v, size_t n, const char *what, struct findings *f)
{
        size_t m = 0, i = 0;
        int k = 0;

        for (size_t a = 0; a < n; a++)
                if (!v[a].used)
                        v[m++] = v[a];
        qsort(v, m, sizeof(*v), by_event_time);
        while (i + REC_MIN_STEADY <= m && k == 0) {
                int64_t p = v[i + 1].t_us - v[i].t_us, tol = p / 50 > 60 * US ? p / 50 : 60 * US, dev = 0;
                size_t j = i + 1;
                struct findings_item *it;
                char every[32];

                while (j + 1 < m && llabs((v[j + 1].t_us - v[j].t_us) - p) <= tol) {
                        dev = llabs((v[j + 1].t_us - v[j].t_us) - p) > dev ? llabs((v[j + 1].t_us - v[j].t_us) - p) : dev;
                        j++;
                }
                if (p < REC_STEADY_MIN_US || j + 1 - i < REC_MIN_STEADY) {
                        i++;
                        continue;
                }
                it = findings_add(f, FINDINGS_RECURRING, v[i].t_us, v[j].t_us, &k);
                if (it) {
                        report_duration((p + 30 * US) / (60 * US) * (60 * US), every); /* to the minute */
                        snprintf(it->what, sizeof(it->what), "%s", what);
                        snprintf(it->when, sizeof(it->when), "every %s", every);
                        it->evidence[EV_REC_EVENTS] = (double)(j + 1 - i);
                        it->evidence[EV_REC_SPREAD] = findings_secs(dev) / 60;
                        it->evidence[EV_REC_PERIOD] = findings_secs(p);
                        findings_fmt(it->text, "%c%s came at a steady period: every %s (give or take %.0f s), %zu times in a row.",
                            what[0] - 'a' + 'A', what + 1, every, findings_secs(dev), j + 1 - i);
                }
                i = j + 1;
        }
        return k;
}

static int recurring_of(const struct timeline_client *c, struct event *v, size_t n, const char *what,
                        struct findings *f)
{
        int k;

        if (n < REC_MIN_DAYS || n > REC_MAX_EVENTS)
                return 0;
        k = daily(c, v, n, what, f);
        return k < 0 ? k : steady(v, n, what, f);
}

/* An event at t; 0 when its local time cannot be told (not counted). */
static size_t event_at(struct event *e, int64_t t_us)
{
        struct tm tm;

        if (!local(t_us, &tm))
                return 0;
        *e = (struct event){ .t_us = t_us, .minute = tm.tm_hour * 60 + tm.tm_min, .day = day_of(&tm) };
        return 1;
}

int findings_recurring(const struct timeline_client *c, const struct gaps *g, struct findings *f)
{
        size_t cap = c->n_outages > c->n_rebinds ? c->n_outages : c->n_rebinds, n = 0;
        struct event *v = malloc((cap ? cap : 1) * sizeof(*v));
        int k;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_outages; i++)
                n += event_at(&v[n], c->outages[i].start_us);
        k = recurring_of(c, v, n, "outages", f);
        n = 0;
        for (size_t i = 0; i < c->n_rebinds; i++)
                if (!g->rb_nat[i])
                        n += event_at(&v[n], c->rebinds[i].t_us);
        k = k < 0 ? k : recurring_of(c, v, n, "rebindings", f);
        free(v);
        return k;
}


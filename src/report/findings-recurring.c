/* findings-recurring: outages or rebindings at a steady period (one finding
 * with it, "every 8 h", not the times of day it implies), or at the same
 * time of day on 3 or more days (what comes once a day). */
#include "report/findings-internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"

/* --- recurring: a steady period, or the same time of day on 3 or more days --- */

#define REC_WINDOW_MIN 15
#define REC_MIN_DAYS 3
#define REC_MIN_STEADY 4
#define REC_STEADY_MIN_US (600 * US) /* shorter periods are the timers' or the NAT's */
#define REC_MAX_EVENTS 4096         /* more: too many to call any one a pattern */
#define REC_MAX_FINDINGS 8
#define REC_CANDIDATES 8 /* the next events tried as a run's second */

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

/* The unused event nearest t, within tol of it, from v[from] on (v in time
 * order), or n. */
static size_t match(const struct event *v, size_t n, size_t from, int64_t t, int64_t tol)
{
        size_t lo = from, hi = n, best = n;

        while (lo < hi) { /* the first at or after t - tol */
                size_t mid = lo + (hi - lo) / 2;

                if (v[mid].t_us < t - tol)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (size_t a = lo; a < n && v[a].t_us <= t + tol; a++)
                if (!v[a].used && (best == n || llabs(v[a].t_us - t) < llabs(v[best].t_us - t)))
                        best = a;
        return best;
}

static int64_t tolerance(int64_t p)
{
        return p / 50 > 60 * US ? p / 50 : 60 * US;
}

/* A whole number of days, as near as the run's tolerance: a time of day. */
static bool whole_days(int64_t p)
{
        int64_t days = (p + 43200 * US) / (86400 * US);

        return days >= 1 && llabs(p - days * 86400 * US) <= tolerance(p);
}

/* The run from v[i] at the period v[j] - v[i]: each next event a period
 * after the last, within a minute or 2 % (events between left aside; the
 * first missed ends it). Its indices into run[]; returns how many. */
static size_t run_from(const struct event *v, size_t n, size_t i, size_t j, size_t *run)
{
        int64_t p = v[j].t_us - v[i].t_us;
        size_t m = 0, a = i;

        while (a < n) {
                run[m++] = a;
                a = match(v, n, a + 1, v[a].t_us + p, tolerance(p));
        }
        return m;
}

/* Where a period divides a day in 2 to 6, the times of day it comes at
 * (" at about 00:12, 08:12 and 16:12 UTC"), from the first event on; else "". */
static void times_of_day(const struct event *first, int64_t p, int64_t from, int64_t to, char buf[static 96])
{
        int64_t per_day = (86400 * US + p / 2) / p, p_min = (p + 30 * US) / (60 * US);
        char zone[32];
        int n;

        buf[0] = '\0';
        if (per_day < 2 || per_day > 6 || llabs(per_day * p - 86400 * US) > per_day * tolerance(p))
                return;
        clock_of(from, to, zone);
        n = snprintf(buf, 96, " at about");
        for (int64_t k = 0; k < per_day && n > 0 && n < 96; k++) {
                int64_t m = (first->minute % p_min + k * p_min) % 1440;

                n += snprintf(buf + n, (size_t)(96 - n), "%s %02d:%02d", k == 0 ? "" : k + 1 < per_day ? "," : " and",
                              (int)(m / 60), (int)(m % 60));
        }
        if (n > 0 && n < 96)
                snprintf(buf + n, (size_t)(96 - n), " %s", zone);
}

static void steady_finding(const struct event *v, const size_t *run, size_t m, const char *what,
                           struct findings *f, int *k)
{
        int64_t from = v[run[0]].t_us, to = v[run[m - 1]].t_us, p = (to - from) / (int64_t)(m - 1), dev = 0;
        struct findings_item *it = findings_add(f, FINDINGS_RECURRING, from, to, k);
        char every[32], at[96];

        if (!it)
                return;
        for (size_t a = 1; a < m; a++) {
                int64_t d = llabs(v[run[a]].t_us - v[run[a - 1]].t_us - p);

                dev = d > dev ? d : dev;
        }
        report_duration((p + 30 * US) / (60 * US) * (60 * US), every); /* to the minute */
        snprintf(it->what, sizeof(it->what), "%s", what);
        snprintf(it->when, sizeof(it->when), "every %s", every);
        it->evidence[EV_REC_EVENTS] = (double)m;
        it->evidence[EV_REC_SPREAD] = findings_secs(dev) / 60;
        it->evidence[EV_REC_PERIOD] = findings_secs(p);
        times_of_day(&v[run[0]], p, from, to, at);
        findings_fmt(it->text, "%c%s came at a steady period: every %s%s (give or take %.0f s), %zu times in a row.",
                     what[0] - 'a' + 'A', what + 1, every, at, findings_secs(dev), m);
}

/* Runs of 4 or more unused events at a steady period of 10 minutes or more,
 * one finding each, their events used. The second of a run is one of the
 * next few events (others may come between, no more than the run's own).
 * Before the times of day (days) a period of whole days is left to them;
 * after, whatever they left is taken as it comes. */
static int steady(struct event *v, size_t n, const char *what, bool days, struct findings *f)
{
        size_t *run = malloc(n * sizeof(*run));
        int k = 0;

        if (!run)
                return -ENOMEM;
        qsort(v, n, sizeof(*v), by_event_time);
        for (size_t i = 0; i < n && k == 0; i++) {
                size_t m = 0;

                for (size_t j = i + 1, tried = 0; !v[i].used && j < n && tried < REC_CANDIDATES && m < REC_MIN_STEADY;
                     j++) {
                        int64_t p = v[j].t_us - v[i].t_us;

                        if (v[j].used)
                                continue;
                        tried++;
                        if (p >= REC_STEADY_MIN_US && !(days && whole_days(p)))
                                m = run_from(v, n, i, j, run);
                }
                /* less than half the events of its span: a pattern that
                 * chance makes among many (on a grid of handshakes, say) */
                if (m < REC_MIN_STEADY || 2 * m < run[m - 1] - run[0] + 1)
                        continue;
                steady_finding(v, run, m, what, f, &k);
                for (size_t a = 0; a < m; a++)
                        v[run[a]].used = true;
        }
        free(run);
        return k;
}

static int recurring_of(const struct timeline_client *c, struct event *v, size_t n, const char *what,
                        struct findings *f)
{
        int k;

        if (n < REC_MIN_DAYS || n > REC_MAX_EVENTS)
                return 0;
        k = steady(v, n, what, true, f);
        k = k < 0 ? k : daily(c, v, n, what, f);
        return k < 0 ? k : steady(v, n, what, false, f);
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


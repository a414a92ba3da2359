/* findings-recurring: outages or rebindings at a steady period (one finding
 * with it, "every 8 h", not the times of day it implies), or at the same
 * time of day on 3 or more days (what comes once a day), each claimed only
 * where chance cannot explain it.
 *
 * The rule against chance: events at random, as dense as those around a
 * pattern (lambda a second), hit a slot of width w (a period's tolerance
 * both ways, a time of day's window) with p = 1 - exp(-lambda w). A steady
 * run of k events over s periods, each where the line through those before
 * puts it (a period with none is a miss: the line goes on), is k - 1 such
 * hits among s - 1 slots (w of them in a slot twice as wide, q each: at
 * most C(s-1, k-1) C(k-1, w) p^(k-1-w) q^w); a window of the day with
 * events on k of the D days the logs cover, P(at least k of D). Where the
 * other events (not the run's, nor on its line) hit one another a period
 * on more often than p (events more regular than at random, or on a grid
 * of handshakes), their rate is p. The chance of the
 * pattern, times the number of candidates tried (periods and phases,
 * windows: a Bonferroni bound), must be below REC_CHANCE; where p is 1/2
 * or more, events are too dense for any claim.
 * A steady period's events are used: its multiples and its members' times
 * of day are not claimed again. */
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
#define REC_MAX_EVENTS 4096         /* more: only the most recent judged, to bound the work */
#define REC_MAX_FINDINGS 8
#define REC_CANDIDATES 8 /* the next events tried as a run's second */
#define REC_CHANCE 1e-3  /* the most a claimed pattern may owe to chance */
#define REC_DENSE 0.5    /* a slot hit by chance this often or more: no claim */

/* The part of the logs judged: all of them, or from the first of the most
 * recent REC_MAX_EVENTS events on. */
struct span {
        int64_t from_us, to_us;
};

struct event {
        int64_t t_us;
        int64_t res_us; /* how well its time is known: a rebinding's idle gap */
        int minute;     /* of the local day */
        int day;        /* local days since 1970, near enough to tell days apart */
        bool used, in_run;
};

/* Whether a pattern whose chance (ln) is ln_chance, among `tried`
 * candidates, each slot hit by chance with p, is beyond chance. */
static bool beyond_chance(double ln_chance, double tried, double p)
{
        return p < REC_DENSE && ln_chance + log(tried) < log(REC_CHANCE);
}

/* ln P(X >= k) for X binomial(d, p), 0 < p < 1; k past d (which the
 * callers never ask) gives 0, as if certain: nothing claimed. */
static double ln_at_least(size_t k, size_t d, double p)
{
        double sum = 0;

        if (k > d)
                return 0;
        for (size_t x = k; x <= d; x++)
                sum += exp(lgamma((double)d + 1) - lgamma((double)x + 1) - lgamma((double)(d - x) + 1) +
                           (double)x * log(p) + (double)(d - x) * log1p(-p));
        return log(sum);
}

static size_t unused(const struct event *v, size_t n)
{
        size_t k = 0;

        for (size_t a = 0; a < n; a++)
                k += !v[a].used;
        return k;
}

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

/* How many days of the logs saw this minute of the day: local dates
 * counted one by one from the first stamp's (mktime takes the day of the
 * month past its end), for a day is not 24 h across a DST change. */
static size_t days_covering(const struct span *in, int minute)
{
        size_t n = 0;
        struct tm day;

        if (!local(in->from_us, &day))
                return 0;
        for (int d = 0; d <= 3660; d++) {
                struct tm tm = day;
                time_t at;

                tm.tm_mday += d;
                tm.tm_hour = minute / 60;
                tm.tm_min = minute % 60;
                tm.tm_sec = 0;
                tm.tm_isdst = -1;
                at = mktime(&tm);
                if (at == (time_t)-1 || (int64_t)at * US > in->to_us)
                        break;
                n += (int64_t)at * US >= in->from_us - 60 * US;
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

/* A window of the day: events v[from..to) (by minute, modulo n), on how
 * many days, its first and last minutes and times. */
struct window {
        size_t from, to, events, days;
        int lo, hi;
        int64_t first, last;
};

static void window_span(const struct event *v, size_t n, struct window *w)
{
        size_t m = 0;

        w->first = INT64_MAX;
        w->last = INT64_MIN;
        for (size_t a = w->from; a < w->to; a++) {
                const struct event *e = &v[a % n];

                if (e->used)
                        continue;
                w->lo = m++ ? w->lo : minute_of(v, n, a);
                w->hi = minute_of(v, n, a);
                w->first = e->t_us < w->first ? e->t_us : w->first;
                w->last = e->t_us > w->last ? e->t_us : w->last;
        }
}

/* Its days beyond chance: events at random at the rate of the unused ones
 * over the logs would put one in a window this wide on a day with p; on
 * `days` of the in_logs days, among as many windows as were tried. */
static bool window_beyond_chance(const struct span *in, const struct event *v, size_t n, const struct window *w,
                                 size_t in_logs)
{
        double minutes = (double)(in->to_us - in->from_us) / (60.0 * US), left = (double)unused(v, n);
        double p = -expm1(-left / (minutes > 1 ? minutes : 1) * (REC_WINDOW_MIN + 1));

        return p > 0 && beyond_chance(ln_at_least(w->days, in_logs, p), left < 1440 ? left : 1440, p);
}

static void daily_finding(const struct window *w, size_t in_logs, const char *what, struct findings *f, int *k)
{
        int mid = (w->lo + (w->hi - w->lo) / 2) % 1440;
        struct findings_item *it = findings_add(f, FINDINGS_RECURRING, w->first, w->last, k);
        char zone[32];

        if (!it)
                return;
        clock_of(w->first, w->last, zone);
        snprintf(it->what, sizeof(it->what), "%s", what);
        snprintf(it->when, sizeof(it->when), "every day around %02d:%02d (%s)", mid / 60, mid % 60, zone);
        it->evidence[EV_REC_EVENTS] = (double)w->events;
        it->evidence[EV_REC_DAYS] = (double)w->days;
        it->evidence[EV_REC_DAYS_IN_LOGS] = (double)in_logs;
        it->evidence[EV_REC_SPREAD] = w->hi - w->lo;
        it->evidence[EV_REC_PERIOD] = 86400;
        findings_fmt(it->text,
                     "%c%s came at the same time of day: around %02d:%02d %s (%02d:%02d to %02d:%02d) on %zu of the %zu "
                     "days the logs cover there, %zu in all. Something scheduled (a router's nightly reboot, a "
                     "provider's reconnect, a backup) is the usual cause.",
                     what[0] - 'a' + 'A', what + 1, mid / 60, mid % 60, zone, w->lo % 1440 / 60, w->lo % 60,
                     w->hi % 1440 / 60, w->hi % 60, w->days, in_logs, w->events);
}

static int daily(const struct span *in, struct event *v, size_t n, const char *what, struct findings *f)
{
        int *seen = malloc((n ? n : 1) * sizeof(*seen)), k = 0;

        if (!seen)
                return -ENOMEM;
        qsort(v, n, sizeof(*v), by_minute);
        for (unsigned r = 0; r < REC_MAX_FINDINGS && k == 0; r++) {
                struct window w = { 0 };
                size_t in_logs;

                w.days = best_window(v, n, seen, &w.from, &w.to);
                if (w.days < REC_MIN_DAYS)
                        break;
                distinct_days(v, n, w.from, w.to, seen, &w.events);
                window_span(v, n, &w);
                in_logs = days_covering(in, (w.lo + (w.hi - w.lo) / 2) % 1440);
                in_logs = in_logs < w.days ? w.days : in_logs; /* a window over midnight */
                if (!window_beyond_chance(in, v, n, &w, in_logs))
                        break; /* the most days any window has: others have no more */
                for (size_t a = w.from; a < w.to; a++)
                        v[a % n].used = true;
                daily_finding(&w, in_logs, what, f, &k);
        }
        free(seen);
        return k;
}

/* The first event at or after t from v[from] on (v in time order), or n. */
static size_t first_at(const struct event *v, size_t n, size_t from, int64_t t)
{
        size_t lo = from, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (v[mid].t_us < t)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* The unused event nearest t, within tol of it, from v[from] on (v in time
 * order), or n. */
static size_t match(const struct event *v, size_t n, size_t from, int64_t t, int64_t tol)
{
        size_t best = n;

        for (size_t a = first_at(v, n, from, t - tol); a < n && v[a].t_us <= t + tol; a++)
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

/* The line through a run's events by least squares: its k-th at a + b k
 * (microseconds from its first). */
struct fit {
        double n, sk, st, skk, skt;
};

static void fit_add(struct fit *f, double k, double t)
{
        f->n++;
        f->sk += k;
        f->st += t;
        f->skk += k * k;
        f->skt += k * t;
}

static double fit_at(const struct fit *f, double k)
{
        double b = (f->n * f->skt - f->sk * f->st) / (f->n * f->skk - f->sk * f->sk);

        return (f->st - b * f->sk) / f->n + b * k;
}

/* The farthest the run's events are from its line (slot[k]: the period
 * the k-th is in, counted from the first's). */
static double fit_worst(const struct event *v, const size_t *run, const size_t *slot, size_t m, const struct fit *f)
{
        double worst = 0;

        for (size_t k = 0; k < m; k++) {
                double d = fabs((double)(v[run[k]].t_us - v[run[0]].t_us) - fit_at(f, (double)slot[k]));

                worst = d > worst ? d : worst;
        }
        return worst;
}

/* A run: its events' indices (into v) and the periods they are in
 * (slot, from the first's 0), how many, how many periods it spans (slots:
 * its last's slot + 1; those without an event are its misses), how many
 * of them were found only within twice its tolerance (wide), that
 * tolerance, its line, and (once run_chance() has judged it) the chances
 * p and q of an event at random within its tolerance or twice it. */
struct run {
        size_t *at, *slot, m, slots, wide;
        int64_t tol;
        struct fit line;
        double p, q;
};

/* The event of slot s of the run so far, where its line puts it, within
 * a minute or 2 % and how late the logs may see an event (tol); or,
 * missing that, within twice that if the line through it too keeps every
 * event of the run within tol (seen a little late a few times, then on
 * time again): its index, or n; *wide whether only within twice. */
static size_t next_of(const struct event *v, size_t n, struct run *r, size_t s, bool *wide)
{
        int64_t t0 = v[r->at[0]].t_us, t = t0 + (int64_t)fit_at(&r->line, (double)s);
        size_t from = r->at[r->m - 1] + 1, a = match(v, n, from, t, r->tol);
        struct fit with = r->line;

        *wide = a == n;
        if (!*wide)
                return a;
        a = match(v, n, from, t, 2 * r->tol);
        if (a == n)
                return n;
        fit_add(&with, (double)s, (double)(v[a].t_us - t0));
        r->at[r->m] = a;
        r->slot[r->m] = s;
        return fit_worst(v, r->at, r->slot, r->m + 1, &with) > (double)r->tol ? n : a;
}

static void add_hit(const struct event *v, struct run *r, size_t a, size_t s, bool wide)
{
        fit_add(&r->line, (double)s, (double)(v[a].t_us - v[r->at[0]].t_us));
        r->at[r->m] = a;
        r->slot[r->m++] = s;
        r->slots = s + 1;
        r->wide += wide;
}

/* The run from v[i] at the period v[j] - v[i]: in each next period the
 * event next_of() finds; events between are left aside. A period without
 * one is a miss and the line goes on (an outage hides a flush or two, one
 * outage of a series is left out): the run bridges missed periods in a
 * row, fewer than half as many as it has events after its first (so that
 * runs of chance, short, end soon), and ends at its last event. */
static void run_from(const struct event *v, size_t n, size_t i, size_t j, int64_t res, struct run *r)
{
        size_t misses = 0;

        r->tol = tolerance(v[j].t_us - v[i].t_us) + res;
        r->at[0] = i;
        r->at[1] = j;
        r->slot[0] = 0;
        r->slot[1] = 1;
        r->m = r->slots = 2;
        r->wide = 0;
        r->line = (struct fit){ 0 };
        fit_add(&r->line, 0, 0);
        fit_add(&r->line, 1, (double)(v[j].t_us - v[i].t_us));
        for (size_t s = 2; 2 * misses < r->m - 1 && r->at[r->m - 1] + 1 < n; s++) {
                bool wide;
                size_t a = next_of(v, n, r, s, &wide);

                if (a == n) {
                        misses++;
                        continue;
                }
                add_hit(v, r, a, s, wide);
                misses = 0;
        }
}

/* Whether v[a] is other than the run: unused, not in it, nor on its line
 * (within its tolerance of one of its periods, before or after it too:
 * its own series, where it could not bridge, is not "other"). */
static bool other(const struct event *v, const struct run *r, size_t a)
{
        double o = fit_at(&r->line, 0), b = fit_at(&r->line, 1) - o, x = (double)(v[a].t_us - v[r->at[0]].t_us) - o;

        return !v[a].used && !v[a].in_run && !(b > 0 && fabs(x - b * round(x / b)) <= (double)r->tol);
}

/* How often the events other than the run have another such a period
 * later, within tol: at random about 1 - exp(-2 tol lambda), more where
 * they come regularly or on a grid. */
static double hit_rate_elsewhere(const struct event *v, size_t n, const struct run *r, int64_t p, int64_t tol)
{
        size_t from = 0, hits = 0;

        for (size_t a = 0; a < n; a++) {
                bool hit = false;

                if (!other(v, r, a) || v[a].t_us + p > v[n - 1].t_us)
                        continue;
                from++;
                for (size_t b = first_at(v, n, a + 1, v[a].t_us + p - tol); !hit && b < n && v[b].t_us <= v[a].t_us + p + tol;
                     b++)
                        hit = other(v, r, b);
                hits += hit;
        }
        return from ? (double)hits / (double)from : 0;
}

/* ln of a bound on the chance of the run at random: each slot after the
 * first hit with p within its tolerance, with q within twice it; m - 1
 * of the slots - 1 it spans hit, any of them (a binomial's tail, bounded
 * by its first term without the misses' factor), `wide` of those only
 * within twice it, any of them: C(slots-1, m-1) C(m-1, wide)
 * p^(m-1-wide) q^wide. */
static double ln_run(const struct run *r, double p, double q)
{
        double s = (double)(r->slots - 1), k = (double)(r->m - 1), w = (double)r->wide;

        return lgamma(s + 1) - lgamma(k + 1) - lgamma(s - k + 1) + lgamma(k + 1) - lgamma(w + 1) -
               lgamma(k - w + 1) + (k - w) * log(p) + w * log(q);
}

/* ln of the chance of the run at random (see the top), or +INFINITY where
 * it is not beyond chance among `tried` candidates (the other events' own
 * rate asked only where events at random say it is). */
static double run_chance(struct event *v, size_t n, struct run *r, double tried)
{
        int64_t from = v[r->at[0]].t_us, to = v[r->at[r->m - 1]].t_us, per = (to - from) / (int64_t)(r->slots - 1);
        size_t around = 0;
        double rate, p, q;

        for (size_t a = first_at(v, n, 0, from); a < n && v[a].t_us <= to; a++)
                around += !v[a].used;
        rate = (double)around / (double)(to - from);
        p = -expm1(-2.0 * (double)r->tol * rate);
        q = -expm1(-4.0 * (double)r->tol * rate);
        if (!beyond_chance(ln_run(r, p, q), tried, p))
                return INFINITY;
        for (size_t a = 0; a < r->m; a++)
                v[r->at[a]].in_run = true;
        p = fmax(p, hit_rate_elsewhere(v, n, r, per, r->tol));
        q = r->wide ? fmax(q, hit_rate_elsewhere(v, n, r, per, 2 * r->tol)) : q;
        for (size_t a = 0; a < r->m; a++)
                v[r->at[a]].in_run = false;
        r->p = p;
        r->q = q;
        return beyond_chance(ln_run(r, p, q), tried, p) ? ln_run(r, p, q) : INFINITY;
}

/* A run beyond chance carried on past the missed periods in a row that
 * run_from() bridges (one series broken for long: a day without its
 * outages), up to the last event, then cut back to its prefix least
 * likely by chance (its p and q): never less likely than it was. Once
 * per finding, so its work is no matter. */
static void run_extend(const struct event *v, size_t n, struct run *r)
{
        struct run best = *r; /* a prefix: the same arrays, the same first m */
        double best_ln = ln_run(r, r->p, r->q);

        for (size_t s = r->slots; r->at[r->m - 1] + 1 < n; s++) {
                int64_t t = v[r->at[0]].t_us + (int64_t)fit_at(&r->line, (double)s);
                bool wide;
                size_t a;

                if (t > v[n - 1].t_us + 2 * r->tol)
                        break;
                a = next_of(v, n, r, s, &wide);
                if (a == n)
                        continue;
                add_hit(v, r, a, s, wide);
                if (ln_run(r, r->p, r->q) < best_ln) {
                        best_ln = ln_run(r, r->p, r->q);
                        best = *r;
                }
        }
        *r = best;
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

/* A period as measured: to the second ("10 min 30 s"), or from 2 hours on
 * to the minute ("8 h 0 min", not "7 h 59 min" for 7 h 59 min 59.6 s). */
static void period_text(double p_us, char buf[static 32])
{
        long long s = llround(p_us / US), m = llround(p_us / (60.0 * US));

        if (m >= 120)
                snprintf(buf, 32, "%lld h %lld min", m / 60, m % 60);
        else if (s >= 120)
                snprintf(buf, 32, "%lld min %lld s", s / 60, s % 60);
        else
                snprintf(buf, 32, "%lld s", s);
}

/* The period of a run's line, to the second ("10 min 30 s"), and each of
 * its events within "give or take" of that line, the farthest rounded up. */
static void steady_finding(const struct event *v, const struct run *r, const char *what, struct findings *f,
                           int *k)
{
        int64_t from = v[r->at[0]].t_us, to = v[r->at[r->m - 1]].t_us;
        double a = fit_at(&r->line, 0), b = fit_at(&r->line, 1) - a;
        double dev = ceil(fit_worst(v, r->at, r->slot, r->m, &r->line) / US);
        struct findings_item *it = findings_add(f, FINDINGS_RECURRING, from, to, k);
        char every[32], at[96], times[80];

        if (!it)
                return;
        period_text(b, every);
        snprintf(it->what, sizeof(it->what), "%s", what);
        snprintf(it->when, sizeof(it->when), "every %s", every);
        it->evidence[EV_REC_EVENTS] = (double)r->m;
        it->evidence[EV_REC_SPREAD] = dev / 60;
        it->evidence[EV_REC_PERIOD] = b / US;
        times_of_day(&v[r->at[0]], (int64_t)b, from, to, at);
        if (r->slots == r->m)
                snprintf(times, sizeof(times), "%zu times in a row", r->m);
        else
                snprintf(times, sizeof(times), "%zu times in %zu periods (%zu missed)", r->m, r->slots,
                         r->slots - r->m);
        findings_fmt(it->text, "%c%s came at a steady period: every %s%s (give or take %.0f s), %s.",
                     what[0] - 'a' + 'A', what + 1, every, at, dev, times);
}

/* The candidates steady() tries: each event's next few as its run's second. */
static double candidates(size_t n)
{
        double k = 0;

        for (size_t i = 0; i < n; i++)
                k += (double)(n - 1 - i < REC_CANDIDATES ? n - 1 - i : REC_CANDIDATES);
        return k;
}

/* From v[i], of the runs whose second is one of the next few events, the
 * least likely by chance, if beyond it, into best (its m 0: none). */
static void best_run(struct event *v, size_t n, size_t i, bool days, int64_t res, double tried, struct run *r,
                     struct run *best)
{
        double best_ln = INFINITY;

        best->m = 0;
        for (size_t j = i + 1, seen = 0; j < n && seen < REC_CANDIDATES; j++) {
                int64_t p = v[j].t_us - v[i].t_us;
                double ln;

                if (v[j].used)
                        continue;
                seen++;
                if (p < REC_STEADY_MIN_US || (days && whole_days(p)))
                        continue;
                run_from(v, n, i, j, res, r);
                if (r->m < REC_MIN_STEADY || (ln = run_chance(v, n, r, tried)) >= best_ln)
                        continue;
                best_ln = ln;
                memcpy(best->at, r->at, r->m * sizeof(*r->at));
                memcpy(best->slot, r->slot, r->m * sizeof(*r->slot));
                best->m = r->m;
                best->slots = r->slots;
                best->wide = r->wide;
                best->tol = r->tol;
                best->line = r->line;
                best->p = r->p;
                best->q = r->q;
        }
}

/* The best run carried on (run_extend()), if still beyond chance as a
 * whole (its p and q asked again over its span), else as it was. */
static void carry_on(struct event *v, size_t n, struct run *best, double tried)
{
        struct run was = *best;

        run_extend(v, n, best);
        if (best->m > was.m && !isfinite(run_chance(v, n, best, tried)))
                *best = was;
}

/* Runs of 4 or more unused events at a steady period of 10 minutes or more,
 * beyond chance, one finding each, their events used. The second of a run
 * is one of the next few events (others may come between). Before the
 * times of day (days) a period of whole days is left to them; after,
 * whatever they left is taken as it comes. */
static int steady(struct event *v, size_t n, const char *what, bool days, int64_t res, struct findings *f)
{
        struct run r = { .at = malloc(4 * n * sizeof(*r.at)) }, best;
        double tried = candidates(n);
        int k = 0;

        if (!r.at)
                return -ENOMEM;
        r.slot = r.at + n;
        best.at = r.at + 2 * n;
        best.slot = r.at + 3 * n;
        qsort(v, n, sizeof(*v), by_event_time);
        for (size_t i = 0; i < n && k == 0; i++) {
                if (v[i].used)
                        continue;
                best_run(v, n, i, days, res, tried, &r, &best);
                if (best.m == 0)
                        continue;
                carry_on(v, n, &best, tried);
                steady_finding(v, &best, what, f, &k);
                for (size_t a = 0; a < best.m; a++)
                        v[best.at[a]].used = true;
        }
        free(r.at);
        return k;
}

static int by_value(const void *a, const void *b)
{
        const int64_t *x = a, *y = b;

        return (*x > *y) - (*x < *y);
}

/* How well the events' times are known: the median of their res_us (a
 * rebinding is seen at the first packet after it, up to an idle gap late). */
static int64_t resolution(const struct event *v, size_t n)
{
        int64_t *r = malloc(n * sizeof(*r)), med;

        if (!r)
                return -ENOMEM;
        for (size_t a = 0; a < n; a++)
                r[a] = v[a].res_us;
        qsort(r, n, sizeof(*r), by_value);
        med = r[n / 2];
        free(r);
        return med;
}

/* Past REC_MAX_EVENTS, the most recent of them judged, over the part of
 * the logs from the first of those on (each run tried may look at every
 * event: the work bounded). */
static int recurring_of(const struct timeline_client *c, struct event *v, size_t n, const char *what,
                        struct findings *f)
{
        struct span in = { c->first_us, c->last_us };
        int64_t res;
        int k;

        if (n < REC_MIN_DAYS)
                return 0;
        if (n > REC_MAX_EVENTS) {
                qsort(v, n, sizeof(*v), by_event_time);
                v += n - REC_MAX_EVENTS;
                n = REC_MAX_EVENTS;
                in.from_us = v[0].t_us;
        }
        res = resolution(v, n);
        if (res < 0)
                return (int)res;
        k = steady(v, n, what, true, res, f);
        k = k < 0 ? k : daily(&in, v, n, what, f);
        return k < 0 ? k : steady(v, n, what, false, res, f);
}

/* An event at t, known to res; 0 when its local time cannot be told (not
 * counted). */
static size_t event_at(struct event *e, int64_t t_us, int64_t res_us)
{
        struct tm tm;

        if (!local(t_us, &tm))
                return 0;
        *e = (struct event){ .t_us = t_us, .res_us = res_us, .minute = tm.tm_hour * 60 + tm.tm_min, .day = day_of(&tm) };
        return 1;
}

/* A rebinding's idle gap, as how late it may have been seen; none known: 0. */
static int64_t rebind_res(double gap_s)
{
        return isnan(gap_s) || gap_s < 0 ? 0 : (int64_t)(gap_s * (double)US);
}

int findings_recurring(const struct timeline_client *c, struct findings *f)
{
        size_t cap = c->n_outages > c->n_rebinds ? c->n_outages : c->n_rebinds, n = 0;
        struct event *v = malloc((cap ? cap : 1) * sizeof(*v));
        int k;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_outages; i++)
                n += event_at(&v[n], c->outages[i].start_us, 0);
        k = recurring_of(c, v, n, "outages", f);
        n = 0;
        for (size_t i = 0; i < c->n_rebinds; i++)
                if (!c->scan->rb_nat[i])
                        n += event_at(&v[n], c->rebinds[i].t_us, rebind_res(c->scan->rb_gap_s[i]));
        k = k < 0 ? k : recurring_of(c, v, n, "rebindings", f);
        free(v);
        return k;
}


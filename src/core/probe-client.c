/* probe-client (prober_*): trial schedule, bracket narrowing and verdict of
 * the client's NAT timeout probe (see probe-client.h). */
#include "core/probe-client.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[PROBER_KINDS] = { "fresh", "established" };

void prober_config_default(struct prober_config *cfg)
{
        *cfg = (struct prober_config){
                .max_delay_s = PROBER_DEFAULT_MAX_DELAY_S,
                .resolution_s = PROBER_DEFAULT_RESOLUTION_S,
                .resolution_pct = PROBER_DEFAULT_RESOLUTION_PCT,
                .time_bound_us = PROBER_DEFAULT_TIME_BOUND_US,
                .grace_us = PROBER_DEFAULT_GRACE_US,
                .warmup_gap_us = PROBER_DEFAULT_WARMUP_GAP_US,
                .warmups = PROBER_DEFAULT_WARMUPS,
                .parallel = PROBER_DEFAULT_PARALLEL,
                .first_id = 1,
        };
}

static void out_reset(struct prober_out *out)
{
        out->n_send = 0;
        out->n_close = 0;
        out->wake_us = 0;
}

static void send_probe(struct prober *p, unsigned slot, uint64_t delay_s, bool new_socket, uint64_t now_us,
                       struct prober_out *out)
{
        struct prober_trial *t = &p->trials[slot];

        t->id = p->next_id++;
        t->asked_s = delay_s;
        t->waiting = true;
        t->final = delay_s > 0 || t->kind == PROBER_FRESH;
        t->due_us = now_us + delay_s * 1000000 + p->cfg.grace_us;
        out->send[out->n_send].slot = slot;
        out->send[out->n_send].new_socket = new_socket;
        out->send[out->n_send].id = t->id;
        out->send[out->n_send].delay_s = delay_s;
        out->n_send++;
}

static void end_trial(struct prober *p, unsigned slot, struct prober_out *out)
{
        p->trials[slot].active = false;
        out->close[out->n_close++] = slot;
}

/* An idle of delay_s was answered: the timeout is longer. A silence at or
 * below it was a lost packet, not the timeout: forgotten. */
static void note_answered(struct prober_bracket *b, uint64_t delay_s)
{
        b->answered_trials++;
        if (!b->has_lower || delay_s > b->lower_s) {
                b->lower_s = delay_s;
                b->has_lower = true;
        }
        if (b->has_upper && b->upper_s <= b->lower_s) {
                b->has_upper = false;
                b->upper_silences = 0;
        }
}

static void note_silent(struct prober_bracket *b, uint64_t delay_s)
{
        b->silent_trials++;
        if (b->has_lower && delay_s <= b->lower_s)
                return; /* contradicts an answer: a loss */
        if (b->has_upper && delay_s == b->upper_s) {
                b->upper_silences++;
        } else if (!b->has_upper || delay_s < b->upper_s) {
                b->upper_s = delay_s;
                b->has_upper = true;
                b->upper_silences = 1;
        }
}

/* Time an established trial spends before its probe with the delay. */
static uint64_t overhead_us(const struct prober *p, enum prober_kind kind)
{
        return kind == PROBER_ESTABLISHED ? (uint64_t)p->cfg.warmups * p->cfg.warmup_gap_us + p->cfg.grace_us : 0;
}

/* The longest delay a trial of this kind starting now can have and still
 * end within the time bound (0: none fits). */
static uint64_t fitting_delay_s(const struct prober *p, enum prober_kind kind, uint64_t now_us)
{
        uint64_t end = p->start_us + p->cfg.time_bound_us, need = now_us + overhead_us(p, kind) + p->cfg.grace_us;
        uint64_t fit = end > need ? (end - need) / 1000000 : 0;

        return fit < p->cfg.max_delay_s ? fit : p->cfg.max_delay_s;
}

static uint64_t resolution_s(const struct prober *p, uint64_t at_s)
{
        uint64_t rel = at_s * p->cfg.resolution_pct / 100;

        return rel > p->cfg.resolution_s ? rel : p->cfg.resolution_s;
}

/* The delays of this kind's trials under way, sorted, with bottom and top
 * around those strictly between them. Returns how many points. */
static size_t points(const struct prober *p, enum prober_kind kind, uint64_t bottom, uint64_t top,
                     uint64_t pts[static PROBER_MAX_TRIALS + 2])
{
        size_t n = 0;

        pts[n++] = bottom;
        for (size_t i = 0; i < PROBER_MAX_TRIALS; i++) {
                const struct prober_trial *t = &p->trials[i];
                size_t j;

                if (!t->active || t->kind != kind || t->delay_s <= bottom || t->delay_s >= top)
                        continue;
                for (j = n; j > 1 && pts[j - 1] > t->delay_s; j--)
                        pts[j] = pts[j - 1];
                pts[j] = t->delay_s;
                n++;
        }
        pts[n++] = top;
        return n;
}

static bool testing_at_or_above(const struct prober *p, enum prober_kind kind, uint64_t delay_s)
{
        for (size_t i = 0; i < PROBER_MAX_TRIALS; i++)
                if (p->trials[i].active && p->trials[i].kind == kind && p->trials[i].delay_s >= delay_s)
                        return true;
        return false;
}

static unsigned trials_at(const struct prober *p, enum prober_kind kind, uint64_t delay_s)
{
        unsigned n = 0;

        for (size_t i = 0; i < PROBER_MAX_TRIALS; i++)
                n += p->trials[i].active && p->trials[i].kind == kind && p->trials[i].delay_s == delay_s;
        return n;
}

/* The delay of the next trial of a kind, or 0 for none: the top of the
 * range while nothing above has been silent, then the geometric middle of
 * the widest gap still wider than the resolution. */
static uint64_t pick(const struct prober *p, enum prober_kind kind, uint64_t now_us)
{
        const struct prober_bracket *b = &p->kinds[kind];
        uint64_t fit = fitting_delay_s(p, kind, now_us), bottom = b->has_lower ? b->lower_s : 0;
        uint64_t top = b->has_upper ? b->upper_s : fit, pts[PROBER_MAX_TRIALS + 2], best = 0;
        double widest = 0;
        size_t n;

        if (fit == 0 || top <= bottom)
                return 0;
        if (!b->has_upper && !testing_at_or_above(p, kind, top))
                return top;
        n = points(p, kind, bottom, top, pts);
        for (size_t i = 0; i + 1 < n; i++) {
                uint64_t a = pts[i], z = pts[i + 1];
                double width = log((double)(z + 1) / (double)(a + 1));
                uint64_t mid;

                if (z - a <= resolution_s(p, a) || z - a < 2 || width <= widest)
                        continue;
                mid = (uint64_t)llround(sqrt((double)(a + 1) * (double)(z + 1))) - 1;
                mid = mid <= a ? a + 1 : mid >= z ? z - 1 : mid;
                if (mid > fit)
                        continue;
                widest = width;
                best = mid;
        }
        /* narrow enough: a lost answer may have made the upper bound, so
         * it is tried again, in parallel, before it counts */
        if (!best && b->has_upper && b->upper_s <= fit &&
            b->upper_silences + trials_at(p, kind, b->upper_s) < PROBER_UPPER_SILENCES)
                return b->upper_s;
        return best;
}

static unsigned active_of(const struct prober *p, enum prober_kind kind)
{
        unsigned n = 0;

        for (size_t i = 0; i < PROBER_MAX_TRIALS; i++)
                n += p->trials[i].active && p->trials[i].kind == kind;
        return n;
}

static void start_trial(struct prober *p, enum prober_kind kind, uint64_t delay_s, uint64_t now_us,
                        struct prober_out *out)
{
        for (unsigned slot = 0; slot < PROBER_MAX_TRIALS; slot++) {
                struct prober_trial *t = &p->trials[slot];

                if (t->active)
                        continue;
                *t = (struct prober_trial){ .active = true, .kind = kind, .delay_s = delay_s };
                send_probe(p, slot, kind == PROBER_FRESH ? delay_s : 0, true, now_us, out);
                return;
        }
}

/* Trials that can tell nothing new end early: their delay is outside the
 * bracket now (at its upper end: unless confirming it). */
static void prune(struct prober *p, struct prober_out *out)
{
        for (unsigned slot = 0; slot < PROBER_MAX_TRIALS; slot++) {
                const struct prober_trial *t = &p->trials[slot];
                const struct prober_bracket *b = &p->kinds[t->kind];

                if (t->active && ((b->has_upper && (t->delay_s > b->upper_s ||
                                                    (t->delay_s == b->upper_s && b->upper_silences >= PROBER_UPPER_SILENCES))) ||
                                  (b->has_lower && t->delay_s <= b->lower_s)))
                        end_trial(p, slot, out);
        }
}

/* Nothing answered yet, a fresh trial silent and two established ones
 * void (six delay-0 probes unanswered): nothing gets through, and the long
 * trials need not be waited for. */
static bool hopeless(const struct prober *p)
{
        return p->answers == 0 && p->kinds[PROBER_FRESH].silent_trials >= 1 &&
               p->kinds[PROBER_ESTABLISHED].voids >= 2;
}

/* New trials where there is room; a kind with nothing under way and
 * nothing left to try is done. */
static void schedule(struct prober *p, uint64_t now_us, struct prober_out *out)
{
        unsigned parallel = p->cfg.parallel < PROBER_MAX_PARALLEL ? p->cfg.parallel : PROBER_MAX_PARALLEL;

        prune(p, out);
        if (hopeless(p)) {
                for (unsigned slot = 0; slot < PROBER_MAX_TRIALS; slot++)
                        if (p->trials[slot].active)
                                end_trial(p, slot, out);
                p->kinds[PROBER_FRESH].done = p->kinds[PROBER_ESTABLISHED].done = true;
        }
        for (unsigned k = 0; k < PROBER_KINDS; k++) {
                struct prober_bracket *b = &p->kinds[k];

                /* warm-ups never answered, a round of trials long: nothing gets through */
                if (b->voids >= (b->answered ? 3 * parallel : parallel))
                        b->done = true;
                while (!b->done && active_of(p, k) < parallel) {
                        uint64_t d = pick(p, k, now_us);

                        if (d == 0)
                                break;
                        start_trial(p, k, d, now_us, out);
                }
                if (active_of(p, k) == 0)
                        b->done = true;
        }
        p->done = p->kinds[0].done && p->kinds[1].done;
}

static void set_wake(struct prober *p, struct prober_out *out)
{
        out->wake_us = 0;
        for (size_t i = 0; i < PROBER_MAX_TRIALS; i++)
                if (p->trials[i].active && (!out->wake_us || p->trials[i].due_us < out->wake_us))
                        out->wake_us = p->trials[i].due_us;
}

void prober_start(struct prober *p, const struct prober_config *cfg, uint64_t now_us, struct prober_out *out)
{
        memset(p, 0, sizeof(*p));
        p->cfg = *cfg;
        p->start_us = now_us;
        p->next_id = cfg->first_id;
        out_reset(out);
        schedule(p, now_us, out);
        set_wake(p, out);
}

/* A trial's time came: its answer did not (a silence, or a warm-up to try
 * again), or its next probe is to go out. */
static void trial_due(struct prober *p, unsigned slot, uint64_t now_us, struct prober_out *out)
{
        struct prober_trial *t = &p->trials[slot];
        struct prober_bracket *b = &p->kinds[t->kind];

        if (t->waiting && t->final) {
                note_silent(b, t->delay_s);
                end_trial(p, slot, out);
        } else if (t->waiting && ++t->tries >= PROBER_WARMUP_TRIES) {
                b->voids++;
                end_trial(p, slot, out);
        } else if (t->waiting) {
                send_probe(p, slot, 0, false, now_us, out);
        } else {
                send_probe(p, slot, t->warmups_done < p->cfg.warmups ? 0 : t->delay_s, false, now_us, out);
        }
}

void prober_timer(struct prober *p, uint64_t now_us, struct prober_out *out)
{
        out_reset(out);
        for (unsigned slot = 0; slot < PROBER_MAX_TRIALS; slot++)
                if (p->trials[slot].active && p->trials[slot].due_us <= now_us)
                        trial_due(p, slot, now_us, out);
        schedule(p, now_us, out);
        set_wake(p, out);
}

/* Whether m is the answer the trial waits for. */
static bool awaited(const struct prober_trial *t, const struct message *m)
{
        return t->active && t->waiting && m->type == MESSAGE_PROBE_RESPONSE && m->data[0] == t->id &&
               m->data[1] == t->asked_s;
}

bool prober_receive(struct prober *p, uint64_t now_us, unsigned slot, const struct message *m,
                    struct prober_out *out)
{
        struct prober_trial *t;

        out_reset(out);
        if (slot >= PROBER_MAX_TRIALS || !awaited(&p->trials[slot], m)) {
                set_wake(p, out);
                return false;
        }
        t = &p->trials[slot];
        p->answers++;
        p->kinds[t->kind].answered = true;
        t->waiting = false;
        if (t->final) {
                note_answered(&p->kinds[t->kind], t->delay_s);
                end_trial(p, slot, out);
        } else {
                t->warmups_done++;
                t->tries = 0;
                t->due_us = now_us + p->cfg.warmup_gap_us;
        }
        schedule(p, now_us, out);
        set_wake(p, out);
        return true;
}

unsigned prober_active(const struct prober *p)
{
        return active_of(p, PROBER_FRESH) + active_of(p, PROBER_ESTABLISHED);
}

void prober_bracket_text(const struct prober_bracket *b, char *buf, size_t cap)
{
        if (b->has_lower && b->has_upper)
                snprintf(buf, cap, "%" PRIu64 " to %" PRIu64 " s", b->lower_s, b->upper_s);
        else if (b->has_lower)
                snprintf(buf, cap, "more than %" PRIu64 " s", b->lower_s);
        else if (b->has_upper && b->answered)
                snprintf(buf, cap, "less than %" PRIu64 " s", b->upper_s);
        else if (!b->answered && (b->done || b->silent_trials || b->voids))
                snprintf(buf, cap, "no answer");
        else
                snprintf(buf, cap, "unknown");
}

uint64_t prober_keepalive_below_s(const struct prober *p)
{
        uint64_t best = 0;

        for (unsigned k = 0; k < PROBER_KINDS; k++) {
                const struct prober_bracket *b = &p->kinds[k];
                /* a timeout longer than all tried is no limit */
                uint64_t v = !b->has_upper || !b->answered ? 0 : b->has_lower ? b->lower_s : b->upper_s;

                if (v && (!best || v < best))
                        best = v;
        }
        return best;
}

void prober_verdict(const struct prober *p, char *buf, size_t cap)
{
        char kinds[PROBER_KINDS][64];
        uint64_t below = prober_keepalive_below_s(p);
        int n;

        if (p->answers == 0) {
                snprintf(buf, cap, "no probe was answered: the server does not answer probes (an original "
                                   "udp-canary.py?), or nothing gets through (host, port, key, firewall)");
                return;
        }
        for (unsigned k = 0; k < PROBER_KINDS; k++)
                prober_bracket_text(&p->kinds[k], kinds[k], sizeof(kinds[k]));
        n = snprintf(buf, cap, "the NAT keeps an idle UDP mapping %s (fresh), %s (established)", kinds[0], kinds[1]);
        if (n < 0 || (size_t)n >= cap)
                return;
        if (below)
                snprintf(buf + n, cap - (size_t)n, ": " PROBER_TEXT_KEEPALIVE_BELOW "%" PRIu64 " s", below);
        else if (p->kinds[PROBER_FRESH].has_lower || p->kinds[PROBER_ESTABLISHED].has_lower)
                snprintf(buf + n, cap - (size_t)n, ": no timeout found below the longest idle tried");
}

void prober_progress(const struct prober *p, uint64_t now_us, char *buf, size_t cap)
{
        char kinds[PROBER_KINDS][64];
        uint64_t elapsed = (now_us - p->start_us) / 1000000;

        for (unsigned k = 0; k < PROBER_KINDS; k++)
                prober_bracket_text(&p->kinds[k], kinds[k], sizeof(kinds[k]));
        snprintf(buf, cap, "%u trials waiting, %" PRIu64 " s elapsed; %s: %s, %s: %s", prober_active(p), elapsed,
                 kind_names[0], kinds[0], kind_names[1], kinds[1]);
}

/* probe-client (functions prober_*): the client's side of the NAT timeout probe, free of I/O. It
 * measures how long a NAT keeps an idle UDP mapping, for the two timeouts
 * NATs tell apart:
 *   fresh        one probe out, then silence for its delay: the server's
 *                answer comes back only if the mapping outlived the delay;
 *   established  a few exchanges both ways first (probes with delay 0,
 *                spread over more than the 2 s after which Linux counts a
 *                flow as a stream), then the probe with the delay.
 * Each trial runs on a socket of its own (a fresh mapping; the shell opens
 * it when a send says so), trials run in parallel at delays spread over the
 * range, and each answer or silence narrows a bracket [lower, upper]: the
 * longest idle answered, the shortest not (tried three times, as an answer
 * may be lost). A new trial goes to the middle
 * (geometric) of the widest part of the bracket still wider than the
 * resolution, so the first ones spread out and the later ones bisect. No
 * trial starts that would end past the time bound.
 *
 * The shell calls prober_start, then prober_timer at out->wake_us and
 * prober_receive for each answer; out->wake_us 0 means the run is over. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/message.h"

enum prober_kind { PROBER_FRESH, PROBER_ESTABLISHED };
#define PROBER_KINDS 2
#define PROBER_MAX_PARALLEL 8
#define PROBER_MAX_TRIALS (PROBER_KINDS * PROBER_MAX_PARALLEL)

#define PROBER_DEFAULT_MAX_DELAY_S 600
#define PROBER_DEFAULT_RESOLUTION_S 5
#define PROBER_DEFAULT_RESOLUTION_PCT 10
#define PROBER_DEFAULT_TIME_BOUND_US (15 * 60 * 1000000ULL)
#define PROBER_DEFAULT_GRACE_US 3000000ULL
#define PROBER_DEFAULT_WARMUP_GAP_US 1500000ULL
#define PROBER_DEFAULT_WARMUPS 2
#define PROBER_DEFAULT_PARALLEL 4
/* The shortest delay a trial asks for, and so the shortest time bound in
 * which a run sends any probe at all: one fresh trial of that delay and
 * its grace (an established one needs warm-ups besides). Shorter, a run
 * would send nothing and then say that nothing was answered. */
#define PROBER_MIN_DELAY_S 1
#define PROBER_MIN_TIME_BOUND_US (PROBER_MIN_DELAY_S * 1000000ULL + PROBER_DEFAULT_GRACE_US)
/* Silent trials at the upper bound before it counts: an answer lost on the
 * way reads as a silence. */
#define PROBER_UPPER_SILENCES 3
/* A warm-up exchange is tried this often before the trial counts as void. */
#define PROBER_WARMUP_TRIES 3

struct prober_config {
        uint64_t max_delay_s;     /* the longest idle tried */
        uint64_t resolution_s;    /* a bracket this narrow is narrow enough... */
        unsigned resolution_pct;  /* ...or this share of its lower end, if larger */
        uint64_t time_bound_us;   /* no trial starts that would end after this */
        uint64_t grace_us;        /* how long past its delay an answer may take */
        uint64_t warmup_gap_us;   /* between an established trial's exchanges */
        unsigned warmups;         /* exchanges before its probe with the delay */
        unsigned parallel;        /* trials of each kind at once, up to PROBER_MAX_PARALLEL */
        uint64_t first_id;        /* the first probe id: above any used before */
};

/* What is known of one kind's timeout: it is above lower (an idle of that
 * long was answered) and at most upper (one of that long was not). */
struct prober_bracket {
        bool has_lower, has_upper;
        uint64_t lower_s, upper_s;
        bool answered; /* anything of this kind answered, warm-ups too */
        unsigned voids; /* established trials whose warm-ups went unanswered */
        unsigned answered_trials, silent_trials;
        unsigned upper_silences; /* silent trials at upper_s (PROBER_UPPER_SILENCES confirm it) */
        bool done;
};

struct prober_trial {
        bool active;
        enum prober_kind kind;
        uint64_t delay_s;
        unsigned warmups_done, tries;
        bool waiting;   /* a probe is out, its answer awaited until due_us */
        bool final;     /* the awaited probe is the one with the delay */
        uint64_t id;    /* the probe id awaited */
        uint64_t asked_s; /* the delay it asked for: the answer carries it too */
        uint64_t due_us; /* waiting: give up then; otherwise: send then */
};

struct prober {
        struct prober_config cfg;
        uint64_t start_us, next_id;
        struct prober_trial trials[PROBER_MAX_TRIALS];
        struct prober_bracket kinds[PROBER_KINDS];
        uint64_t answers; /* answers taken, of any kind */
        bool done;
};

/* What the shell is to do: send probes (on a new socket for the slot when
 * new_socket), close the sockets of trials that ended, wake at wake_us. */
struct prober_out {
        struct {
                unsigned slot;
                bool new_socket;
                uint64_t id, delay_s;
        } send[PROBER_MAX_TRIALS];
        size_t n_send;
        unsigned close[PROBER_MAX_TRIALS];
        size_t n_close;
        uint64_t wake_us; /* 0: the run is over */
};

void prober_config_default(struct prober_config *cfg);

void prober_start(struct prober *p, const struct prober_config *cfg, uint64_t now_us, struct prober_out *out);

/* Does what is due at now_us: answers not come are silences, warm-ups and
 * probes go out, new trials start. */
void prober_timer(struct prober *p, uint64_t now_us, struct prober_out *out);

/* A valid message that came to the socket of slot from the server. Returns
 * true when it was the answer awaited there (anything else is ignored). */
bool prober_receive(struct prober *p, uint64_t now_us, unsigned slot, const struct message *m,
                    struct prober_out *out);

/* Trials under way. */
unsigned prober_active(const struct prober *p);

/* One kind's bracket in words: "30 to 35 s", "more than 600 s", "less
 * than 2 s", "no answer", "unknown". */
void prober_bracket_text(const struct prober_bracket *b, char *buf, size_t cap);

/* The verdict, one line: the brackets and what they mean for WireGuard's
 * PersistentKeepalive; or that nothing was answered at all. */
void prober_verdict(const struct prober *p, char *buf, size_t cap);
/* The verdict's advice, then the seconds and " s": the report reads it back. */
#define PROBER_TEXT_KEEPALIVE_BELOW "keep PersistentKeepalive below "


/* The progress line for a terminal: trials waiting, time, brackets. */
void prober_progress(const struct prober *p, uint64_t now_us, char *buf, size_t cap);

/* The shortest lower bound of the two kinds' timeouts that were found
 * (a kind longer than every delay tried has none), or 0: a
 * PersistentKeepalive below it keeps the mapping alive. */
uint64_t prober_keepalive_below_s(const struct prober *p);

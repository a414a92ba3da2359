/* state-writer: a state file kept up to date off the event loop (see
 * state-writer.h). The notes are records in a byte stream, in the order
 * the loop made them:
 *     kind (1 byte), value (8), id length (4), id bytes
 * so that a new maximum takes effect exactly between the notes it came
 * between. */
#include "daemon/state-writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/grow.h"

enum note_kind {
        NOTE_HEARD = 1, /* value: the new highest id; the id follows */
        NOTE_MAX,       /* value: max clients */
        NOTE_RETRY,     /* append even if nothing changed */
        NOTE_SYNC,      /* no change: a turn, which saves what is unsaved */
};

#define NOTE_HEAD (1 + 8 + 4)

struct state_writer {
        struct worker worker;
        char *path;
        const char *header;
        char *notes; /* the loop's, not handed over yet */
        size_t used, cap;
        /* the thread's */
        struct state_mirror unsaved; /* changes not appended yet */
        size_t lines;                /* client lines in the file */
        bool broken; /* a change was lost (no memory): never saved again */
        /* the file's: the thread holds it while it writes or renames */
        pthread_mutex_t file_lock;
        bool abandoned; /* the loop writes the file now */
        /* written by the thread, read by the loop */
        atomic_int outcome, last_error;
        atomic_uint_fast64_t saves, failures;
};

static int note(struct state_writer *w, enum note_kind kind, uint64_t value, const char *id, size_t id_len)
{
        uint32_t len = (uint32_t)id_len;
        size_t need = NOTE_HEAD + id_len;
        int r;

        if (id_len > UINT32_MAX)
                return -EINVAL;
        if (need > SIZE_MAX - w->used)
                return -EOVERFLOW;
        r = grow_array((void **)&w->notes, &w->cap, w->used + need, 1);
        if (r < 0)
                return r;
        w->notes[w->used] = (char)kind;
        memcpy(w->notes + w->used + 1, &value, 8);
        memcpy(w->notes + w->used + 9, &len, 4);
        if (id_len) /* memcpy from NULL is undefined, even of nothing */
                memcpy(w->notes + w->used + NOTE_HEAD, id, id_len);
        w->used += need;
        return 0;
}

static void count(struct state_writer *w, int r)
{
        if (r < 0) {
                atomic_store(&w->last_error, r);
                atomic_fetch_add(&w->failures, 1);
        }
        atomic_store(&w->outcome, r);
        atomic_fetch_add(&w->saves, 1);
}

/* Reads the file back and writes it whole: one line per client, the
 * newest max. A file with lines that cannot be read is rewritten only
 * when a copy of it was kept aside (state_load), as at the start. */
static void compact(struct state_writer *w)
{
        struct state_report *rep = malloc(sizeof(*rep));
        char tmp[4096];
        struct peers t;
        int r = -ENOMEM;

        if (!rep || peers_init(&t, w->unsaved.max ? w->unsaved.max : 1) < 0)
                goto out;
        r = -ENAMETOOLONG;
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.compact", w->path) < sizeof(tmp))
                r = state_load(w->path, &t, rep);
        if (r == 0 && rep->bad_lines && !rep->kept_aside)
                r = -EIO;
        if (r == 0)
                r = state_write_tmp(tmp, w->header, &t);
        if (r == 0) {
                pthread_mutex_lock(&w->file_lock);
                r = w->abandoned ? -ECANCELED : state_commit(tmp, w->path);
                pthread_mutex_unlock(&w->file_lock);
        }
        if (r == -ECANCELED)
                unlink(tmp);
        if (r == 0)
                w->lines = t.count;
        peers_free(&t);
out:
        free(rep);
        if (r != -ECANCELED)
                count(w, r);
}

/* Appends what is unsaved. Returns 0 or a negative errno (-ECANCELED:
 * abandoned). */
static int append(struct state_writer *w)
{
        size_t n = json_object_size(w->unsaved.ids);
        int r;

        pthread_mutex_lock(&w->file_lock);
        /* a lost change would make the file weaker than the table */
        r = w->abandoned ? -ECANCELED : w->broken ? -ENOMEM : state_append(w->path, w->header, &w->unsaved);
        pthread_mutex_unlock(&w->file_lock);
        if (r == 0) {
                json_object_clear(w->unsaved.ids);
                w->lines += n;
        }
        return r;
}

/* The thread's turn: apply the notes, then append what changed. */
static void consume(void *arg, const char *buf, size_t len)
{
        struct state_writer *w = arg;
        bool retry = false;
        int r;

        for (size_t at = 0; at + NOTE_HEAD <= len;) {
                uint64_t value;
                uint32_t id_len;

                memcpy(&value, buf + at + 1, 8);
                memcpy(&id_len, buf + at + 9, 4);
                switch ((enum note_kind)buf[at]) {
                case NOTE_HEARD:
                        w->broken |= state_mirror_update(&w->unsaved, buf + at + NOTE_HEAD, id_len, value) < 0;
                        break;
                case NOTE_MAX:
                        w->unsaved.max = (size_t)value;
                        break;
                case NOTE_RETRY:
                        retry = true;
                        break;
                case NOTE_SYNC:
                        break;
                }
                (void)state_mirror_trim(&w->unsaved);
                at += NOTE_HEAD + id_len;
        }
        if (json_object_size(w->unsaved.ids) == 0 && !retry)
                return;
        r = append(w);
        if (r == -ECANCELED)
                return;
        count(w, r);
        if (r == 0 && w->lines > STATE_WRITER_COMPACT_SLACK && w->lines - STATE_WRITER_COMPACT_SLACK > 2 * w->unsaved.max)
                compact(w);
}

int state_writer_new(struct state_writer **out, const char *path, const char *header, size_t max, size_t lines)
{
        struct state_writer *w = calloc(1, sizeof(*w));
        int r = -ENOMEM;

        if (!w || !(w->path = strdup(path)))
                goto fail;
        w->header = header;
        w->lines = lines;
        pthread_mutex_init(&w->file_lock, NULL);
        r = state_mirror_init(&w->unsaved, max);
        if (r < 0)
                goto fail;
        r = worker_start(&w->worker, "canary-state", WORKER_LOW, STATE_WRITER_MAX_PENDING, consume, w);
        if (r < 0)
                goto fail;
        *out = w;
        return 0;
fail:
        if (w) {
                state_mirror_free(&w->unsaved);
                pthread_mutex_destroy(&w->file_lock);
                free(w->path);
        }
        free(w);
        return r;
}

int state_writer_note(struct state_writer *w, const char *id, size_t id_len, uint64_t highest)
{
        return note(w, NOTE_HEARD, highest, id, id_len);
}

int state_writer_set_max(struct state_writer *w, size_t max)
{
        return note(w, NOTE_MAX, max, NULL, 0);
}

int state_writer_retry(struct state_writer *w)
{
        return note(w, NOTE_RETRY, 0, NULL, 0);
}

int state_writer_submit(struct state_writer *w)
{
        int r = worker_submit(&w->worker, w->notes, w->used);

        if (r == 0)
                w->used = 0;
        if (r == 0 && w->cap > WORKER_KEEP) { /* a burst's: not kept for good */
                free(w->notes);
                w->notes = NULL;
                w->cap = 0;
        }
        return r;
}

bool state_writer_busy(struct state_writer *w)
{
        return w->used > 0 || worker_busy(&w->worker);
}

void state_writer_outcome(struct state_writer *w, struct state_writer_outcome *out)
{
        /* the count first: the thread stores an outcome before it counts
         * that save, so the outcome read after a count is at least as new */
        out->saves = atomic_load(&w->saves);
        out->failures = atomic_load(&w->failures);
        out->last_error = atomic_load(&w->last_error);
        out->last = atomic_load(&w->outcome);
}

int state_writer_sync(struct state_writer *w)
{
        int r = note(w, NOTE_SYNC, 0, NULL, 0);

        if (r == 0)
                r = state_writer_submit(w);
        worker_sync(&w->worker);
        return r < 0 ? r : atomic_load(&w->outcome);
}

void state_writer_abandon(struct state_writer *w)
{
        pthread_mutex_lock(&w->file_lock);
        w->abandoned = true;
        pthread_mutex_unlock(&w->file_lock);
}

void state_writer_free(struct state_writer *w)
{
        struct timespec deadline;
        bool abandoned;

        if (!w)
                return;
        (void)state_writer_submit(w);
        pthread_mutex_lock(&w->file_lock);
        abandoned = w->abandoned;
        pthread_mutex_unlock(&w->file_lock);
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += STATE_WRITER_STOP_US * 1000L;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        if (worker_stop_until(&w->worker, abandoned ? &deadline : NULL) < 0)
                return; /* still rewriting the file it will not rename: w is its */
        state_mirror_free(&w->unsaved);
        pthread_mutex_destroy(&w->file_lock);
        free(w->notes);
        free(w->path);
        free(w);
}

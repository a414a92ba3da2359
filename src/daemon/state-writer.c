/* state-writer: the replay state file written off the event loop (see
 * state-writer.h). The notes are records in a byte stream, in the order
 * the loop made them:
 *     kind (1 byte), value (8), id length (4), id bytes
 * so that a new maximum or a "from the file" mark takes effect exactly
 * between the notes it came between. */
#include "daemon/state-writer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

enum note_kind {
        NOTE_HEARD = 1,  /* value: highest init; the id follows */
        NOTE_FROM_FILE,  /* the notes before it are the file's own */
        NOTE_MAX,        /* value: max clients */
        NOTE_RETRY,      /* save even if nothing changed */
        NOTE_SYNC,       /* no change: a turn, which saves what is unsaved */
};

#define NOTE_HEAD (1 + 8 + 4)

struct state_writer {
        struct worker worker;
        char *path;
        char *notes; /* the loop's, not handed over yet */
        size_t used, cap;
        /* the thread's */
        struct state_mirror mirror;
        bool dirty;
        bool broken; /* the mirror lost a client (no memory): never saved again */
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

/* The thread's turn: apply the notes, then save if the state changed. */
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
                        r = state_mirror_update(&w->mirror, buf + at + NOTE_HEAD, id_len, value);
                        w->broken |= r < 0;
                        w->dirty |= r > 0;
                        w->dirty |= state_mirror_trim(&w->mirror) > 0;
                        break;
                case NOTE_FROM_FILE:
                        w->dirty = false;
                        break;
                case NOTE_MAX:
                        w->mirror.max = (size_t)value;
                        w->dirty |= state_mirror_trim(&w->mirror) > 0;
                        break;
                case NOTE_RETRY:
                        retry = true;
                        break;
                case NOTE_SYNC:
                        break;
                }
                at += NOTE_HEAD + id_len;
        }
        if (!w->dirty && !retry)
                return;
        /* a mirror that lost a client would make the file weaker than it is */
        r = w->broken ? -ENOMEM : state_save(w->path, &w->mirror);
        if (r == 0) {
                w->dirty = false;
        } else {
                atomic_store(&w->last_error, r);
                atomic_fetch_add(&w->failures, 1);
        }
        atomic_store(&w->outcome, r);
        atomic_fetch_add(&w->saves, 1);
}

int state_writer_new(struct state_writer **out, const char *path, size_t max)
{
        struct state_writer *w = calloc(1, sizeof(*w));
        int r = -ENOMEM;

        if (!w || !(w->path = strdup(path)))
                goto fail;
        r = state_mirror_init(&w->mirror, max);
        if (r < 0)
                goto fail;
        r = worker_start(&w->worker, "canary-state", WORKER_IDLE, STATE_WRITER_MAX_PENDING, consume, w);
        if (r < 0)
                goto fail;
        *out = w;
        return 0;
fail:
        if (w) {
                state_mirror_free(&w->mirror);
                free(w->path);
        }
        free(w);
        return r;
}

int state_writer_note(struct state_writer *w, const char *id, size_t id_len, uint64_t highest)
{
        return note(w, NOTE_HEARD, highest, id, id_len);
}

int state_writer_noted_from_file(struct state_writer *w)
{
        return note(w, NOTE_FROM_FILE, 0, NULL, 0);
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
        if (r == 0 && w->cap > WORKER_KEEP) { /* the loaded state's: megabytes */
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

void state_writer_free(struct state_writer *w)
{
        if (!w)
                return;
        (void)state_writer_submit(w);
        worker_stop(&w->worker);
        state_mirror_free(&w->mirror);
        free(w->notes);
        free(w->path);
        free(w);
}

/* state: saving and loading the server's replay state (see state.h). */
#include "daemon/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "daemon/fileio.h"

/* Parses one line into *highest and m->id. Returns 0 or -EINVAL.
 * A last line without its newline is read like any other: the number comes
 * first and the id last, as a JSON string, so a line cut short has lost
 * the closing quote and does not parse, or has no id at all; it cannot
 * pass for another, lower entry. */
static int parse_line(const char *line, size_t len, uint64_t *highest, struct message *m)
{
        json_error_t err;
        const char *p = line;
        char *end;
        json_t *id;
        int r = -EINVAL;

        if (len == 0 || *p < '0' || *p > '9')
                return -EINVAL;
        errno = 0;
        *highest = strtoull(p, &end, 10);
        if (errno || *end != ' ' || *highest > INT64_MAX)
                return -EINVAL;
        end++;
        id = json_loadb(end, len - (size_t)(end - line), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (id && json_is_string(id))
                r = message_init(m, MESSAGE_HANDSHAKE_INIT, json_string_value(id), json_string_length(id),
                                 *highest, 0);
        json_decref(id);
        return r < 0 ? -EINVAL : 0;
}

/* A later line is a client heard more recently: when the table is full,
 * the least recent makes room for it, as when the server runs. */
static void add(struct peers *t, const struct message *m, uint64_t highest, struct state_report *rep)
{
        struct peer *p = peers_find(t, m->id, m->id_len);

        if (p) {
                peers_touch(t, p);
        } else {
                if (t->count >= t->max && t->oldest) {
                        peers_remove(t, t->oldest);
                        rep->dropped++;
                }
                if (peers_add(t, m->id, m->id_len, &p) < 0) {
                        rep->dropped++;
                        return;
                }
        }
        if (highest > p->highest_init)
                p->highest_init = highest;
}

static int sync_dir(const char *path)
{
        char copy[4096];
        int fd, r = 0;

        snprintf(copy, sizeof(copy), "%s", path);
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* A new file named PATH.corrupt (or .corrupt.1 to .corrupt.99: an older
 * copy is never replaced) made with O_EXCL. Returns the fd, or -errno. */
static int create_aside(const char *path, char *name, size_t cap)
{
        for (int i = 0; i < 100; i++) {
                int fd;

                if ((size_t)(i ? snprintf(name, cap, "%s.corrupt.%d", path, i)
                               : snprintf(name, cap, "%s.corrupt", path)) >= cap)
                        return -ENAMETOOLONG;
                fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0 || errno != EEXIST)
                        return fd < 0 ? -errno : fd;
        }
        return -EEXIST;
}

/* Copies the damaged file (open as src) aside, durably: the file itself
 * stays where it is, whole, until a save replaces it with what was read. */
static int copy_aside(int src, const char *path, char *name, size_t cap)
{
        char buf[1 << 14];
        off_t at = 0;
        ssize_t n;
        int fd = create_aside(path, name, cap), r = 0;

        if (fd < 0)
                return fd;
        while (r == 0 && (n = pread(src, buf, sizeof(buf), at)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                r = n < 0 ? -errno : fileio_write_all(fd, buf, (size_t)n);
                at += n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0)
                r = sync_dir(path);
        if (r < 0)
                unlink(name);
        return r;
}

int state_load(const char *path, struct peers *t, struct state_report *rep)
{
        char *line = NULL;
        int fd = fileio_open(path, O_RDONLY, 0, 0);
        FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
        size_t cap = 0;
        ssize_t n;

        memset(rep, 0, sizeof(*rep));
        if (!f) {
                n = fd < 0 ? fd : -errno;
                if (fd >= 0)
                        close(fd);
                return n == -ENOENT ? 0 : (int)n;
        }
        while ((n = getline(&line, &cap, f)) > 0) {
                struct message m;
                uint64_t highest;

                if (line[0] == '#' || (n == 1 && line[0] == '\n'))
                        continue;
                rep->lines++;
                if (memchr(line, '\0', (size_t)n) || parse_line(line, (size_t)n, &highest, &m) < 0)
                        rep->bad_lines++;
                else
                        add(t, &m, highest, rep);
        }
        free(line);
        rep->loaded = t->count;
        n = ferror(f) ? -EIO : 0;
        if (n == 0 && rep->bad_lines > 0)
                rep->kept_aside = copy_aside(fileno(f), path, rep->aside, sizeof(rep->aside)) == 0;
        fclose(f);
        return (int)n;
}

int state_mirror_init(struct state_mirror *m, size_t max)
{
        m->ids = json_object();
        m->max = max;
        return m->ids ? 0 : -ENOMEM;
}

void state_mirror_free(struct state_mirror *m)
{
        json_decref(m->ids);
        m->ids = NULL;
}

int state_mirror_update(struct state_mirror *m, const char *id, size_t id_len, uint64_t highest)
{
        json_t *old = json_object_getn(m->ids, id, id_len);
        uint64_t was = old ? (uint64_t)json_integer_value(old) : 0;
        json_t *value = json_integer((json_int_t)(highest > was ? highest : was)); /* never weaker */

        if (!value)
                return -ENOMEM;
        /* out and in again: the object keeps insertion order, newest last */
        if (old)
                json_object_deln(m->ids, id, id_len);
        if (json_object_setn_new_nocheck(m->ids, id, id_len, value) < 0)
                return -ENOMEM;
        return !old || highest > was;
}

size_t state_mirror_trim(struct state_mirror *m)
{
        size_t n = 0;

        while (json_object_size(m->ids) > m->max) {
                void *oldest = json_object_iter(m->ids);

                json_object_deln(m->ids, json_object_iter_key(oldest), json_object_iter_key_len(oldest));
                n++;
        }
        return n;
}

/* Client lines gathered in a buffer and written through it. */
struct lines {
        int fd;
        int r;
        size_t used;
        char buf[1 << 16];
};

static void lines_add(struct lines *b, const char *key, size_t id_len, uint64_t highest)
{
        char id[MESSAGE_TEXT_MAX];
        ssize_t len = b->r < 0 ? -1 : message_json_string(key, id_len, id, sizeof(id));

        if (len < 0)
                return;
        if (b->used + (size_t)len + 32 > sizeof(b->buf)) {
                b->r = fileio_write_all(b->fd, b->buf, b->used);
                b->used = 0;
        }
        b->used += (size_t)snprintf(b->buf + b->used, sizeof(b->buf) - b->used, "%" PRIu64 " %s\n", highest, id);
}

static int lines_flush(struct lines *b)
{
        if (b->r == 0)
                b->r = fileio_write_all(b->fd, b->buf, b->used);
        b->used = 0;
        return b->r;
}

/* Writes the table's clients with a handshake id to fd, oldest first. */
static int write_table(int fd, const char *header, const struct peers *t)
{
        struct lines *b = malloc(sizeof(*b));
        int r;

        if (!b)
                return -ENOMEM;
        *b = (struct lines){ .fd = fd, .r = fileio_write_all(fd, header, strlen(header)) };
        for (const struct peer *p = t->oldest; p; p = p->newer)
                if (p->highest_init)
                        lines_add(b, p->id, p->id_len, p->highest_init);
        r = lines_flush(b);
        free(b);
        return r;
}

/* Writes the mirror's clients to fd, oldest first. */
static int write_mirror(int fd, const struct state_mirror *m)
{
        struct lines *b = malloc(sizeof(*b));
        const char *key;
        size_t id_len;
        json_t *value;
        int r;

        if (!b)
                return -ENOMEM;
        *b = (struct lines){ .fd = fd };
        json_object_keylen_foreach(m->ids, key, id_len, value)
                lines_add(b, key, id_len, (uint64_t)json_integer_value(value));
        r = lines_flush(b);
        free(b);
        return r;
}

int state_write_tmp(const char *tmp, const char *header, const struct peers *t)
{
        int fd, r;

        /* a fresh file: whatever is in the way (a FIFO would block) goes */
        if (unlink(tmp) < 0 && errno != ENOENT)
                return -errno;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_table(fd, header, t);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

int state_commit(const char *tmp, const char *path)
{
        if (rename(tmp, path) < 0) {
                int r = -errno;

                unlink(tmp);
                return r;
        }
        return sync_dir(path);
}

int state_save(const char *path, const char *header, const struct peers *t)
{
        char tmp[4096];
        int r;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
                return -ENAMETOOLONG;
        r = state_write_tmp(tmp, header, t);
        return r < 0 ? r : state_commit(tmp, path);
}

/* What an append starts with: the header in a new file, a newline after
 * a last line cut short (a failed append), so that the new lines stay
 * whole; nothing otherwise. */
static int append_start(int fd, const char *header, bool *fresh)
{
        struct stat st;
        char last;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -FILEIO_ENOTREG;
        *fresh = st.st_size == 0;
        if (*fresh)
                return fileio_write_all(fd, header, strlen(header));
        if (pread(fd, &last, 1, st.st_size - 1) != 1)
                return -EIO;
        return last == '\n' ? 0 : fileio_write_all(fd, "\n", 1);
}

int state_append(const char *path, const char *header, const struct state_mirror *m)
{
        int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
        bool fresh = false;
        int r;

        if (fd < 0)
                return -errno;
        r = append_start(fd, header, &fresh);
        if (r == 0)
                r = write_mirror(fd, m);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        /* the directory entry of a file just made must last too */
        return r < 0 || !fresh ? r : sync_dir(path);
}

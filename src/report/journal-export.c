/* journal-export: parsing `journalctl -o export` back (see journal-export.h). */
#include "report/journal-export.h"

#include <errno.h>
#include <string.h>

static const char *const names[JEXPORT_FIELDS] = {
        [JEXPORT_MESSAGE] = "MESSAGE",
        [JEXPORT_REALTIME] = "__REALTIME_TIMESTAMP",
        [JEXPORT_IDENTIFIER] = "SYSLOG_IDENTIFIER",
        [JEXPORT_UNIT] = "_SYSTEMD_UNIT",
        [JEXPORT_PID] = "_PID",
        [JEXPORT_MACHINE] = "_MACHINE_ID",
};

static void entry_reset(struct jexport *p)
{
        for (size_t i = 0; i < JEXPORT_FIELDS; i++) {
                p->v[i].set = false;
                p->v[i].too_long = false;
                p->v[i].len = 0;
        }
        p->n_fields = 0;
        p->name_len = 0;
        p->state = JEXPORT_NAME;
}

void jexport_init(struct jexport *p)
{
        memset(p, 0, sizeof(*p));
        for (size_t i = 0; i < JEXPORT_FIELDS; i++) {
                p->v[i].data = i == JEXPORT_MESSAGE ? p->message : p->small[i - 1];
                p->v[i].cap = i == JEXPORT_MESSAGE ? sizeof(p->message) : sizeof(p->small[0]);
        }
        entry_reset(p);
}

/* The rest of this entry is unreadable: counted, and skipped to the next
 * empty line, where the next entry starts. */
static void broken(struct jexport *p)
{
        p->broken++;
        p->state = JEXPORT_RESYNC;
        p->newline = false;
}

static bool name_char(char c, bool first)
{
        return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

bool jexport_starts(const char *line, size_t len)
{
        size_t n = 0;

        while (n < len && n < JEXPORT_NAME_MAX && name_char(line[n], n == 0))
                n++;
        return n > 0 && (n == len || line[n] == '=');
}

/* The field named so far starts: where its value goes. */
static void field_start(struct jexport *p)
{
        p->cur = NULL;
        for (size_t i = 0; i < JEXPORT_FIELDS; i++)
                if (strlen(names[i]) == p->name_len && memcmp(names[i], p->name, p->name_len) == 0 && !p->v[i].set) {
                        p->cur = &p->v[i];
                        p->cur->set = true;
                }
        p->name_len = 0;
}

static void value_add(struct jexport_value *v, const char *s, size_t n)
{
        size_t room;

        if (!v)
                return;
        room = v->cap - v->len;
        if (n > room) {
                v->too_long = true;
                n = room;
        }
        memcpy(v->data + v->len, s, n);
        v->len += n;
}

static int entry_end(struct jexport *p, jexport_entry_fn fn, void *ctx)
{
        int k = 0;

        if (p->n_fields > 0) {
                p->entries++;
                k = fn(ctx, p);
        }
        entry_reset(p);
        return k;
}

/* One byte of a field's name, or the newline after it. */
static int name_byte(struct jexport *p, char c, jexport_entry_fn fn, void *ctx)
{
        if (c == '\n' && p->name_len == 0)
                return entry_end(p, fn, ctx);
        if (c == '\n' || c == '=') {
                if (p->name_len == 0 || ++p->n_fields > JEXPORT_FIELDS_MAX) {
                        broken(p);
                        return 0;
                }
                field_start(p);
                p->state = c == '=' ? JEXPORT_TEXT : JEXPORT_SIZE;
                p->size_len = 0;
                return 0;
        }
        if (p->name_len == sizeof(p->name) || !name_char(c, p->name_len == 0)) {
                broken(p);
                return 0;
        }
        p->name[p->name_len++] = c;
        return 0;
}

/* One byte of a binary field's length. */
static void size_byte(struct jexport *p, char c)
{
        uint64_t size = 0;

        p->size[p->size_len++] = (unsigned char)c;
        if (p->size_len < sizeof(p->size))
                return;
        for (size_t i = sizeof(p->size); i > 0; i--)
                size = size << 8 | p->size[i - 1];
        if (size > JEXPORT_DATA_MAX) {
                broken(p);
                return;
        }
        p->remaining = size;
        p->state = p->remaining ? JEXPORT_DATA : JEXPORT_DATA_END;
}

/* Skips to the empty line after a broken entry; returns the bytes used. */
static size_t resync(struct jexport *p, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i] != '\n') {
                        p->newline = false;
                        continue;
                }
                if (p->newline) {
                        entry_reset(p);
                        return i + 1;
                }
                p->newline = true;
        }
        return n;
}

/* Text values and binary data go by spans, not byte by byte. */
static size_t value_span(struct jexport *p, const char *s, size_t n)
{
        const char *nl;
        size_t take;

        if (p->state == JEXPORT_TEXT) {
                nl = memchr(s, '\n', n);
                take = nl ? (size_t)(nl - s) : n;
                value_add(p->cur, s, take);
                if (nl) {
                        p->state = JEXPORT_NAME;
                        take++;
                }
                return take;
        }
        take = p->remaining < n ? (size_t)p->remaining : n;
        value_add(p->cur, s, take);
        p->remaining -= take;
        if (p->remaining == 0)
                p->state = JEXPORT_DATA_END;
        return take;
}

int jexport_feed(struct jexport *p, const char *data, size_t len, jexport_entry_fn fn, void *ctx)
{
        size_t i = 0;
        int k = 0;

        while (k == 0 && i < len) {
                switch (p->state) {
                case JEXPORT_NAME:
                        k = name_byte(p, data[i++], fn, ctx);
                        break;
                case JEXPORT_SIZE:
                        size_byte(p, data[i++]);
                        break;
                case JEXPORT_DATA_END:
                        if (data[i++] == '\n')
                                p->state = JEXPORT_NAME;
                        else
                                broken(p);
                        break;
                case JEXPORT_RESYNC:
                        i += resync(p, data + i, len - i);
                        break;
                default: /* JEXPORT_TEXT, JEXPORT_DATA */
                        i += value_span(p, data + i, len - i);
                        break;
                }
        }
        return k;
}

int jexport_finish(struct jexport *p, jexport_entry_fn fn, void *ctx)
{
        int k = 0;

        if (p->state == JEXPORT_NAME && p->name_len == 0)
                k = entry_end(p, fn, ctx);
        else if (p->state != JEXPORT_RESYNC)
                p->broken++;
        entry_reset(p);
        return k;
}

int jexport_realtime(const struct jexport *p, uint64_t *t_us)
{
        const struct jexport_value *v = &p->v[JEXPORT_REALTIME];
        uint64_t t = 0;

        if (!v->set || v->too_long || v->len == 0 || v->len > 19)
                return -EINVAL; /* 19 digits: no overflow */
        for (size_t i = 0; i < v->len; i++) {
                if (v->data[i] < '0' || v->data[i] > '9')
                        return -EINVAL;
                t = t * 10 + (uint64_t)(v->data[i] - '0');
        }
        *t_us = t;
        return 0;
}

bool jexport_is(const struct jexport *p, enum jexport_field f, const char *text)
{
        const struct jexport_value *v = &p->v[f];

        return v->set && !v->too_long && v->len == strlen(text) && memcmp(v->data, text, v->len) == 0;
}

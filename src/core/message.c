/* message: parsing and writing the protocol's JSON messages, byte for byte
 * as the original (Python's json and repr) does. */
#include "core/message.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/unicode.h"

static const char *const type_names[] = {
        [MESSAGE_HANDSHAKE_INIT] = "handshake_init",
        [MESSAGE_HANDSHAKE_RESPONSE] = "handshake_response",
        [MESSAGE_KEEPALIVE] = "keepalive",
        [MESSAGE_PROBE] = "probe",
        [MESSAGE_PROBE_RESPONSE] = "probe_response",
        [MESSAGE_TRACE] = "trace",
};
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == MESSAGE_TYPES, "a name per type");

const char *message_type_name(enum message_type type)
{
        if ((size_t)type >= sizeof(type_names) / sizeof(type_names[0]))
                return "unknown";
        return type_names[type];
}

int message_init(struct message *m, enum message_type type, const char *id, size_t id_len,
                 uint64_t data0, uint64_t data1)
{
        if (id_len > MESSAGE_ID_MAX)
                return -ENAMETOOLONG;
        if (!unicode_utf8_valid((const uint8_t *)id, id_len))
                return -EILSEQ;
        if (data0 > INT64_MAX || data1 > INT64_MAX)
                return -ERANGE;
        m->type = type;
        m->id_len = id_len;
        memcpy(m->id, id, id_len);
        m->id[id_len] = '\0';
        m->data[0] = data0;
        m->data[1] = data1;
        return 0;
}

static int parse_number(json_t *v, uint64_t *out)
{
        json_int_t i;

        if (json_is_real(v))
                return -ERANGE;
        if (!json_is_integer(v))
                return -EPROTO;
        i = json_integer_value(v);
        if (i < 0)
                return -ERANGE;
        *out = (uint64_t)i;
        return 0;
}

static int parse_type(json_t *v, enum message_type *type)
{
        const char *s;

        if (!json_is_string(v))
                return -EPROTO;
        s = json_string_value(v);
        for (size_t t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++) {
                if (strlen(type_names[t]) == json_string_length(v) && strcmp(s, type_names[t]) == 0) {
                        *type = (enum message_type)t;
                        return 0;
                }
        }
        return -ENOMSG;
}

static int parse_object(struct message *m, json_t *root)
{
        json_t *id = json_object_get(root, "id");
        json_t *data = json_object_get(root, "data");
        enum message_type type;
        uint64_t d[2];
        int r;

        if (!json_is_string(id) || !json_is_array(data) || json_array_size(data) != 2)
                return -EPROTO;
        r = parse_type(json_object_get(root, "type"), &type);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 2; i++) {
                r = parse_number(json_array_get(data, i), &d[i]);
                if (r < 0)
                        return r;
        }
        return message_init(m, type, json_string_value(id), json_string_length(id), d[0], d[1]);
}

/* Reading text by hand (the canonical form, and repr): a small cursor. */
struct cursor {
        const char *p, *end;
};

static bool eat(struct cursor *c, const char *lit)
{
        size_t n = strlen(lit);

        if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
                return false;
        c->p += n;
        return true;
}

/* A type name and its closing quote: "probe" must not match the start of
 * "probe_response". */
static bool eat_type(struct cursor *c, const char *name)
{
        const char *start = c->p;

        if (eat(c, name) && eat(c, "\""))
                return true;
        c->p = start;
        return false;
}

/* A JSON integer in 0..INT64_MAX without sign, exponent or leading zero;
 * anything else (even valid JSON) is left to the general parser. */
static bool eat_number(struct cursor *c, uint64_t *out)
{
        uint64_t v = 0;
        const char *start = c->p;

        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                if (c->p - start == 18 || (c->p > start && v == 0))
                        return false; /* 19 digits may overflow; "01" is not JSON */
                v = v * 10 + (uint64_t)(*c->p - '0');
                c->p++;
        }
        *out = v;
        return c->p > start;
}

/* The canonical form is exactly what the original (and we) write for an id
 * of printable ASCII without quotes or backslashes. Nearly every packet has
 * it, and reading it by hand spares jansson's allocations. */
int message_parse_canonical(struct message *m, const uint8_t *text, size_t len)
{
        struct cursor c = { (const char *)text, (const char *)text + len };
        const char *id;
        size_t id_len, t;
        uint64_t d[2];

        if (!eat(&c, "{\"id\": \""))
                return -EAGAIN;
        id = c.p;
        while (c.p < c.end && *c.p >= 0x20 && *c.p < 0x7f && *c.p != '"' && *c.p != '\\')
                c.p++;
        id_len = (size_t)(c.p - id);
        if (id_len > MESSAGE_ID_MAX || !eat(&c, "\", \"type\": \""))
                return -EAGAIN;
        for (t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
                if (eat_type(&c, type_names[t]))
                        break;
        if (t == sizeof(type_names) / sizeof(type_names[0]) || !eat(&c, ", \"data\": [") ||
            !eat_number(&c, &d[0]) || !eat(&c, ", ") || !eat_number(&c, &d[1]) || !eat(&c, "]}") ||
            c.p != c.end)
                return -EAGAIN;
        return message_init(m, (enum message_type)t, id, id_len, d[0], d[1]);
}

int message_parse_general(struct message *m, const uint8_t *text, size_t len)
{
        json_error_t error;
        json_t *root;
        int r;

        /* JSON_ALLOW_NUL: Python accepts "\u0000" in an id, so we do too. */
        root = json_loadb((const char *)text, len, JSON_ALLOW_NUL, &error);
        if (!root)
                return json_error_code(&error) == json_error_numeric_overflow ? -ERANGE : -EBADMSG;
        r = json_is_object(root) ? parse_object(m, root) : -EBADMSG;
        json_decref(root);
        return r;
}

int message_parse(struct message *m, const uint8_t *text, size_t len)
{
        int r = message_parse_canonical(m, text, len);

        return r == -EAGAIN ? message_parse_general(m, text, len) : r;
}

const char *message_strerror(int err)
{
        switch (err) {
        case -EBADMSG:
                return "not a JSON object";
        case -EPROTO:
                return "a member is missing or of the wrong kind";
        case -ENAMETOOLONG:
                return "id too long";
        case -EILSEQ:
                return "id not UTF-8";
        case -ERANGE:
                return "number negative, fractional or too large";
        case -ENOMSG:
                return "unknown message type";
        default:
                return "malformed";
        }
}

/* An append-only text buffer that remembers overflowing. */
struct text {
        char *buf;
        size_t cap, len;
        bool overflow;
};

static void put(struct text *t, const char *s, size_t n)
{
        if (t->overflow || n >= t->cap - t->len) {
                t->overflow = true;
                return;
        }
        memcpy(t->buf + t->len, s, n);
        t->len += n;
        t->buf[t->len] = '\0';
}

static void puts_(struct text *t, const char *s)
{
        put(t, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct text *t, const char *fmt, ...)
{
        char tmp[48]; /* numbers and escapes only */
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(tmp))
                t->overflow = true;
        else
                put(t, tmp, (size_t)n);
}

/* A number in decimal, without printf. */
static void put_u64(struct text *t, uint64_t v)
{
        char d[20];
        size_t n = 0;

        do
                d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        put(t, d + sizeof(d) - n, n);
}

static void put_data(struct text *t, const struct message *m)
{
        put_u64(t, m->data[0]);
        put(t, ", ", 2);
        put_u64(t, m->data[1]);
        put(t, "]}", 2);
}

static ssize_t finish(struct text *t)
{
        return t->overflow ? -ENOBUFS : (ssize_t)t->len;
}

/* Copies the run of printable ASCII other than quote and backslash at
 * s + *i (such bytes stand for themselves in both JSON and repr) and moves
 * *i past it. Returns whether there was one. */
static bool put_plain_run(struct text *t, const char *s, size_t n, size_t *i, char quote)
{
        size_t end = *i;

        while (end < n && s[end] >= 0x20 && s[end] < 0x7F && s[end] != quote && s[end] != '\\')
                end++;
        if (end == *i)
                return false;
        put(t, s + *i, end - *i);
        *i = end;
        return true;
}

/* Python's json string encoder with ensure_ascii (the default). */
static void write_json_string(struct text *t, const char *s, size_t n)
{
        const uint8_t *p = (const uint8_t *)s;

        puts_(t, "\"");
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                int len;

                if (put_plain_run(t, s, n, &i, '"'))
                        continue;
                len = unicode_utf8_decode(p + i, n - i, &cp);
                if (len < 0) /* message_init guarantees UTF-8; never reached */
                        len = 1, cp = 0xFFFD;
                i += (size_t)len;
                if (cp == '"')
                        puts_(t, "\\\"");
                else if (cp == '\\')
                        puts_(t, "\\\\");
                else if (cp == '\n')
                        puts_(t, "\\n");
                else if (cp == '\r')
                        puts_(t, "\\r");
                else if (cp == '\t')
                        puts_(t, "\\t");
                else if (cp == '\b')
                        puts_(t, "\\b");
                else if (cp == '\f')
                        puts_(t, "\\f");
                else if (cp >= 0x20 && cp < 0x7F)
                        put(t, (const char *)p + i - 1, 1);
                else if (cp < 0x10000)
                        putf(t, "\\u%04x", cp);
                else
                        putf(t, "\\u%04x\\u%04x", 0xD800 + ((cp - 0x10000) >> 10),
                             0xDC00 + ((cp - 0x10000) & 0x3FF));
        }
        puts_(t, "\"");
}

ssize_t message_json_string(const char *s, size_t n, char *buf, size_t cap)
{
        struct text t = { .buf = buf, .cap = cap };

        write_json_string(&t, s, n);
        return finish(&t);
}

ssize_t message_to_json(const struct message *m, char *buf, size_t cap)
{
        struct text t = { .buf = buf, .cap = cap };

        puts_(&t, "{\"id\": ");
        write_json_string(&t, m->id, m->id_len);
        puts_(&t, ", \"type\": \"");
        puts_(&t, message_type_name(m->type));
        puts_(&t, "\", \"data\": [");
        put_data(&t, m);
        return finish(&t);
}

/* Python's repr of a str: the quote it picks, then its escapes. */
static void repr_string(struct text *t, const char *s, size_t n)
{
        const uint8_t *p = (const uint8_t *)s;
        bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
        char quote = has_sq && !has_dq ? '"' : '\'';

        put(t, &quote, 1);
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                int len;

                if (put_plain_run(t, s, n, &i, quote))
                        continue;
                len = unicode_utf8_decode(p + i, n - i, &cp);
                if (len < 0)
                        len = 1, cp = 0xFFFD;
                if (cp == (uint32_t)quote || cp == '\\') {
                        puts_(t, "\\");
                        put(t, (const char *)p + i, 1);
                } else if (cp == '\t') {
                        puts_(t, "\\t");
                } else if (cp == '\n') {
                        puts_(t, "\\n");
                } else if (cp == '\r') {
                        puts_(t, "\\r");
                } else if (cp >= 0x20 && cp != 0x7F && (cp < 0x7F || unicode_is_printable(cp))) {
                        put(t, (const char *)p + i, (size_t)len);
                } else if (cp <= 0xFF) { /* controls, DEL, and Latin-1's unprintables */
                        putf(t, "\\x%02x", cp);
                } else if (cp <= 0xFFFF) {
                        putf(t, "\\u%04x", cp);
                } else {
                        putf(t, "\\U%08x", cp);
                }
                i += (size_t)len;
        }
        put(t, &quote, 1);
}

ssize_t message_repr_string(const char *s, size_t n, char *buf, size_t cap)
{
        struct text t = { .buf = buf, .cap = cap };

        repr_string(&t, s, n);
        return finish(&t);
}

ssize_t message_to_repr(const struct message *m, char *buf, size_t cap)
{
        struct text t = { .buf = buf, .cap = cap };

        puts_(&t, "{'id': ");
        repr_string(&t, m->id, m->id_len);
        puts_(&t, ", 'type': '");
        puts_(&t, message_type_name(m->type));
        puts_(&t, "', 'data': [");
        put_data(&t, m);
        return finish(&t);
}

static int utf8_put(uint32_t cp, char *out, size_t *len, size_t cap)
{
        char b[4];
        size_t n;

        if (cp < 0x80) {
                b[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                b[0] = (char)(0xC0 | cp >> 6);
                b[1] = (char)(0x80 | (cp & 0x3F));
                n = 2;
        } else if (cp < 0x10000) {
                b[0] = (char)(0xE0 | cp >> 12);
                b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                b[2] = (char)(0x80 | (cp & 0x3F));
                n = 3;
        } else {
                b[0] = (char)(0xF0 | cp >> 18);
                b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                b[3] = (char)(0x80 | (cp & 0x3F));
                n = 4;
        }
        if (*len + n > cap)
                return -ENAMETOOLONG;
        memcpy(out + *len, b, n);
        *len += n;
        return 0;
}

static int hex_escape(struct cursor *c, unsigned digits, uint32_t *cp)
{
        *cp = 0;
        for (unsigned i = 0; i < digits; i++, c->p++) {
                int ch = c->p < c->end ? *c->p : 0;
                int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;

                if (v < 0)
                        return -EINVAL;
                *cp = *cp << 4 | (uint32_t)v;
        }
        return *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF) ? -EINVAL : 0;
}

/* A Python str literal, in either quote, into out (UTF-8). */
static int repr_string_in(struct cursor *c, char *out, size_t *len, size_t cap)
{
        char quote;

        if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
                return -EINVAL;
        quote = *c->p++;
        *len = 0;
        while (c->p < c->end && *c->p != quote) {
                uint32_t cp;
                int r;

                if ((unsigned char)*c->p < 0x80 && *c->p != '\\') { /* most ids: ASCII, one byte each */
                        if (*len + 1 > cap)
                                return -EINVAL;
                        out[(*len)++] = *c->p++;
                        continue;
                }
                if (*c->p != '\\') {
                        r = unicode_utf8_decode((const uint8_t *)c->p, (size_t)(c->end - c->p), &cp);
                        if (r < 0)
                                return -EINVAL;
                        c->p += r;
                } else {
                        int e = ++c->p < c->end ? *c->p++ : 0;

                        r = 0;
                        if (e == 'x' || e == 'u' || e == 'U')
                                r = hex_escape(c, e == 'x' ? 2 : e == 'u' ? 4 : 8, &cp);
                        else if (e == 'n' || e == 'r' || e == 't')
                                cp = e == 'n' ? '\n' : e == 'r' ? '\r' : '\t';
                        else if (e == '\\' || e == '\'' || e == '"')
                                cp = (uint32_t)e;
                        else
                                r = -EINVAL;
                        if (r < 0)
                                return r;
                }
                if (utf8_put(cp, out, len, cap) < 0)
                        return -EINVAL;
        }
        return eat(c, (char[]){ quote, 0 }) ? 0 : -EINVAL;
}

static int number_in(struct cursor *c, uint64_t *out)
{
        uint64_t v = 0;
        const char *start = c->p;

        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                if (v > (INT64_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*c->p++ - '0');
        }
        *out = v;
        return c->p > start ? 0 : -EINVAL;
}

ssize_t message_parse_repr(struct message *m, const char *text, size_t len)
{
        struct cursor c = { text, text + len };
        char id[MESSAGE_ID_MAX], type[32];
        size_t id_len, type_len;
        uint64_t d[2];

        if (!eat(&c, "{'id': ") || repr_string_in(&c, id, &id_len, sizeof(id)) < 0 || !eat(&c, ", 'type': ") ||
            repr_string_in(&c, type, &type_len, sizeof(type) - 1) < 0 || !eat(&c, ", 'data': [") ||
            number_in(&c, &d[0]) < 0 || !eat(&c, ", ") || number_in(&c, &d[1]) < 0 || !eat(&c, "]}"))
                return -EINVAL;
        type[type_len] = '\0';
        for (size_t t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
                if (strcmp(type, type_names[t]) == 0)
                        return message_init(m, (enum message_type)t, id, id_len, d[0], d[1]) < 0
                                       ? -EINVAL
                                       : (ssize_t)(c.p - text);
        return -EINVAL;
}

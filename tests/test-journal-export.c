/* The journal export parser (report/journal-export): text and binary
 * fields, the fields kept and their bounds, the same entries whatever the
 * chunks the input comes in, and broken input counted and skipped to the
 * next entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report/journal-export.h"

/* What the callback saw, one entry after another. */
struct seen {
        unsigned n;
        char message[8][256];
        uint64_t t_us[8];
        size_t len[8];
        bool unit[8], too_long[8];
        int fail_at; /* the callback fails on this entry (1-based); 0: never */
};

static int on_entry(void *ctx, const struct jexport *p)
{
        struct seen *s = ctx;
        const struct jexport_value *m = &p->v[JEXPORT_MESSAGE];
        size_t n = m->set ? (m->len < 255 ? m->len : 255) : 4;

        if (s->n == 8)
                return -ENOSPC;
        memcpy(s->message[s->n], m->set ? m->data : "none", n); /* NULs and all */
        s->message[s->n][n] = '\0';
        s->too_long[s->n] = m->too_long;
        s->len[s->n] = m->len;
        if (jexport_realtime(p, &s->t_us[s->n]) < 0)
                s->t_us[s->n] = 0;
        s->unit[s->n] = jexport_is(p, JEXPORT_UNIT, "udp-canary-server.service");
        s->n++;
        return s->fail_at && (int)s->n == s->fail_at ? -ECANCELED : 0;
}

/* Parses data in chunks of `step` bytes (0: at once). */
static struct jexport *parse(const char *data, size_t len, size_t step, struct seen *s)
{
        struct jexport *p = malloc(sizeof(*p));
        int k = 0;

        if (!p)
                exit(99);
        jexport_init(p);
        for (size_t i = 0; k == 0 && i < len; i += step ? step : len)
                k = jexport_feed(p, data + i, step && len - i > step ? step : len - i, on_entry, s);
        if (k == 0)
                jexport_finish(p, on_entry, s);
        return p;
}

static const char sample[] =
        "__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1795606969123000\nMESSAGE=Listening on 0.0.0.0:43210\n"
        "SYSLOG_IDENTIFIER=udp-canary\n_SYSTEMD_UNIT=udp-canary-server.service\n\n"
        "__REALTIME_TIMESTAMP=1795606970000000\nMESSAGE\n\x0b\0\0\0\0\0\0\0two\nlines\0x\n"
        "MESSAGE=a second one, not kept\nCANARY_BLOB\n\x03\0\0\0\0\0\0\0\n\n\n\n"
        "\n\n" /* empty lines between entries: nothing */
        "_SYSTEMD_UNIT=udp-canary-server.service\n__REALTIME_TIMESTAMP=7\nMESSAGE=\n\n";

static void test_sample(void)
{
        /* every chunk size, down to a byte at a time: the same three entries */
        for (size_t step = 0; step <= 40; step++) {
                struct seen s = { 0 };
                struct jexport *p = parse(sample, sizeof(sample) - 1, step, &s);

                CHECK_INT(s.n, 3);
                CHECK_INT(p->entries, 3);
                CHECK_INT(p->broken, 0);
                CHECK_STR(s.message[0], "Listening on 0.0.0.0:43210");
                CHECK_INT(s.t_us[0], 1795606969123000);
                CHECK(s.unit[0]);
                CHECK_INT(s.len[1], 11); /* "two\nlines", a NUL, "x"; the second MESSAGE not kept */
                CHECK_MEM(s.message[1], "two\nlines\0x", 11);
                CHECK(!s.unit[1]);
                CHECK_INT(s.t_us[2], 7);
                CHECK_STR(s.message[2], "");
                CHECK(s.unit[2]);
                free(p);
        }
}

static void test_bounds(void)
{
        char *big = malloc(2 * JEXPORT_MESSAGE_MAX + 200);
        struct seen s = { 0 };
        struct jexport *p;
        size_t n;

        if (!big)
                exit(99);
        n = (size_t)sprintf(big, "__REALTIME_TIMESTAMP=1\nMESSAGE=");
        memset(big + n, 'x', JEXPORT_MESSAGE_MAX + 1);
        n += JEXPORT_MESSAGE_MAX + 1;
        n += (size_t)sprintf(big + n, "\n\nMESSAGE=");
        memset(big + n, 'y', JEXPORT_MESSAGE_MAX);
        n += JEXPORT_MESSAGE_MAX;
        n += (size_t)sprintf(big + n, "\n");
        p = parse(big, n, 1000, &s);
        CHECK_INT(s.n, 2);
        CHECK(s.too_long[0]);  /* one byte past the bound */
        CHECK(!s.too_long[1]); /* at it */
        CHECK_INT(p->broken, 0);
        free(p);
        free(big);
}

/* Each case: an input, the entries read and those counted broken. */
static void test_broken(void)
{
        static const char name64[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
#define CASE(in, entries, broken) { in, sizeof(in) - 1, entries, broken }
        static const struct {
                const char *in;
                size_t len;
                unsigned entries, broken;
        } cases[] = {
                CASE("MESSAGE=a\n\nMESSAGE\n\x05\0\0", 1, 1),                          /* length cut */
                CASE("MESSAGE\n\0\0\0\0\0\0\0\x40xxxx\n\nMESSAGE=b\n\n", 1, 1),        /* huge length */
                CASE("MESSAGE\n\x01\0\0\0\0\0\0\0ab\n\nMESSAGE=b\n\n", 1, 1),          /* no newline after */
                CASE("MESSAGE=a\n\nMESSAGE=b", 1, 1),                                  /* value cut */
                CASE("MESSAGE=a\n\nMESS", 1, 1),                                       /* name cut */
                CASE("MESSAGE=a\n", 1, 0),                                             /* no empty line: whole */
                CASE("message=a\nMESSAGE=b\n\nMESSAGE=c\n\n", 1, 1),                   /* lower case */
                CASE("=a\n\nMESSAGE=c\n\n", 1, 1),                                      /* no name */
                CASE("9A=a\n\nMESSAGE=c\n\n", 1, 1),                                    /* a digit first */
                CASE("MESSAGE=a\nA\0=b\n\nMESSAGE=c\n\n", 1, 1),                        /* a NUL in a name */
                CASE("MESSAGE\n\0\0\0\0\0\0\0\0\n\n", 1, 0),                           /* empty binary */
        };
#undef CASE
        char buf[256];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct seen s = { 0 };
                struct jexport *p = parse(cases[i].in, cases[i].len, 0, &s);

                if (p->entries != cases[i].entries || p->broken != cases[i].broken)
                        fprintf(stderr, "case %zu: %llu entries, %llu broken\n", i, (unsigned long long)p->entries,
                                (unsigned long long)p->broken);
                CHECK_INT(p->entries, cases[i].entries);
                CHECK_INT(p->broken, cases[i].broken);
                free(p);
        }
        /* a name of 64 characters is one; of 65, broken */
        for (int extra = 0; extra <= 1; extra++) {
                struct seen s = { 0 };
                struct jexport *p;
                int n = snprintf(buf, sizeof(buf), "%s%s=1\n\n", name64, extra ? "A" : "");

                p = parse(buf, (size_t)n, 0, &s);
                CHECK_INT(p->entries, extra ? 0 : 1);
                CHECK_INT(p->broken, extra ? 1 : 0);
                free(p);
        }
}

static void test_field_count(void)
{
        size_t cap = (JEXPORT_FIELDS_MAX + 2) * 8 + 64, n = 0;
        char *in = malloc(cap);
        struct seen s = { 0 };
        struct jexport *p;

        if (!in)
                exit(99);
        for (unsigned i = 0; i < JEXPORT_FIELDS_MAX; i++)
                n += (size_t)snprintf(in + n, cap - n, "F=1\n");
        n += (size_t)snprintf(in + n, cap - n, "\n");
        p = parse(in, n, 0, &s); /* at the bound: an entry */
        CHECK_INT(p->entries, 1);
        CHECK_INT(p->broken, 0);
        free(p);
        n -= 1;
        n += (size_t)snprintf(in + n, cap - n, "F=1\n\nMESSAGE=x\n\n");
        p = parse(in, n, 0, &s); /* one more: broken, the next one read */
        CHECK_INT(p->entries, 1);
        CHECK_INT(p->broken, 1);
        free(p);
        free(in);
}

static void test_helpers(void)
{
        struct seen s = { .fail_at = 1 };
        struct jexport *p;
        uint64_t t;

        CHECK(jexport_starts("__CURSOR=s=1", 12));
        CHECK(jexport_starts("MESSAGE", 7));
        CHECK(!jexport_starts("[2024-11-27 13:06:56.795 udp-canary INFO] Exit", 46));
        CHECK(!jexport_starts("message=x", 9));
        CHECK(!jexport_starts("=x", 2));
        CHECK(!jexport_starts("MESSAGE x", 9));
        CHECK(!jexport_starts("", 0));
        /* the callback's error stops the parsing and is returned */
        p = malloc(sizeof(*p));
        if (!p)
                exit(99);
        jexport_init(p);
        CHECK_INT(jexport_feed(p, "MESSAGE=a\n\nMESSAGE=b\n\n", 22, on_entry, &s), -ECANCELED);
        CHECK_INT(s.n, 1);
        /* times: digits that fit, nothing else */
        jexport_init(p);
        p->v[JEXPORT_REALTIME].set = true;
        memcpy(p->v[JEXPORT_REALTIME].data, "18446744073709551615", 20);
        p->v[JEXPORT_REALTIME].len = 20;
        CHECK_INT(jexport_realtime(p, &t), -EINVAL);
        p->v[JEXPORT_REALTIME].len = 19;
        CHECK_INT(jexport_realtime(p, &t), 0);
        CHECK(t == 1844674407370955161ULL);
        p->v[JEXPORT_REALTIME].data[3] = 'x';
        CHECK_INT(jexport_realtime(p, &t), -EINVAL);
        p->v[JEXPORT_REALTIME].len = 0;
        CHECK_INT(jexport_realtime(p, &t), -EINVAL);
        free(p);
}

int main(void)
{
        test_sample();
        test_bounds();
        test_broken();
        test_field_count();
        test_helpers();
        printf("%u passed, %u failed\n", check_passed, check_failed);
        return check_failed ? 1 : 0;
}

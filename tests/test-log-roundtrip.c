/* The log texts round trip: every kind of event the core reports is
 * formatted by logtext (the writer's code) and parsed back by logline (the
 * report's code). Packet lines come back with their peer and message; the
 * other lines are never read as packets; the stamp and the fixed texts the
 * report looks for parse to their kinds. Over odd ids and IPv6 peers too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/util.h>

#include "check.h"
#include "core/logtext.h"
#include "report/logline.h"

static const char *const ids[] = { "home", "it's", "a\"b", "tab\there", "caf\xc3\xa9", "\xf0\x9f\x90\xa6", "x" };
static const char *const peers[] = { "203.0.113.9", "2001:db8::1", "127.0.0.1" };

static struct core_event make(enum event_kind kind, const char *id, const char *ip)
{
        struct core_event e = { .kind = kind, .has_msg = true, .expected = 7, .lost = 2, .duration_us = 5300000,
                                .rtt_us = 31000, .count = 12 };

        if (addr_from_string(&e.peer, ip, 43210) < 0 || addr_from_string(&e.old_peer, ip, 4500) < 0 ||
            message_init(&e.msg, kind == EVENT_TX ? MESSAGE_HANDSHAKE_RESPONSE : MESSAGE_KEEPALIVE, id, strlen(id),
                         1795606969, 3) < 0)
                exit(99);
        return e;
}

static void round_trip(enum event_kind kind, const char *id, const char *ip)
{
        struct core_event e = make(kind, id, ip);
        char body[LOG_LINE_MAX];
        enum log_level level;
        struct logline l;
        ssize_t n = logtext_format_event(&e, body, sizeof(body), &level);

        CHECK(n > 0);
        if (n <= 0)
                return;
        CHECK_INT(logline_parse_body(&l, body, (size_t)n), 0);
        switch (kind) {
        case EVENT_TX:
        case EVENT_RX:
                CHECK_INT(l.kind, kind == EVENT_TX ? LOGLINE_TX : LOGLINE_RX);
                CHECK(addr_equal(&l.peer, &e.peer));
                CHECK_INT(l.msg.type, e.msg.type);
                CHECK(l.msg.id_len == e.msg.id_len && memcmp(l.msg.id, e.msg.id, e.msg.id_len) == 0);
                CHECK_INT(l.msg.data[0], e.msg.data[0]);
                CHECK_INT(l.msg.data[1], e.msg.data[1]);
                break;
        case EVENT_INVALID:
                CHECK_INT(l.kind, LOGLINE_INVALID);
                CHECK(addr_equal(&l.peer, &e.peer));
                break;
        case EVENT_INVALID_MORE: /* the datagrams not logged one by one: counted */
                CHECK_INT(l.kind, LOGLINE_INVALID_MORE);
                CHECK_INT(l.dropped, e.count);
                break;
        default: /* our own warnings: never read as a packet */
                CHECK_INT(l.kind, LOGLINE_OTHER);
                break;
        }
}

/* The whole line: the writer's stamp, read back to the same instant. */
static void test_stamp(void)
{
        char line[LOG_LINE_MAX + 64];
        struct logline l;
        ssize_t n;

        setenv("TZ", "UTC", 1);
        tzset();
        n = logtext_format_prefix("2026-11-25 11:42:48", 842, LOG_LEVEL_INFO, line, sizeof(line));
        CHECK(n > 0);
        strcat(line, "TX 10.96.0.2:43210 {'id': 'home', 'type': 'handshake_init', 'data': [1795606969, 0]}");
        CHECK_INT(logline_parse(&l, line, strlen(line)), 0);
        CHECK_INT(l.t_us, 1795606968842000ULL);
        CHECK_INT(l.kind, LOGLINE_TX);
        for (int lv = 0; lv < LOG_LEVEL_COUNT; lv++) {
                n = logtext_format_prefix("2026-11-25 11:42:48", 5, (enum log_level)lv, line, sizeof(line));
                strcat(line, LOGTEXT_EXIT);
                CHECK_INT(logline_parse(&l, line, strlen(line)), 0);
                CHECK_INT(l.kind, LOGLINE_EXIT);
                CHECK_INT(l.t_us, 1795606968005000ULL);
        }
}

/* The reader's short cuts say what the general parsers say: a peer in the
 * plain IPv4 form as libevent reads it (and the forms it leaves to libevent
 * the same), a stamp in a minute already seen as strptime() and mktime()
 * read it, across a change of minute, hour, day and a DST change. */
static void test_short_cuts(void)
{
        static const char *const forms[] = {
                "1.2.3.4:5", "255.255.255.255:65535", "0.0.0.0:1", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.256:80",
                "010.0.0.1:80", "10.0.0.1:080", "1.2.3:4", "1.2.3.4.5:6", "1.2.3.4:", ":5", "[::1]:5", "1.2.3.4:5x",
                "1.2.3.4 :5", "1234.2.3.4:5", "1.2.3.4:123456",
        };
        static const char *const stamps[] = {
                "2026-11-25 11:42:48.842", "2026-11-25 11:42:59.999", "2026-11-25 11:43:00.000", "2026-11-25 11:43:07.001",
                "2026-11-25 23:59:59.500", "2026-11-26 00:00:00.000", "2026-03-29 01:59:59.999", "2026-03-29 03:00:00.000",
                "2026-03-29 03:00:00.001", "2026-10-25 02:30:00.000", "2026-10-25 02:30:59.000", "2026-10-25 03:00:00.000",
                "2026-11-25 11:42:60.000", "2026-11-25 11:42:48.84x",
        };
        struct logline_clock clock = { .valid = false };

        for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
                char body[160];
                struct logline l;
                struct addr a = { .len = 0 };
                int n = (int)sizeof(a.in6), ok = evutil_parse_sockaddr_port(forms[i], &a.sa, &n) == 0;

                snprintf(body, sizeof(body), "RX %s {'id': 'x', 'type': 'keepalive', 'data': [1, 2]}", forms[i]);
                a.len = (socklen_t)n;
                CHECK_INT(logline_parse_body(&l, body, strlen(body)) == 0, ok);
                CHECK(!ok || (l.peer.len == a.len && memcmp(&l.peer, &a, sizeof(a)) == 0));
        }
        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
                char line[160];
                struct logline l;
                uint64_t t = 0;
                int want = logline_parse_time(stamps[i], 23, &t);

                snprintf(line, sizeof(line), "[%s udp-canary INFO] %s", stamps[i], LOGTEXT_EXIT);
                CHECK_INT(logline_parse_with(&l, &clock, line, strlen(line)), want);
                CHECK(want < 0 || l.t_us == t);
        }
        setenv("TZ", "UTC", 1);
        tzset();
}

/* The fixed texts a daemon writes around the packets. */
static void test_fixed(void)
{
        static const struct {
                const char *body;
                enum logline_kind kind;
        } cases[] = {
                { LOGTEXT_LISTENING "0.0.0.0:43210", LOGLINE_LISTENING },
                { LOGTEXT_CLIENT_START "'home'" LOGTEXT_CLIENT_SENDING "203.0.113.9:43210", LOGLINE_CLIENT_START },
                { LOGTEXT_EXIT, LOGLINE_EXIT },
                { "5123" LOGTEXT_DROPS, LOGLINE_SOCKET_DROPS },
                { "42" LOGTEXT_INVALID_MORE "203.0.113.9:4500 in the last second", LOGLINE_INVALID_MORE },
                { LOGTEXT_RELOADED, LOGLINE_OTHER },
        };
        struct logline l;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                CHECK_INT(logline_parse_body(&l, cases[i].body, strlen(cases[i].body)), 0);
                CHECK_INT(l.kind, cases[i].kind);
        }
        CHECK_INT(l.kind, LOGLINE_OTHER);
        logline_parse_body(&l, "5123" LOGTEXT_DROPS, strlen("5123" LOGTEXT_DROPS));
        CHECK_INT(l.dropped, 5123);
}

/* The line an output that lost lines gets, as written, read back. */
static void test_lines_lost(void)
{
        char body[256];
        struct logline l;
        ssize_t n = logtext_format_lines_lost(5310, "stderr", body, sizeof(body));

        CHECK(n > 0);
        CHECK_STR(body, "5310 log lines lost before this one: stderr did not take them in time");
        CHECK_INT(logline_parse_body(&l, body, (size_t)n), 0);
        CHECK_INT(l.kind, LOGLINE_LINES_LOST);
        CHECK_INT(l.dropped, 5310);
        CHECK_INT(logtext_format_lines_lost(5310, "stderr", body, 20), -ENOBUFS);
}

int main(void)
{
        static const enum event_kind kinds[] = {
                EVENT_TX, EVENT_RX, EVENT_INVALID, EVENT_REPLAY, EVENT_IGNORED, EVENT_EVICTED,
                EVENT_NAT_REBIND, EVENT_LOSS, EVENT_DUPLICATE, EVENT_SILENT, EVENT_BACK,
                EVENT_UNANSWERED, EVENT_OUTAGE_START, EVENT_OUTAGE_END, EVENT_REFUSED, EVENT_INVALID_MORE,
                EVENT_PROBE_REFUSED,
        };

        /* every kind the core has is in the list above */
        CHECK_INT(sizeof(kinds) / sizeof(kinds[0]), EVENT_KIND_COUNT);

        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
                for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
                        for (size_t p = 0; p < sizeof(peers) / sizeof(peers[0]); p++)
                                round_trip(kinds[k], ids[i], peers[p]);
        test_stamp();
        test_fixed();
        test_lines_lost();
        test_short_cuts();
        return check_finish("logtext");
}

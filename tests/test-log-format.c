/* The log texts: the stamp and every kind of event line, as the original
 * writes them where it has them. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "daemon/log.h"

static struct core_event ev(enum event_kind kind, const char *ip, uint16_t port)
{
        struct core_event e = { .kind = kind };

        if (addr_from_string(&e.peer, ip, port) < 0)
                exit(99);
        return e;
}

static const char *fmt(const struct core_event *e, enum log_level expect_level)
{
        static char buf[LOG_LINE_MAX];
        enum log_level level;

        CHECK(logtext_format_event(e, buf, sizeof(buf), &level) > 0);
        CHECK_INT(level, expect_level);
        return buf;
}

static void test_prefix(void)
{
        struct timespec ts = { .tv_sec = 1732712816, .tv_nsec = 795999999 };
        char buf[64];

        setenv("TZ", "UTC", 1);
        tzset();
        CHECK(log_format_prefix(&ts, LOG_LEVEL_INFO, buf, sizeof(buf)) > 0);
        CHECK_STR(buf, "[2024-11-27 13:06:56.795 udp-canary INFO] ");
        ts.tv_nsec = 5000000;
        CHECK(log_format_prefix(&ts, LOG_LEVEL_WARNING, buf, sizeof(buf)) > 0);
        CHECK_STR(buf, "[2024-11-27 13:06:56.005 udp-canary WARNING] ");
        CHECK_INT(log_format_prefix(&ts, LOG_LEVEL_INFO, buf, 10), -ENOBUFS);
}

static void test_events(void)
{
        struct core_event e = ev(EVENT_RX, "127.0.0.1", 46668);

        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_HANDSHAKE_INIT, "my-client-id", 12, 1732673217, 0), 0);
        CHECK_STR(fmt(&e, LOG_LEVEL_INFO),
                  "RX 127.0.0.1:46668 {'id': 'my-client-id', 'type': 'handshake_init', 'data': [1732673217, 0]}");
        e.kind = EVENT_TX;
        e.msg.type = MESSAGE_HANDSHAKE_RESPONSE;
        CHECK_STR(fmt(&e, LOG_LEVEL_INFO),
                  "TX 127.0.0.1:46668 {'id': 'my-client-id', 'type': 'handshake_response', 'data': [1732673217, 0]}");
        /* A client names its server by address and port too: the first line
         * of the original's client log in tests/data/original-scenario. */
        e = ev(EVENT_TX, "10.96.0.2", 43210);
        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_HANDSHAKE_INIT, "home", 4, 1795606969, 0), 0);
        CHECK_STR(fmt(&e, LOG_LEVEL_INFO),
                  "TX 10.96.0.2:43210 {'id': 'home', 'type': 'handshake_init', 'data': [1795606969, 0]}");

        e = ev(EVENT_INVALID, "203.0.113.9", 5000);
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "RX 203.0.113.9:5000 [InvalidMessage]");
        e.invalid = "bad padding";
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "RX 203.0.113.9:5000 [InvalidMessage] bad padding");

        e = ev(EVENT_RX, "2001:db8::1", 5000);
        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_KEEPALIVE, "it's", 4, 7, 3), 0);
        CHECK_STR(fmt(&e, LOG_LEVEL_INFO), "RX [2001:db8::1]:5000 {'id': \"it's\", 'type': 'keepalive', 'data': [7, 3]}");

        e = ev(EVENT_RX, "::ffff:192.0.2.5", 9);
        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_KEEPALIVE, "a", 1, 7, 3), 0);
        CHECK(strncmp(fmt(&e, LOG_LEVEL_INFO), "RX 192.0.2.5:9 ", 15) == 0);

        e.kind = EVENT_REPLAY;
        e.expected = 9;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "Replay from 192.0.2.5:9: handshake 7 of 'a' is not above 9, not answered");

        e.kind = EVENT_INVALID_MORE;
        e.count = 17;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "17 more invalid datagrams from 192.0.2.5:9 in the last second");
        e.peer.sa.sa_family = AF_UNSPEC;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "17 more invalid datagrams from other sources in the last second");
        e = ev(EVENT_RX, "192.0.2.5", 9);
        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_KEEPALIVE, "a", 1, 7, 3), 0);

        e.kind = EVENT_REFUSED;
        e.refused = EVENT_REFUSE_COUNTER;
        e.expected = 5;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING),
                  "Refused keepalive 3 of 'a' in handshake 7 from 192.0.2.5:9: above the keepalive count 5, not counted");
        e.refused = EVENT_REFUSE_AHEAD;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING),
                  "Refused keepalive of 'a' from 192.0.2.5:9: handshake 7 is beyond the clock's bound 5, not remembered");

        e.kind = EVENT_IGNORED;
        e.expected = 9;
        e.msg.type = MESSAGE_HANDSHAKE_RESPONSE;
        e.why = EVENT_IGNORE_STALE;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING),
                  "Ignored handshake_response from 192.0.2.5:9: answers handshake 7, the latest sent is 9");
        e.why = EVENT_IGNORE_FOREIGN_ADDR;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING),
                  "Ignored handshake_response from 192.0.2.5:9: not from the server's address");

        e.kind = EVENT_EVICTED;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "Table of clients full: forgot 'a', last seen at 192.0.2.5:9");
}

static void test_detection_texts(void)
{
        struct core_event e = ev(EVENT_NAT_REBIND, "203.0.113.9", 61000);

        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_KEEPALIVE, "home", 4, 1732673217, 3), 0);
        CHECK_INT(addr_from_string(&e.old_peer, "203.0.113.9", 4500), 0);
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "NAT rebinding: 'home' moved from 203.0.113.9:4500 to 203.0.113.9:61000");
        /* across families: said, as no NAT does it; a mapped address is IPv4 */
        CHECK_INT(addr_from_string(&e.old_peer, "::ffff:203.0.113.9", 4500), 0);
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "NAT rebinding: 'home' moved from 203.0.113.9:4500 to 203.0.113.9:61000");
        CHECK_INT(addr_from_string(&e.old_peer, "2001:db8::1", 4500), 0);
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "NAT rebinding: 'home' moved from [2001:db8::1]:4500 to 203.0.113.9:61000"
                                              " (another address family: two clients with this id?)");
        e.kind = EVENT_LOSS;
        e.lost = 2;
        e.expected = 1732673217;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "Lost 2 keepalives of 'home' in handshake 1732673217");
        e.kind = EVENT_DUPLICATE;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "Duplicate keepalive 3 of 'home' in handshake 1732673217");
        e.kind = EVENT_SILENT;
        e.duration_us = 53250000;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "Silent: nothing from 'home' for 53.2 s, last at 203.0.113.9:61000: client to server, or both ways");
        e.kind = EVENT_BACK;
        e.duration_us = 120500000;
        CHECK_STR(fmt(&e, LOG_LEVEL_INFO), "Back: 'home' heard again after 120.5 s, at 203.0.113.9:61000");

        e = ev(EVENT_UNANSWERED, "203.0.113.2", 43210);
        e.expected = 1732673218;
        e.duration_us = 5000000;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "No answer to handshake 1732673218 after 5.0 s");
        e.kind = EVENT_OUTAGE_START;
        CHECK_STR(fmt(&e, LOG_LEVEL_WARNING), "Outage: no answer since handshake 1732673218, 5.0 s ago: direction unknown from this end");
        e.kind = EVENT_OUTAGE_END;
        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_HANDSHAKE_RESPONSE, "home", 4, 1732673225, 0), 0);
        e.duration_us = 35200000;
        e.rtt_us = 31000;
        CHECK_STR(fmt(&e, LOG_LEVEL_INFO), "Outage over after 35.2 s: handshake 1732673225 answered in 31 ms");
}

/* The longest possible message still fits a line, whole. */
static void test_longest(void)
{
        char id[MESSAGE_ID_MAX], line[LOG_LINE_MAX];
        struct core_event e = ev(EVENT_RX, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
        enum log_level level;
        ssize_t n;

        memset(id, 0x01, sizeof(id)); /* \x01: four characters each */
        e.has_msg = true;
        CHECK_INT(message_init(&e.msg, MESSAGE_HANDSHAKE_RESPONSE, id, sizeof(id), INT64_MAX, INT64_MAX), 0);
        n = logtext_format_event(&e, line, sizeof(line), &level);
        CHECK(n > 4 * MESSAGE_ID_MAX);
        {
                const char *tail = "'data': [9223372036854775807, 9223372036854775807]}";

                CHECK(n > (ssize_t)strlen(tail) && strcmp(line + n - strlen(tail), tail) == 0);
        }
}

int main(void)
{
        test_prefix();
        test_events();
        test_detection_texts();
        test_longest();
        return check_finish("log");
}

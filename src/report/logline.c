/* logline: parsing log lines back (see logline.h). */
#include "report/logline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/util.h>

int logline_parse_time(const char *s, size_t len, uint64_t *t_us)
{
        char buf[32];
        struct tm tm = { 0 };
        unsigned ms = 0;
        char *end;
        time_t t;

        if (len < 19 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        end = strptime(buf, "%Y-%m-%d %H:%M:%S", &tm);
        if (!end)
                return -EINVAL;
        if (end[0] == '.' && end[1] >= '0' && end[1] <= '9' && end[2] >= '0' && end[2] <= '9' && end[3] >= '0' &&
            end[3] <= '9') {
                ms = (unsigned)(end[1] - '0') * 100 + (unsigned)(end[2] - '0') * 10 + (unsigned)(end[3] - '0');
                end += 4;
        }
        if (*end)
                return -EINVAL;
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t)-1 || t < 0)
                return -EINVAL;
        *t_us = (uint64_t)t * 1000000 + ms * 1000ULL;
        return 0;
}

/* "IP:PORT" or "[IPV6]:PORT", as the log writes a peer; libevent's parser. */
static int parse_peer(const char *s, size_t len, struct addr *a)
{
        char text[ADDR_STRLEN];
        int n = (int)sizeof(a->in6);

        if (len == 0 || len >= sizeof(text) || !memchr(s, ':', len))
                return -EINVAL;
        memcpy(text, s, len);
        text[len] = '\0';
        memset(a, 0, sizeof(*a));
        if (evutil_parse_sockaddr_port(text, &a->sa, &n) < 0)
                return -EINVAL;
        a->len = (socklen_t)n;
        return 0;
}

static bool starts(const char *s, size_t len, const char *lit)
{
        size_t n = strlen(lit);

        return len >= n && memcmp(s, lit, n) == 0;
}

/* "N" LOGTEXT_DROPS, exactly; at most 19 digits, so N fits. */
static int parse_drops(const char *s, size_t len, uint64_t *n)
{
        static const char text[] = LOGTEXT_DROPS;
        size_t digits = 0;
        uint64_t v = 0;

        while (digits < len && digits < 19 && s[digits] >= '0' && s[digits] <= '9')
                v = v * 10 + (uint64_t)(s[digits++] - '0');
        if (digits == 0 || len - digits != sizeof(text) - 1 || memcmp(s + digits, text, sizeof(text) - 1) != 0)
                return -EINVAL;
        *n = v;
        return 0;
}

/* "N" then text, then anything: a count the server logs in place of lines. */
static int parse_count(const char *s, size_t len, const char *text, uint64_t *n)
{
        size_t digits = 0, tl = strlen(text);
        uint64_t v = 0;

        while (digits < len && digits < 19 && s[digits] >= '0' && s[digits] <= '9')
                v = v * 10 + (uint64_t)(s[digits++] - '0');
        if (digits == 0 || len - digits < tl || memcmp(s + digits, text, tl) != 0)
                return -EINVAL;
        *n = v;
        return 0;
}

int logline_parse_body(struct logline *l, const char *body, size_t len)
{
        const char *peer, *sp;
        size_t plen;

        l->kind = LOGLINE_OTHER;
        l->peer_is_server = false;
        /* a "TX server" line names no address: none, not the last line's */
        memset(&l->peer, 0, sizeof(l->peer));
        l->text = NULL;
        l->text_len = 0;
        if (starts(body, len, LOGTEXT_LISTENING)) {
                l->kind = LOGLINE_LISTENING;
                return 0;
        }
        if (starts(body, len, LOGTEXT_CLIENT_START)) {
                l->kind = LOGLINE_CLIENT_START;
                return 0;
        }
        if (len == sizeof(LOGTEXT_EXIT) - 1 && memcmp(body, LOGTEXT_EXIT, len) == 0) {
                l->kind = LOGLINE_EXIT;
                return 0;
        }
        if (starts(body, len, LOGTEXT_NAT_TIMEOUT)) {
                l->kind = LOGLINE_NAT_TIMEOUT;
                l->text = body + sizeof(LOGTEXT_NAT_TIMEOUT) - 1;
                l->text_len = len - (sizeof(LOGTEXT_NAT_TIMEOUT) - 1);
                return 0;
        }
        if (starts(body, len, LOGTEXT_TRACE)) {
                /* a line that only looks like one is no trace: another line of ours */
                if (logtext_parse_trace(&l->trace, body, len) == 0)
                        l->kind = LOGLINE_TRACE;
                return 0;
        }
        if (parse_drops(body, len, &l->dropped) == 0) {
                l->kind = LOGLINE_SOCKET_DROPS;
                return 0;
        }
        if (parse_count(body, len, LOGTEXT_INVALID_MORE, &l->dropped) == 0) {
                l->kind = LOGLINE_INVALID_MORE;
                return 0;
        }
        if (parse_count(body, len, LOGTEXT_LINES_LOST, &l->dropped) == 0) {
                l->kind = LOGLINE_LINES_LOST;
                return 0;
        }
        if (!starts(body, len, "TX ") && !starts(body, len, "RX "))
                return 0;
        peer = body + 3;
        sp = memchr(peer, ' ', len - 3);
        if (!sp)
                return -EINVAL;
        plen = (size_t)(sp - peer);
        if (plen == 6 && memcmp(peer, "server", 6) == 0)
                l->peer_is_server = true;
        else if (parse_peer(peer, plen, &l->peer) < 0)
                return -EINVAL;
        sp++;
        if (starts(sp, len - (size_t)(sp - body), LOGTEXT_INVALID)) {
                l->kind = LOGLINE_INVALID;
                return 0;
        }
        if (message_parse_repr(&l->msg, sp, len - (size_t)(sp - body)) != (ssize_t)(len - (size_t)(sp - body)))
                return -EINVAL;
        l->kind = body[0] == 'T' ? LOGLINE_TX : LOGLINE_RX;
        return 0;
}

int logline_parse(struct logline *l, const char *line, size_t len)
{
        static const char tag[] = " udp-canary ";
        const char *close;

        /* [YYYY-mm-dd HH:MM:SS.mmm udp-canary LEVEL] body */
        if (len < 24 + sizeof(tag) - 1 + 2 || line[0] != '[' || memcmp(line + 24, tag, sizeof(tag) - 1) != 0)
                return -EINVAL;
        close = memchr(line + 24, ']', len - 24);
        if (!close || (size_t)(close - line) + 2 > len || close[1] != ' ')
                return -EINVAL;
        if (logline_parse_time(line + 1, 23, &l->t_us) < 0)
                return -EINVAL;
        return logline_parse_body(l, close + 2, len - (size_t)(close + 2 - line));
}

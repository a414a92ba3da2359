/* logline: parsing log lines back (see logline.h). */
#include "report/logline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
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

static bool digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* "YYYY-MM-DD HH:MM:SS.mmm" in a minute already seen: its start plus the
 * seconds; otherwise logline_parse_time(), and the minute remembered. */
static int parse_stamp(struct logline_clock *clk, const char *s, uint64_t *t_us)
{
        unsigned sec, ms;
        char minute[20];

        if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) || s[10] != ' ' ||
            !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2) ||
            s[19] != '.' || !digits(s + 20, 3) || (sec = (unsigned)(s[17] - '0') * 10 + (unsigned)(s[18] - '0')) > 59)
                return logline_parse_time(s, 23, t_us);
        ms = (unsigned)(s[20] - '0') * 100 + (unsigned)(s[21] - '0') * 10 + (unsigned)(s[22] - '0');
        if (!clk->valid || memcmp(clk->minute, s, 16) != 0) {
                memcpy(minute, s, 16);
                memcpy(minute + 16, ":00", 3);
                if (logline_parse_time(minute, 19, &clk->minute_us) < 0) {
                        clk->valid = false;
                        return logline_parse_time(s, 23, t_us);
                }
                memcpy(clk->minute, s, 16);
                clk->valid = true;
        }
        *t_us = clk->minute_us + sec * 1000000ULL + ms * 1000ULL;
        return 0;
}

/* A number of 1 to `most` digits without a leading zero, up to max. */
static const char *number(const char *s, const char *end, unsigned most, unsigned max, unsigned *v)
{
        const char *p = s;

        *v = 0;
        while (p < end && p - s < (ptrdiff_t)most && *p >= '0' && *p <= '9')
                *v = *v * 10 + (unsigned)(*p++ - '0');
        if (p == s || (*s == '0' && p - s > 1) || *v > max)
                return NULL;
        return p;
}

/* "a.b.c.d:port" written plainly, as the log writes IPv4 peers; anything
 * else (-EAGAIN) goes to libevent's parser. */
static int parse_ipv4(const char *s, size_t len, struct addr *a)
{
        const char *p = s, *end = s + len;
        unsigned v[5];

        for (int i = 0; i < 5; i++) {
                p = number(p, end, i < 4 ? 3 : 5, i < 4 ? 255 : 65535, &v[i]);
                if (!p || (i < 4 && (p >= end || *p++ != (i < 3 ? '.' : ':'))))
                        return -EAGAIN;
        }
        if (p != end || v[4] == 0)
                return -EAGAIN;
        memset(a, 0, sizeof(*a));
        a->in.sin_family = AF_INET;
        a->in.sin_port = htons((uint16_t)v[4]);
        a->in.sin_addr.s_addr = htonl(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]);
        a->len = sizeof(a->in);
        return 0;
}

/* "IP:PORT" or "[IPV6]:PORT", as the log writes a peer; libevent's parser
 * past the plain IPv4 form. */
static int parse_peer(const char *s, size_t len, struct addr *a)
{
        char text[ADDR_STRLEN];
        int n = (int)sizeof(a->in6);

        if (len == 0 || len >= sizeof(text) || !memchr(s, ':', len))
                return -EINVAL;
        if (parse_ipv4(s, len, a) == 0)
                return 0;
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
        struct logline_clock clock = { .valid = false };

        return logline_parse_with(l, &clock, line, len);
}

int logline_parse_with(struct logline *l, struct logline_clock *clock, const char *line, size_t len)
{
        static const char tag[] = " udp-canary ";
        const char *close;

        /* [YYYY-mm-dd HH:MM:SS.mmm udp-canary LEVEL] body */
        if (len < 24 + sizeof(tag) - 1 + 2 || line[0] != '[' || memcmp(line + 24, tag, sizeof(tag) - 1) != 0)
                return -EINVAL;
        close = memchr(line + 24, ']', len - 24);
        if (!close || (size_t)(close - line) + 2 > len || close[1] != ' ')
                return -EINVAL;
        if (parse_stamp(clock, line + 1, &l->t_us) < 0)
                return -EINVAL;
        return logline_parse_body(l, close + 2, len - (size_t)(close + 2 - line));
}

/* logtext: the texts of the log, in the original's format where it has
 * them, and the one place both the writer (daemon/log) and the reader
 * (report/logline) take them from: the stamp and level, every event's line,
 * the fixed texts the report recognises, and a trace's line, which the
 * report parses here too. No I/O. */
#include "core/logtext.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

const char *const logtext_level_names[LOG_LEVEL_COUNT] = {
        [LOG_LEVEL_INFO] = "INFO",
        [LOG_LEVEL_WARNING] = "WARNING",
        [LOG_LEVEL_ERROR] = "ERROR",
};

ssize_t logtext_format_prefix(const char *stamp, long ms, enum log_level level, char *buf, size_t cap)
{
        const char *name = logtext_level_names[level];
        size_t sl = strlen(stamp), nl = strlen(name), n = 1 + sl + 4 + 12 + nl + 2;

        if (n >= cap)
                return -ENOBUFS;
        buf[0] = '[';
        memcpy(buf + 1, stamp, sl);
        buf[1 + sl] = '.';
        buf[2 + sl] = (char)('0' + ms / 100);
        buf[3 + sl] = (char)('0' + ms / 10 % 10);
        buf[4 + sl] = (char)('0' + ms % 10);
        memcpy(buf + 5 + sl, " " LOGTEXT_IDENT " ", 12);
        memcpy(buf + 17 + sl, name, nl);
        memcpy(buf + 17 + sl + nl, "] ", 2);
        buf[n] = '\0';
        return (ssize_t)n;
}

static const char *ignore_reason(const struct core_event *ev, char *buf, size_t cap)
{
        switch (ev->why) {
        case EVENT_IGNORE_FOREIGN_ADDR:
                return "not from the server's address";
        case EVENT_IGNORE_FOREIGN_ID:
                return "another client's id";
        case EVENT_IGNORE_NOT_RESPONSE:
                return "not a handshake_response";
        case EVENT_IGNORE_STALE:
                snprintf(buf, cap, "answers handshake %" PRIu64 ", the latest sent is %" PRIu64,
                         ev->msg.data[0], ev->expected);
                return buf;
        case EVENT_IGNORE_DUPLICATE:
                return "already answered";
        }
        return "unexpected";
}

/* Seconds with tenths, for durations in text. */
#define SECS(us) (us) / 1000000, (us) / 100000 % 10

static int format_detection(const struct core_event *ev, const char *who, const char *id, char *buf, size_t cap,
                            enum log_level *level)
{
        char old[ADDR_STRLEN];

        *level = LOG_LEVEL_WARNING;
        switch (ev->kind) {
        case EVENT_NAT_REBIND:
                /* no NAT moves a flow to the other family: one id on two
                 * flows (a dual-stack setup's two instances given one id) */
                return snprintf(buf, cap, "NAT rebinding: %s moved from %s to %s%s", id,
                                addr_format(&ev->old_peer, old), who,
                                addr_is_ipv4(&ev->old_peer) == addr_is_ipv4(&ev->peer)
                                        ? ""
                                        : " (another address family: two clients with this id?)");
        case EVENT_LOSS:
                return snprintf(buf, cap, "Lost %" PRIu64 " keepalive%s of %s in handshake %" PRIu64, ev->lost,
                                ev->lost == 1 ? "" : "s", id, ev->expected);
        case EVENT_DUPLICATE:
                return snprintf(buf, cap, "Duplicate keepalive %" PRIu64 " of %s in handshake %" PRIu64,
                                ev->msg.data[1], id, ev->msg.data[0]);
        case EVENT_SILENT:
                /* a server hears nothing: its own answers may still go out, so
                 * what broke is client to server, or both ways */
                return snprintf(buf, cap,
                                "Silent: nothing from %s for %" PRIu64 ".%" PRIu64
                                " s, last at %s: client to server, or both ways",
                                id, SECS(ev->duration_us), who);
        case EVENT_BACK:
                *level = LOG_LEVEL_INFO;
                return snprintf(buf, cap, "Back: %s heard again after %" PRIu64 ".%" PRIu64 " s, at %s", id,
                                SECS(ev->duration_us), who);
        case EVENT_UNANSWERED:
                return snprintf(buf, cap, "No answer to handshake %" PRIu64 " after %" PRIu64 ".%" PRIu64 " s",
                                ev->expected, SECS(ev->duration_us));
        case EVENT_OUTAGE_START:
                /* a client cannot tell whether its init or the answer was lost */
                return snprintf(buf, cap,
                                "Outage: no answer since handshake %" PRIu64 ", %" PRIu64 ".%" PRIu64
                                " s ago: direction unknown from this end",
                                ev->expected, SECS(ev->duration_us));
        case EVENT_OUTAGE_END:
                *level = LOG_LEVEL_INFO;
                return snprintf(buf, cap, "Outage over after %" PRIu64 ".%" PRIu64 " s: handshake %" PRIu64
                                " answered in %" PRIu64 " ms", SECS(ev->duration_us), ev->msg.data[0],
                                ev->rtt_us / 1000);
        case EVENT_PROBE_REFUSED:
                return snprintf(buf, cap, "Probes refused: %" PRIu64 " since the last such line; the latest, probe %" PRIu64
                                " of %s from %s: %s", ev->lost, ev->msg.data[0], id, who,
                                ev->refusal ? ev->refusal : "refused");
        default:
                return -1;
        }
}

ssize_t logtext_format_event(const struct core_event *ev, char *buf, size_t cap, enum log_level *level)
{
        char peer[ADDR_STRLEN], msg[MESSAGE_TEXT_MAX], id[MESSAGE_TEXT_MAX], why[96];
        const char *who = addr_format(&ev->peer, peer); /* a client names its server so too */
        int n = -1;

        *level = LOG_LEVEL_INFO;
        if (ev->has_msg && message_to_repr(&ev->msg, msg, sizeof(msg)) < 0)
                return -ENOBUFS;
        if (ev->has_msg && ev->kind != EVENT_TX && ev->kind != EVENT_RX &&
            message_repr_string(ev->msg.id, ev->msg.id_len, id, sizeof(id)) < 0)
                return -ENOBUFS;

        switch (ev->kind) {
        case EVENT_TX:
        case EVENT_RX: { /* the line of every packet: no printf */
                size_t wl = strlen(who), ml = strlen(msg);

                if (3 + wl + 1 + ml >= cap)
                        return -ENOBUFS;
                memcpy(buf, ev->kind == EVENT_TX ? "TX " : "RX ", 3);
                memcpy(buf + 3, who, wl);
                buf[3 + wl] = ' ';
                memcpy(buf + 4 + wl, msg, ml + 1);
                n = (int)(4 + wl + ml);
                break;
        }
        case EVENT_INVALID:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap, "RX %s " LOGTEXT_INVALID "%s%s", who, ev->invalid ? " " : "",
                             ev->invalid ? ev->invalid : "");
                break;
        case EVENT_REPLAY:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap,
                             "Replay from %s: handshake %" PRIu64 " of %s is not above %" PRIu64
                             ", not answered",
                             who, ev->msg.data[0], id, ev->expected);
                break;
        case EVENT_IGNORED:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap, "Ignored %s from %s: %s", message_type_name(ev->msg.type), who,
                             ignore_reason(ev, why, sizeof(why)));
                break;
        case EVENT_INVALID_MORE:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap, "%" PRIu64 LOGTEXT_INVALID_MORE "%s in the last second", ev->count,
                             ev->peer.sa.sa_family == AF_UNSPEC ? "other sources" : who);
                break;
        case EVENT_REFUSED:
                *level = LOG_LEVEL_WARNING;
                if (ev->refused == EVENT_REFUSE_AHEAD)
                        n = snprintf(buf, cap, "Refused %s of %s from %s: handshake %" PRIu64
                                     " is beyond the clock's bound %" PRIu64 ", not remembered",
                                     message_type_name(ev->msg.type), id, who, ev->msg.data[0], ev->expected);
                else
                        n = snprintf(buf, cap, "Refused keepalive %" PRIu64 " of %s in handshake %" PRIu64
                                     " from %s: above the keepalive count %" PRIu64 ", not counted",
                                     ev->msg.data[1], id, ev->msg.data[0], who, ev->expected);
                break;
        case EVENT_EVICTED:
                *level = LOG_LEVEL_WARNING;
                n = snprintf(buf, cap, "Table of clients full: forgot %s, last seen at %s", id, who);
                break;
        default:
                n = format_detection(ev, who, id, buf, cap, level);
                break;
        }
        return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

ssize_t logtext_format_lines_lost(uint64_t n, const char *output, char *buf, size_t cap)
{
        int len = snprintf(buf, cap, "%" PRIu64 LOGTEXT_LINES_LOST "%s did not take them in time", n, output);

        return len < 0 || (size_t)len >= cap ? -ENOBUFS : len;
}

ssize_t logtext_format_server_moved(const char *host, const struct addr *from, const struct addr *to, char *buf,
                                    size_t cap)
{
        char was[ADDR_STRLEN], now[ADDR_STRLEN];
        int len = snprintf(buf, cap, LOGTEXT_SERVER_MOVED "%s now resolves to %s, was %s", host, addr_format(to, now),
                           addr_format(from, was));

        return len < 0 || (size_t)len >= cap ? -ENOBUFS : len;
}

unsigned logtext_trace_last(const struct logtext_trace *t)
{
        unsigned last = 0;

        for (unsigned i = 0; i < t->n_hops && i < LOGTEXT_TRACE_HOPS_MAX; i++)
                if (t->hop[i].sa.sa_family != AF_UNSPEC)
                        last = i + 1;
        return last;
}

bool logtext_shared_space(const struct addr *a)
{
        const uint8_t *b;

        if (a->sa.sa_family == AF_INET) {
                b = (const uint8_t *)&a->in.sin_addr;
        } else if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
                b = a->in6.sin6_addr.s6_addr + 12;
        } else {
                return false;
        }
        return b[0] == 100 && (b[1] & 0xc0) == 64; /* 100.64.0.0/10 */
}

const char *logtext_hop_text(const struct addr *a, char buf[static INET6_ADDRSTRLEN])
{
        const struct in6_addr *v6 = &a->in6.sin6_addr;

        if (a->sa.sa_family == AF_INET)
                return inet_ntop(AF_INET, &a->in.sin_addr, buf, INET6_ADDRSTRLEN) ? buf : "?";
        if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(v6))
                return inet_ntop(AF_INET, v6->s6_addr + 12, buf, INET6_ADDRSTRLEN) ? buf : "?";
        if (a->sa.sa_family == AF_INET6)
                return inet_ntop(AF_INET6, v6, buf, INET6_ADDRSTRLEN) ? buf : "?";
        return "*";
}

/* Appends to buf at *n what snprintf makes of fmt; false once it is full. */
__attribute__((format(printf, 4, 5))) static bool append(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
        va_list ap;
        int r;

        if (*n >= cap)
                return false;
        va_start(ap, fmt);
        r = vsnprintf(buf + *n, cap - *n, fmt, ap);
        va_end(ap);
        if (r < 0 || (size_t)r >= cap - *n)
                return false;
        *n += (size_t)r;
        return true;
}

ssize_t logtext_format_trace(const struct logtext_trace *t, char *buf, size_t cap)
{
        char to[ADDR_STRLEN], hop[INET6_ADDRSTRLEN];
        unsigned last = logtext_trace_last(t);
        size_t n = 0;
        bool ok = append(buf, cap, &n, LOGTEXT_TRACE "%s" LOGTEXT_TRACE_AFTER "%" PRIu64 ":",
                         addr_format(&t->to, to), t->handshake);

        for (unsigned i = 0; ok && i < t->n_hops && i < LOGTEXT_TRACE_HOPS_MAX; i++)
                ok = append(buf, cap, &n, "%s %u %s", i ? "," : "", i + 1, logtext_hop_text(&t->hop[i], hop));
        if (ok && last)
                ok = append(buf, cap, &n, LOGTEXT_TRACE_LAST "%u %s%s", last, logtext_hop_text(&t->hop[last - 1], hop),
                            logtext_shared_space(&t->hop[last - 1]) ? LOGTEXT_TRACE_CGNAT : "");
        else if (ok)
                ok = append(buf, cap, &n, LOGTEXT_TRACE_NONE);
        return ok ? (ssize_t)n : -ENOBUFS;
}

/* Reading a trace's line back: a cursor over the body. */
struct reader {
        const char *p, *end;
};

static bool take(struct reader *r, const char *lit)
{
        size_t n = strlen(lit);

        if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
                return false;
        r->p += n;
        return true;
}

/* A decimal number of 1 to 19 digits. */
static bool take_number(struct reader *r, uint64_t *out)
{
        const char *start = r->p;
        uint64_t v = 0;

        while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && r->p - start < 19)
                v = v * 10 + (uint64_t)(*r->p++ - '0');
        *out = v;
        return r->p > start;
}

/* The text up to the first of stops (or the end), copied into a string. */
static bool take_word(struct reader *r, const char *stops, char *buf, size_t cap)
{
        size_t n = 0;

        while (r->p + n < r->end && !strchr(stops, r->p[n]))
                n++;
        if (n == 0 || n >= cap)
                return false;
        memcpy(buf, r->p, n);
        buf[n] = '\0';
        r->p += n;
        return true;
}

/* "IP:PORT" or "[IPV6]:PORT", as addr_format writes it. */
static bool parse_to(const char *text, struct addr *a)
{
        char ip[ADDR_STRLEN];
        const char *colon = strrchr(text, ':');
        size_t n;
        char *end;
        unsigned long port;

        if (!colon || colon == text)
                return false;
        n = (size_t)(colon - text);
        if (text[0] == '[') {
                if (n < 3 || text[n - 1] != ']')
                        return false;
                memcpy(ip, text + 1, n - 2);
                ip[n - 2] = '\0';
        } else {
                memcpy(ip, text, n);
                ip[n] = '\0';
        }
        if (colon[1] < '0' || colon[1] > '9')
                return false;
        port = strtoul(colon + 1, &end, 10);
        return *end == '\0' && port <= 65535 && addr_from_string(a, ip, (uint16_t)port) == 0;
}

/* One hop's text: "*" or an address. */
static bool parse_hop(const char *text, struct addr *a)
{
        if (strcmp(text, "*") == 0) {
                memset(a, 0, sizeof(*a));
                return true;
        }
        return addr_from_string(a, text, 0) == 0;
}

/* "1 ADDR, 2 *, ..." up to the ";" that follows the last. */
static bool parse_hops(struct reader *r, struct logtext_trace *t)
{
        char word[INET6_ADDRSTRLEN];
        uint64_t ttl;

        t->n_hops = 0;
        do {
                if (t->n_hops == LOGTEXT_TRACE_HOPS_MAX || !take(r, " ") || !take_number(r, &ttl) ||
                    ttl != t->n_hops + 1 || !take(r, " ") || !take_word(r, ",;", word, sizeof(word)) ||
                    !parse_hop(word, &t->hop[t->n_hops]))
                        return false;
                t->n_hops++;
        } while (take(r, ","));
        return true;
}

/* What follows the hops must say what they say: none, or the last one. */
static bool parse_verdict(struct reader *r, const struct logtext_trace *t)
{
        unsigned last = logtext_trace_last(t);
        char word[INET6_ADDRSTRLEN], expect[INET6_ADDRSTRLEN];
        uint64_t ttl;

        if (!last)
                return take(r, LOGTEXT_TRACE_NONE) && r->p == r->end;
        if (!take(r, LOGTEXT_TRACE_LAST) || !take_number(r, &ttl) || ttl != last || !take(r, " ") ||
            !take_word(r, ",", word, sizeof(word)) || strcmp(word, logtext_hop_text(&t->hop[last - 1], expect)) != 0)
                return false;
        if (logtext_shared_space(&t->hop[last - 1]) && !take(r, LOGTEXT_TRACE_CGNAT))
                return false;
        return r->p == r->end;
}

int logtext_parse_trace(struct logtext_trace *t, const char *body, size_t len)
{
        struct reader r = { body, body + len };
        char to[ADDR_STRLEN];

        memset(t, 0, sizeof(*t));
        if (!take(&r, LOGTEXT_TRACE) || !take_word(&r, " ", to, sizeof(to)) || !parse_to(to, &t->to) ||
            !take(&r, LOGTEXT_TRACE_AFTER) || !take_number(&r, &t->handshake) || !take(&r, ":") ||
            !parse_hops(&r, t) || !parse_verdict(&r, t))
                return -EINVAL;
        return 0;
}

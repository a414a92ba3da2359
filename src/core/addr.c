/* addr: comparing and writing peer addresses. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int addr_from_string(struct addr *a, const char *ip, uint16_t port)
{
        memset(a, 0, sizeof(*a));
        if (inet_pton(AF_INET, ip, &a->in.sin_addr) == 1) {
                a->in.sin_family = AF_INET;
                a->in.sin_port = htons(port);
                a->len = sizeof(a->in);
                return 0;
        }
        if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
                a->in6.sin6_family = AF_INET6;
                a->in6.sin6_port = htons(port);
                a->len = sizeof(a->in6);
                return 0;
        }
        return -EINVAL;
}

uint16_t addr_port(const struct addr *a)
{
        return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

/* The IPv4 address inside a (plain or mapped), or false. */
static bool as_ipv4(const struct addr *a, struct in_addr *out)
{
        if (a->sa.sa_family == AF_INET) {
                *out = a->in.sin_addr;
                return true;
        }
        if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
                memcpy(out, a->in6.sin6_addr.s6_addr + 12, sizeof(*out));
                return true;
        }
        return false;
}

bool addr_is_ipv4(const struct addr *a)
{
        struct in_addr v4;

        return as_ipv4(a, &v4);
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
        struct in_addr x = { 0 }, y = { 0 };
        bool xv4 = as_ipv4(a, &x), yv4 = as_ipv4(b, &y);

        if (addr_port(a) != addr_port(b) || xv4 != yv4)
                return false;
        if (xv4)
                return x.s_addr == y.s_addr;
        return a->sa.sa_family == AF_INET6 && b->sa.sa_family == AF_INET6 &&
               memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) == 0 &&
               a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

const char *addr_format(const struct addr *a, char buf[static ADDR_STRLEN])
{
        char ip[INET6_ADDRSTRLEN];
        struct in_addr v4;

        if (as_ipv4(a, &v4)) {
                /* the common case, by hand: this runs for every packet logged */
                uint32_t ip4 = ntohl(v4.s_addr);
                uint16_t port = addr_port(a);
                char *p = buf;

                for (int i = 0; i < 4; i++) {
                        unsigned b = ip4 >> (24 - 8 * i) & 0xff;

                        if (b >= 100)
                                *p++ = (char)('0' + b / 100);
                        if (b >= 10)
                                *p++ = (char)('0' + b / 10 % 10);
                        *p++ = (char)('0' + b % 10);
                        *p++ = i < 3 ? '.' : ':';
                }
                for (uint16_t div = 10000; div > 0; div /= 10)
                        if (port >= div || div == 1)
                                *p++ = (char)('0' + port / div % 10);
                *p = '\0';
        } else if (a->sa.sa_family == AF_INET6) {
                inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
                snprintf(buf, ADDR_STRLEN, "[%s]:%u", ip, addr_port(a));
        } else {
                snprintf(buf, ADDR_STRLEN, "(unknown)");
        }
        return buf;
}

/* addr: a UDP peer address (IPv4 or IPv6), compared and written the way the
 * logs show it: 203.0.113.9:5000, [2001:db8::1]:5000. An IPv4-mapped IPv6
 * address (a dual-stack server's view of an IPv4 client) counts and prints as
 * the IPv4 address. */
#pragma once

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* "[" + INET6_ADDRSTRLEN + "]:" + 5 digits */
#define ADDR_STRLEN (INET6_ADDRSTRLEN + 8)

/* Only IPv4 and IPv6, so no sockaddr_storage: a client table entry stays small. */
struct addr {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        };
        socklen_t len;
};

/* Makes an address from a numeric IPv4 or IPv6 text and a port; -EINVAL
 * when the text is neither. */
int addr_from_string(struct addr *a, const char *ip, uint16_t port);

uint16_t addr_port(const struct addr *a);
/* IPv4, plain or mapped: what the address's packets travel over. */
bool addr_is_ipv4(const struct addr *a);
bool addr_equal(const struct addr *a, const struct addr *b);
const char *addr_format(const struct addr *a, char buf[static ADDR_STRLEN]);

/* udp: the socket side of the daemons. Resolving a host, opening a
 * non-blocking UDP socket, sending sealed messages (queued and sent with one
 * sendmmsg), receiving datagrams (a batch with one recvmmsg). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "core/addr.h"
#include "core/message.h"
#include "core/seal.h"

/* Resolves host (IPv4, IPv6 or a name) to one address, of family
 * (AF_INET, AF_INET6, or 0 for either). passive: for binding. Returns 0, or -EADDRNOTAVAIL with the resolver's words in err. */
int udp_resolve(const char *host, uint16_t port, bool passive, int family, struct addr *out, char *err,
                size_t errlen);

/* The receive buffer udp_open asks for (the kernel caps it at
 * net.core.rmem_max): room for thousands of datagrams, so that a burst or a
 * moment off the CPU does not drop what the logs would then show as
 * network loss. */
#define UDP_RCVBUF (4 << 20)

/* Opens a non-blocking, close-on-exec UDP socket of a's family and binds it
 * to a (bind: false leaves it unbound). An IPv6 socket bound to :: serves
 * IPv4 too. A bound socket reports the address each datagram was sent to
 * (IP_PKTINFO, IPV6_RECVPKTINFO), so that a server on a host with several
 * addresses answers from the one the client aimed at, as WireGuard does.
 * Returns the fd or a negative errno. */
int udp_open(const struct addr *a, bool bind_it);

/* Bytes of our payload an ICMP error's quote is kept for (a trace copy's
 * IV is 16). */
#define UDP_QUOTE_MAX 64

/* One ICMP error from the socket's queue. */
struct udp_error {
        bool port_unreachable; /* ICMP(v6) port unreachable */
        bool time_exceeded;    /* ICMP(v6) time exceeded in transit (a TTL ran out) */
        struct addr offender;  /* who sent it (SO_EE_OFFENDER); AF_UNSPEC: not told */
        struct addr dest;      /* where the datagram it is about was going, with the port */
        uint8_t quoted[UDP_QUOTE_MAX]; /* what it quotes of that datagram's payload */
        size_t quoted_len;
};

/* Empties the socket's queue of ICMP errors (a client's socket asks for
 * them), which would otherwise keep the socket readable for ever; 64 at
 * most a call, so that a flood of them cannot hold the loop. Each error
 * from ICMP goes to each(arg, error) when each is not NULL. Returns how
 * many said "port unreachable". */
unsigned udp_drain_errors(int fd, void (*each)(void *arg, const struct udp_error *e), void *arg);

/* Seals msg and sends it alone to `to` with the TTL (IPv4) or hop limit
 * (IPv6) ttl set on this datagram only (ancillary data: the socket's own
 * setting, which the other datagrams use, stays). head gets the packet's
 * first head_len bytes (its IV first), to know the datagram again in an
 * ICMP error's quote. Returns 0 or a negative errno. */
int udp_send_ttl(int fd, const struct seal_key *key, struct seal_ivs *ivs, const struct message *msg,
                 const struct addr *to, int ttl, uint8_t *head, size_t head_len);

/* How many datagrams the kernel has dropped on this socket since it was
 * opened because its receive buffer was full. Returns 0 or a negative errno. */
int udp_drops(int fd, uint64_t *drops);

/* The address the socket is bound to. */
int udp_local(int fd, struct addr *out);

/* The local end of a datagram: the address it was sent to, which its
 * answer must come from. family 0: not known (the kernel chooses). */
struct udp_local {
        int family; /* AF_INET: v4; AF_INET6: v6 (an IPv4 one mapped, on a dual-stack socket) */
        struct in_addr v4;
        struct in6_addr v6;
        int ifindex; /* the interface it came in on: needed for a link-local v6 address */
};

/* Sealed datagrams waiting to go out together in one sendmmsg call. */
#define UDP_OUT_MAX 64
struct udp_out {
        uint8_t buf[UDP_OUT_MAX][SEAL_MAX_PACKET];
        size_t len[UDP_OUT_MAX];
        struct addr to[UDP_OUT_MAX];
        struct udp_local from[UDP_OUT_MAX];
        int err[UDP_OUT_MAX]; /* after udp_out_send: 0, or why it was not sent */
        size_t n;
};

/* Seals msg with a fresh random IV into the next free slot, to go from the
 * local address `from` (NULL: the kernel's choice). Returns 0, -ENOBUFS
 * when all slots are taken (send them first), or the error of sealing. */
int udp_out_add(struct udp_out *o, const struct seal_key *key, struct seal_ivs *ivs,
                const struct message *msg, const struct addr *to, const struct udp_local *from);

/* Sends every queued datagram, sets err[] for each, and empties the queue
 * (n is 0 after). Returns how many were not sent. */
size_t udp_out_send(int fd, struct udp_out *o);

/* Datagrams received in one recvmmsg call. Each buffer holds one byte more
 * than the longest packet, so that a longer one shows as too long. */
#define UDP_BATCH 64
struct udp_batch {
        uint8_t buf[UDP_BATCH][SEAL_MAX_PACKET + 1];
        struct addr from[UDP_BATCH];
        struct udp_local to[UDP_BATCH]; /* where each was sent (family 0: not known) */
        size_t len[UDP_BATCH];
};

/* Receives up to UDP_BATCH datagrams. Returns how many, -EAGAIN when there
 * are none, or another negative errno. */
int udp_recv_batch(int fd, struct udp_batch *b);


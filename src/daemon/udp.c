/* udp: sockets and name resolution for the daemons (see udp.h). */
#include "daemon/udp.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/errqueue.h>
#include <linux/sock_diag.h> /* SK_MEMINFO_DROPS */

#include <sodium.h>

int udp_resolve(const char *host, uint16_t port, bool passive, int family, struct addr *out, char *err,
                size_t errlen)
{
        struct addrinfo hints = {
                .ai_family = family ? family : AF_UNSPEC,
                .ai_socktype = SOCK_DGRAM,
                .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
        };
        struct addrinfo *res = NULL;
        char service[8];
        int r;

        snprintf(service, sizeof(service), "%u", port);
        r = getaddrinfo(host, service, &hints, &res);
        if (r != 0) {
                snprintf(err, errlen, "%s", r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
                return -EADDRNOTAVAIL;
        }
        memset(out, 0, sizeof(*out));
        if (res->ai_addrlen > sizeof(out->in6)) { /* not IPv4 or IPv6: cannot happen for UDP */
                freeaddrinfo(res);
                snprintf(err, errlen, "not an IP address");
                return -EADDRNOTAVAIL;
        }
        memcpy(&out->in6, res->ai_addr, res->ai_addrlen);
        out->len = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
}

/* Asks for each datagram's local address. On an IPv6 socket the IPv4
 * datagrams come with it too, as a mapped address. */
static int want_pktinfo(int fd, int family)
{
        int on = 1;

        if (family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on))
                               : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)))
                return -errno;
        return 0;
}

/* A client wants to hear of ICMP errors (a closed port at the server): an
 * unconnected UDP socket is told of them only with IP_RECVERR. */
static int want_errors(int fd, int family)
{
        int on = 1;
        int r = family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on))
                                   : setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));

        return r < 0 ? -errno : 0;
}

/* An ICMP error's kind (v4 or v6) from its extended error. */
static void error_kind(const struct sock_extended_err *e, struct udp_error *out)
{
        bool v4 = e->ee_origin == SO_EE_ORIGIN_ICMP, v6 = e->ee_origin == SO_EE_ORIGIN_ICMP6;

        out->port_unreachable = (v4 && e->ee_type == 3 && e->ee_code == 3) || (v6 && e->ee_type == 1 && e->ee_code == 4);
        out->time_exceeded = (v4 && e->ee_type == 11) || (v6 && e->ee_type == 3);
}

/* The address that follows the extended error in its control message, if
 * the kernel put one there and it fits. */
static void offender(const struct cmsghdr *h, struct udp_error *out)
{
        size_t room = h->cmsg_len - CMSG_LEN(0);
        struct sockaddr_storage sa;
        size_t have;

        memset(&out->offender, 0, sizeof(out->offender));
        if (room <= sizeof(struct sock_extended_err))
                return;
        have = room - sizeof(struct sock_extended_err);
        memset(&sa, 0, sizeof(sa));
        memcpy(&sa, CMSG_DATA(h) + sizeof(struct sock_extended_err), have < sizeof(sa) ? have : sizeof(sa));
        if (sa.ss_family == AF_INET && have >= sizeof(struct sockaddr_in)) {
                memcpy(&out->offender.in, &sa, sizeof(struct sockaddr_in));
                out->offender.len = sizeof(struct sockaddr_in);
        } else if (sa.ss_family == AF_INET6 && have >= sizeof(struct sockaddr_in6)) {
                memcpy(&out->offender.in6, &sa, sizeof(struct sockaddr_in6));
                out->offender.len = sizeof(struct sockaddr_in6);
        }
}

/* The ICMP error in a message read from the error queue. Returns true when
 * there was one (not a local error, not another control message). */
static bool read_error(struct msghdr *m, struct udp_error *out)
{
        for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
                struct sock_extended_err e;

                if (!((h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_RECVERR) ||
                      (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_RECVERR)) ||
                    h->cmsg_len < CMSG_LEN(sizeof(e)))
                        continue;
                memcpy(&e, CMSG_DATA(h), sizeof(e));
                if (e.ee_origin != SO_EE_ORIGIN_ICMP && e.ee_origin != SO_EE_ORIGIN_ICMP6)
                        continue;
                error_kind(&e, out);
                offender(h, out);
                return true;
        }
        return false;
}

unsigned udp_drain_errors(int fd, void (*each)(void *arg, const struct udp_error *e), void *arg)
{
        _Alignas(struct cmsghdr) char control[512];
        struct udp_error e;
        unsigned closed = 0;

        /* bounded: a flood of forged ICMP errors cannot hold the loop */
        for (unsigned i = 0; i < 64; i++) {
                struct iovec iov = { e.quoted, sizeof(e.quoted) };
                struct msghdr m = { .msg_name = &e.dest.in6, .msg_namelen = sizeof(e.dest.in6), .msg_iov = &iov,
                                    .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
                ssize_t n;

                memset(control, 0, sizeof(control));
                memset(&e.dest, 0, sizeof(e.dest));
                n = recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
                if (n < 0)
                        break;
                if (!read_error(&m, &e))
                        continue;
                e.dest.len = m.msg_namelen;
                e.quoted_len = (size_t)n; /* a longer quote is cut (MSG_TRUNC): its start is what counts */
                closed += e.port_unreachable;
                if (each)
                        each(arg, &e);
        }
        return closed;
}

int udp_open(const struct addr *a, bool bind_it)
{
        int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int off = 0, rcvbuf = UDP_RCVBUF, r = 0;

        if (fd < 0)
                return -errno;
        /* best effort: a smaller buffer still works, and drops are counted */
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr) &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
                r = -errno;
        if (r == 0 && bind_it && bind(fd, &a->sa, a->len) < 0)
                r = -errno;
        if (r == 0 && bind_it)
                r = want_pktinfo(fd, a->sa.sa_family);
        if (r == 0 && !bind_it)
                r = want_errors(fd, a->sa.sa_family);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int udp_drops(int fd, uint64_t *drops)
{
        uint32_t mem[SK_MEMINFO_VARS];
        socklen_t len = sizeof(mem);

        if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
                return -errno;
        if (len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
                return -EOPNOTSUPP; /* a kernel older than the drop count (4.14) */
        *drops = mem[SK_MEMINFO_DROPS];
        return 0;
}

int udp_local(int fd, struct addr *out)
{
        memset(out, 0, sizeof(*out));
        out->len = sizeof(out->in6);
        return getsockname(fd, &out->sa, &out->len) < 0 ? -errno : 0;
}

/* The message's JSON text, sealed with a fresh IV. Returns the packet's
 * length or a negative errno. */
static int seal_message(const struct seal_key *key, struct seal_ivs *ivs, const struct message *msg,
                        uint8_t packet[static SEAL_MAX_PACKET])
{
        uint8_t iv[SEAL_IV_LEN];
        char text[MESSAGE_TEXT_MAX];
        ssize_t n = message_to_json(msg, text, sizeof(text));

        if (n < 0)
                return (int)n;
        seal_ivs_next(ivs, iv);
        return seal_seal(key, iv, (const uint8_t *)text, (size_t)n, packet, SEAL_MAX_PACKET);
}

int udp_out_add(struct udp_out *o, const struct seal_key *key, struct seal_ivs *ivs,
                const struct message *msg, const struct addr *to, const struct udp_local *from)
{
        int len;

        if (o->n == UDP_OUT_MAX)
                return -ENOBUFS;
        len = seal_message(key, ivs, msg, o->buf[o->n]);
        if (len < 0)
                return len;
        o->len[o->n] = (size_t)len;
        o->to[o->n] = *to;
        if (from)
                o->from[o->n] = *from;
        else
                o->from[o->n].family = 0;
        o->n++;
        return 0;
}

/* Room for one packet-info control message, either family. */
struct udp_cmsg {
        _Alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/* The control message that makes a datagram leave from `from`: its length
 * in the buffer, or 0 when the kernel is to choose. */
static size_t pktinfo_out(const struct udp_local *from, struct udp_cmsg *c)
{
        struct cmsghdr *h = (struct cmsghdr *)c->buf;

        memset(c, 0, sizeof(*c));
        if (from->family == AF_INET) {
                struct in_pktinfo pi = { .ipi_spec_dst = from->v4 };

                h->cmsg_level = IPPROTO_IP;
                h->cmsg_type = IP_PKTINFO;
                h->cmsg_len = CMSG_LEN(sizeof(pi));
                memcpy(CMSG_DATA(h), &pi, sizeof(pi));
                return CMSG_SPACE(sizeof(pi));
        }
        if (from->family == AF_INET6) {
                /* the interface only where the address needs one */
                struct in6_pktinfo pi = { .ipi6_addr = from->v6,
                                          .ipi6_ifindex = IN6_IS_ADDR_LINKLOCAL(&from->v6)
                                                                  ? (unsigned)from->ifindex : 0 };

                h->cmsg_level = IPPROTO_IPV6;
                h->cmsg_type = IPV6_PKTINFO;
                h->cmsg_len = CMSG_LEN(sizeof(pi));
                memcpy(CMSG_DATA(h), &pi, sizeof(pi));
                return CMSG_SPACE(sizeof(pi));
        }
        return 0;
}

/* The local address from a received datagram's control messages. */
static void pktinfo_in(struct msghdr *m, struct udp_local *to)
{
        to->family = 0;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
                if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_PKTINFO) {
                        struct in_pktinfo pi;

                        memcpy(&pi, CMSG_DATA(h), sizeof(pi));
                        to->family = AF_INET;
                        /* the local address the kernel would answer from (the
                         * interface's, for a subnet broadcast), not the
                         * destination header's */
                        to->v4 = pi.ipi_spec_dst;
                        to->ifindex = pi.ipi_ifindex;
                } else if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_PKTINFO) {
                        struct in6_pktinfo pi;

                        memcpy(&pi, CMSG_DATA(h), sizeof(pi));
                        to->family = AF_INET6;
                        to->v6 = pi.ipi6_addr;
                        to->ifindex = (int)pi.ipi6_ifindex;
                }
        }
        /* a broadcast or multicast destination cannot be a source */
        if ((to->family == AF_INET && (IN_MULTICAST(ntohl(to->v4.s_addr)) ||
                                       to->v4.s_addr == htonl(INADDR_BROADCAST))) ||
            (to->family == AF_INET6 && IN6_IS_ADDR_MULTICAST(&to->v6)))
                to->family = 0;
}

int udp_send_ttl(int fd, const struct seal_key *key, struct seal_ivs *ivs, const struct message *msg,
                 const struct addr *to, int ttl, uint8_t *head, size_t head_len)
{
        uint8_t packet[SEAL_MAX_PACKET];
        _Alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        struct cmsghdr *h = (struct cmsghdr *)control;
        int len = seal_message(key, ivs, msg, packet);
        struct iovec iov;
        struct msghdr m;
        ssize_t r;

        if (len < 0)
                return len;
        memset(control, 0, sizeof(control));
        /* an IPv6 socket's IPv4 destination is a mapped address: IPv4's TTL */
        if (to->sa.sa_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&to->in6.sin6_addr)) {
                h->cmsg_level = IPPROTO_IPV6;
                h->cmsg_type = IPV6_HOPLIMIT;
        } else {
                h->cmsg_level = IPPROTO_IP;
                h->cmsg_type = IP_TTL;
        }
        h->cmsg_len = CMSG_LEN(sizeof(ttl));
        memcpy(CMSG_DATA(h), &ttl, sizeof(ttl));
        iov = (struct iovec){ packet, (size_t)len };
        /* An ICMP error for an earlier datagram (a hop's answer, the port
         * closed) is also left pending on the socket, and the next send
         * would fail with it instead of sending: taken off first. Its
         * account stays in the error queue for udp_drain_errors. */
        (void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &(int){ 0 }, &(socklen_t){ sizeof(int) });
        m = (struct msghdr){ .msg_name = (void *)&to->sa, .msg_namelen = to->len, .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = control, .msg_controllen = sizeof(control) };
        do
                r = sendmsg(fd, &m, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        memcpy(head, packet, head_len < (size_t)len ? head_len : (size_t)len);
        return 0;
}

size_t udp_out_send(int fd, struct udp_out *o)
{
        struct mmsghdr msgs[UDP_OUT_MAX];
        struct iovec iov[UDP_OUT_MAX];
        struct udp_cmsg cmsg[UDP_OUT_MAX];
        size_t failed = 0, done = 0;

        for (size_t i = 0; i < o->n; i++) {
                size_t clen = pktinfo_out(&o->from[i], &cmsg[i]);

                iov[i] = (struct iovec){ o->buf[i], o->len[i] };
                msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &o->to[i].sa,
                                                         .msg_namelen = o->to[i].len,
                                                         .msg_iov = &iov[i],
                                                         .msg_iovlen = 1,
                                                         .msg_control = clen ? cmsg[i].buf : NULL,
                                                         .msg_controllen = clen } };
                o->err[i] = 0;
        }
        /* sendmmsg stops at the first datagram it cannot send: note that one
         * and go on with the rest. */
        while (done < o->n) {
                int r = sendmmsg(fd, msgs + done, (unsigned)(o->n - done), 0);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        o->err[done++] = r < 0 ? -errno : -EIO;
                        failed++;
                } else {
                        done += (size_t)r;
                }
        }
        o->n = 0;
        return failed;
}

int udp_recv_batch(int fd, struct udp_batch *b)
{
        struct mmsghdr msgs[UDP_BATCH];
        struct iovec iov[UDP_BATCH];
        struct udp_cmsg cmsg[UDP_BATCH];
        int n;

        memset(cmsg, 0, sizeof(cmsg)); /* the kernel fills them; 2.5 KiB, cheap next to the datagrams */
        for (int i = 0; i < UDP_BATCH; i++) {
                iov[i] = (struct iovec){ b->buf[i], sizeof(b->buf[i]) };
                memset(&b->from[i], 0, sizeof(b->from[i]));
                msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &b->from[i].in6,
                                                         .msg_namelen = sizeof(b->from[i].in6),
                                                         .msg_iov = &iov[i],
                                                         .msg_iovlen = 1,
                                                         .msg_control = cmsg[i].buf,
                                                         .msg_controllen = sizeof(cmsg[i].buf) } };
        }
        do
                n = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        for (int i = 0; i < n; i++) {
                b->from[i].len = msgs[i].msg_hdr.msg_namelen;
                b->len[i] = msgs[i].msg_len;
                pktinfo_in(&msgs[i].msg_hdr, &b->to[i]);
        }
        return n;
}

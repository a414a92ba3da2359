/* Unit test: the outgoing queue (udp_out) on real sockets on 127.0.0.1.
 * Every queued datagram arrives sealed with the key, and one
 * that cannot be sent is reported without stopping the rest. And the socket
 * side of overload: the receive buffer asked for, and the drop count. A
 * trace's copy with its own TTL, and the ICMP errors read back. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "daemon/udp.h"

static void test_queue(void)
{
        static struct udp_out out;
        static struct udp_batch in;
        static const uint8_t raw_key[SEAL_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        struct seal_key key;
        struct seal_ivs ivs = { .used = 0 };
        struct addr any, rx_addr, nowhere;
        struct message m, got;
        char err[128];
        int tx, rx, n;
        const char *why;

        CHECK_INT(seal_key_init(&key, raw_key, AES128_IMPL_AUTO), 0);
        CHECK_INT(udp_resolve("127.0.0.1", 0, true, 0, &any, err, sizeof(err)), 0);
        tx = udp_open(&any, true);
        rx = udp_open(&any, true);
        CHECK(tx >= 0 && rx >= 0);
        CHECK_INT(udp_local(rx, &rx_addr), 0);
        nowhere = rx_addr;
        nowhere.in.sin_port = 0; /* the kernel refuses port 0: EINVAL */

        for (int i = 0; i < UDP_OUT_MAX; i++) {
                CHECK_INT(message_init(&m, MESSAGE_HANDSHAKE_RESPONSE, "q", 1, (uint64_t)i, 0), 0);
                CHECK_INT(udp_out_add(&out, &key, &ivs, &m, i == 1 ? &nowhere : &rx_addr, NULL), 0);
        }
        CHECK_INT(udp_out_add(&out, &key, &ivs, &m, &rx_addr, NULL), -ENOBUFS);
        CHECK_INT(udp_out_send(tx, &out), 1);
        CHECK_INT(out.n, 0);
        CHECK_INT(out.err[0], 0);
        CHECK_INT(out.err[1], -EINVAL);
        CHECK_INT(out.err[2], 0);

        n = udp_recv_batch(rx, &in);
        CHECK_INT(n, UDP_OUT_MAX - 1);
        for (int i = 0; i < n; i++) {
                CHECK_INT(seal_open_message(&key, in.buf[i], in.len[i], &got, &why), 0);
                CHECK_INT(got.data[0], i == 0 ? 0 : i + 1);
                CHECK_INT(got.type, MESSAGE_HANDSHAKE_RESPONSE);
        }
        CHECK_INT(udp_out_send(tx, &out), 0); /* an empty queue sends nothing */
        CHECK_INT(udp_recv_batch(rx, &in), -EAGAIN);
        seal_key_wipe(&key);
        close(tx);
        close(rx);
}

/* A socket bound to the wildcard learns where each datagram was sent, and
 * an answer given that address leaves from it, not from the kernel's
 * choice: 127.0.0.2 (all of 127/8 is local) answers as 127.0.0.2. Both
 * families of socket: an IPv6 one on :: sees the IPv4 address mapped.
 * Where no IPv6 socket can be had (a kernel or container without IPv6) that
 * case is skipped, the others run, and the test exits 77 if they passed. */
static void test_answer_from_destination(const char *wildcard)
{
        static struct udp_out out;
        static struct udp_batch in;
        static const uint8_t raw_key[SEAL_KEY_LEN] = { 1 };
        struct seal_key key;
        struct seal_ivs ivs = { .used = 0 };
        struct addr any, lo, server, client, seen;
        struct message m;
        char err[128], text[ADDR_STRLEN];
        int srv, cli;

        CHECK_INT(seal_key_init(&key, raw_key, AES128_IMPL_AUTO), 0);
        CHECK_INT(udp_resolve(wildcard, 0, true, 0, &any, err, sizeof(err)), 0);
        CHECK_INT(udp_resolve("127.0.0.1", 0, true, 0, &lo, err, sizeof(err)), 0);
        srv = udp_open(&any, true);
        cli = udp_open(&lo, true);
        if (srv < 0 && strchr(wildcard, ':')) {
                check_skip("the IPv6 case: no UDP socket can be bound to :: here");
                close(cli);
                seal_key_wipe(&key);
                return;
        }
        CHECK(srv >= 0 && cli >= 0);
        CHECK_INT(udp_local(srv, &server), 0);
        CHECK_INT(udp_local(cli, &client), 0);
        CHECK_INT(addr_from_string(&server, "127.0.0.2", addr_port(&server)), 0);
        CHECK_INT(message_init(&m, MESSAGE_HANDSHAKE_INIT, "q", 1, 1, 0), 0);
        CHECK_INT(udp_out_add(&out, &key, &ivs, &m, &server, NULL), 0);
        CHECK_INT(udp_out_send(cli, &out), 0);
        usleep(10000);
        CHECK_INT(udp_recv_batch(srv, &in), 1);
        CHECK(in.to[0].family != 0);
        CHECK_INT(udp_out_add(&out, &key, &ivs, &m, &in.from[0], &in.to[0]), 0);
        CHECK_INT(udp_out_send(srv, &out), 0);
        usleep(10000);
        CHECK_INT(udp_recv_batch(cli, &in), 1);
        seen = in.from[0];
        CHECK_STR(addr_format(&seen, text), addr_format(&server, err));
        seal_key_wipe(&key);
        close(srv);
        close(cli);
}

static long rmem_max(void)
{
        FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
        long v = -1;

        if (!f || fscanf(f, "%ld", &v) != 1)
                v = -1;
        if (f)
                fclose(f);
        CHECK(v > 0);
        return v;
}

static void test_drops(void)
{
        static const uint8_t junk[64];
        struct addr any, rx_addr;
        char err[128];
        int tx, rx, small = 4096, got = 0;
        socklen_t len = sizeof(got);
        uint64_t drops = 1;

        CHECK_INT(udp_resolve("127.0.0.1", 0, true, 0, &any, err, sizeof(err)), 0);
        tx = udp_open(&any, true);
        rx = udp_open(&any, true);
        CHECK(tx >= 0 && rx >= 0);
        /* what was asked for, or the system's cap (Linux reports twice the size) */
        CHECK_INT(getsockopt(rx, SOL_SOCKET, SO_RCVBUF, &got, &len), 0);
        CHECK_INT(got, 2 * (rmem_max() < UDP_RCVBUF ? rmem_max() : UDP_RCVBUF));
        CHECK_INT(udp_drops(rx, &drops), 0);
        CHECK_INT(drops, 0);

        /* a full buffer: the kernel drops the rest, and says how many */
        CHECK_INT(setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        CHECK_INT(udp_local(rx, &rx_addr), 0);
        for (int i = 0; i < 200; i++)
                CHECK_INT(sendto(tx, junk, sizeof(junk), 0, &rx_addr.sa, rx_addr.len), (long)sizeof(junk));
        CHECK_INT(udp_drops(rx, &drops), 0);
        CHECK(drops > 100 && drops < 200);
        CHECK_INT(udp_drops(-1, &drops), -EBADF);
        close(tx);
        close(rx);
}

/* The TTL (hop limit) a datagram arrived with; -1 when not told. */
static int received_ttl(int fd, uint8_t *buf, size_t cap)
{
        _Alignas(struct cmsghdr) char control[64];
        struct iovec iov = { buf, cap };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = sizeof(control) };
        int ttl = -1;

        if (recvmsg(fd, &m, MSG_DONTWAIT) < 0)
                return -1;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
                if ((h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_TTL) ||
                    (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_HOPLIMIT))
                        memcpy(&ttl, CMSG_DATA(h), sizeof(ttl));
        return ttl;
}

struct seen_errors {
        struct udp_error e[4];
        size_t n;
};

static void keep_error(void *arg, const struct udp_error *e)
{
        struct seen_errors *s = arg;

        if (s->n < 4)
                s->e[s->n++] = *e;
}

/* A trace's copy carries the TTL given for it alone: the next datagram
 * leaves with the socket's own. A copy to a closed port comes back from
 * the error queue as ICMP port unreachable: the sender, where it was going
 * and the quote of its first bytes, which udp_send_ttl handed back. */
static void test_ttl_and_errors(const char *ip)
{
        static const uint8_t raw_key[SEAL_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        struct seal_key key;
        struct seal_ivs ivs = { .used = 0 };
        struct addr any, rx_addr, closed;
        struct seen_errors seen = { .n = 0 };
        struct message m;
        uint8_t head[16], buf[SEAL_MAX_PACKET];
        char err[128];
        int tx, rx, on = 1, v6 = strchr(ip, ':') != NULL, family = v6 ? AF_INET6 : AF_INET;

        CHECK_INT(seal_key_init(&key, raw_key, AES128_IMPL_AUTO), 0);
        CHECK_INT(udp_resolve(ip, 0, true, family, &any, err, sizeof(err)), 0);
        tx = udp_open(&any, false); /* a client's socket: it asks for errors */
        rx = udp_open(&any, true);
        CHECK(tx >= 0 && rx >= 0);
        CHECK_INT(v6 ? setsockopt(rx, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on))
                     : setsockopt(rx, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on)), 0);
        CHECK_INT(udp_local(rx, &rx_addr), 0);
        CHECK_INT(message_init(&m, MESSAGE_TRACE, "home", 4, 1732673219, 3), 0);
        CHECK_INT(udp_send_ttl(tx, &key, &ivs, &m, &rx_addr, 3, head, sizeof(head)), 0);
        usleep(10000);
        CHECK_INT(received_ttl(rx, buf, sizeof(buf)), 3);
        CHECK_MEM(buf, head, sizeof(head));
        CHECK_INT(sendto(tx, "x", 1, 0, &rx_addr.sa, rx_addr.len), 1);
        usleep(10000);
        CHECK(received_ttl(rx, buf, sizeof(buf)) > 3); /* the socket's own, untouched */

        closed = rx_addr;
        close(rx); /* its port now closed: the kernel answers ICMP port unreachable */
        /* an earlier datagram's error, pending, does not stop the copy */
        CHECK_INT(sendto(tx, "x", 1, 0, &closed.sa, closed.len), 1);
        usleep(10000);
        CHECK_INT(udp_send_ttl(tx, &key, &ivs, &m, &closed, 5, head, sizeof(head)), 0);
        usleep(10000);
        CHECK_INT(udp_drain_errors(tx, keep_error, &seen), 2);
        CHECK_INT(seen.n, 2);
        CHECK_INT(seen.e[0].quoted_len, 1);
        if (seen.n == 2) {
                const struct udp_error *e = &seen.e[1];

                CHECK(e->port_unreachable && !e->time_exceeded);
                CHECK_INT(e->offender.sa.sa_family, family);
                CHECK(addr_equal(&e->dest, &closed));
                CHECK(e->quoted_len >= sizeof(head));
                CHECK_MEM(e->quoted, head, sizeof(head));
        }
        CHECK_INT(udp_drain_errors(tx, keep_error, &seen), 0); /* emptied */
        seal_key_wipe(&key);
        close(tx);
}

int main(void)
{
        test_queue();
        test_answer_from_destination("0.0.0.0");
        test_answer_from_destination("::");
        test_drops();
        test_ttl_and_errors("127.0.0.1");
        test_ttl_and_errors("::1");
        return check_finish("udp");
}

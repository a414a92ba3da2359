/* Unit test: the outgoing queue (udp_out) on real sockets on 127.0.0.1.
 * Every queued datagram arrives sealed as udp_send would seal it, and one
 * that cannot be sent is reported without stopping the rest. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "udp.h"

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

        CHECK_INT(seal_key_init(&key, raw_key, AES128_IMPL_AUTO, HMAC_IMPL_AUTO), 0);
        CHECK_INT(udp_resolve("127.0.0.1", 0, true, &any, err, sizeof(err)), 0);
        tx = udp_open(&any, true);
        rx = udp_open(&any, true);
        CHECK(tx >= 0 && rx >= 0);
        CHECK_INT(udp_local(rx, &rx_addr), 0);
        nowhere = rx_addr;
        nowhere.in.sin_port = 0; /* the kernel refuses port 0: EINVAL */

        for (int i = 0; i < UDP_OUT_MAX; i++) {
                CHECK_INT(message_init(&m, MESSAGE_HANDSHAKE_RESPONSE, "q", 1, (uint64_t)i, 0), 0);
                CHECK_INT(udp_out_add(&out, &key, &ivs, &m, i == 1 ? &nowhere : &rx_addr), 0);
        }
        CHECK_INT(udp_out_add(&out, &key, &ivs, &m, &rx_addr), -ENOBUFS);
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

int main(void)
{
        test_queue();
        return check_finish("udp");
}

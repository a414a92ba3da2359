/* loadgen: plays many clients against a running udp-canary server with
 * packets sealed in advance, sent and received in batches (sendmmsg,
 * recvmmsg), paced to a rate. Prints one line of key=value results.
 *
 *   loadgen storm PORT KEYFILE RATE SECONDS [CLIENTS]   inits, answered
 *   loadgen keepalive PORT KEYFILE RATE SECONDS          keepalives, never answered
 *   loadgen table PORT KEYFILE CLIENTS                   one init per distinct client
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "daemon/key.h"
#include "core/message.h"
#include "core/seal.h"
#include "../peer.h"

#define BATCH 64

struct packet {
        uint16_t len;
        uint8_t data[256];
};

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sealed as the tests' peer seals (tests/peer.h). */
static void seal_one(const struct seal_key *k, struct packet *p, enum message_type type, const char *id,
                     uint64_t d0, uint64_t d1)
{
        p->len = (uint16_t)peer_seal(k, type, id, d0, d1, p->data, sizeof(p->data));
}

static long drain(int fd)
{
        static uint8_t bufs[BATCH][512];
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH];
        long got = 0;
        int n;

        do {
                for (int i = 0; i < BATCH; i++) {
                        iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
                        msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
                }
                n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
                if (n > 0)
                        got += n;
        } while (n == BATCH);
        return got;
}

/* Sends the packets at rate per second; returns replies counted. */
static long blast(int fd, const struct packet *pkts, size_t count, double rate, double *took)
{
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH];
        double start = now_s();
        size_t sent = 0;
        long replies = 0;

        while (sent < count) {
                double due = (now_s() - start) * rate;
                size_t n = 0;

                while (sent + n < count && n < BATCH && (double)(sent + n) < due) {
                        iov[n] = (struct iovec){ (void *)pkts[sent + n].data, pkts[sent + n].len };
                        msgs[n] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[n], .msg_iovlen = 1 } };
                        n++;
                }
                if (n > 0) {
                        int r = sendmmsg(fd, msgs, (unsigned)n, 0);

                        if (r > 0)
                                sent += (size_t)r;
                }
                replies += drain(fd);
                if (n == 0) {
                        struct timespec ts = { 0, 50000 };

                        nanosleep(&ts, NULL);
                }
        }
        *took = now_s() - start;
        for (double end = now_s() + 0.5; now_s() < end;) { /* the last replies */
                struct timespec ts = { 0, 1000000 };

                replies += drain(fd);
                nanosleep(&ts, NULL);
        }
        return replies;
}

int main(int argc, char **argv)
{
        uint8_t key[KEY_LEN];
        struct seal_key sk;
        struct sockaddr_in to = { .sin_family = AF_INET };
        struct packet *pkts;
        size_t count = 0, clients;
        double rate, seconds, took;
        int fd, size = 8 << 20;
        long replies;
        char id[64];

        if (argc < 5 || sodium_init() < 0 || key_read_file(argv[3], false, key) < 0 ||
            seal_key_init(&sk, key, AES128_IMPL_AUTO) < 0) {
                fprintf(stderr, "usage: loadgen storm|keepalive|table PORT KEYFILE ...\n");
                return 2;
        }
        to.sin_port = htons((uint16_t)atoi(argv[2]));
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
                perror("loadgen");
                return 1;
        }
        if (strcmp(argv[1], "table") == 0) {
                clients = (size_t)atol(argv[4]);
                rate = 50000;
                pkts = calloc(clients, sizeof(*pkts));
                for (size_t c = 0; c < clients; c++) {
                        snprintf(id, sizeof(id), "table-%zu", c);
                        seal_one(&sk, &pkts[count++], MESSAGE_HANDSHAKE_INIT, id, 1, 0);
                }
        } else if (argc >= 6) {
                bool storm = strcmp(argv[1], "storm") == 0;
                size_t rounds;

                rate = atof(argv[4]);
                seconds = atof(argv[5]);
                clients = argc > 6 ? (size_t)atol(argv[6]) : 1000;
                rounds = (size_t)(rate * seconds) / clients + 1;
                pkts = calloc(rounds * clients, sizeof(*pkts));
                /* client ids of this run's own, so that a second run against
                 * the same server is answered too; handshake ids from the
                 * clock on, as a real client's (the server refuses ids far
                 * beyond its clock) */
                for (size_t r = 0; r < rounds; r++)
                        for (size_t c = 0; c < clients; c++) {
                                snprintf(id, sizeof(id), "%s-%ld-%zu", storm ? "storm" : "ka", (long)getpid(), c);
                                seal_one(&sk, &pkts[count++], storm ? MESSAGE_HANDSHAKE_INIT : MESSAGE_KEEPALIVE, id,
                                         (uint64_t)time(NULL) + r, storm ? 0 : 1 + r % 5);
                        }
        } else {
                return 2;
        }
        replies = blast(fd, pkts, count, rate, &took);
        printf("sent=%zu seconds=%.3f rate=%.0f replies=%ld loss=%.4f\n", count, took, (double)count / took, replies,
               count ? 1.0 - (double)replies / (double)count : 0.0);
        free(pkts);
        close(fd);
        return 0;
}

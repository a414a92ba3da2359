/* floor: the benchmark's yardstick, the least a server that answers and
 * logs each datagram costs. A blocking UDP echo server: each datagram is
 * read with recvfrom, sent back with sendto, and two lines (the RX and the
 * TX, each stamped with the local time in milliseconds, as udp-canary's)
 * are appended to a file, each with a write(2) of its own, as a logging
 * handler that flushes every record does (the Python original's did). No
 * crypto, no parsing, no threads: what udp-canary costs beyond it is the
 * price of its work and of its design.
 *
 *   floor PORT LOGFILE      listens on 127.0.0.1:PORT until killed
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

/* One line, "[YYYY-mm-dd HH:MM:SS.mmm floor INFO] what N bytes from PEER",
 * written at once. */
static void log_line(int fd, const char *what, ssize_t n, const struct sockaddr_in *peer)
{
        char stamp[32], line[256], ip[INET_ADDRSTRLEN];
        struct timespec ts;
        struct tm tm;
        int len;

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof(ip));
        len = snprintf(line, sizeof(line), "[%s.%03ld floor INFO] %s %zd bytes %s:%u\n", stamp,
                       ts.tv_nsec / 1000000, what, n, ip, ntohs(peer->sin_port));
        if (len > 0 && write(fd, line, (size_t)len) < 0)
                exit(1);
}

int main(int argc, char **argv)
{
        struct sockaddr_in at = { .sin_family = AF_INET };
        int fd, log;

        if (argc != 3) {
                fprintf(stderr, "usage: floor PORT LOGFILE\n");
                return 2;
        }
        at.sin_port = htons((uint16_t)atoi(argv[1]));
        inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        log = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0600);
        if (fd < 0 || log < 0 || bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0) {
                perror("floor");
                return 1;
        }
        dprintf(log, "Listening on 127.0.0.1:%s\n", argv[1]);
        for (;;) {
                char buf[2048];
                struct sockaddr_in peer;
                socklen_t plen = sizeof(peer);
                ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);

                if (n < 0)
                        continue;
                log_line(log, "RX", n, &peer);
                (void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
                log_line(log, "TX", n, &peer);
        }
}

/* fileio: whole writes, and opening only what is meant (see fileio.h). */
#include "daemon/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* A FIFO the process's own stdout or stderr is (--log /dev/stdout piped
 * into another program): meant by the user, unlike any other FIFO. */
static bool is_own_output(const struct stat *st)
{
        struct stat out;

        for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
                if (fstat(fd, &out) == 0 && out.st_dev == st->st_dev && out.st_ino == st->st_ino)
                        return true;
        return false;
}

static bool allowed(const struct stat *st, unsigned flags)
{
        if (S_ISREG(st->st_mode))
                return true;
        if (!(flags & FILEIO_ALLOW_OUTPUT))
                return false;
        return S_ISCHR(st->st_mode) || (S_ISFIFO(st->st_mode) && is_own_output(st));
}

int fileio_open(const char *path, int oflags, mode_t mode, unsigned flags)
{
        /* O_NONBLOCK: opening a FIFO must not wait for its other end */
        int fd = open(path, oflags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode), r = 0;
        struct stat st;

        if (fd < 0 && errno == ENXIO && stat(path, &st) == 0 && S_ISFIFO(st.st_mode) && !allowed(&st, flags))
                return -FILEIO_ENOTREG; /* a FIFO with no reader: say what it is */
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!allowed(&st, flags))
                r = -FILEIO_ENOTREG;
        /* a FIFO stays non-blocking: a reader that stalls must not stall us */
        else if (!S_ISFIFO(st.st_mode) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

const char *fileio_strerror(int err)
{
        return err == -FILEIO_ENOTREG ? "not a regular file" : strerror(-err);
}

/* fileio: the few file operations the shell repeats: writing a whole
 * buffer through short writes and interruptions, and opening a file that
 * is what it should be (never a FIFO that blocks the start for good). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes of buf to fd. Returns 0, or the negative errno of
 * the write that failed (-EIO when the kernel wrote nothing without
 * saying why); some bytes may have been written before a failure. */
int fileio_write_all(int fd, const void *buf, size_t len);

/* The errno fileio_open gives for a path that is not a regular file. */
#define FILEIO_ENOTREG EMEDIUMTYPE

/* fileio_open flags. */
#define FILEIO_ALLOW_OUTPUT 1u /* also a character device (a terminal, /dev/null)
                                  or a FIFO that is our own stdout or stderr */

/* Opens path with oflags (O_CLOEXEC and O_NOCTTY added) without waiting
 * on a FIFO, and keeps it only if it is a regular file (or what flags
 * allow); blocking again, but for a FIFO. Returns the fd, or a negative
 * errno: -FILEIO_ENOTREG for anything else. */
int fileio_open(const char *path, int oflags, mode_t mode, unsigned flags);

/* strerror, and "not a regular file" for -FILEIO_ENOTREG. */
const char *fileio_strerror(int err);

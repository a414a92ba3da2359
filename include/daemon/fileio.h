/* fileio: the few file operations the shell repeats: writing a whole
 * buffer through short writes and interruptions. */
#pragma once

#include <stddef.h>

/* Writes all len bytes of buf to fd. Returns 0, or the negative errno of
 * the write that failed (-EIO when the kernel wrote nothing without
 * saying why); some bytes may have been written before a failure. */
int fileio_write_all(int fd, const void *buf, size_t len);

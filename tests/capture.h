/* capture: what a unit test's code under test writes to stderr, caught in a
 * pipe (not a file: a test may limit file sizes) and read back. */
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int capture_saved = -1, capture_pipe = -1;

/* From here on stderr goes into the pipe (up to its 64 KiB). */
static inline void capture_begin(void)
{
        int p[2];

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
                perror("pipe2");
                exit(99);
        }
        fflush(stderr);
        capture_saved = dup(STDERR_FILENO);
        dup2(p[1], STDERR_FILENO);
        close(p[1]);
        capture_pipe = p[0];
}

/* stderr back as it was; returns what was written meanwhile (the buffer is
 * the next call's). */
static inline const char *capture_end(void)
{
        static char buf[8192];
        ssize_t n;

        fflush(stderr);
        dup2(capture_saved, STDERR_FILENO);
        close(capture_saved);
        n = read(capture_pipe, buf, sizeof(buf) - 1);
        close(capture_pipe);
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

/* check: the few assertion helpers the unit tests share. A failed check
 * prints where and what, and makes the test exit non-zero at the end. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned check_failed, check_passed;
static const char *check_skipped; /* why a case could not run here, or NULL */

#define CHECK(cond)                                                                  \
        do {                                                                         \
                if (cond) {                                                          \
                        check_passed++;                                              \
                } else {                                                             \
                        check_failed++;                                              \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,       \
                                __LINE__, #cond);                                    \
                }                                                                    \
        } while (0)

#define CHECK_INT(a, b)                                                              \
        do {                                                                         \
                long long check_a_ = (long long)(a), check_b_ = (long long)(b);      \
                if (check_a_ == check_b_) {                                          \
                        check_passed++;                                              \
                } else {                                                             \
                        check_failed++;                                              \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n",        \
                                __FILE__, __LINE__, #a, check_a_, check_b_);         \
                }                                                                    \
        } while (0)

#define CHECK_STR(a, b)                                                              \
        do {                                                                         \
                const char *check_a_ = (a), *check_b_ = (b);                         \
                if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {       \
                        check_passed++;                                              \
                } else {                                                             \
                        check_failed++;                                              \
                        fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n",    \
                                __FILE__, __LINE__, #a, check_a_ ? check_a_ : "(null)", \
                                check_b_ ? check_b_ : "(null)");                     \
                }                                                                    \
        } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Decodes hex into out; returns the byte count, or -1. */
static inline long check_unhex(const char *hex, uint8_t *out, size_t cap)
{
        size_t n = strlen(hex);

        if (n % 2 || n / 2 > cap)
                return -1;
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -1;
                out[i] = (uint8_t)v;
        }
        return (long)(n / 2);
}

/* True when the kernel lists flag (e.g. "aes", "sha_ni") among the CPU's:
 * an account of the CPU independent of the code under test. */
static inline bool check_cpu_has(const char *flag)
{
        char line[8192], word[64];
        FILE *f = fopen("/proc/cpuinfo", "r");
        bool found = false;

        snprintf(word, sizeof(word), " %s", flag);
        while (f && !found && fgets(line, sizeof(line), f)) {
                const char *at = strncmp(line, "flags", 5) == 0 ? strstr(line, word) : NULL;
                size_t n = strlen(word);

                found = at && (at[n] == ' ' || at[n] == '\n');
        }
        if (f)
                fclose(f);
        return found;
}

/* A case that cannot run here (a missing kernel feature): said at once;
 * the others still run. */
static inline void check_skip(const char *why)
{
        check_skipped = why;
        printf("skip: %s\n", why);
}

/* The closing line; the exit status: 1 if a check failed, else 77 (meson's
 * SKIP, so that what did not run shows) if a case was skipped, else 0. */
static inline int check_finish(const char *name)
{
        printf("%s: %u passed, %u failed%s%s\n", name, check_passed, check_failed,
               check_skipped ? ", skipped: " : "", check_skipped ? check_skipped : "");
        if (check_failed)
                return EXIT_FAILURE;
        return check_skipped ? 77 : EXIT_SUCCESS;
}

/* key: the pre-shared key. Decoding its base64 text, reading it from a file
 * (refusing files others can read), making a new one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 16
#define KEY_TEXT_LEN 24 /* base64 with padding */

/* Decodes standard base64 with padding; white space around it is ignored.
 * Returns 0, -EINVAL for text that is not base64, -EMSGSIZE when it does
 * not decode to exactly KEY_LEN bytes. */
int key_decode(const char *text, uint8_t key[static KEY_LEN]);

/* Reads and decodes a key file. Returns 0, a negative errno from opening or
 * reading it, -EPERM when group or others may read or write it (and
 * check_mode is set), -EFBIG when it is far larger than a key, -EINVAL when
 * it holds a NUL, or key_decode's errors. */
int key_read_file(const char *path, bool check_mode, uint8_t key[static KEY_LEN]);

/* Writes a new random key as base64 text (NUL-terminated). */
void key_generate(char text[static KEY_TEXT_LEN + 1]);

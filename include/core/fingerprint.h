/* fingerprint: a short name for a key that says nothing about it, so that
 * two ends can compare keys in their logs: BLAKE2b with an 8-byte digest
 * of a fixed domain string, keyed with the key, as 4 groups of 4 hex
 * digits ("3f2a-91c0-1b2c-d3e4"). Both ends log it at start;
 * `udp-canary --fingerprint` prints it. */
#pragma once

#include <stdint.h>

#include "core/seal.h"

#define FINGERPRINT_TEXT_LEN 19 /* "xxxx-xxxx-xxxx-xxxx" */

void fingerprint_text(const uint8_t key[static SEAL_KEY_LEN], char out[static FINGERPRINT_TEXT_LEN + 1]);

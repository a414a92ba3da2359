/* message: the protocol's JSON messages. Parsing (with jansson), and the two
 * texts the original produces with Python: json.dumps (sent on the wire) and
 * repr (written to the log). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longer client ids are refused: a sane bound on what a peer can make us
 * store, far above any real profile name. */
#define MESSAGE_ID_MAX 256
/* Room for the longest text of either form: 6 bytes per id byte at worst
 * (\u00XX), two 20-digit numbers, the fixed parts. */
#define MESSAGE_TEXT_MAX (6 * MESSAGE_ID_MAX + 128)

enum message_type {
        MESSAGE_HANDSHAKE_INIT,
        MESSAGE_HANDSHAKE_RESPONSE,
        MESSAGE_KEEPALIVE,
        /* Ours, unknown to the original (see include/core/probe-server.h): a client
         * asks for its data back after data[1] seconds, to measure how long
         * a NAT keeps an idle mapping. Sent only by the prober. */
        MESSAGE_PROBE,
        MESSAGE_PROBE_RESPONSE,
        /* Ours too (see include/core/trace.h): a client whose handshakes go
         * unanswered sends it with a rising TTL, data [handshake id, ttl],
         * to learn from the routers' ICMP answers where its flow stops. A
         * server that gets one logs it and ignores it. */
        MESSAGE_TRACE,
};
#define MESSAGE_TYPES 6 /* for arrays by type */

struct message {
        enum message_type type;
        size_t id_len;
        char id[MESSAGE_ID_MAX + 1]; /* UTF-8, may hold NUL; NUL-terminated too */
        uint64_t data[2];
};

const char *message_type_name(enum message_type type);

/* Fills m. Returns -ENAMETOOLONG for an id over MESSAGE_ID_MAX bytes,
 * -EILSEQ for one that is not UTF-8, -ERANGE for data beyond what JSON
 * integers carry here (2^63 - 1). */
int message_init(struct message *m, enum message_type type, const char *id, size_t id_len,
                 uint64_t data0, uint64_t data1);

/* Parses the JSON text of a message. Returns 0, or a negative errno whose
 * meaning message_strerror() gives: -EBADMSG (not JSON text, or not an
 * object), -EPROTO (a member missing or of the wrong kind), -ENAMETOOLONG,
 * -EILSEQ (an id not UTF-8), -ERANGE (a number negative, fractional or too
 * large), -ENOMSG (unknown type). */
int message_parse(struct message *m, const uint8_t *text, size_t len);
const char *message_strerror(int err);
/* The two halves of message_parse, apart for tests: the canonical form read
 * by hand (-EAGAIN for any other text), and jansson for everything. */
int message_parse_canonical(struct message *m, const uint8_t *text, size_t len);
int message_parse_general(struct message *m, const uint8_t *text, size_t len);

/* Writes the text as Python's json.dumps does (ASCII only). Returns its
 * length, or -ENOBUFS. The text is NUL-terminated. */
ssize_t message_to_json(const struct message *m, char *buf, size_t cap);

/* Writes the message as Python's repr of the dict. Returns its length, or
 * -ENOBUFS. The text is NUL-terminated. */
ssize_t message_to_repr(const struct message *m, char *buf, size_t cap);

/* Parses the repr text of a message (as message_to_repr writes it, and the
 * original's logs hold) back into m. Returns the bytes read, or -EINVAL. */
ssize_t message_parse_repr(struct message *m, const char *text, size_t len);

/* Writes one string as a JSON string, as Python's json.dumps does. */
ssize_t message_json_string(const char *s, size_t n, char *buf, size_t cap);

/* Writes Python's repr of one string (the n UTF-8 bytes at s). */
ssize_t message_repr_string(const char *s, size_t n, char *buf, size_t cap);

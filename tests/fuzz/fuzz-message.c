/* Fuzz target: message parsing. What parses must write back to JSON that
 * parses to the same message, and to a repr; the hand-read canonical form
 * must agree with jansson on every text it takes; nothing may crash or
 * leak. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char json[MESSAGE_TEXT_MAX], repr[MESSAGE_TEXT_MAX];
        struct message m, again;
        ssize_t n;
        int fast = message_parse_canonical(&m, data, size);

        if (fast != -EAGAIN && message_parse_general(&again, data, size) != fast)
                abort();
        if (fast == 0 && (again.type != m.type || again.id_len != m.id_len ||
                          memcmp(again.id, m.id, m.id_len) != 0 || again.data[0] != m.data[0] ||
                          again.data[1] != m.data[1]))
                abort();
        if (message_parse(&m, data, size) < 0)
                return 0;
        n = message_to_json(&m, json, sizeof(json));
        if (n < 0 || message_parse(&again, (const uint8_t *)json, (size_t)n) != 0)
                abort();
        if (again.type != m.type || again.id_len != m.id_len || memcmp(again.id, m.id, m.id_len) != 0 ||
            again.data[0] != m.data[0] || again.data[1] != m.data[1])
                abort();
        n = message_to_repr(&m, repr, sizeof(repr));
        if (n < 0 || message_parse_repr(&again, repr, (size_t)n) != n)
                abort();
        if (again.type != m.type || again.id_len != m.id_len || memcmp(again.id, m.id, m.id_len) != 0 ||
            again.data[0] != m.data[0] || again.data[1] != m.data[1])
                abort();
        /* and the bytes, taken as repr text, must not crash the reader */
        (void)message_parse_repr(&again, (const char *)data, size);
        return 0;
}

/* Unit test: message parsing's two halves. The hand-read canonical form must
 * take the texts the original writes, leave every other text to jansson
 * (-EAGAIN), and never disagree with jansson on a text it takes. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "core/message.h"

static int same(const struct message *a, const struct message *b)
{
        return a->type == b->type && a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0 &&
               a->data[0] == b->data[0] && a->data[1] == b->data[1];
}

/* Parses text both ways; checks the canonical reader's answer is fast (0
 * or an error of its own), or -EAGAIN, as expected, and the general one's
 * is general. */
static void expect(const char *text, int fast, int general)
{
        struct message a, b;
        int rf = message_parse_canonical(&a, (const uint8_t *)text, strlen(text));
        int rg = message_parse_general(&b, (const uint8_t *)text, strlen(text));

        CHECK_INT(rf, fast);
        CHECK_INT(rg, general);
        if (rf == 0 && rg == 0)
                CHECK(same(&a, &b));
        if (rf != fast || rg != general)
                fprintf(stderr, "  text: %s\n", text);
}

static void test_forms(void)
{
        expect("{\"id\": \"home\", \"type\": \"handshake_init\", \"data\": [1732673217, 0]}", 0, 0);
        expect("{\"id\": \"home\", \"type\": \"handshake_response\", \"data\": [1732673217, 0]}", 0, 0);
        expect("{\"id\": \"a b/c~!\", \"type\": \"keepalive\", \"data\": [1, 5]}", 0, 0);
        expect("{\"id\": \"\", \"type\": \"keepalive\", \"data\": [0, 0]}", 0, 0);
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [999999999999999999, 0]}", 0, 0);
        /* valid JSON in other forms: jansson's */
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [9223372036854775807, 0]}", -EAGAIN, 0);
        expect("{\"id\":\"home\",\"type\":\"keepalive\",\"data\":[1,2]}", -EAGAIN, 0);
        expect("{\"type\": \"keepalive\", \"id\": \"home\", \"data\": [1, 2]}", -EAGAIN, 0);
        expect("{\"id\": \"home\", \"type\": \"keepalive\", \"data\": [1, 2]} ", -EAGAIN, 0);
        expect("{\"id\": \"h\\u00e9\", \"type\": \"keepalive\", \"data\": [1, 2]}", -EAGAIN, 0);
        expect("{\"id\": \"a\\\"b\", \"type\": \"keepalive\", \"data\": [1, 2]}", -EAGAIN, 0);
        /* not messages: jansson says why */
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [9223372036854775808, 0]}", -EAGAIN,
               -ERANGE);
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [-1, 0]}", -EAGAIN, -ERANGE);
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [1.0, 0]}", -EAGAIN, -ERANGE);
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [01, 0]}", -EAGAIN, -EBADMSG);
        expect("{\"id\": \"x\", \"type\": \"keepalivex\", \"data\": [1, 0]}", -EAGAIN, -ENOMSG);
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [1, 0, 2]}", -EAGAIN, -EPROTO);
        expect("{\"id\": \"x\", \"type\": \"keepalive\", \"data\": [1, 0]}}", -EAGAIN, -EBADMSG);
}

static void test_prefixes(void)
{
        const char *text = "{\"id\": \"home\", \"type\": \"keepalive\", \"data\": [12, 3]}";
        char buf[128];

        /* every cut-off text is refused, by both */
        for (size_t n = 0; n < strlen(text); n++) {
                struct message m;

                memcpy(buf, text, n);
                CHECK_INT(message_parse_canonical(&m, (const uint8_t *)buf, n), -EAGAIN);
                CHECK(message_parse_general(&m, (const uint8_t *)buf, n) < 0);
        }
}

static void test_id_length(void)
{
        char text[MESSAGE_ID_MAX + 128], id[MESSAGE_ID_MAX + 2];

        memset(id, 'i', sizeof(id) - 1);
        id[MESSAGE_ID_MAX] = '\0';
        snprintf(text, sizeof(text), "{\"id\": \"%s\", \"type\": \"keepalive\", \"data\": [1, 1]}", id);
        expect(text, 0, 0);
        id[MESSAGE_ID_MAX] = 'i';
        id[MESSAGE_ID_MAX + 1] = '\0';
        snprintf(text, sizeof(text), "{\"id\": \"%s\", \"type\": \"keepalive\", \"data\": [1, 1]}", id);
        expect(text, -EAGAIN, -ENAMETOOLONG);
}

/* What message_to_json writes, message_parse_canonical reads, for ids of
 * every printable ASCII character but the two JSON escapes. */
static void test_round_trip(void)
{
        char json[MESSAGE_TEXT_MAX], id[2] = { 0 };
        struct message m, back;

        for (int c = 0x20; c < 0x7f; c++) {
                ssize_t n;

                id[0] = (char)c;
                CHECK_INT(message_init(&m, MESSAGE_KEEPALIVE, id, 1, 7, 3), 0);
                n = message_to_json(&m, json, sizeof(json));
                CHECK(n > 0);
                CHECK_INT(message_parse_canonical(&back, (const uint8_t *)json, (size_t)n),
                          c == '"' || c == '\\' ? -EAGAIN : 0);
                CHECK_INT(message_parse(&back, (const uint8_t *)json, (size_t)n), 0);
                CHECK(same(&m, &back));
        }
}

/* The probe's two types: read by hand, with "probe" not taken for the
 * start of "probe_response"; written and read back in both forms. */
static void test_probe_types(void)
{
        const char *json = "{\"id\": \"home\", \"type\": \"probe_response\", \"data\": [7, 30]}";
        char text[MESSAGE_TEXT_MAX];
        struct message m, back;

        expect("{\"id\": \"home\", \"type\": \"probe\", \"data\": [7, 30]}", 0, 0);
        expect(json, 0, 0);
        expect("{\"id\": \"home\", \"type\": \"probex\", \"data\": [7, 30]}", -EAGAIN, -ENOMSG);
        expect("{\"id\": \"home\", \"type\": \"probe_\", \"data\": [7, 30]}", -EAGAIN, -ENOMSG);
        CHECK_INT(message_parse(&m, (const uint8_t *)json, strlen(json)), 0);
        CHECK_INT(m.type, MESSAGE_PROBE_RESPONSE);
        CHECK(message_to_json(&m, text, sizeof(text)) > 0);
        CHECK_STR(text, json);
        CHECK(message_to_repr(&m, text, sizeof(text)) > 0);
        CHECK_STR(text, "{'id': 'home', 'type': 'probe_response', 'data': [7, 30]}");
        CHECK_INT(message_parse_repr(&back, text, strlen(text)), (long long)strlen(text));
        CHECK(same(&m, &back));
        CHECK_STR(message_type_name(MESSAGE_PROBE), "probe");
}

int main(void)
{
        test_forms();
        test_probe_types();
        test_prefixes();
        test_id_length();
        test_round_trip();
        return check_finish("message");
}

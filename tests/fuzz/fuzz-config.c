/* Fuzz target: config file text, then the checks that follow it. */
#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[CONFIG_ERR_MAX];
        struct config c;

        config_init(&c);
        if (config_parse_text(&c, "fuzz.conf", (const char *)data, size, err) == 0)
                (void)config_finish(&c, err);
        config_free(&c);
        return 0;
}

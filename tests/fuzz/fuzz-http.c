/* Fuzz target: the metrics listener's request parsing (daemon/httpd.c) on
 * any bytes, as a scraper or an attacker sends them: a head is whole or not
 * at every prefix, and a whole one gets one of the four statuses, never a
 * read past its end (ASan) or anything else. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *head;
        bool body;
        int status;

        if (size > HTTPD_HEAD_MAX)
                return 0;
        head = malloc(size ? size : 1); /* exactly size bytes: ASan sees any overread */
        if (!head)
                abort();
        memcpy(head, data, size);
        (void)httpd_head_complete(head, size);
        status = httpd_route(head, size, &body);
        if (status != 200 && status != 400 && status != 404 && status != 405)
                abort();
        if (status == 200 && (size < 13 || (memcmp(head, "GET ", 4) != 0 && memcmp(head, "HEAD ", 5) != 0)))
                abort();
        free(head);
        return 0;
}

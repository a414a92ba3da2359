/* notify: sd_notify messages to the service manager (see notify.h). */
#include "daemon/notify.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

void notify_ready(void)
{
        sd_notify(0, "READY=1");
}

void notify_reloading(void)
{
        struct timespec ts;

        /* MONOTONIC_USEC lets systemd tell this reload from an earlier one */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
        sd_notify(0, "STOPPING=1");
}

void notify_watchdog(void)
{
        sd_notify(0, "WATCHDOG=1");
}

void notify_status(const char *text)
{
        sd_notifyf(0, "STATUS=%s", text);
}

uint64_t notify_watchdog_usec(void)
{
        uint64_t usec = 0;

        return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

/* daemon_event_add, the one answer to an event the loop cannot add: 0 and
 * nothing else when it can; else an error said, the loop stopped, and a
 * negative errno. The failure is made with a read event on a closed
 * descriptor, which epoll refuses (libevent's timers fail only without
 * memory). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "daemon/daemon.h"

static void never(evutil_socket_t fd, short what, void *arg)
{
}

int main(void)
{
        struct event_config *cfg = event_config_new();
        struct event_base *base;
        struct event *timer, *bad;
        int p[2];

        /* epoll alone: poll and select would take the closed descriptor */
        event_config_avoid_method(cfg, "poll");
        event_config_avoid_method(cfg, "select");
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
        if (!base || strcmp(event_base_get_method(base), "epoll") != 0) {
                printf("SKIP: libevent's epoll backend is not available\n");
                return 77;
        }
        timer = evtimer_new(base, never, NULL);
        capture_begin();
        CHECK_INT(daemon_timer_in(timer, 1000000), 0);
        CHECK_INT(daemon_timer_at(timer, daemon_now_us() + 1000000), 0);
        CHECK_STR(capture_end(), "");
        CHECK(!event_base_got_break(base));

        capture_begin(); /* first: its descriptors must not reuse the closed one */
        CHECK_INT(pipe(p), 0);
        close(p[1]);
        close(p[0]);
        bad = event_new(base, p[0], EV_READ, never, NULL);
        CHECK_INT(daemon_event_add(bad, NULL), -ENOMEM);
        CHECK(strstr(capture_end(), "Cannot add an event to the loop") != NULL);
        CHECK(event_base_got_break(base));

        event_free(bad);
        event_free(timer);
        event_base_free(base);
        return check_finish("daemon-event");
}

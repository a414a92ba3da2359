/* The resolver's lifetime (daemon/resolve): an address is handed on once,
 * after which the resolver is idle; freeing it from inside its own done
 * callback takes effect when the callback returns (the sanitizer pass and
 * valgrind see any use after that free); one freed before its first try
 * calls nothing back. A numeric host: no DNS is asked. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "daemon/resolve.h"

struct seen {
        struct resolver *r;
        bool free_inside;
        unsigned done, failed;
        struct addr a;
};

static void on_done(void *arg, const struct addr *a)
{
        struct seen *s = arg;

        s->done++;
        s->a = *a;
        if (s->free_inside) {
                resolver_free(s->r);
                s->r = NULL;
        }
}

static void on_failed(void *arg, const char *why, uint64_t retry_us)
{
        struct seen *s = arg;

        s->failed++;
        fprintf(stderr, "resolve failed: %s\n", why);
}

static const struct resolve_ops ops = { .done = on_done, .failed = on_failed };

static void check_loopback(const struct addr *a, uint16_t port)
{
        CHECK_INT(a->sa.sa_family, AF_INET);
        CHECK_INT(ntohs(a->in.sin_port), port);
        CHECK_INT(ntohl(a->in.sin_addr.s_addr), INADDR_LOOPBACK);
}

/* The loop runs until nothing is pending: an idle resolver holds no timer. */
static void test_once(bool free_inside)
{
        struct event_base *base = event_base_new();
        struct seen s = { .free_inside = free_inside };

        CHECK(base != NULL);
        s.r = resolver_new(base, "127.0.0.1", 4321, 0, &ops, &s);
        CHECK(s.r != NULL);
        CHECK_INT(event_base_dispatch(base), 1); /* 1: no events left */
        CHECK_INT(s.done, 1);
        CHECK_INT(s.failed, 0);
        check_loopback(&s.a, 4321);
        CHECK(free_inside ? s.r == NULL : s.r != NULL);
        resolver_free(s.r);
        event_base_free(base);
}

static void test_freed_before_first_try(void)
{
        struct event_base *base = event_base_new();
        struct seen s = { 0 };

        s.r = resolver_new(base, "127.0.0.1", 4321, 0, &ops, &s);
        CHECK(s.r != NULL);
        resolver_free(s.r);
        CHECK_INT(event_base_dispatch(base), 1);
        CHECK_INT(s.done + s.failed, 0);
        event_base_free(base);
}

int main(void)
{
        test_once(false);
        test_once(true);
        test_freed_before_first_try();
        return check_finish("resolve");
}

/* The keyed index (core/index) against a plain model: random adds and
 * removals over a pool of ids, first with their real keyed hashes, then
 * with hashes forced into a few values (every id in one run, runs that wrap
 * past the last slot, equal hashes of different ids), and after each step
 * every id is found exactly when the model holds it. Also: two indexes key
 * their hashes apart, and the slots grow with the count. */
#include <sodium.h>

#include "check.h"
#include "core/index.h"

#define POOL 400

struct item {
        size_t len;
        char id[16];
        uint64_t h;
};

static const char *item_id(const void *entry, size_t *len)
{
        const struct item *it = entry;

        *len = it->len;
        return it->id;
}

/* forced: 0 real hashes; else the hash of item i is one of `forced` values
 * near the top of the slots, so runs collide and wrap */
static void churn(unsigned forced)
{
        static struct item items[POOL];
        bool in[POOL] = { false };
        struct index x;
        size_t count = 0;

        index_init(&x, item_id);
        CHECK(index_find(&x, 1, "a", 1) == NULL); /* before any slot exists */
        for (unsigned i = 0; i < POOL; i++) {
                items[i].len = (size_t)snprintf(items[i].id, sizeof(items[i].id), "id-%u", i);
                items[i].h = forced ? (uint64_t)0 - 1 - i % forced : index_hash(&x, items[i].id, items[i].len);
        }
        for (unsigned step = 1; step <= 100000; step++) {
                unsigned k = randombytes_uniform(POOL);
                struct item *it = &items[k];

                CHECK((index_find(&x, it->h, it->id, it->len) == it) == in[k]);
                if (in[k]) {
                        index_remove(&x, it->h, it);
                        count--;
                } else {
                        CHECK_INT(index_add(&x, it->h, it), 0);
                        count++;
                }
                in[k] = !in[k];
                CHECK_INT(x.count, count);
                if (step % 997 == 0) /* a full sweep now and then */
                        for (unsigned i = 0; i < POOL; i++)
                                CHECK((index_find(&x, items[i].h, items[i].id, items[i].len) != NULL) == in[i]);
        }
        CHECK(x.count * 4 <= x.cap * 3);
        index_free(&x);
}

static void test_keys(void)
{
        struct index a, b;
        unsigned same = 0;

        index_init(&a, item_id);
        index_init(&b, item_id);
        CHECK(index_hash(&a, "home", 4) == index_hash(&a, "home", 4));
        for (unsigned i = 0; i < 8; i++) {
                char id[8];
                size_t n = (size_t)snprintf(id, sizeof(id), "c%u", i);

                same += index_hash(&a, id, n) == index_hash(&b, id, n);
        }
        CHECK(same < 8); /* a key per index: 2^-512 to fail by chance */
        index_free(&a);
        index_free(&b);
}

static void test_growth(void)
{
        static struct item items[1000];
        struct index x;

        index_init(&x, item_id);
        for (unsigned i = 0; i < 1000; i++) {
                items[i].len = (size_t)snprintf(items[i].id, sizeof(items[i].id), "g%u", i);
                items[i].h = index_hash(&x, items[i].id, items[i].len);
                CHECK_INT(index_add(&x, items[i].h, &items[i]), 0);
                CHECK(x.count * 4 <= x.cap * 3);
        }
        for (unsigned i = 0; i < 1000; i++)
                CHECK(index_find(&x, items[i].h, items[i].id, items[i].len) == &items[i]);
        CHECK(index_find(&x, index_hash(&x, "g1000", 5), "g1000", 5) == NULL);
        index_free(&x);
}

int main(void)
{
        if (sodium_init() < 0)
                return 99;
        churn(0);
        churn(1);
        churn(3);
        churn(17);
        test_keys();
        test_growth();
        return check_finish("index");
}

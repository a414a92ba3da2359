/* The client table against a plain model: random adds, touches and
 * evictions over a small pool of ids (so probe runs collide and wrap), and
 * after each step every id is found exactly when the model holds it, and the
 * oldest entry is the model's least recently touched. */
#include <sodium.h>

#include "check.h"
#include "core/peers.h"

#define POOL 300
#define MAX 120

int main(void)
{
        uint64_t model[POOL] = { 0 }; /* 0: absent; else the step it was last touched */
        struct peers t;
        char id[16];

        if (sodium_init() < 0)
                return 99;
        CHECK_INT(peers_init(&t, MAX), 0);
        for (uint64_t step = 1; step <= 200000; step++) {
                unsigned k = randombytes_uniform(POOL);
                struct peer *p;
                size_t n = (size_t)snprintf(id, sizeof(id), "id-%u", k);

                p = peers_find(&t, id, n);
                CHECK((p != NULL) == (model[k] != 0));
                if (p) {
                        peers_touch(&t, p);
                } else {
                        if (t.count >= MAX) {
                                unsigned oldest = 0;

                                for (unsigned i = 0; i < POOL; i++)
                                        if (model[i] && (!model[oldest] || model[i] < model[oldest]))
                                                oldest = i;
                                snprintf(id, sizeof(id), "id-%u", oldest);
                                CHECK_STR(t.oldest->id, id);
                                peers_remove(&t, t.oldest);
                                model[oldest] = 0;
                                n = (size_t)snprintf(id, sizeof(id), "id-%u", k);
                        }
                        CHECK_INT(peers_add(&t, id, n, &p), 0);
                }
                model[k] = step;
                if (step % 1000 == 0) { /* a full sweep now and then */
                        size_t present = 0;

                        for (unsigned i = 0; i < POOL; i++) {
                                n = (size_t)snprintf(id, sizeof(id), "id-%u", i);
                                CHECK((peers_find(&t, id, n) != NULL) == (model[i] != 0));
                                present += model[i] != 0;
                        }
                        CHECK_INT(t.count, present);
                }
        }
        peers_free(&t);
        return check_finish("peers");
}

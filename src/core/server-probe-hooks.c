/* server-probe-hooks: the server's hooks into core/probe-server (see
 * server-probe-hooks.h). */
#include "core/server-probe-hooks.h"

static struct probes_config probes_config_of(const struct server_config *cfg)
{
        struct probes_config c = cfg->probes;

        c.max_clients = cfg->max_clients;
        return c;
}

int server_probes_init(struct server *s)
{
        struct probes_config c = probes_config_of(&s->cfg);

        return probes_init(&s->probes, &c);
}

void server_probes_reconfigure(struct server *s)
{
        struct probes_config c = probes_config_of(&s->cfg);

        probes_reconfigure(&s->probes, &c);
}

/* What the probes sent, in the server's packet counts. */
static void count_sent(struct server *s, size_t sent)
{
        s->stats.tx += sent;
        s->stats.tx_type[MESSAGE_PROBE_RESPONSE] += sent;
}

void server_probe_receive(struct server *s, uint64_t now_us, const struct addr *from, const struct message *m,
                          struct actions *out)
{
        size_t before = out->n_send;

        probes_receive(&s->probes, now_us, from, m, out);
        count_sent(s, out->n_send - before);
}

void server_probe_timer(struct server *s, uint64_t now_us, struct actions *out)
{
        actions_reset(out);
        probes_timer(&s->probes, now_us, out);
        count_sent(s, out->n_send);
}

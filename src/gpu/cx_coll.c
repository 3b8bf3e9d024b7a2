/*
 * Collectives as NCCL runs them, expanded into point-to-point steps over net.
 *
 * This file is the engine's driver: the table of algorithms (one row per
 * line of cx_coll_algos.h, each a cx_coll_algo_def_t in cx_coll_<name>.c)
 * and start / poll, which run a collective through its row phase by phase;
 * the tuner that picks the algorithm and protocol (auto) is cx_coll_tune.c.
 * The algorithms:
 *   ring      cx_coll_ring.c     rail-aligned rings; chain for broadcast/reduce
 *   tree      cx_coll_tree.c     NCCL's double binary tree (flat, or as the
 *                                cross-domain phase of a hierarchical one)
 *   nvls      cx_coll_nvls.c     NVSwitch in-switch reduction / multicast
 *   pairwise  cx_coll_pairwise.c all-to-all, PXN across rails
 *   hier      cx_coll_hier.c     reduce-scatter inside, all-reduce across,
 *                                all-gather inside
 *   direct    cx_coll_direct.c   every piece straight to every member (toy)
 *
 * Protocol overhead: a step of B payload bytes puts B / efficiency bytes on
 * the wire (efficiency per link class, cx_coll_params_t), plus a per-step
 * software latency before its first byte leaves.  Both sides of a step
 * compute the same wire size from the same inputs, so they agree exactly.
 */
#include "cx_coll_impl.h"
#include "cx_coll_tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CX_COLL_MAX_CH <= CX_COOKIE_CH_MASK + 1, "channel numbers fit the cookie");

/* auto is the tuner (cx_coll_tune.c), not an algorithm that runs. */
const cx_coll_algo_def_t cx_coll_algo_auto = {CX_ALGO_AUTO, 0, 0, NULL, NULL, NULL, NULL};

#define CX_COLL_ALGO_ROW(_id, _n, _cli, _h) &cx_coll_algo_##_n,
static const cx_coll_algo_def_t *const cx_coll_algos[CX_ALGO_COUNT] = {CX_COLL_ALGO_LIST(CX_COLL_ALGO_ROW)};

const cx_coll_algo_def_t *cx_coll_algo(uint32_t id)
{
    const cx_coll_algo_def_t *d = id < CX_ALGO_COUNT ? cx_coll_algos[id] : NULL;
    if (d == NULL || d->id != id) cx_fatal("collective algorithm %u: no such row in the table", id);
    return d;
}

cx_status_t cx_coll_params_check(const cx_coll_params_t *p, cx_err_t *err)
{
    if (p->max_channels > CX_COLL_MAX_CH) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "max_channels",
                          "%u channels per collective; at most %d (CX_COLL_MAX_CH)", p->max_channels, CX_COLL_MAX_CH);
    }
    if (p->proto >= CX_PROTO_COUNT) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "proto", "protocol %u is not one of 0..%d", p->proto,
                          CX_PROTO_COUNT - 1);
    }
    if (p->algo >= CX_ALGO_COUNT) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "algo", "algorithm %u is not one of 0..%d", p->algo,
                          CX_ALGO_COUNT - 1);
    }
    return CX_OK;
}

uint32_t cx_coll_ring_member(uint32_t pos, uint32_t g, uint32_t n, uint32_t c)
{
    uint32_t d, k, l;
    if (g <= 1 || g >= n) return pos;
    c %= g;
    d = pos / g;
    k = pos % g;
    l = (d % 2 == 0) ? (c + k) % g : (c + 2 * g - 1 - k) % g;
    return d * g + l;
}

uint32_t cx_coll_ring_pos(uint32_t member, uint32_t g, uint32_t n, uint32_t c)
{
    uint32_t d, l, k;
    if (g <= 1 || g >= n) return member;
    c %= g;
    d = member / g;
    l = member % g;
    k = (d % 2 == 0) ? (l + g - c) % g : (c + 2 * g - 1 - l) % g;
    return d * g + k;
}

void cx_coll_link(const cx_coll_ctx_t *x, uint64_t a, uint64_t b, uint64_t payload, uint64_t *wire_p, cx_time_t *lat_p)
{
    const cx_gpu_t         *gpu   = x->gpu;
    const cx_coll_params_t *p     = &gpu->g->cfg.coll;
    uint32_t                proto = x->run->proto < CX_PROTO_COUNT ? x->run->proto : CX_PROTO_SIMPLE;
    int                     intra = cx_gpus_domain(gpu->g, a) == cx_gpus_domain(gpu->g, b);
    double                  eff   = (intra ? p->nvlink_efficiency : p->net_efficiency) * cx_coll_proto_bw[proto];
    *wire_p = (uint64_t)ceil((double)payload / (eff > 0 ? eff : 1.0));
    if (lat_p != NULL) {
        cx_time_t base = intra ? p->nvlink_step_latency : p->net_step_latency;
        *lat_p = proto == CX_PROTO_SIMPLE ? base : (cx_time_t)llround((double)base * cx_coll_proto_lat[intra][proto]);
    }
}

void cx_coll_links(const cx_gpus_t *gs, const cx_op_t *op, uint32_t g, cx_coll_links_t *l_p)
{
    uint32_t n = op->group_size;
    cx_coll_links_of(gs->topo, cx_gpus_device(gs, op->u.group_base),
                     g > 1 && n > 1 ? cx_gpus_device(gs, op->u.group_base + op->group_stride) : UINT64_MAX,
                     g < n ? cx_gpus_device(gs, op->u.group_base + (uint64_t)g * op->group_stride) : UINT64_MAX,
                     l_p);
}

uint32_t cx_coll_per_domain(const cx_gpus_t *gs, const cx_op_t *op)
{
    uint32_t n = op->group_size, g = 1, d;
    uint64_t d0 = cx_gpus_domain(gs, cx_coll_member(op, 0));
    while (g < n && cx_gpus_domain(gs, cx_coll_member(op, g)) == d0) g++;
    if (n % g != 0) return 1;
    /* Check the boundaries of every domain block. */
    for (d = 1; d < n / g; d++) {
        uint64_t dd = cx_gpus_domain(gs, cx_coll_member(op, (uint64_t)d * g));
        if (cx_gpus_domain(gs, cx_coll_member(op, (uint64_t)d * g + g - 1)) != dd ||
            dd == cx_gpus_domain(gs, cx_coll_member(op, (uint64_t)d * g - 1))) {
            return 1;
        }
    }
    return g;
}

uint32_t cx_coll_ring_channels(const cx_coll_params_t *p, uint32_t n, uint32_t g)
{
    uint32_t C = 1, cap = p->max_channels > 0 ? p->max_channels : CX_COLL_MAX_CH;
    if (g > 1 && g < n) C = g;
    else if (g == 1) C = 2;
    return C > cap ? cap : C;
}

void cx_coll_phase_setup(cx_coll_ctx_t *x, const cx_coll_algo_def_t *def)
{
    cx_coll_run_t *run = x->run;
    run->ph     = def;
    run->n_ch   = 1;
    run->dep    = 0;
    run->n_send = run->n_recv = 0;
    run->send_bytes = run->recv_bytes = 0;
    memset(run->n_send_ch, 0, sizeof(run->n_send_ch));
    memset(run->n_recv_ch, 0, sizeof(run->n_recv_ch));
    memset(run->sent, 0, sizeof(run->sent));
    run->tx_until = 0;
    memset(run->rcvd, 0, sizeof(run->rcvd));
    if (run->cur.group_size <= 1) return;
    if (def->setup == NULL) cx_fatal("collective algorithm %s has no phase set-up", cx_coll_algo_name((int)def->id));
    def->setup(x);
}

void cx_coll_start(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, const cx_op_t *op, cx_coll_run_t *run)
{
    const cx_coll_params_t *p  = &gpu->g->cfg.coll;
    uint32_t                n  = op->group_size, me = op->group_index, g;
    uint32_t                algo = p->algo != 0 ? p->algo : op->algo;
    cx_coll_ctx_t           x  = {eng, ent, gpu, run};
    cx_coll_links_t         l;
    uint32_t                proto;

    cx_coll_release(run);
    memset(run, 0, sizeof(*run));
    run->active   = 1;
    run->n_ch     = 1;
    run->op       = op;
    run->cur      = *op;
    run->n_phases = 1;
    run->def = run->ph = cx_coll_algo(CX_ALGO_RING);
    run->proto    = CX_PROTO_SIMPLE;
    if (n <= 1) return;  /* nothing to exchange: completes at the first poll */
    if (me >= n) cx_fatal("GPU %llu: group index %u of %u", (unsigned long long)gpu->gpu, me, n);
    if (cx_coll_member(op, me) != gpu->gpu) {
        cx_fatal("GPU %llu is not member %u of its collective's group (base %llu stride %u)",
                 (unsigned long long)gpu->gpu, me, (unsigned long long)op->u.group_base, op->group_stride);
    }
    g = cx_coll_per_domain(gpu->g, op);
    cx_coll_links(gpu->g, op, g, &l);
    algo       = cx_coll_pick(p, &l, algo, op, g, &proto);
    run->algo  = (uint8_t)algo;
    run->def   = cx_coll_algo(algo);
    run->proto = (uint8_t)proto;
    if (run->def->start != NULL) run->def->start(&x, g);
    else cx_coll_phase_setup(&x, run->def);
}

void cx_coll_sent(cx_coll_run_t *run, cx_time_t tx_end)
{
    if (tx_end > run->tx_until) run->tx_until = tx_end;
}

/* Sends of a collective cost no TX_DONE event: net says when each one's
 * last byte leaves, and the phase is done once that time has come. */
int cx_coll_tx_clear(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    if (run->tx_until <= cx_engine_now(x->eng)) return 1;
    if (run->kick_at != run->tx_until) {
        run->kick_at = run->tx_until;
        cx_engine_send(x->eng, x->ent, cx_engine_entity_id(x->eng, x->ent), run->tx_until, CX_GPU_EV_KICK, 0, NULL, 0);
    }
    return 0;
}

void cx_coll_release(cx_coll_run_t *run)
{
    free(run->lanes);
    run->lanes = NULL;
}

int cx_coll_poll(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, cx_coll_run_t *run)
{
    cx_coll_ctx_t x = {eng, ent, gpu, run};
    for (;;) {
        if (run->cur.group_size > 1 && !run->ph->poll(&x)) return 0;
        if (++run->phase >= run->n_phases) return 1;
        run->def->next(&x);
    }
}

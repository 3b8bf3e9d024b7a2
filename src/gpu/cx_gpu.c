/*
 * The GPU executor: in-order streams, WAIT dependencies between them, a
 * roofline compute clock, eager point-to-point messages and collectives
 * (cx_coll.c), all driven by events on the GPU's entity.
 *
 * cx_gpu_kick is the one place ops start and finish: it loops over the
 * streams until none can move, so ops that take no time (markers, satisfied
 * WAITs, RECVs whose data is already there) chain without events.
 */
#include "cx_gpu_internal.h"

#include "cx_mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void cx_gpu_handle_op_done(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev);
static void cx_gpu_handle_kick(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev);

static const cx_handler_fn cx_gpu_handlers[] = {
    cx_net_handle_chunk, cx_net_handle_txdone, cx_gpu_handle_op_done, cx_gpu_handle_kick,
};
const cx_entity_type_t cx_gpu_entity_type = {"gpu", cx_gpu_handlers, CX_GPU_N_KINDS};

typedef struct cx_gpu_done_msg {
    uint32_t stream;
    uint32_t gen;     /* the stream's gen when sent (cx_gpu_stream_t) */
} cx_gpu_done_msg_t;

void cx_coll_params_defaults(cx_coll_params_t *p)
{
    /* NCCL figures (REFERENCE.md, nccl-tests on H100): an NVLink ring reaches
     * ~370 of 450 GB/s (0.82), NVLS ~480 GB/s of bus bandwidth; across nodes
     * 46-48 of 50 GB/s per 400G NIC (0.94).  Step latencies are NCCL's
     * Simple-protocol figures of a few microseconds per hop. */
    p->nvlink_efficiency   = CX_COLL_DEFAULT_NVLINK_EFF;
    p->net_efficiency      = CX_COLL_DEFAULT_NET_EFF;
    p->nvls_efficiency     = CX_COLL_DEFAULT_NVLS_EFF;
    p->nvls_rsag_efficiency = CX_COLL_DEFAULT_NVLS_RSAG_EFF;
    p->nvlink_step_latency = CX_COLL_DEFAULT_NVLINK_LAT_NS * CX_PS_PER_NS;
    p->net_step_latency    = CX_COLL_DEFAULT_NET_LAT_NS * CX_PS_PER_NS;
    p->max_channels        = 0;
    p->algo                = 0;
    p->proto               = 0;
    p->pxn                 = 1;
}

/* ---- executor --------------------------------------------------------- */

static cx_gpu_t *cx_gpu_of(cx_entity_t *ent)
{
    cx_net_dev_t *d = ent->state;
    return d->upper;
}

static void cx_gpu_share_update(cx_engine_t *eng, cx_gpu_t *gpu);

_Static_assert(CX_NUM_STREAMS <= 4, "cx_gpu_t.parked holds two bits per stream in one byte");

static void cx_gpu_complete(cx_engine_t *eng, cx_gpu_t *gpu, int stream)
{
    cx_gpu_stream_t *s   = &gpu->s[stream];
    cx_time_t        now = cx_engine_now(eng);
    if (gpu->g->cfg.observer != NULL) {
        cx_op_record_t rec;
        rec.op       = s->op;
        rec.gpu      = gpu->gpu;
        rec.start    = s->start;
        rec.end      = now;
        rec.algo     = s->op.kind == CX_OP_COLLECTIVE ? s->coll.algo : 0;
        rec.channels = s->op.kind == CX_OP_COLLECTIVE ? s->coll.n_ch : 0;
        rec.proto    = s->op.kind == CX_OP_COLLECTIVE ? s->coll.proto : 0;
        gpu->g->cfg.observer(gpu->g->cfg.observer_ctx, &rec);
    }
    if (s->op.kind == CX_OP_COMPUTE) gpu->busy_compute += now - s->start;
    s->coll.active = 0;
    s->completed++;
    s->state     = CX_S_FETCH;
    gpu->parked  = (uint8_t)(gpu->parked & 0x0Fu & ~(1u << stream));
    gpu->last_end = now;
    gpu->ops++;
    if (s->op.kind == CX_OP_COLLECTIVE && s->op.flops > 0.0) cx_gpu_share_update(eng, gpu);
}

/* Full-speed work w at rate 1 - share: its duration (ceil), and the work
 * done in d at that rate (round). */
static cx_time_t cx_gpu_at_rate(cx_time_t w, double share)
{
    return share > 0.0 ? (cx_time_t)ceil((double)w / (1.0 - share)) : w;
}

static cx_time_t cx_gpu_work_in(cx_time_t d, double share)
{
    return share > 0.0 ? (cx_time_t)llround((double)d * (1.0 - share)) : d;
}

/* The SM share held by running collectives changed (one started or ended):
 * re-time the running kernels (SM SHARING, cx_gpu.h). */
static void cx_gpu_share_update(cx_engine_t *eng, cx_gpu_t *gpu)
{
    cx_entity_t *ent = cx_engine_entity(eng, gpu->dev->dev);
    cx_time_t    now = cx_engine_now(eng);
    double       sh  = 0.0;
    int          st;
    for (st = 0; st < CX_NUM_STREAMS; st++) {
        const cx_gpu_stream_t *s = &gpu->s[st];
        if (s->state == CX_S_RUN && s->op.kind == CX_OP_COLLECTIVE && s->op.flops > sh) sh = s->op.flops;
    }
    if (sh > CX_GPU_MAX_SM_SHARE) sh = CX_GPU_MAX_SM_SHARE;  /* a replay's collective may carry any flops */
    if (sh == gpu->comm_share) return;
    for (st = 0; st < CX_NUM_STREAMS; st++) {
        cx_gpu_stream_t  *s = &gpu->s[st];
        cx_gpu_done_msg_t m;
        cx_time_t         done;
        if (s->state != CX_S_RUN || s->op.kind != CX_OP_COMPUTE) continue;
        done         = cx_gpu_work_in(now - s->work_at, gpu->comm_share);
        s->work_left = done < s->work_left ? s->work_left - done : 0;
        s->work_at   = now;
        m.stream     = (uint32_t)st;
        m.gen        = ++s->gen;
        cx_engine_send(eng, ent, gpu->dev->dev, now + cx_gpu_at_rate(s->work_left, sh), CX_GPU_EV_OP_DONE, 0,
                       &m, sizeof(m));
    }
    gpu->comm_share = sh;
}

/* A kernel of `t` on this GPU at `now`, stretched by its slowdowns. */
static cx_time_t cx_gpu_slowed(const cx_gpus_t *g, uint64_t gpu, cx_time_t now, cx_time_t t)
{
    uint64_t lo = 0, hi = g->cfg.n_slow;
    double   f  = 1.0;
    while (lo < hi) {
        uint64_t m = (lo + hi) / 2;
        if (g->cfg.slow[m].gpu < gpu) lo = m + 1;
        else hi = m;
    }
    for (; lo < g->cfg.n_slow && g->cfg.slow[lo].gpu == gpu && g->cfg.slow[lo].at <= now; lo++) f *= g->cfg.slow[lo].factor;
    return f == 1.0 ? t : (cx_time_t)llround((double)t * f);
}

/* Try to start or finish the op at the head of a stream.  Returns 1 if the
 * stream moved (so others may now move too). */
static int cx_gpu_step(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, int stream)
{
    cx_gpu_stream_t *s = &gpu->s[stream];
    cx_gpus_t       *g = gpu->g;
    const cx_op_t   *op;

    if (s->state == CX_S_END) return 0;
    if (s->state == CX_S_FETCH) {
        if (!g->cfg.source.next(s->src, &s->op)) {
            s->state = CX_S_END;
            gpu->parked |= (uint8_t)(1u << stream);
            return 0;
        }
        s->start = cx_engine_now(eng);
        s->state = CX_S_READY;
    }
    op = &s->op;
    if (s->state == CX_S_READY) {
        switch ((cx_op_kind_t)op->kind) {
        case CX_OP_WAIT:
            if (op->cls >= CX_NUM_STREAMS) cx_fatal("WAIT on stream %u", (unsigned)op->cls);
            if (gpu->s[op->cls].completed < op->u.wait_count) {
                gpu->parked |= (uint8_t)(0x10u << stream);
                return 0;
            }
            cx_gpu_complete(eng, gpu, stream);  /* duration: time blocked */
            return 1;
        case CX_OP_ITER_BEGIN:
        case CX_OP_ITER_END:
            s->start = cx_engine_now(eng);
            cx_gpu_complete(eng, gpu, stream);
            return 1;
        case CX_OP_COMPUTE: {
            cx_time_t         t = g->cfg.compute_time(g->cfg.compute_ctx, gpu->type, op);
            cx_gpu_done_msg_t m = {(uint32_t)stream, s->gen};
            s->start = cx_engine_now(eng);
            if (g->cfg.n_slow > 0) t = cx_gpu_slowed(g, gpu->gpu, s->start, t);
            s->state     = CX_S_RUN;
            gpu->parked |= (uint8_t)(1u << stream);
            s->work_left = t > 0 ? t : 0;
            s->work_at   = s->start;
            cx_engine_send(eng, ent, gpu->dev->dev, s->start + cx_gpu_at_rate(s->work_left, gpu->comm_share),
                           CX_GPU_EV_OP_DONE, 0, &m, sizeof(m));
            return 1;
        }
        case CX_OP_SEND:
            s->start = cx_engine_now(eng);
            s->state = CX_S_RUN;
            gpu->parked |= (uint8_t)(1u << stream);
            cx_net_send(eng, ent, cx_gpus_device(g, op->u.peer), op->bytes, op->tag,
                        (uint32_t)stream, 0);
            return 1;
        case CX_OP_RECV:
            s->start = cx_engine_now(eng);
            s->state = CX_S_RUN;
            break;  /* polled below */
        case CX_OP_COLLECTIVE:
            s->start = cx_engine_now(eng);
            s->state = CX_S_RUN;
            cx_coll_start(eng, ent, gpu, &s->op, &s->coll);
            if (op->flops > 0.0) cx_gpu_share_update(eng, gpu);
            break;  /* polled below */
        default:
            cx_fatal("GPU %llu: unknown op kind %u", (unsigned long long)gpu->gpu, (unsigned)op->kind);
        }
    }
    /* Running ops that complete on their own inputs. */
    if (op->kind == CX_OP_RECV) {
        if (cx_mail_take(gpu, op->tag, 0, cx_gpus_device(g, op->u.peer), op->bytes)) {
            cx_gpu_complete(eng, gpu, stream);
            return 1;
        }
        return 0;
    }
    if (op->kind == CX_OP_COLLECTIVE && s->coll.active) {
        if (cx_coll_poll(eng, ent, gpu, &s->coll)) {
            cx_gpu_complete(eng, gpu, stream);
            return 1;
        }
    }
    return 0;
}

static void cx_gpu_kick(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu)
{
    int moved;
    do {
        int st;
        moved = 0;
        for (st = 0; st < CX_NUM_STREAMS; st++) {
            while (!(gpu->parked & (0x11u << st)) && cx_gpu_step(eng, ent, gpu, st)) moved = 1;
        }
    } while (moved);
}

static void cx_gpu_handle_op_done(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev)
{
    cx_gpu_t                *gpu = cx_gpu_of(self);
    const cx_gpu_done_msg_t *m   = CX_EVENT_CDATA(ev, cx_gpu_done_msg_t);
    if (m->gen != gpu->s[m->stream].gen) return;  /* re-timed (SM sharing): a later event ends it */
    cx_gpu_complete(eng, gpu, (int)m->stream);
    cx_gpu_kick(eng, self, gpu);
}

static void cx_gpu_handle_kick(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev)
{
    (void)ev;
    cx_gpu_kick(eng, self, cx_gpu_of(self));
}

void cx_gpu_on_recv(cx_engine_t *eng, cx_net_dev_t *dev, const cx_net_chunk_t *c)
{
    cx_gpu_t *gpu = dev->upper;
    uint64_t  src;
    if (c->cookie & CX_COOKIE_RELAY) {
        /* PXN: this GPU sits on the destination's rail; pass the chunk on
         * over its own NIC (also when it runs no part of the job).  The
         * forwarded copy's TX_DONE is not this GPU's. */
        cx_net_send_ex(eng, cx_engine_entity(eng, dev->dev), cx_topo_gpu_device(cx_net_topo(dev->net), c->aux),
                       c->bytes, c->tag, (c->cookie & ~CX_COOKIE_RELAY) | CX_COOKIE_FWD, 0, 0, 0);
        return;
    }
    if (gpu == NULL) return;  /* a GPU outside the job: nothing runs there */
    /* Point-to-point messages are keyed by the sending device; collective
     * steps of one channel share a key: a step has arrived once the
     * channel's byte count covers it (steps are equal-sized and come from
     * one sender), so a neighbour running many steps ahead costs one entry. */
    src = (c->cookie & CX_COOKIE_COLL) ? CX_SRC_ANY : c->src_dev;
    cx_mail_add(gpu, c->tag, (c->cookie & CX_COOKIE_COLL) ? CX_COOKIE_KEY(c->cookie) : 0, src, c->bytes);
    cx_gpu_kick(eng, cx_engine_entity(eng, dev->dev), gpu);
}

void cx_gpu_on_txdone(cx_engine_t *eng, cx_net_dev_t *dev, const cx_net_txdone_t *d)
{
    cx_gpu_t *gpu = dev->upper;
    if (gpu == NULL) return;
    {
        /* Only SEND ops ask for TX_DONE (collectives and PXN relays do not). */
        int stream = (int)d->cookie;
        if (stream < 0 || stream >= CX_NUM_STREAMS || gpu->s[stream].state != CX_S_RUN ||
            gpu->s[stream].op.kind != CX_OP_SEND) {
            cx_fatal("GPU %llu: stray send completion (stream %d)", (unsigned long long)gpu->gpu, stream);
        }
        cx_gpu_complete(eng, gpu, stream);
    }
    cx_gpu_kick(eng, cx_engine_entity(eng, dev->dev), gpu);
}

/* ---- set-up ----------------------------------------------------------- */

uint64_t cx_gpus_domain(const cx_gpus_t *g, uint64_t gpu)
{
    cx_gpu_info_t gi;
    gpu = cx_gpus_global(g, gpu);
    if (g->gpd > 0 && gpu < g->gpd_gpus) return gpu / g->gpd;
    cx_topo_gpu_info(g->topo, cx_topo_gpu_device(g->topo, gpu), &gi);
    return gi.domain;
}

/* If the first fabric's GPUs form NVLink domains of one size in GPU order
 * (domain = gpu / size), remember the size: the hot path then divides
 * instead of decoding device ids. */
static void cx_gpus_find_domain_size(cx_gpus_t *g)
{
    cx_gpu_info_t    gi, first;
    cx_fabric_info_t fi;
    uint64_t         gpd, i, f0;
    cx_topo_gpu_info(g->topo, cx_topo_gpu_device(g->topo, 0), &first);
    if (cx_topo_fabric_info(g->topo, first.fabric, &fi) != CX_OK || fi.domain_gpus < 1) return;
    gpd = (uint64_t)fi.domain_gpus;
    f0  = fi.gpus;
    /* Check the layout at every domain's first and last GPU. */
    for (i = 0; i + gpd <= f0; i += gpd) {
        uint64_t j;
        for (j = 0; j < 2; j++) {
            uint64_t k = j == 0 ? i : i + gpd - 1;
            cx_topo_gpu_info(g->topo, cx_topo_gpu_device(g->topo, k), &gi);
            if (gi.domain != first.domain + k / gpd || gi.fabric != first.fabric) return;
        }
    }
    g->gpd      = gpd;
    g->gpd_gpus = f0;
}

/* The job's index of the GPU on device dev, or UINT64_MAX when dev holds
 * no GPU of the job.  rev: with a placement, the job's block of each global
 * block of place_block GPUs (UINT64_MAX: none). */
static uint64_t cx_gpus_job_index(const cx_gpus_t *g, const uint64_t *rev, uint64_t dev)
{
    cx_gpu_info_t gi;
    uint64_t      j;
    if (cx_topo_device_kind(g->topo, dev) != CX_DEV_GPU) return UINT64_MAX;
    cx_topo_gpu_info(g->topo, dev, &gi);
    if (g->cfg.place != NULL) {
        uint64_t b = rev[gi.gpu_index / g->cfg.place_block];
        if (b == UINT64_MAX) return UINT64_MAX;
        j = b * g->cfg.place_block + gi.gpu_index % g->cfg.place_block;
    } else {
        j = gi.gpu_index;
    }
    return g->cfg.job_gpus == 0 || j < g->cfg.job_gpus ? j : UINT64_MAX;
}

/* A placement's reverse map (cx_gpus_job_index), after checking it: whole
 * domains of the first fabric, each used once. */
static cx_status_t cx_gpus_place_rev(const cx_gpus_t *g, uint64_t **rev_p, cx_err_t *err)
{
    uint64_t  nb = g->cfg.place_block > 0 ? (g->cfg.job_gpus + g->cfg.place_block - 1) / g->cfg.place_block : 0;
    uint64_t  k, nglob;
    uint64_t *rev;
    *rev_p = NULL;
    if (g->cfg.place == NULL) return CX_OK;
    if (g->cfg.job_gpus == 0 || g->gpd == 0 || g->cfg.place_block != g->gpd) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "placement",
                          "a placement needs whole NVLink domains of %llu GPUs on one fabric (blocks of %llu)",
                          (unsigned long long)g->gpd, (unsigned long long)g->cfg.place_block);
    }
    nglob = g->gpd_gpus / g->gpd;
    rev   = malloc((nglob > 0 ? nglob : 1) * sizeof(*rev));
    if (rev == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    for (k = 0; k < nglob; k++) rev[k] = UINT64_MAX;
    for (k = 0; k < nb; k++) {
        uint64_t base = g->cfg.place[k];
        if (base % g->gpd != 0 || base / g->gpd >= nglob || rev[base / g->gpd] != UINT64_MAX) {
            free(rev);
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "placement",
                              "block %llu at GPU %llu is not a free NVLink domain of the first fabric",
                              (unsigned long long)k, (unsigned long long)base);
        }
        rev[base / g->gpd] = k;
    }
    *rev_p = rev;
    return CX_OK;
}

cx_status_t cx_gpus_create(cx_gpus_t **g_p, cx_engine_t *eng, cx_net_t *net,
                           const cx_gpu_config_t *cfg, cx_err_t *err)
{
    cx_gpus_t       *g;
    const cx_topo_t *topo = cx_net_topo(net);
    uint64_t         count = cx_net_local_count(net), i, k = 0;
    uint64_t        *rev = NULL;
    size_t           ss = (cfg->source.state_size + 15u) & ~(size_t)15u;
    cx_status_t      st;

    st = cx_coll_params_check(&cfg->coll, err);
    if (st != CX_OK) return st;

    g = calloc(1, sizeof(*g));
    if (g == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    g->eng  = eng;
    g->net  = net;
    g->topo = topo;
    g->cfg  = *cfg;
    cx_gpus_find_domain_size(g);
    st = cx_gpus_place_rev(g, &rev, err);
    if (st != CX_OK) {
        cx_gpus_destroy(g);
        return st;
    }
    for (i = 0; i < count; i++) {
        if (cx_gpus_job_index(g, rev, cx_net_local_dev_at(net, i)->dev) != UINT64_MAX) g->n++;
    }
    g->gpus      = calloc(g->n > 0 ? g->n : 1, sizeof(cx_gpu_t));
    g->src_arena = calloc((g->n > 0 ? g->n : 1) * CX_NUM_STREAMS, ss > 0 ? ss : 16);
    cx_mem_advise_huge(g->gpus, (g->n > 0 ? g->n : 1) * sizeof(cx_gpu_t));
    cx_mem_advise_huge(g->src_arena, (g->n > 0 ? g->n : 1) * CX_NUM_STREAMS * (ss > 0 ? ss : 16));
    if (g->gpus == NULL || g->src_arena == NULL) {
        uint64_t n = g->n;
        free(rev);
        cx_gpus_destroy(g);
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory for %llu GPUs",
                          (unsigned long long)n);
    }
    for (i = 0; i < count; i++) {
        uint64_t      dev = cx_net_local_dev_at(net, i)->dev, j = cx_gpus_job_index(g, rev, dev);
        cx_gpu_info_t gi;
        cx_gpu_t     *gpu;
        int           s;
        if (j == UINT64_MAX) continue;
        cx_topo_gpu_info(topo, dev, &gi);
        gpu         = &g->gpus[k];
        gpu->g      = g;
        gpu->dev    = cx_net_local_dev_at(net, i);
        gpu->gpu    = j;
        gpu->domain = gi.domain;
        gpu->type   = cx_topo_gpu_type(topo, gi.gpu_type);
        gpu->dev->upper = gpu;
        for (s = 0; s < CX_NUM_STREAMS; s++) {
            gpu->s[s].src   = g->src_arena + (k * CX_NUM_STREAMS + (uint64_t)s) * (ss > 0 ? ss : 16);
            gpu->s[s].state = CX_S_FETCH;
            st = cfg->source.init(gpu->s[s].src, cfg->source.ctx, gpu->gpu, s, err);
            if (st != CX_OK) {
                free(rev);
                cx_gpus_destroy(g);
                return st;
            }
        }
        k++;
    }
    free(rev);
    /* Start every program at cfg->start (t = 0 unless placed in a scenario)
     * through a kick event (handlers run with a current entity; set-up code
     * does not). */
    for (k = 0; k < g->n; k++) {
        cx_entity_t *e = cx_engine_entity(eng, g->gpus[k].dev->dev);
        cx_engine_send(eng, e, g->gpus[k].dev->dev, cfg->start, CX_GPU_EV_KICK, 0, NULL, 0);
    }
    *g_p = g;
    return CX_OK;
}

void cx_gpus_destroy(cx_gpus_t *g)
{
    uint64_t i;
    int      s;
    if (g == NULL) return;
    /* Collectives a stopped run left unfinished may hold memory. */
    for (i = 0; g->gpus != NULL && i < g->n; i++) {
        for (s = 0; s < CX_NUM_STREAMS; s++) cx_coll_release(&g->gpus[i].s[s].coll);
        cx_mail_release(&g->gpus[i]);
    }
    free(g->src_arena);
    free(g->gpus);
    free(g);
}

uint64_t cx_gpus_unfinished(const cx_gpus_t *g, char *buf, size_t len)
{
    uint64_t i, n = 0;
    if (len > 0) buf[0] = '\0';
    for (i = 0; i < g->n; i++) {
        const cx_gpu_t *gpu = &g->gpus[i];
        int             s;
        for (s = 0; s < CX_NUM_STREAMS; s++) {
            if (gpu->s[s].state != CX_S_END) {
                if (n == 0 && len > 0) {
                    const cx_op_t *op = &gpu->s[s].op;
                    snprintf(buf, len, "GPU %llu stream %d stuck at op %llu (kind %u, tag %016llx, "
                             "%llu bytes)", (unsigned long long)gpu->gpu, s,
                             (unsigned long long)gpu->s[s].completed, (unsigned)op->kind,
                             (unsigned long long)op->tag, (unsigned long long)op->bytes);
                }
                n++;
                break;
            }
        }
    }
    return n;
}

void cx_gpus_foreach_source(cx_gpus_t *g, void (*fn)(void *state))
{
    uint64_t i;
    int      s;
    for (i = 0; i < g->n; i++) {
        for (s = 0; s < CX_NUM_STREAMS; s++) fn(g->gpus[i].s[s].src);
    }
}

void cx_gpus_totals(const cx_gpus_t *g, cx_gpus_totals_t *t)
{
    uint64_t i;
    memset(t, 0, sizeof(*t));
    t->gpus = g->n;
    for (i = 0; i < g->n; i++) {
        t->busy_compute += g->gpus[i].busy_compute;
        if (g->gpus[i].last_end > t->last_end) t->last_end = g->gpus[i].last_end;
        t->ops += g->gpus[i].ops;
    }
}

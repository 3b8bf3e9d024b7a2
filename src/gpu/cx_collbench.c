/* nccl-tests style sweep over message sizes (see cx_collbench.h). */
#include "cx_collbench.h"

#include <stdlib.h>
#include <string.h>

#include "cx_traffic.h"

typedef struct cx_cb_ctx {
    int      kind;
    uint32_t algo;
    uint64_t gpus;
    uint64_t bytes;
    uint32_t iters;
} cx_cb_ctx_t;

typedef struct cx_cb_state {
    const cx_cb_ctx_t *ctx;
    uint64_t           gpu;
    int                stream;
    uint32_t           done;
} cx_cb_state_t;

static cx_status_t cx_cb_init(void *state, const void *ctx, uint64_t gpu, int stream, cx_err_t *err)
{
    cx_cb_state_t *s = state;
    (void)err;
    s->ctx    = ctx;
    s->gpu    = gpu;
    s->stream = stream;
    s->done   = 0;
    return CX_OK;
}

static int cx_cb_next(void *state, cx_op_t *op)
{
    cx_cb_state_t     *s = state;
    const cx_cb_ctx_t *c = s->ctx;
    if (s->stream != CX_STREAM_TP || s->gpu >= c->gpus || s->done >= c->iters) return 0;
    memset(op, 0, sizeof(*op));
    op->kind         = CX_OP_COLLECTIVE;
    op->stream       = CX_STREAM_TP;
    op->cls          = (uint8_t)c->kind;
    op->algo         = (uint8_t)c->algo;
    op->layer        = CX_OP_NO_LAYER;
    op->microbatch   = CX_OP_NO_MB;
    op->iteration    = s->done;
    op->bytes        = c->bytes;
    op->u.group_base = 0;
    op->group_stride = 1;
    op->group_size   = (uint32_t)c->gpus;
    op->group_index  = (uint32_t)s->gpu;
    op->tag          = ((uint64_t)s->done << 44) | (UINT64_C(0x5A) << 8);  /* low 7 bits: phases */
    s->done++;
    return 1;
}

static cx_time_t cx_cb_compute(const void *ctx, const cx_gpu_type_t *gpu, const cx_op_t *op)
{
    (void)ctx; (void)gpu; (void)op;
    return 0;
}

typedef struct cx_cb_obs {
    uint32_t algo, channels, proto;
    int      seen;
} cx_cb_obs_t;

static void cx_cb_observe(void *ctx, const cx_op_record_t *rec)
{
    cx_cb_obs_t *o = ctx;
    if (rec->gpu == 0 && !o->seen) {
        o->algo     = rec->algo;
        o->channels = rec->channels;
        o->proto    = rec->proto;
        o->seen     = 1;
    }
}

double cx_coll_busbw_factor(int kind, uint64_t n)
{
    double dn = (double)n;
    switch (kind) {
    case CX_COLL_ALLREDUCE: return 2.0 * (dn - 1.0) / dn;
    case CX_COLL_REDUCESCATTER:
    case CX_COLL_ALLGATHER:
    case CX_COLL_ALLTOALL: return (dn - 1.0) / dn;
    default: return 1.0;
    }
}

cx_status_t cx_collbench_run(const cx_topo_t *topo, const cx_collbench_config_t *cfg, MPI_Comm comm,
                             cx_collbench_row_t **rows_p, size_t *n_rows_p, cx_err_t *err)
{
    cx_collbench_row_t *rows = NULL;
    size_t              n_rows = 0, cap = 0;
    uint64_t            bytes;
    cx_status_t         st = CX_OK;

    if (cfg->gpus < 1 || cfg->gpus > cx_topo_num_gpus(topo)) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "gpus", "need 1 .. %llu GPUs",
                          (unsigned long long)cx_topo_num_gpus(topo));
    }
    if (cfg->min_bytes == 0 || cfg->max_bytes < cfg->min_bytes) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "min-bytes", "need 0 < min-bytes <= max-bytes");
    }
    if (cfg->step_factor <= 1.0) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "step-factor", "must be > 1");
    }
    if (!cx_topo_gpus_one_fabric(topo, cfg->gpus)) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "gpus", "the first %llu GPUs span two unconnected fabrics",
                          (unsigned long long)cfg->gpus);
    }
    for (bytes = cfg->min_bytes; bytes <= cfg->max_bytes;) {
        cx_engine_t     *eng  = NULL;
        cx_net_t        *net  = NULL;
        cx_gpus_t       *gpus = NULL;
        cx_gpu_config_t  gcfg;
        cx_cb_ctx_t      ctx;
        cx_cb_obs_t      obs;
        cx_gpus_totals_t tot;
        int64_t          la, last, last_max;
        uint64_t         stuck, stuck_sum;
        char             why[256];
        uint64_t         next;

        memset(&gcfg, 0, sizeof(gcfg));
        memset(&obs, 0, sizeof(obs));
        ctx.kind  = cfg->kind;
        ctx.algo  = cfg->coll.algo;
        ctx.gpus  = cfg->gpus;
        ctx.bytes = bytes;
        ctx.iters = cfg->iters > 0 ? cfg->iters : 1;
        gcfg.source.state_size = sizeof(cx_cb_state_t);
        gcfg.source.init       = cx_cb_init;
        gcfg.source.next       = cx_cb_next;
        gcfg.source.ctx        = &ctx;
        gcfg.compute_time      = cx_cb_compute;
        gcfg.coll              = cfg->coll;
        gcfg.observer          = cx_cb_observe;
        gcfg.observer_ctx      = &obs;

        {
            cx_engine_config_t tmpl = {0};
            tmpl.seed           = cfg->seed;
            tmpl.progress_label = "collective";
            st = cx_net_engine_create(&eng, topo, cfg->gpus, comm, &tmpl, &la, err);
        }
        if (st == CX_OK) st = cx_net_create(&net, eng, topo, &cfg->net, &cx_gpu_entity_type,
                                            cx_gpu_on_recv, cx_gpu_on_txdone, err);
        if (st == CX_OK) st = cx_gpus_create(&gpus, eng, net, &gcfg, err);
        if (st == CX_OK) st = cx_engine_run(eng, err);
        if (st == CX_OK) {
            stuck = cx_gpus_unfinished(gpus, why, sizeof(why));
            MPI_Allreduce(&stuck, &stuck_sum, 1, MPI_UINT64_T, MPI_SUM, comm);
            if (stuck_sum > 0) {
                st = cx_err_set(err, CX_ERR_INTERNAL, NULL, 0, NULL,
                                "%llu GPUs did not finish the collective%s%s",
                                (unsigned long long)stuck_sum, stuck > 0 ? ": " : "", why);
            }
        }
        if (st == CX_OK) {
            uint32_t ab[3], ab_max[3];
            cx_gpus_totals(gpus, &tot);
            last = tot.last_end;
            MPI_Allreduce(&last, &last_max, 1, MPI_INT64_T, MPI_MAX, comm);
            ab[0] = obs.seen ? obs.algo : 0;
            ab[1] = obs.seen ? obs.channels : 0;
            ab[2] = obs.seen ? obs.proto : 0;
            MPI_Allreduce(ab, ab_max, 3, MPI_UINT32_T, MPI_MAX, comm);
            if (n_rows == cap) {
                size_t              ncap = cap ? cap * 2 : 32;
                cx_collbench_row_t *nr   = realloc(rows, ncap * sizeof(*nr));
                if (nr == NULL) cx_fatal("out of memory");
                rows = nr;
                cap  = ncap;
            }
            {
                cx_collbench_row_t *r = &rows[n_rows++];
                const cx_engine_stats_t *es = cx_engine_stats(eng);
                double t = (double)last_max * 1e-12 / ctx.iters;
                r->bytes        = bytes;
                r->time_us      = t * 1e6;
                r->algbw_gbps   = t > 0 ? (double)bytes / t * 1e-9 : 0.0;
                r->busbw_gbps   = r->algbw_gbps * cx_coll_busbw_factor(cfg->kind, cfg->gpus);
                r->algo         = ab_max[0];
                r->channels     = ab_max[1];
                r->proto        = ab_max[2];
                r->events       = es->events;
                r->wall_seconds = es->wall_seconds;
                r->digest       = es->digest;
            }
        }
        cx_gpus_destroy(gpus);
        cx_net_destroy(net);
        cx_engine_destroy(eng);
        if (st != CX_OK) break;
        next = (uint64_t)((double)bytes * cfg->step_factor);
        if (next <= bytes) next = bytes + 1;
        bytes = next;
    }
    if (st != CX_OK) {
        free(rows);
        return st;
    }
    *rows_p   = rows;
    *n_rows_p = n_rows;
    return CX_OK;
}

/*
 * The inference generator (cx_infer.h): request lengths, an instance's
 * schedule (static or continuous batching) as a table of steps, and one
 * GPU's ops for a pass over that table, built a layer at a time.
 *
 * Why a step table: continuous batching needs the set of running sequences
 * (up to max_batch), which is the same for every GPU of an instance; the
 * run builds the table once per instance on a rank (a few doubles per step)
 * and every GPU's stream sources read it, so a GPU's own state stays a
 * cursor (step, layer) plus the current layer's ops of its stream.
 *
 * Costs per step and layer, on one GPU (t = tokens of the step / ep):
 *   GEMMs: 2 t x parameters / tp FLOPs; HBM bytes = the weights (read once
 *     per step, whatever t) + activations.  Prefill has t in the thousands
 *     (compute-bound), decode t = running sequences (memory-bound).
 *   attention: prefill sum(prompt^2) x heads x (qk + v) / tp FLOPs (causal);
 *     decode 2 x context x heads x (qk + v) / tp per sequence; bytes = the
 *     KV cache of the decoding sequences (kv_heads x head_dim x 2 x bytes
 *     per token and layer, / tp) + the new tokens' entries.
 *   TP all-reduce of t x hidden bf16 after attention and after the MLP; EP
 *   all-to-all of t x top_k x hidden before and after the experts.
 */
#include "cx_infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cx_rng.h"

/* ---- requests ------------------------------------------------------------- */

static double u01(uint64_t seed, uint64_t stream, uint64_t idx)
{
    return ((double)(cx_rng_u64(seed, stream, idx) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static uint64_t draw(const cx_wl_dist_t *d, uint64_t seed, uint64_t stream)
{
    double v;
    switch (d->kind) {
    case CX_DIST_UNIFORM:
        return d->min + (uint64_t)floor(u01(seed, stream, 0) * (double)(d->max - d->min + 1));
    case CX_DIST_LOGNORMAL: {
        /* Box-Muller; mu so that the mean is d->mean. */
        double z = sqrt(-2.0 * log(u01(seed, stream, 0))) * cos(6.283185307179586 * u01(seed, stream, 1));
        v = exp(log(d->mean) - 0.5 * d->sigma * d->sigma + d->sigma * z);
        break;
    }
    default:
        v = d->mean;
    }
    v = floor(v + 0.5);
    if (v < (double)d->min) v = (double)d->min;
    if (v > (double)d->max) v = (double)d->max;
    return (uint64_t)v;
}

void cx_infer_request(const cx_wl_infer_t *x, uint64_t seed, uint64_t i, uint64_t *prompt_p, uint64_t *output_p)
{
    (void)x;
    *prompt_p = draw(&x->prompt, seed, 2 * i);
    *output_p = draw(&x->output, seed, 2 * i + 1);
}

uint64_t cx_infer_inst_requests(const cx_wl_infer_t *x, uint32_t inst)
{
    return x->requests / x->instances + (inst < x->requests % x->instances ? 1u : 0u);
}

/* ---- schedule --------------------------------------------------------------- */

typedef struct sched {
    uint64_t *ctx, *left, *req;  /* per running sequence: context, tokens still to come, request */
    uint32_t  n;                 /* running */
} sched_t;

static int push_step(cx_infer_step_t **v, uint64_t *n, uint64_t *cap, const cx_infer_step_t *s)
{
    if (*n == *cap) {
        uint64_t         nc = *cap ? *cap * 2 : 256;
        cx_infer_step_t *nv = realloc(*v, nc * sizeof(**v));
        if (nv == NULL) return -1;
        *v   = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *s;
    return 0;
}

/* One step: the running sequences decode one token; new requests are
 * admitted into free slots (continuous; static: only into an empty batch)
 * and prefilled, producing their first token. */
static void sched_step(const cx_wl_infer_t *x, uint64_t seed, uint32_t inst, sched_t *s, uint64_t *next, uint64_t nr,
                       uint64_t step, cx_infer_step_t *st, uint64_t *first_p, uint64_t *last_p)
{
    uint32_t a, keep = 0, running = s->n;
    memset(st, 0, sizeof(*st));
    for (a = 0; a < running; a++) {
        st->decode_seqs += 1.0;
        st->kv_tokens += (double)(s->ctx[a] + 1);
        s->ctx[a]++;
        s->left[a]--;
    }
    if (x->continuous || running == 0) {
        while (s->n < x->max_batch && *next < nr) {
            uint64_t p, o, k = *next, i = inst + k * x->instances;
            cx_infer_request(x, seed, i, &p, &o);
            st->prefill_tokens += (double)p;
            st->prefill_sq += (double)p * (double)p;
            if (first_p != NULL) first_p[k] = step;
            s->ctx[s->n]  = p;
            s->left[s->n] = o - 1;
            s->req[s->n]  = k;
            s->n++;
            (*next)++;
        }
    }
    st->emitted = st->decode_seqs + (double)(s->n - running);
    /* Done sequences leave (static: the batch ends when all are done). */
    for (a = 0; a < s->n; a++) {
        if (s->left[a] == 0) {
            if (last_p != NULL) last_p[s->req[a]] = step;
            if (x->continuous) continue;
        }
        s->ctx[keep] = s->ctx[a];
        s->left[keep] = s->left[a];
        s->req[keep] = s->req[a];
        keep += x->continuous || s->left[a] > 0 ? 1u : 0u;
    }
    s->n = keep;
}

cx_status_t cx_infer_schedule(const cx_wl_infer_t *x, uint64_t seed, uint32_t inst, cx_infer_step_t **steps_p,
                              uint64_t *n_p, uint64_t *first_p, uint64_t *last_p, cx_err_t *err)
{
    sched_t          s;
    cx_infer_step_t *v = NULL, st;
    uint64_t         n = 0, cap = 0, next = 0, nr = cx_infer_inst_requests(x, inst);
    cx_status_t      ret = CX_OK;
    s.n    = 0;
    s.ctx  = malloc(x->max_batch * sizeof(uint64_t));
    s.left = malloc(x->max_batch * sizeof(uint64_t));
    s.req  = malloc(x->max_batch * sizeof(uint64_t));
    if (s.ctx == NULL || s.left == NULL || s.req == NULL) {
        ret = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory (inference schedule)");
        goto out;
    }
    while (next < nr || s.n > 0) {
        if (n >= CX_INFER_MAX_STEPS) {
            ret = cx_err_set(err, CX_ERR_RANGE, NULL, x->line, "requests",
                             "instance %u needs more than %llu steps: fewer requests or tokens", inst,
                             (unsigned long long)CX_INFER_MAX_STEPS);
            goto out;
        }
        sched_step(x, seed, inst, &s, &next, nr, n, &st, first_p, last_p);
        if (push_step(&v, &n, &cap, &st) != 0) {
            ret = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory (inference schedule)");
            goto out;
        }
    }
out:
    free(s.ctx);
    free(s.left);
    free(s.req);
    if (ret != CX_OK) {
        free(v);
        return ret;
    }
    *steps_p = v;
    *n_p     = n;
    return CX_OK;
}

/* ---- one GPU's ops ------------------------------------------------------------ */

void cx_infer_pass_init(cx_infer_pass_t *p, const cx_workload_t *w, const cx_wl_infer_t *x, uint64_t gpu,
                        uint64_t gpu_off, const cx_infer_step_t *steps, uint64_t n_steps, uint32_t iteration)
{
    memset(p, 0, sizeof(*p));
    p->w         = w;
    p->x         = x;
    p->steps     = steps;
    p->n_steps   = n_steps;
    p->gpu_off   = gpu_off;
    p->tp_i      = (uint32_t)(gpu % x->tp);
    p->dp_i      = (uint32_t)(gpu / x->tp);
    p->inst      = p->dp_i / x->ep;
    p->ep_i      = p->dp_i % x->ep;
    p->iteration = iteration;
}

static void add(cx_op_t *ops, uint32_t *n, uint64_t counts[CX_NUM_STREAMS], const cx_op_t *op)
{
    ops[*n] = *op;
    (*n)++;
    counts[op->stream]++;
}

void cx_infer_emit(cx_op_t *ops, uint32_t *n, uint64_t counts[CX_NUM_STREAMS], const cx_op_t *op)
{
    cx_op_t wt = *op;
    if (op->stream == CX_STREAM_COMPUTE) {
        add(ops, n, counts, op);
        return;
    }
    wt.kind         = CX_OP_WAIT;
    wt.cls          = CX_STREAM_COMPUTE;
    wt.u.wait_count = counts[CX_STREAM_COMPUTE];
    wt.bytes        = 0;
    wt.flops        = 0;
    add(ops, n, counts, &wt);
    add(ops, n, counts, op);
    wt.stream       = CX_STREAM_COMPUTE;
    wt.cls          = op->stream;
    wt.u.wait_count = counts[op->stream];
    add(ops, n, counts, &wt);
}

/* A labelled op of the pass. */
static cx_op_t base_op(const cx_infer_pass_t *p, uint32_t block)
{
    cx_op_t op;
    memset(&op, 0, sizeof(op));
    op.phase      = CX_PHASE_FWD;
    op.block      = (uint8_t)block;
    op.layer      = (uint16_t)p->layer;
    op.microbatch = (uint32_t)p->step;
    op.iteration  = p->iteration;
    op.tag        = cx_op_tag(p->iteration, (uint32_t)(p->step & 0xFFFF), p->layer, CX_PHASE_FWD, block) |
             ((p->step >> 16) & 0x7Fu);
    return op;
}

static void gemm(const cx_infer_pass_t *p, cx_op_t *ops, uint32_t *n, uint64_t *counts, uint32_t block, uint32_t cls,
                 double flops, double bytes)
{
    cx_op_t op = base_op(p, block);
    op.kind    = CX_OP_COMPUTE;
    op.stream  = CX_STREAM_COMPUTE;
    op.cls     = (uint8_t)cls;
    op.flops   = flops;
    op.bytes   = (uint64_t)llround(bytes);
    if (p->x->fp8 && cls == CX_CLS_GEMM) op.flags |= CX_OP_F_FP8;
    add(ops, n, counts, &op);
}

static void coll(const cx_infer_pass_t *p, cx_op_t *ops, uint32_t *n, uint64_t *counts, uint32_t block, uint32_t kind,
                 double bytes, int ep)
{
    const cx_wl_infer_t *x  = p->x;
    cx_op_t              op = base_op(p, block);
    op.kind   = CX_OP_COLLECTIVE;
    op.stream = CX_STREAM_TP;
    op.cls    = (uint8_t)kind;
    op.bytes  = (uint64_t)ceil(bytes);
    if (ep) {
        op.u.group_base  = p->gpu_off + p->tp_i + (uint64_t)x->tp * p->inst * x->ep;
        op.group_stride  = x->tp;
        op.group_size    = x->ep;
        op.group_index   = p->ep_i;
    } else {
        op.u.group_base  = p->gpu_off + (uint64_t)x->tp * p->dp_i;
        op.group_stride  = 1;
        op.group_size    = x->tp;
        op.group_index   = p->tp_i;
    }
    cx_infer_emit(ops, n, counts, &op);
}

/* The experts of a MoE layer: router, dispatch, routed experts, combine, shared. */
static void moe(const cx_infer_pass_t *p, cx_op_t *ops, uint32_t *n, uint64_t *counts, double t)
{
    const cx_wl_infer_t *x = p->x;
    const cx_model_t    *m = &p->w->model;
    double h = m->hidden, r = t * m->top_k, eloc = (double)(m->experts / x->ep);
    double touched = r < eloc ? r : eloc;
    gemm(p, ops, n, counts, CX_BLK_ROUTER, CX_CLS_GEMM, 2.0 * t * h * m->experts, x->w_router + t * h * 2.0);
    if (x->ep > 1) coll(p, ops, n, counts, CX_BLK_EP_DISPATCH, CX_COLL_ALLTOALL, ceil(r) * h * 2.0, 1);
    gemm(p, ops, n, counts, CX_BLK_EXP_UP, CX_CLS_GEMM, 2.0 * r * x->w_expert / x->bpe,
         touched * x->w_expert + r * h * 4.0);
    if (x->ep > 1) coll(p, ops, n, counts, CX_BLK_EP_COMBINE, CX_COLL_ALLTOALL, ceil(r) * h * 2.0, 1);
    if (m->shared_experts > 0)
        gemm(p, ops, n, counts, CX_BLK_SH_UP, CX_CLS_GEMM, 2.0 * t * x->w_shared / x->bpe, x->w_shared + t * h * 4.0);
}

/* Layer p->layer of step p->step (and the LM head after the last layer). */
static void layer_ops(const cx_infer_pass_t *p, cx_op_t *ops, uint32_t *n, uint64_t *counts)
{
    const cx_wl_infer_t   *x  = p->x;
    const cx_model_t      *m  = &p->w->model;
    const cx_infer_step_t *st = &p->steps[p->step];
    double ep = x->ep, h = m->hidden, tp = x->tp;
    double t  = (st->prefill_tokens + st->decode_seqs) / ep, kv = st->kv_tokens / ep;
    double hd = (double)m->heads * ((m->mla ? (double)(m->qk_nope_head_dim + m->qk_rope_head_dim) : m->head_dim) +
                                    (m->mla ? (double)m->v_head_dim : m->head_dim));
    double att_f = (st->prefill_sq / ep * hd + 2.0 * kv * hd) / tp;
    double att_b = x->kv_token_layer * (kv + t) + t * hd / tp * 2.0;
    gemm(p, ops, n, counts, CX_BLK_QKV, CX_CLS_GEMM, 2.0 * t * x->w_qkv / x->bpe, x->w_qkv + t * h * 2.0);
    gemm(p, ops, n, counts, CX_BLK_ATTN, CX_CLS_ATTENTION, att_f, att_b);
    gemm(p, ops, n, counts, CX_BLK_PROJ, CX_CLS_GEMM, 2.0 * t * x->w_proj / x->bpe, x->w_proj + t * h * 2.0);
    if (x->tp > 1) coll(p, ops, n, counts, CX_BLK_TP_ATTN_OUT, CX_COLL_ALLREDUCE, ceil(t) * h * 2.0, 0);
    if (cx_workload_layer_is_moe(p->w, p->layer)) {
        moe(p, ops, n, counts, t);
    } else {
        double nm = m->mlp == CX_MLP_SWIGLU ? 3.0 : 2.0;
        gemm(p, ops, n, counts, CX_BLK_MLP_UP, CX_CLS_GEMM, 2.0 * t * x->w_mlp / x->bpe * (nm - 1.0) / nm,
             x->w_mlp * (nm - 1.0) / nm + t * h * 2.0);
        gemm(p, ops, n, counts, CX_BLK_MLP_DOWN, CX_CLS_GEMM, 2.0 * t * x->w_mlp / x->bpe / nm,
             x->w_mlp / nm + t * h * 2.0);
    }
    if (x->tp > 1) coll(p, ops, n, counts, CX_BLK_TP_MLP_OUT, CX_COLL_ALLREDUCE, ceil(t) * h * 2.0, 0);
    if (p->layer + 1 == m->layers) {
        double e = st->emitted / ep;
        gemm(p, ops, n, counts, CX_BLK_LM_HEAD, CX_CLS_GEMM, 2.0 * e * x->w_head / x->bpe,
             x->w_head + e * (double)m->vocab / tp * 4.0);
    }
}

int cx_infer_pass_unit(cx_infer_pass_t *p, cx_op_t *ops, uint32_t *n, uint64_t counts[CX_NUM_STREAMS])
{
    if (p->step >= p->n_steps) return 0;
    layer_ops(p, ops, n, counts);
    if (++p->layer == p->w->model.layers) {
        p->layer = 0;
        p->step++;
    }
    return 1;
}

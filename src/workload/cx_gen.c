/*
 * The generator as a state machine: sections (begin, schedule slots with
 * pre / layer / post parts, optimizer, end), each a fixed list of template
 * entries; an entry expands into 0..3 ops (a GEMM and its TP collective
 * under tp_comm_overlap into 3k + 1, the expert all-to-all under
 * node-limited routing into 4) (0 when it does not apply to this
 * configuration or GPU: no CP, no MoE in this layer, not the last stage...).
 * All quantities come from the workload's derived per-GPU numbers, so an op
 * costs a few branches and multiplications and the state is a few counters.
 * DualPipe's overlapped pairs keep a second chunk's counters (cx_gen_lane_t)
 * and alternate between the two at each communication op.
 */
#include "cx_gen.h"
#include "cx_log.h"

#include <math.h>
#include <string.h>

enum { S_BEGIN = 0, S_ITER_PRE, S_ACT_START, S_PRE, S_LAYER, S_POST, S_WGRAD, S_OPT, S_END, S_DONE };

enum {
    E_PP_RECV = 0, E_PP_SEND, E_EMBED, E_FINAL_NORM, E_LM_HEAD, E_LOSS, E_DP_GRAD_EMBED,
    E_PARAM_WAIT, E_NORM1, E_TP_ATTN_IN, E_QKV, E_CP_KV, E_ATTN_RECOMP, E_ATTN, E_PROJ, E_TP_ATTN_OUT,
    E_NORM2, E_TP_MLP_IN, E_MLP_UP, E_MLP_ACT, E_MLP_DOWN, E_ROUTER, E_EP_DISPATCH,
    E_EXP_UP, E_EXP_ACT, E_EXP_DOWN, E_EP_COMBINE, E_SH_UP, E_SH_ACT, E_SH_DOWN,
    E_TP_MLP_OUT, E_DP_GRAD, E_DP_GRAD_EXP,
    E_OPT_WAIT, E_OPTIMIZER, E_PARAM_AG, E_PARAM_AG_EXP, E_CKPT, E_SYNC
};

static const uint8_t fwd_pre[]  = {E_PP_RECV, E_EMBED};
static const uint8_t fwd_post[] = {E_FINAL_NORM, E_LM_HEAD, E_LOSS, E_PP_SEND};
static const uint8_t bwd_pre[]  = {E_PP_RECV, E_LOSS, E_LM_HEAD, E_FINAL_NORM};
static const uint8_t bwd_post[] = {E_EMBED, E_DP_GRAD_EMBED, E_PP_SEND};
static const uint8_t fwd_layer[] = {
    E_PARAM_WAIT, E_NORM1, E_TP_ATTN_IN, E_QKV, E_CP_KV, E_ATTN, E_PROJ, E_TP_ATTN_OUT, E_NORM2, E_TP_MLP_IN,
    E_MLP_UP, E_MLP_ACT, E_MLP_DOWN, E_ROUTER, E_EP_DISPATCH, E_EXP_UP, E_EXP_ACT, E_EXP_DOWN,
    E_EP_COMBINE, E_SH_UP, E_SH_ACT, E_SH_DOWN, E_TP_MLP_OUT};
static const uint8_t bwd_layer[] = {
    E_TP_MLP_OUT, E_SH_DOWN, E_SH_ACT, E_SH_UP, E_EP_COMBINE, E_EXP_DOWN, E_EXP_ACT, E_EXP_UP,
    E_EP_DISPATCH, E_ROUTER, E_MLP_DOWN, E_MLP_ACT, E_MLP_UP, E_TP_MLP_IN, E_NORM2,
    E_TP_ATTN_OUT, E_PROJ, E_ATTN_RECOMP, E_ATTN, E_CP_KV, E_QKV, E_TP_ATTN_IN, E_NORM1,
    E_DP_GRAD, E_DP_GRAD_EXP};
/* zero_bubble: each layer's weight-gradient GEMMs and its gradient bucket,
 * after the backward's PP send. */
static const uint8_t wgrad_layer[] = {
    E_SH_DOWN, E_SH_UP, E_EXP_DOWN, E_EXP_UP, E_ROUTER, E_MLP_DOWN, E_MLP_UP, E_PROJ, E_QKV, E_DP_GRAD,
    E_DP_GRAD_EXP};
static const uint8_t iter_pre_list[] = {E_PARAM_AG, E_PARAM_AG_EXP};
static const uint8_t opt_list[] = {E_OPT_WAIT, E_OPTIMIZER, E_PARAM_AG, E_PARAM_AG_EXP, E_CKPT, E_SYNC};

#define N_OF(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

#define EMBED_BUCKET 4094u /* tag layer field of the embedding's gradient bucket */

void cx_gen_coords(const cx_workload_t *w, uint64_t gpu, uint32_t *tp_i, uint32_t *cp_i,
                   uint32_t *dp_i, uint32_t *pp_i, uint32_t *ep_i)
{
    const cx_parallel_t *p = &w->par;
    uint64_t             r = gpu;
    uint32_t             t = (uint32_t)(r % p->tp), c, d;
    r /= p->tp;
    c = (uint32_t)(r % p->cp);
    r /= p->cp;
    d = (uint32_t)(r % p->dp);
    r /= p->dp;
    if (tp_i != NULL) *tp_i = t;
    if (cp_i != NULL) *cp_i = c;
    if (dp_i != NULL) *dp_i = d;
    if (pp_i != NULL) *pp_i = (uint32_t)r;
    if (ep_i != NULL) *ep_i = d % p->ep;
}

/* Parameters of one layer held by this GPU: dense part (reduced over DP x CP)
 * and expert part (reduced over expert DP). */
static void layer_params(const cx_workload_t *w, uint32_t layer, double *dense, double *expert)
{
    if (cx_workload_layer_is_moe(w, layer)) {
        *dense  = w->d.p_moe_layer_dense;
        *expert = w->d.p_moe_layer_expert;
    } else {
        *dense  = w->d.p_dense_layer;
        *expert = 0.0;
    }
}

/* The virtual stage model chunk c of PP rank pp_i runs.  Interleaved 1F1B:
 * c * pp + pp_i.  DualPipe: chunk 0 is the direction that enters at PP rank
 * 0 (stage pp_i), chunk 1 the one that enters at the last rank (stage
 * pp - 1 - pp_i), so rank r holds stages r and pp - 1 - r. */
static uint32_t chunk_vstage(const cx_workload_t *w, uint32_t pp_i, uint32_t c)
{
    if (w->par.dualpipe) return c == 0 ? pp_i : w->par.pp - 1u - pp_i;
    return c * w->par.pp + pp_i;
}

cx_status_t cx_gen_init(cx_gen_t *g, const cx_workload_t *w, uint64_t gpu, uint32_t iterations,
                        cx_err_t *err)
{
    uint32_t c, l, P, v;
    double   lay_bytes;
    if (w->kind != CX_WL_TRAINING) /* inference / RL programs: cx_gen_infer.c, cx_gen_rl.c */
        return cx_err_set(err, CX_ERR_UNSUPPORTED, w->file, 0, "kind",
                          "the training generator takes training workloads only");
    if (gpu >= w->gpus)
        return cx_err_set(err, CX_ERR_RANGE, w->file, 0, "gpus",
                          "GPU %llu is outside the job's %llu GPUs", (unsigned long long)gpu,
                          (unsigned long long)w->gpus);
    memset(g, 0, sizeof(*g));
    g->w          = w;
    g->gpu        = gpu;
    g->iterations = iterations != 0 ? iterations : w->iterations;
    cx_gen_coords(w, gpu, &g->tp_i, &g->cp_i, &g->dp_i, &g->pp_i, &g->ep_i);
    P = w->par.pp;
    v = w->par.virtual_stages;
    g->n_actions = 2u * w->d.n_micro * v;
    if (v == 1) {
        g->warmup = P - g->pp_i - 1;
        if (g->warmup > w->d.n_micro) g->warmup = w->d.n_micro;
    } else {
        g->warmup = (P - g->pp_i - 1) * 2u + (v - 1u) * P;
        if (g->warmup > w->d.n_micro * v) g->warmup = w->d.n_micro * v;
    }
    for (c = 0; c < (w->par.dualpipe ? 2u : v); c++) {
        uint32_t vs = chunk_vstage(w, g->pp_i, c), lf = cx_workload_vstage_first_layer(w, vs);
        uint32_t n  = cx_workload_vstage_layers(w, vs);
        for (l = lf; l < lf + n; l++) {
            double dn, ex;
            layer_params(w, l, &dn, &ex);
            g->p_dense += dn;
            g->p_expert += ex;
        }
        if (vs == 0) g->p_dense += w->d.p_embed;
        if (vs == w->d.vstages - 1) g->p_dense += w->d.p_head;
    }
    /* Gradient bucket: whole layers, about dp_bucket_bytes (at least one layer). */
    lay_bytes = (w->d.p_dense_layer > w->d.p_moe_layer_dense + w->d.p_moe_layer_expert
                     ? w->d.p_dense_layer
                     : w->d.p_moe_layer_dense + w->d.p_moe_layer_expert) *
                w->d.grad_bytes;
    g->bucket_layers = (uint32_t)floor((double)w->par.dp_bucket_bytes / lay_bytes);
    if (g->bucket_layers < 1) g->bucket_layers = 1;
    g->section = S_BEGIN;
    return CX_OK;
}

/* ---- schedule ------------------------------------------------------------ */

/* DualPipe (DeepSeek-V3 report, section 3.2.1 and its Figure 5): the order
 * of chunks on one PP rank, as the steps of DeepSeek's reference schedule.
 * Items: F0 F1 B0 B1 (coded 0 1 2 3), forward / backward of phase 0 / 1,
 * phase 0 being the direction that enters on this rank's half (ranks below
 * pp/2: from rank 0); ranks r and pp-1-r run the same order with the
 * directions swapped.  With H = pp/2, h = min(r, pp-1-r), M2 microbatches
 * per direction, the steps are
 *   F0 x 2(H-h-1); [F0 F1] x (h+1); [B1 F1] x (H-h-1);
 *   [F0 B1 F1 B0] x (M2-pp+h+1); [B1 F1 B0] x (H-h-1); [B1 B0] x (h+1);
 *   B0 x (H-h-1)
 * (4 M2 items: every microbatch's forward and backward in each direction).
 * The reference runs some backward chunks as input- and weight-gradient
 * halves (its zero-bubble steps); here every backward is whole.  Item a's
 * kind and phase, k = how many of that kind came before it, and its step
 * (0..6) and position in the step's pattern. */
static void dualpipe_item(uint32_t P, uint32_t h, uint32_t M2, uint32_t a, uint32_t *item_p, uint32_t *k_p,
                          uint32_t *step_p, uint32_t *pos_p)
{
    static const uint8_t pat[7][4] = {{0}, {0, 1}, {3, 1}, {0, 3, 1, 2}, {3, 1, 2}, {3, 2}, {2}};
    static const uint8_t len[7]    = {1, 2, 2, 4, 3, 2, 1};
    uint32_t             H = P / 2u, cnt[4] = {0, 0, 0, 0}, s, j;
    uint32_t             reps[7];
    reps[0] = 2u * (H - h - 1u);
    reps[1] = h + 1u;
    reps[2] = H - h - 1u;
    reps[3] = M2 - P + h + 1u;
    reps[4] = H - h - 1u;
    reps[5] = h + 1u;
    reps[6] = H - h - 1u;
    for (s = 0; s < 7u; s++) {
        uint32_t n = reps[s] * len[s];
        if (a < n) {
            uint32_t it = a / len[s], pos = a % len[s];
            for (j = 0; j < len[s]; j++) cnt[pat[s][j]] += it;
            for (j = 0; j < pos; j++) cnt[pat[s][j]]++;
            *item_p = pat[s][pos];
            *k_p    = cnt[pat[s][pos]];
            *step_p = s;
            *pos_p  = pos;
            return;
        }
        for (j = 0; j < len[s]; j++) cnt[pat[s][j]] += reps[s];
        a -= n;
    }
    cx_fatal("generator: DualPipe item %u past the schedule (pp %u, %u microbatches per direction)", a, P, M2);
}

static void decode_dualpipe(cx_gen_t *g)
{
    const cx_workload_t *w  = g->w;
    uint32_t             P  = w->par.pp, M2 = w->d.n_micro / 2u, item, k, step, pos;
    uint32_t             h  = g->pp_i < P - 1u - g->pp_i ? g->pp_i : P - 1u - g->pp_i;
    dualpipe_item(P, h, M2, g->action, &item, &k, &step, &pos);
    g->bwd   = (uint8_t)(item >= 2u);
    g->chunk = (item & 1u) ^ (g->pp_i >= P / 2u ? 1u : 0u);   /* phase -> direction */
    /* Microbatches 0..M2-1 enter at rank 0, M2..M-1 at the last rank. */
    g->mb          = k + g->chunk * M2;
    g->last_mb     = (uint8_t)(k == M2 - 1u);
    g->vs          = chunk_vstage(w, g->pp_i, g->chunk);
    g->layer_first = cx_workload_vstage_first_layer(w, g->vs);
    g->layer_n     = cx_workload_vstage_layers(w, g->vs);
    g->layer_step  = 0;
    g->phase       = g->bwd ? CX_PHASE_BWD : CX_PHASE_FWD;
}

/* dualpipe_overlap: does action a begin a forward/backward pair that runs
 * overlapped?  The reference schedule's overlapped pairs: F0 B1 and F1 B0
 * of each main step [F0 B1 F1 B0], F1 B0 of each [B1 F1 B0] step (its
 * `_forward_backward_chunk` calls). */
static int dualpipe_pair_at(const cx_gen_t *g, uint32_t a)
{
    const cx_workload_t *w = g->w;
    uint32_t             P = w->par.pp, M2 = w->d.n_micro / 2u, item, k, step, pos;
    uint32_t             h = g->pp_i < P - 1u - g->pp_i ? g->pp_i : P - 1u - g->pp_i;
    if (!w->par.dualpipe_overlap || a + 1u >= g->n_actions) return 0;
    dualpipe_item(P, h, M2, a, &item, &k, &step, &pos);
    return (step == 3u && (pos == 0u || pos == 2u)) || (step == 4u && pos == 1u);
}

static void decode_action(cx_gen_t *g)
{
    const cx_workload_t *w  = g->w;
    uint32_t             M  = w->d.n_micro, v = w->par.virtual_stages, P = w->par.pp;
    uint32_t             Mv = M * v, a = g->action, k, W = g->warmup;
    if (w->par.dualpipe) {
        decode_dualpipe(g);
        return;
    }
    if (a < W) {
        g->bwd = 0;
        k      = a;
    } else if (a < 2u * Mv - W) {
        uint32_t j = a - W;
        g->bwd     = (uint8_t)(j & 1u);
        k          = g->bwd ? j / 2u : W + j / 2u;
    } else {
        g->bwd = 1;
        k      = a - Mv;
    }
    if (v == 1) {
        g->mb    = k;
        g->chunk = 0;
    } else {
        uint32_t in_group = k % (P * v);
        g->chunk = in_group / P;
        if (g->bwd) g->chunk = v - 1u - g->chunk;
        g->mb = (k / (P * v)) * P + k % P;
    }
    g->vs          = g->chunk * P + g->pp_i;
    g->layer_first = cx_workload_vstage_first_layer(w, g->vs);
    g->layer_n     = cx_workload_vstage_layers(w, g->vs);
    g->layer_step  = 0;
    g->last_mb     = (uint8_t)(g->mb == M - 1u);
    g->phase       = g->bwd ? CX_PHASE_BWD : CX_PHASE_FWD;
}

static uint32_t cur_layer(const cx_gen_t *g)
{
    return g->bwd ? g->layer_first + g->layer_n - 1u - g->layer_step : g->layer_first + g->layer_step;
}

/* ---- DualPipe pairs ------------------------------------------------------- */

static void lane_save(const cx_gen_t *g, cx_gen_lane_t *l)
{
    memcpy(l->mark, g->mark, sizeof(l->mark));
    l->mb         = (uint16_t)g->mb;
    l->layer_step = (uint16_t)g->layer_step;
    l->entry      = g->entry;
    l->sub        = g->sub;
    l->chunk      = (uint8_t)g->chunk;
    l->section    = g->section;
    l->bwd        = g->bwd;
    l->phase      = g->phase;
    l->done       = 0;
}

/* (DualPipe only: the stage is the chunk's, the last microbatch of a
 * direction the one before the other direction's first.) */
static void lane_load(cx_gen_t *g, const cx_gen_lane_t *l)
{
    uint32_t M2 = g->w->d.n_micro / 2u;
    memcpy(g->mark, l->mark, sizeof(g->mark));
    g->mb          = l->mb;
    g->layer_step  = l->layer_step;
    g->entry       = l->entry;
    g->sub         = l->sub;
    g->chunk       = l->chunk;
    g->section     = l->section;
    g->bwd         = l->bwd;
    g->phase       = l->phase;
    g->vs          = chunk_vstage(g->w, g->pp_i, g->chunk);
    g->layer_first = cx_workload_vstage_first_layer(g->w, g->vs);
    g->layer_n     = cx_workload_vstage_layers(g->w, g->vs);
    g->last_mb     = (uint8_t)(g->mb - g->chunk * M2 == M2 - 1u);
}

static void lane_swap(cx_gen_t *g)
{
    cx_gen_lane_t cur;
    lane_save(g, &cur);
    lane_load(g, &g->other);
    g->other = cur;
}

/* Start action g->action: one chunk, or with dualpipe_overlap the pair it
 * begins (the second chunk parked in g->other). */
static void start_action(cx_gen_t *g)
{
    int s;
    g->pair = (uint8_t)dualpipe_pair_at(g, g->action);
    if (g->pair) {
        g->action++;
        decode_action(g);
        g->section = S_PRE;
        g->entry   = 0;
        g->sub     = 0;
        for (s = 0; s < CX_NUM_STREAMS; s++) g->mark[s] = g->count[s];
        lane_save(g, &g->other);
        g->action--;
    }
    decode_action(g);
    g->section = S_PRE;
    for (s = 0; s < CX_NUM_STREAMS; s++) g->mark[s] = g->count[s];
}

/* A chunk's part is done: the pair goes on with the other chunk, or the
 * schedule with the next action. */
static void end_chunk(cx_gen_t *g)
{
    if (g->pair && !g->other.done) {
        lane_swap(g);
        g->other.done = 1;
        return;
    }
    g->action += g->pair ? 2u : 1u;
    g->pair    = 0;
    g->section = S_ACT_START;
}

/* In a pair, after op `sub` of entry e the other chunk takes over: after
 * this chunk's all-to-all (its last collective) and its PP receive, so the
 * kernels issued next are the other chunk's while this one's communication
 * is in flight.  A TP / CP collective is a switch point too. */
static int switch_after(const cx_gen_t *g, int e, unsigned sub)
{
    switch (e) {
    case E_EP_DISPATCH: case E_EP_COMBINE: return sub == (g->w->model.max_nodes > 0 ? 2u : 1u);
    case E_PP_RECV: return sub == 0u;
    case E_TP_ATTN_IN: case E_TP_ATTN_OUT: case E_TP_MLP_IN: case E_TP_MLP_OUT: case E_CP_KV:
        return sub == 1u;
    default: return 0;
    }
}

/* ---- op builders ----------------------------------------------------------- */

static void label(const cx_gen_t *g, cx_op_t *op, uint32_t layer, uint32_t mb, uint32_t phase,
                  uint32_t block)
{
    memset(op, 0, sizeof(*op));
    op->iteration  = g->iter;
    op->microbatch = mb;
    op->layer      = (uint16_t)layer;
    op->phase      = (uint8_t)phase;
    op->block      = (uint8_t)block;
    op->chunk      = (uint16_t)g->chunk;
}

static void set_wait(const cx_gen_t *g, cx_op_t *op, uint32_t stream, uint32_t on)
{
    op->kind         = CX_OP_WAIT;
    op->stream       = (uint8_t)stream;
    op->cls          = (uint8_t)on;
    op->u.wait_count = g->pair ? g->mark[on] : g->count[on];
}

static void set_compute(cx_op_t *op, uint32_t cls, double flops, double bytes, int fp8)
{
    if (fp8 && cls == CX_CLS_GEMM) op->flags |= CX_OP_F_FP8;
    op->kind   = CX_OP_COMPUTE;
    op->stream = CX_STREAM_COMPUTE;
    op->cls    = (uint8_t)cls;
    op->flops  = flops;
    op->bytes  = (uint64_t)llround(bytes);
}

static void set_coll(cx_op_t *op, uint32_t stream, uint32_t kind, uint64_t bytes, uint64_t base,
                     uint32_t stride, uint32_t size, uint32_t index)
{
    op->kind         = CX_OP_COLLECTIVE;
    op->stream       = (uint8_t)stream;
    op->cls          = (uint8_t)kind;
    op->algo         = kind == CX_COLL_ALLTOALL ? CX_ALGO_PAIRWISE : CX_ALGO_AUTO;
    op->bytes        = bytes;
    op->u.group_base = base;
    op->group_stride = stride;
    op->group_size   = size;
    op->group_index  = index;
    op->tag = cx_op_tag(op->iteration, op->microbatch, op->layer, op->phase, op->block);
}

/* Which collective a TP / CP / EP entry is in this phase; -1 = none. */
static int tp_kind(const cx_gen_t *g, int entry, int fwd_like)
{
    const cx_parallel_t *p = &g->w->par;
    int in = entry == E_TP_ATTN_IN || entry == E_TP_MLP_IN;
    if (p->tp == 1) return -1;
    if (p->sequence_parallel)
        return (in == fwd_like) ? CX_COLL_ALLGATHER : CX_COLL_REDUCESCATTER;
    /* Megatron's f (identity fwd, all-reduce bwd) before a block and g
     * (all-reduce fwd, identity bwd) after it. */
    return (in != fwd_like) ? CX_COLL_ALLREDUCE : -1;
}

/* tp_comm_overlap: a TP collective entry and the GEMM beside it in a dense
 * layer (the GEMM it feeds or the one that feeds it). */
static int tp_partner(int e)
{
    switch (e) {
    case E_TP_ATTN_IN: return E_QKV;
    case E_QKV: return E_TP_ATTN_IN;
    case E_TP_ATTN_OUT: return E_PROJ;
    case E_PROJ: return E_TP_ATTN_OUT;
    case E_TP_MLP_IN: return E_MLP_UP;
    case E_MLP_UP: return E_TP_MLP_IN;
    case E_TP_MLP_OUT: return E_MLP_DOWN;
    case E_MLP_DOWN: return E_TP_MLP_OUT;
    default: return -1;
    }
}

/* The TP collective entry e runs as pieces pipelined with its GEMM (in a
 * MoE layer, the attention's only: the MLP's collectives border the router
 * and the expert all-to-all, not one GEMM). */
static int overlapped(const cx_gen_t *g, int e)
{
    int mlp = e == E_TP_MLP_IN || e == E_TP_MLP_OUT;
    return g->w->par.tp_comm_overlap > 1 && g->section == S_LAYER &&
           !(mlp && cx_workload_layer_is_moe(g->w, cur_layer(g))) && tp_kind(g, e, g->phase != CX_PHASE_BWD) >= 0;
}

static uint64_t dp_base(const cx_gen_t *g)
{
    const cx_parallel_t *p = &g->w->par;
    return g->gpu - (uint64_t)g->cp_i * p->tp - (uint64_t)g->dp_i * p->tp * p->cp;
}

static uint32_t edp_size(const cx_gen_t *g) { return g->w->par.dp / g->w->par.ep; }

/* Bytes of the gradient bucket that ends at backward step `step` of this
 * chunk (0 = no bucket ends here); expert = the expert parameters. */
static double bucket_params(const cx_gen_t *g, int expert)
{
    uint32_t s = g->layer_step, bl = g->bucket_layers, first, j;
    double   sum = 0.0;
    if (!((s + 1u) % bl == 0 || s + 1u == g->layer_n)) return 0.0;
    first = s - s % bl;
    for (j = first; j <= s; j++) {
        double dn, ex;
        layer_params(g->w, g->layer_first + g->layer_n - 1u - j, &dn, &ex);
        sum += expert ? ex : dn;
    }
    if (!expert && first == 0 && g->vs == g->w->d.vstages - 1u) sum += g->w->d.p_head;
    return sum;
}

static uint64_t grad_bytes(const cx_gen_t *g, double params)
{
    return (uint64_t)llround(params * g->w->d.grad_bytes);
}

/* overlap_param_gather: ZeRO-1's parameter all-gather at the start of the
 * iteration (after the last one's optimizer step, as in steady state; a
 * single simulated iteration then carries its cost), in buckets of
 * bucket_layers layers in the order the forward first uses them (chunk 0's
 * layers, then chunk 1's...), each waited for by that first use instead of
 * by the whole iteration (the embedding's share rides in the first bucket,
 * unwaited). */
static int ag_overlap(const cx_gen_t *g)
{
    const cx_parallel_t *p = &g->w->par;
    return p->overlap_param_gather && p->zero_stage == 1 && (uint64_t)p->dp * p->cp > 1;
}

static uint32_t ag_chunk_buckets(const cx_gen_t *g, uint32_t c)
{
    uint32_t n = cx_workload_vstage_layers(g->w, c * g->w->par.pp + g->pp_i);
    return (n + g->bucket_layers - 1u) / g->bucket_layers;
}

static uint32_t ag_buckets(const cx_gen_t *g)
{
    uint32_t c, n = 0;
    for (c = 0; c < g->w->par.virtual_stages; c++) n += ag_chunk_buckets(g, c);
    return n;
}

/* Dense parameters of all-gather bucket idx (with the embedding and the
 * head where their chunk holds them): the buckets add up to p_dense. */
static double ag_bucket_params(const cx_gen_t *g, uint32_t idx)
{
    const cx_workload_t *w = g->w;
    uint32_t             c, nb, vs, first, n, l, lo, hi;
    double               sum = 0.0, dn, ex;
    for (c = 0; c < w->par.virtual_stages; c++) {
        nb = ag_chunk_buckets(g, c);
        if (idx < nb) break;
        idx -= nb;
    }
    vs    = c * w->par.pp + g->pp_i;
    first = cx_workload_vstage_first_layer(w, vs);
    n     = cx_workload_vstage_layers(w, vs);
    lo    = idx * g->bucket_layers;
    hi    = lo + g->bucket_layers < n ? lo + g->bucket_layers : n;
    for (l = lo; l < hi; l++) {
        layer_params(w, first + l, &dn, &ex);
        sum += dn;
    }
    if (vs == 0 && idx == 0) sum += w->d.p_embed;
    if (vs == w->d.vstages - 1u && hi == n) sum += w->d.p_head;
    return sum;
}

/* The bucket forward step `step` of chunk c waits for. */
static uint32_t ag_bucket_of(const cx_gen_t *g, uint32_t c, uint32_t step)
{
    uint32_t k, idx = 0;
    for (k = 0; k < c; k++) idx += ag_chunk_buckets(g, k);
    return idx + step / g->bucket_layers;
}

/* Number of ops entry e expands to in the current state. */
static unsigned entry_nsub(const cx_gen_t *g, int e)
{
    const cx_workload_t *w   = g->w;
    const cx_parallel_t *p   = &w->par;
    int                  fwd = g->phase != CX_PHASE_BWD;
    int                  last_vs = g->vs == w->d.vstages - 1u;
    int                  moe = 0;
    if (g->section == S_LAYER) moe = cx_workload_layer_is_moe(w, cur_layer(g));
    switch (e) {
    case E_PP_RECV: return (g->bwd ? !last_vs : g->vs > 0) ? 2u : 0u;
    case E_PP_SEND: return (g->bwd ? g->vs > 0 : !last_vs) ? 2u : 0u;
    case E_EMBED: return g->vs == 0 ? 1u : 0u;
    case E_FINAL_NORM: case E_LM_HEAD: case E_LOSS: return last_vs ? 1u : 0u;
    case E_DP_GRAD_EMBED:
        return (g->vs == 0 && g->last_mb && (uint64_t)p->dp * p->cp > 1) ? 2u : 0u;
    case E_PARAM_WAIT:
        return (ag_overlap(g) && g->phase == CX_PHASE_FWD && g->mb == 0 && g->layer_step % g->bucket_layers == 0)
                   ? 1u : 0u;
    case E_NORM1: case E_ATTN: case E_NORM2: return 1u;
    case E_QKV: case E_PROJ: return overlapped(g, tp_partner(e)) ? 3u * p->tp_comm_overlap + 1u : 1u;
    case E_TP_ATTN_IN: case E_TP_ATTN_OUT: case E_TP_MLP_IN: case E_TP_MLP_OUT:
        return overlapped(g, e) ? 0u : tp_kind(g, e, fwd) >= 0 ? 3u : 0u;
    case E_CP_KV: return p->cp > 1 ? 3u : 0u;
    case E_ATTN_RECOMP: return (g->phase == CX_PHASE_BWD && w->recompute == CX_RECOMPUTE_SELECTIVE) ? 1u : 0u;
    case E_MLP_UP: case E_MLP_DOWN:
        return moe ? 0u : overlapped(g, tp_partner(e)) ? 3u * p->tp_comm_overlap + 1u : 1u;
    case E_MLP_ACT: return moe ? 0u : 1u;
    case E_ROUTER: case E_EXP_UP: case E_EXP_ACT: case E_EXP_DOWN: return moe ? 1u : 0u;
    case E_EP_DISPATCH: case E_EP_COMBINE: return (moe && p->ep > 1) ? (w->model.max_nodes > 0 ? 4u : 3u) : 0u;
    case E_SH_UP: case E_SH_ACT: case E_SH_DOWN: return (moe && w->model.shared_experts > 0) ? 1u : 0u;
    case E_DP_GRAD:
        return (g->phase == CX_PHASE_BWD && g->last_mb && (uint64_t)p->dp * p->cp > 1 &&
                (g->section == S_WGRAD) == (p->zero_bubble != 0) && bucket_params(g, 0) > 0.0) ? 2u : 0u;
    case E_DP_GRAD_EXP:
        return (g->phase == CX_PHASE_BWD && g->last_mb && edp_size(g) > 1 &&
                (g->section == S_WGRAD) == (p->zero_bubble != 0) && bucket_params(g, 1) > 0.0) ? 2u : 0u;
    case E_OPT_WAIT: return (uint64_t)p->dp * p->cp > 1 || edp_size(g) > 1 ? 1u : 0u;
    case E_OPTIMIZER: return 1u;
    case E_PARAM_AG:
        if (ag_overlap(g)) return g->section == S_ITER_PRE ? 1u + ag_buckets(g) : 0u;
        return (g->section == S_OPT && p->zero_stage == 1 && (uint64_t)p->dp * p->cp > 1) ? 3u : 0u;
    case E_PARAM_AG_EXP:
        if (!(p->zero_stage == 1 && g->p_expert > 0.0 && edp_size(g) > 1)) return 0u;
        if (ag_overlap(g)) return g->section == S_ITER_PRE ? 2u : 0u;
        return g->section == S_OPT ? 3u : 0u;
    case E_CKPT: return (w->ckpt.every > 0 && (g->iter + 1) % w->ckpt.every == 0) ? 1u : 0u;
    case E_SYNC: return 2u;
    default: return 0u;
    }
}

/* zero_bubble's weight-gradient pass: the layer's GEMMs, nothing else. */
static unsigned wgrad_nsub(const cx_gen_t *g, int e)
{
    int moe = cx_workload_layer_is_moe(g->w, cur_layer(g));
    switch (e) {
    case E_QKV: case E_PROJ: return 1u;
    case E_MLP_UP: case E_MLP_DOWN: return moe ? 0u : 1u;
    case E_ROUTER: case E_EXP_UP: case E_EXP_DOWN: return moe ? 1u : 0u;
    case E_SH_UP: case E_SH_DOWN: return (moe && g->w->model.shared_experts > 0) ? 1u : 0u;
    case E_DP_GRAD: case E_DP_GRAD_EXP: return entry_nsub(g, e);
    default: return 0u;
    }
}

/* A blocking collective on `stream`: WAIT(stream <- compute), the collective,
 * WAIT(compute <- stream). */
static void coll3(const cx_gen_t *g, cx_op_t *op, unsigned sub, uint32_t stream, int kind,
                  uint64_t bytes, uint64_t base, uint32_t stride, uint32_t size, uint32_t index)
{
    if (sub == 0) set_wait(g, op, stream, CX_STREAM_COMPUTE);
    else if (sub == 1) set_coll(op, stream, (uint32_t)kind, bytes, base, stride, size, index);
    else set_wait(g, op, CX_STREAM_COMPUTE, stream);
}

/* tp_comm_overlap: GEMM entry e and its TP collective as k pieces, like
 * Megatron's tp-comm-overlap (userbuffers).  When the collective comes first
 * in this list (it gathers the GEMM's input): WAIT(TP <- compute), then per
 * piece: the collective's piece, WAIT(compute <- TP), the GEMM's piece, so
 * piece i + 1 moves while piece i computes.  When the GEMM comes first (the
 * collective reduces its output): per piece: the GEMM's piece, WAIT(TP <-
 * compute), the collective's piece, then WAIT(compute <- TP).  A piece is
 * 1/k of the FLOPs and bytes (k kernels: k launch overheads); the pieces'
 * tags differ in bits 2..6 (the tag's spare bits above the hierarchical
 * phase's). */
static void overlap_fill(const cx_gen_t *g, int e, unsigned sub, cx_op_t *op, uint32_t gemm_blk, double flops,
                         double bytes)
{
    const cx_parallel_t *p   = &g->w->par;
    int                  c   = tp_partner(e);
    int                  fwd = g->phase != CX_PHASE_BWD;
    unsigned             k   = p->tp_comm_overlap, i, r;
    int                  in  = c == E_TP_ATTN_IN || c == E_TP_MLP_IN;
    uint32_t             layer = cur_layer(g);
    uint32_t             cblk = c == E_TP_ATTN_IN ? CX_BLK_TP_ATTN_IN : c == E_TP_ATTN_OUT ? CX_BLK_TP_ATTN_OUT
                              : c == E_TP_MLP_IN ? CX_BLK_TP_MLP_IN : CX_BLK_TP_MLP_OUT;
    int                  coll_first = in == fwd;   /* fwd list: IN before its GEMM; bwd: reversed */
    enum { COLL, GEMM, WAIT_TP, WAIT_C } role;
    if (coll_first) {
        if (sub == 0) {
            label(g, op, layer, g->mb, g->phase, cblk);
            set_wait(g, op, CX_STREAM_TP, CX_STREAM_COMPUTE);
            return;
        }
        i    = (sub - 1u) / 3u;
        r    = (sub - 1u) % 3u;
        role = r == 0 ? COLL : r == 1 ? WAIT_C : GEMM;
    } else {
        if (sub == 3u * k) {
            label(g, op, layer, g->mb, g->phase, cblk);
            set_wait(g, op, CX_STREAM_COMPUTE, CX_STREAM_TP);
            return;
        }
        i    = sub / 3u;
        r    = sub % 3u;
        role = r == 0 ? GEMM : r == 1 ? WAIT_TP : COLL;
    }
    switch (role) {
    case GEMM:
        label(g, op, layer, g->mb, g->phase, gemm_blk);
        set_compute(op, CX_CLS_GEMM, flops / k, bytes / k, g->w->precision == CX_PREC_FP8);
        return;
    case WAIT_TP:
        label(g, op, layer, g->mb, g->phase, cblk);
        set_wait(g, op, CX_STREAM_TP, CX_STREAM_COMPUTE);
        return;
    case WAIT_C:
        label(g, op, layer, g->mb, g->phase, cblk);
        set_wait(g, op, CX_STREAM_COMPUTE, CX_STREAM_TP);
        return;
    case COLL:
    default:
        label(g, op, layer, g->mb, g->phase, cblk);
        set_coll(op, CX_STREAM_TP, (uint32_t)tp_kind(g, c, fwd), (g->w->d.tp_bytes + k - 1u) / k,
                 g->gpu - g->tp_i, 1u, p->tp, g->tp_i);
        op->tag |= (uint64_t)(i + 1u) << 2;
        return;
    }
}

/* Entry e's op `sub`, one function per kind of entry (entry_fill). */

/* PP send and receive: activations to the next virtual stage, gradients to
 * the previous one. */
static void fill_pp(const cx_gen_t *g, int e, unsigned sub, cx_op_t *op)
{
    const cx_wl_derived_t *d         = &g->w->d;
    const cx_parallel_t   *p         = &g->w->par;
    uint64_t               pp_stride = (uint64_t)p->tp * p->cp * p->dp;
    switch (e) {
    case E_PP_RECV:
    case E_PP_SEND: {
        int      recv = e == E_PP_RECV;
        /* Activations flow to vs+1, gradients to vs-1. */
        int      to_next = recv ? g->bwd : !g->bwd;
        uint32_t boundary = to_next ? g->layer_first + g->layer_n : g->layer_first;
        uint64_t peer;
        if (p->dualpipe) /* the next stage is rank + 1 in direction 0, rank - 1 in direction 1 */
            peer = to_next == (g->chunk == 0) ? g->gpu + pp_stride : g->gpu - pp_stride;
        else if (to_next) peer = g->pp_i + 1u < p->pp ? g->gpu + pp_stride : g->gpu - (uint64_t)(p->pp - 1u) * pp_stride;
        else peer = g->pp_i > 0 ? g->gpu - pp_stride : g->gpu + (uint64_t)(p->pp - 1u) * pp_stride;
        label(g, op, boundary, g->mb, g->bwd ? CX_PHASE_BWD : CX_PHASE_FWD, CX_BLK_PP);
        if (recv ? sub == 1 : sub == 0) {
            set_wait(g, op, recv ? CX_STREAM_COMPUTE : CX_STREAM_PP, recv ? CX_STREAM_PP : CX_STREAM_COMPUTE);
            return;
        }
        op->kind   = (uint8_t)(recv ? CX_OP_RECV : CX_OP_SEND);
        op->stream = CX_STREAM_PP;
        op->bytes  = d->pp_bytes;
        op->u.peer = peer;
        op->tag    = cx_op_tag(g->iter, g->mb, boundary, op->phase, CX_BLK_PP);
        return;
    }
    default:
        memset(op, 0, sizeof(*op));
        return;
    }
}

/* Kernels of a layer, the embedding and the head. */
static void fill_compute(const cx_gen_t *g, int e, unsigned sub, cx_op_t *op)
{
    const cx_workload_t   *w  = g->w;
    const cx_wl_derived_t *d  = &w->d;
    const cx_parallel_t   *p  = &w->par;
    int                    fwd = g->phase != CX_PHASE_BWD;
    double                 x  = fwd ? 1.0 : 2.0;  /* backward = 2x forward */
    /* A GEMM's backward: input gradient + weight gradient, 1x forward each;
     * zero_bubble runs them as two ops (B here, W in S_WGRAD). */
    double                 xg = (!fwd && p->zero_bubble) ? 1.0 : x;
    double                 h  = w->model.hidden;
    uint32_t               layer = g->section == S_LAYER ? cur_layer(g) : CX_OP_NO_LAYER;
    uint32_t               tp = p->tp;
    int                    FP8 = w->precision == CX_PREC_FP8;
    switch (e) {
    case E_EMBED:
        label(g, op, CX_OP_NO_LAYER, g->mb, g->phase, CX_BLK_EMBED);
        set_compute(op, CX_CLS_ELEMENTWISE, 0.0, x * d->b_embed, FP8);
        return;
    case E_FINAL_NORM:
        label(g, op, CX_OP_NO_LAYER, g->mb, g->phase, CX_BLK_FINAL_NORM);
        set_compute(op, CX_CLS_ELEMENTWISE, x * 8.0 * d->tokens_sp * h, x * d->b_norm, FP8);
        return;
    case E_LM_HEAD:
        label(g, op, CX_OP_NO_LAYER, g->mb, g->phase, CX_BLK_LM_HEAD);
        set_compute(op, CX_CLS_GEMM, x * d->f_lm_head, x * d->b_lm_head, FP8);
        return;
    case E_LOSS:
        label(g, op, CX_OP_NO_LAYER, g->mb, g->phase, CX_BLK_LOSS);
        set_compute(op, CX_CLS_ELEMENTWISE, x * 5.0 * d->tokens_gpu * w->model.vocab / tp, x * d->b_loss, FP8);
        return;
    case E_NORM1:
    case E_NORM2:
        label(g, op, layer, g->mb, g->phase, e == E_NORM1 ? CX_BLK_NORM1 : CX_BLK_NORM2);
        set_compute(op, CX_CLS_ELEMENTWISE, x * 8.0 * d->tokens_sp * h, x * d->b_norm, FP8);
        return;
    case E_QKV:
        if (overlapped(g, tp_partner(e))) {
            overlap_fill(g, e, sub, op, CX_BLK_QKV, xg * d->f_qkv, xg * d->b_qkv);
            return;
        }
        label(g, op, layer, g->mb, g->phase, CX_BLK_QKV);
        set_compute(op, CX_CLS_GEMM, xg * d->f_qkv, xg * d->b_qkv, FP8);
        return;
    case E_ATTN:
        label(g, op, layer, g->mb, g->phase, CX_BLK_ATTN);
        set_compute(op, CX_CLS_ATTENTION, x * d->f_attn, x * d->b_attn, FP8);
        return;
    case E_ATTN_RECOMP:
        label(g, op, layer, g->mb, CX_PHASE_RECOMPUTE, CX_BLK_ATTN);
        set_compute(op, CX_CLS_ATTENTION, d->f_attn, d->b_attn, FP8);
        return;
    case E_PROJ:
        if (overlapped(g, tp_partner(e))) {
            overlap_fill(g, e, sub, op, CX_BLK_PROJ, xg * d->f_proj, xg * d->b_proj);
            return;
        }
        label(g, op, layer, g->mb, g->phase, CX_BLK_PROJ);
        set_compute(op, CX_CLS_GEMM, xg * d->f_proj, xg * d->b_proj, FP8);
        return;
    case E_MLP_UP:
        if (overlapped(g, tp_partner(e))) {
            overlap_fill(g, e, sub, op, CX_BLK_MLP_UP, xg * d->f_mlp_up, xg * d->b_mlp_up);
            return;
        }
        label(g, op, layer, g->mb, g->phase, CX_BLK_MLP_UP);
        set_compute(op, CX_CLS_GEMM, xg * d->f_mlp_up, xg * d->b_mlp_up, FP8);
        return;
    case E_MLP_ACT:
        label(g, op, layer, g->mb, g->phase, CX_BLK_MLP_ACT);
        set_compute(op, CX_CLS_ELEMENTWISE, x * 4.0 * d->tokens_gpu * w->model.ffn_hidden / tp, x * d->b_act, FP8);
        return;
    case E_MLP_DOWN:
        if (overlapped(g, tp_partner(e))) {
            overlap_fill(g, e, sub, op, CX_BLK_MLP_DOWN, xg * d->f_mlp_down, xg * d->b_mlp_down);
            return;
        }
        label(g, op, layer, g->mb, g->phase, CX_BLK_MLP_DOWN);
        set_compute(op, CX_CLS_GEMM, xg * d->f_mlp_down, xg * d->b_mlp_down, FP8);
        return;
    case E_ROUTER:
        label(g, op, layer, g->mb, g->phase, CX_BLK_ROUTER);
        set_compute(op, CX_CLS_GEMM, xg * d->f_router, xg * d->b_router, FP8);
        return;
    case E_EXP_UP:
        label(g, op, layer, g->mb, g->phase, CX_BLK_EXP_UP);
        set_compute(op, CX_CLS_GEMM, xg * d->f_exp_up, xg * d->b_exp_up, FP8);
        return;
    case E_EXP_ACT:
        label(g, op, layer, g->mb, g->phase, CX_BLK_EXP_ACT);
        set_compute(op, CX_CLS_ELEMENTWISE,
                    x * 4.0 * d->tokens_gpu * w->model.top_k * w->model.moe_ffn_hidden / tp, x * d->b_exp_act, FP8);
        return;
    case E_EXP_DOWN:
        label(g, op, layer, g->mb, g->phase, CX_BLK_EXP_DOWN);
        set_compute(op, CX_CLS_GEMM, xg * d->f_exp_down, xg * d->b_exp_down, FP8);
        return;
    case E_SH_UP:
        label(g, op, layer, g->mb, g->phase, CX_BLK_SH_UP);
        set_compute(op, CX_CLS_GEMM, xg * d->f_sh_up, xg * d->b_sh_up, FP8);
        return;
    case E_SH_ACT:
        label(g, op, layer, g->mb, g->phase, CX_BLK_SH_ACT);
        set_compute(op, CX_CLS_ELEMENTWISE,
                    x * 4.0 * d->tokens_gpu * w->model.shared_experts * w->model.moe_ffn_hidden / tp,
                    x * d->b_sh_act, FP8);
        return;
    case E_SH_DOWN:
        label(g, op, layer, g->mb, g->phase, CX_BLK_SH_DOWN);
        set_compute(op, CX_CLS_GEMM, xg * d->f_sh_down, xg * d->b_sh_down, FP8);
        return;
    default:
        memset(op, 0, sizeof(*op));
        return;
    }
}

/* The EP all-to-all under node-limited routing (moe.max_nodes), as
 * DeepSeek-V3's dispatch runs it: a token crosses to each node it is routed
 * to once, over the rail (the GPU of its own NVLink position there: a
 * cross-node all-to-all among the EP group's GPUs of one rail, one per
 * node, ep_node_bytes), and is forwarded inside that node over NVLink to
 * the GPUs of its experts (an all-to-all among the node's EP ranks,
 * ep_bytes = every copy); the combine (and the dispatch's backward) runs
 * the other way.  Ops: WAIT(TP <- compute), the two all-to-alls,
 * WAIT(compute <- TP).  The two run one after the other: DeepSeek's kernel
 * forwards while it receives, so this is slower by the NVLink part.  The
 * NVLink one's tag differs in bit 2 (the spare bits; EP blocks carry no
 * tp_comm_overlap pieces). */
static void fill_ep_nodes(const cx_gen_t *g, int e, unsigned sub, cx_op_t *op)
{
    const cx_wl_derived_t *d   = &g->w->d;
    const cx_parallel_t   *p   = &g->w->par;
    uint32_t               s   = p->tp * p->cp, epn = d->ep_per_node;
    uint32_t               node = g->ep_i / epn, loc = g->ep_i % epn;
    uint64_t               base = g->gpu - (uint64_t)g->ep_i * s;
    int                    to_experts = (e == E_EP_DISPATCH) == (g->phase != CX_PHASE_BWD);
    if (sub == 0) {
        set_wait(g, op, CX_STREAM_TP, CX_STREAM_COMPUTE);
    } else if (sub == 3) {
        set_wait(g, op, CX_STREAM_COMPUTE, CX_STREAM_TP);
    } else if ((sub == 1) == to_experts) {  /* across nodes, along the rail */
        set_coll(op, CX_STREAM_TP, CX_COLL_ALLTOALL, d->ep_node_bytes, base + (uint64_t)loc * s,
                 epn * s, p->ep / epn, node);
    } else {                                /* inside the node, over NVLink */
        set_coll(op, CX_STREAM_TP, CX_COLL_ALLTOALL, d->ep_bytes, base + (uint64_t)node * epn * s, s, epn, loc);
        op->tag |= (uint64_t)1u << 2;
    }
}

/* Collectives of a layer (TP, CP, EP) and the gradient buckets (DP). */
static void fill_comm(const cx_gen_t *g, int e, unsigned sub, cx_op_t *op)
{
    const cx_wl_derived_t *d  = &g->w->d;
    const cx_parallel_t   *p  = &g->w->par;
    int                    fwd = g->phase != CX_PHASE_BWD;
    uint32_t               layer = g->section == S_LAYER ? cur_layer(g) : CX_OP_NO_LAYER;
    uint32_t               tp = p->tp;
    uint32_t               blk;
    switch (e) {
    case E_TP_ATTN_IN: case E_TP_ATTN_OUT: case E_TP_MLP_IN: case E_TP_MLP_OUT:
        blk = e == E_TP_ATTN_IN ? CX_BLK_TP_ATTN_IN : e == E_TP_ATTN_OUT ? CX_BLK_TP_ATTN_OUT
            : e == E_TP_MLP_IN ? CX_BLK_TP_MLP_IN : CX_BLK_TP_MLP_OUT;
        label(g, op, layer, g->mb, g->phase, blk);
        coll3(g, op, sub, CX_STREAM_TP, tp_kind(g, e, fwd), d->tp_bytes, g->gpu - g->tp_i, 1u, tp, g->tp_i);
        return;
    case E_CP_KV:
        label(g, op, layer, g->mb, g->phase, CX_BLK_CP_KV);
        coll3(g, op, sub, CX_STREAM_TP, fwd ? CX_COLL_ALLGATHER : CX_COLL_REDUCESCATTER, d->cp_bytes,
              g->gpu - (uint64_t)g->cp_i * tp, tp, p->cp, g->cp_i);
        return;
    case E_EP_DISPATCH:
    case E_EP_COMBINE:
        label(g, op, layer, g->mb, g->phase, e == E_EP_DISPATCH ? CX_BLK_EP_DISPATCH : CX_BLK_EP_COMBINE);
        if (g->w->model.max_nodes > 0) fill_ep_nodes(g, e, sub, op);
        else
            coll3(g, op, sub, CX_STREAM_TP, CX_COLL_ALLTOALL, d->ep_bytes,
                  g->gpu - (uint64_t)g->ep_i * tp * p->cp, tp * p->cp, p->ep, g->ep_i);
        /* Overlapped in a DualPipe pair, the all-to-all's kernels hold a
         * share of the SMs (the executor slows kernels beside it; cx_gpu.h). */
        if (g->pair && op->kind == CX_OP_COLLECTIVE) op->flops = p->comm_sm_share;
        return;
    case E_DP_GRAD:
    case E_DP_GRAD_EXP:
    case E_DP_GRAD_EMBED: {
        int      expert = e == E_DP_GRAD_EXP;
        uint32_t bucket = e == E_DP_GRAD_EMBED ? EMBED_BUCKET : layer;
        double   params = e == E_DP_GRAD_EMBED ? d->p_embed : bucket_params(g, expert);
        label(g, op, bucket, CX_OP_NO_MB, CX_PHASE_BWD, expert ? CX_BLK_DP_GRAD_EXPERT : CX_BLK_DP_GRAD);
        if (sub == 0) {
            set_wait(g, op, CX_STREAM_DP, CX_STREAM_COMPUTE);
            return;
        }
        if (expert)
            set_coll(op, CX_STREAM_DP, p->zero_stage ? CX_COLL_REDUCESCATTER : CX_COLL_ALLREDUCE,
                     grad_bytes(g, params), g->gpu - (uint64_t)(g->dp_i / p->ep) * tp * p->ep,
                     tp * p->ep, edp_size(g), g->dp_i / p->ep);
        else
            set_coll(op, CX_STREAM_DP, p->zero_stage ? CX_COLL_REDUCESCATTER : CX_COLL_ALLREDUCE,
                     grad_bytes(g, params), dp_base(g), tp, p->cp * p->dp, g->cp_i + p->cp * g->dp_i);
        op->algo = CX_ALGO_RING;
        return;
    }
    default:
        memset(op, 0, sizeof(*op));
        return;
    }
}

/* The end of the iteration: optimizer, parameter all-gathers (and the
 * forward's waits for them), checkpoint, the final sync. */
static void fill_step(const cx_gen_t *g, int e, unsigned sub, cx_op_t *op)
{
    const cx_workload_t   *w  = g->w;
    const cx_wl_derived_t *d  = &w->d;
    const cx_parallel_t   *p  = &w->par;
    uint32_t               layer = g->section == S_LAYER ? cur_layer(g) : CX_OP_NO_LAYER;
    uint32_t               tp = p->tp;
    int                    FP8 = w->precision == CX_PREC_FP8;
    switch (e) {
    case E_OPT_WAIT:
        label(g, op, CX_OP_NO_LAYER, CX_OP_NO_MB, CX_PHASE_OPT, CX_BLK_SYNC);
        set_wait(g, op, CX_STREAM_COMPUTE, CX_STREAM_DP);
        return;
    case E_OPTIMIZER: {
        /* Adam on this GPU's shard (ZeRO-1: 1/(dp*cp) of the dense and 1/(dp/ep)
         * of the expert parameters): read fp32 param, m, v and the gradient,
         * write param, m, v and the bf16 copy; ~12 flops per parameter. */
        double n = p->zero_stage ? g->p_dense / ((double)p->dp * p->cp) + g->p_expert / edp_size(g)
                                 : g->p_dense + g->p_expert;
        label(g, op, CX_OP_NO_LAYER, CX_OP_NO_MB, CX_PHASE_OPT, CX_BLK_OPTIMIZER);
        set_compute(op, CX_CLS_OPTIMIZER, 12.0 * n, n * (26.0 + d->grad_bytes), FP8);
        return;
    }
    case E_PARAM_WAIT: {
        /* The forward's first use of a bucket waits for its all-gather, a
         * MoE layer for the expert all-gather too (issued after the dense
         * buckets).  DP ops then: WAIT, the buckets, WAIT + expert AG. */
        uint64_t n = g->ag_base + 2u + ag_bucket_of(g, g->chunk, g->layer_step);
        if (g->p_expert > 0.0 && edp_size(g) > 1 && cx_workload_layer_is_moe(w, layer))
            n = g->ag_base + 1u + ag_buckets(g) + 2u;
        label(g, op, layer, g->mb, g->phase, CX_BLK_DP_PARAM);
        op->kind         = CX_OP_WAIT;
        op->stream       = CX_STREAM_COMPUTE;
        op->cls          = CX_STREAM_DP;
        op->u.wait_count = n;
        return;
    }
    case E_PARAM_AG:
    case E_PARAM_AG_EXP: {
        int expert = e == E_PARAM_AG_EXP;
        label(g, op, CX_OP_NO_LAYER, CX_OP_NO_MB, CX_PHASE_OPT,
              expert ? CX_BLK_DP_PARAM_EXPERT : CX_BLK_DP_PARAM);
        if (ag_overlap(g) && sub > 0) {
            /* Bucketed (dense) or unwaited (expert): see E_PARAM_WAIT. */
            if (expert)
                set_coll(op, CX_STREAM_DP, CX_COLL_ALLGATHER, (uint64_t)llround(g->p_expert * 2.0),
                         g->gpu - (uint64_t)(g->dp_i / p->ep) * tp * p->ep, tp * p->ep, edp_size(g), g->dp_i / p->ep);
            else {
                op->layer = (uint16_t)(sub - 1u);   /* the bucket, in the tag's layer field */
                set_coll(op, CX_STREAM_DP, CX_COLL_ALLGATHER,
                         (uint64_t)llround(ag_bucket_params(g, sub - 1u) * 2.0), dp_base(g), tp, p->cp * p->dp,
                         g->cp_i + p->cp * g->dp_i);
            }
            op->algo = CX_ALGO_RING;
            return;
        }
        if (ag_overlap(g) && sub == 0) {
            set_wait(g, op, CX_STREAM_DP, CX_STREAM_COMPUTE);
            return;
        }
        if (expert)
            coll3(g, op, sub, CX_STREAM_DP, CX_COLL_ALLGATHER, (uint64_t)llround(g->p_expert * 2.0),
                  g->gpu - (uint64_t)(g->dp_i / p->ep) * tp * p->ep, tp * p->ep, edp_size(g), g->dp_i / p->ep);
        else
            coll3(g, op, sub, CX_STREAM_DP, CX_COLL_ALLGATHER, (uint64_t)llround(g->p_dense * 2.0),
                  dp_base(g), tp, p->cp * p->dp, g->cp_i + p->cp * g->dp_i);
        if (sub == 1) op->algo = CX_ALGO_RING;
        return;
    }
    case E_CKPT:
        /* This GPU's share of the model state, written (sync) or copied to
         * host memory (async) at the rate the op carries. */
        label(g, op, CX_OP_NO_LAYER, CX_OP_NO_MB, CX_PHASE_OPT, CX_BLK_CHECKPOINT);
        set_compute(op, CX_CLS_CHECKPOINT, 0.0, w->ckpt.bytes_per_gpu, 0);
        op->u.peer = (uint64_t)llround(w->ckpt.bw_per_gpu);
        return;
    case E_SYNC:
        /* Iteration ends when every stream is drained. */
        label(g, op, CX_OP_NO_LAYER, CX_OP_NO_MB, CX_PHASE_OPT, CX_BLK_SYNC);
        set_wait(g, op, CX_STREAM_COMPUTE, sub == 0 ? CX_STREAM_TP : CX_STREAM_PP);
        return;
    default:
        memset(op, 0, sizeof(*op));
        return;
    }
}

static void entry_fill(const cx_gen_t *g, int e, unsigned sub, cx_op_t *op)
{
    switch (e) {
    case E_PP_RECV: case E_PP_SEND:
        fill_pp(g, e, sub, op);
        return;
    case E_EMBED: case E_FINAL_NORM: case E_LM_HEAD: case E_LOSS: case E_NORM1: case E_NORM2:
    case E_QKV: case E_ATTN: case E_ATTN_RECOMP: case E_PROJ: case E_MLP_UP: case E_MLP_ACT:
    case E_MLP_DOWN: case E_ROUTER: case E_EXP_UP: case E_EXP_ACT: case E_EXP_DOWN:
    case E_SH_UP: case E_SH_ACT: case E_SH_DOWN:
        fill_compute(g, e, sub, op);
        return;
    case E_TP_ATTN_IN: case E_TP_ATTN_OUT: case E_TP_MLP_IN: case E_TP_MLP_OUT:
    case E_CP_KV: case E_EP_DISPATCH: case E_EP_COMBINE:
    case E_DP_GRAD: case E_DP_GRAD_EXP: case E_DP_GRAD_EMBED:
        fill_comm(g, e, sub, op);
        return;
    case E_OPT_WAIT: case E_OPTIMIZER: case E_PARAM_WAIT: case E_PARAM_AG: case E_PARAM_AG_EXP:
    case E_CKPT: case E_SYNC:
        fill_step(g, e, sub, op);
        return;
    default:
        memset(op, 0, sizeof(*op));
        return;
    }
}

/* The stream op `sub` of entry e goes to, without building it: a GPU's
 * stream sources each run the whole program and keep their stream's ops,
 * so the others' are counted (for WAIT counts) and skipped.  Must agree
 * with entry_fill (checked there in debug builds, and by every digest). */
static uint32_t entry_stream(const cx_gen_t *g, int e, unsigned sub)
{
    const cx_parallel_t *p = &g->w->par;
    switch (e) {
    case E_PP_RECV: return sub == 1 ? CX_STREAM_COMPUTE : CX_STREAM_PP;
    case E_PP_SEND: return CX_STREAM_PP;
    case E_EP_DISPATCH: case E_EP_COMBINE:
        if (g->w->model.max_nodes > 0) return sub == 3 ? CX_STREAM_COMPUTE : CX_STREAM_TP;
        return sub == 2 ? CX_STREAM_COMPUTE : CX_STREAM_TP;
    case E_TP_ATTN_IN: case E_TP_ATTN_OUT: case E_TP_MLP_IN: case E_TP_MLP_OUT:
    case E_CP_KV:
        return sub == 2 ? CX_STREAM_COMPUTE : CX_STREAM_TP;
    case E_DP_GRAD: case E_DP_GRAD_EXP: case E_DP_GRAD_EMBED:
        return CX_STREAM_DP;
    case E_PARAM_AG: case E_PARAM_AG_EXP:
        if (ag_overlap(g)) return CX_STREAM_DP;
        return sub == 2 ? CX_STREAM_COMPUTE : CX_STREAM_DP;
    case E_QKV: case E_PROJ: case E_MLP_UP: case E_MLP_DOWN:
        if (g->section == S_LAYER && overlapped(g, tp_partner(e))) {
            int      c  = tp_partner(e);
            int      in = c == E_TP_ATTN_IN || c == E_TP_MLP_IN;
            unsigned k  = p->tp_comm_overlap;
            if (in == (g->phase != CX_PHASE_BWD)) {  /* collective first */
                if (sub == 0) return CX_STREAM_TP;
                return (sub - 1u) % 3u == 0 ? CX_STREAM_TP : CX_STREAM_COMPUTE;
            }
            if (sub == 3u * k) return CX_STREAM_COMPUTE;
            return sub % 3u == 0 ? CX_STREAM_COMPUTE : CX_STREAM_TP;
        }
        return CX_STREAM_COMPUTE;
    default:
        return CX_STREAM_COMPUTE;
    }
}

static int emit(cx_gen_t *g, cx_op_t *op)
{
    g->count[op->stream]++;
    g->mark[op->stream] = g->count[op->stream];
    g->n_ops++;
    return 1;
}

static int gen_next(cx_gen_t *g, cx_op_t *op, int want)
{
    for (;;) {
        const uint8_t *list = NULL;
        unsigned       n = 0, ns;
        int            e;
        switch (g->section) {
        case S_DONE:
            return 0;
        case S_BEGIN:
        case S_END:
            label(g, op, CX_OP_NO_LAYER, CX_OP_NO_MB, CX_PHASE_NONE, CX_BLK_NONE);
            op->kind   = (uint8_t)(g->section == S_BEGIN ? CX_OP_ITER_BEGIN : CX_OP_ITER_END);
            op->stream = CX_STREAM_COMPUTE;
            if (g->section == S_BEGIN) {
                g->section = S_ITER_PRE;
                g->entry   = 0;
                g->sub     = 0;
            } else {
                g->iter++;
                g->section = g->iter == g->iterations ? S_DONE : S_BEGIN;
            }
            if (want >= 0 && want != CX_STREAM_COMPUTE) {
                g->count[CX_STREAM_COMPUTE]++;
                g->n_ops++;
                continue;
            }
            return emit(g, op);
        case S_ACT_START:
            g->entry = 0;
            g->sub   = 0;
            if (g->action == g->n_actions) {
                g->chunk   = 0;
                g->section = S_OPT;
            } else {
                start_action(g);
            }
            continue;
        case S_PRE:
            list = g->bwd ? bwd_pre : fwd_pre;
            n    = g->bwd ? N_OF(bwd_pre) : N_OF(fwd_pre);
            break;
        case S_LAYER:
            if (g->layer_step == g->layer_n) {
                g->phase   = g->bwd ? CX_PHASE_BWD : CX_PHASE_FWD;
                g->section = S_POST;
                g->entry = 0;
                g->sub   = 0;
                continue;
            }
            if (g->phase == CX_PHASE_BWD) {
                list = bwd_layer;
                n    = N_OF(bwd_layer);
            } else {
                list = fwd_layer;
                n    = N_OF(fwd_layer);
            }
            break;
        case S_POST:
            list = g->bwd ? bwd_post : fwd_post;
            n    = g->bwd ? N_OF(bwd_post) : N_OF(fwd_post);
            break;
        case S_WGRAD:
            if (g->layer_step == g->layer_n) {
                g->action++;
                g->section = S_ACT_START;
                continue;
            }
            list = wgrad_layer;
            n    = N_OF(wgrad_layer);
            break;
        case S_ITER_PRE:
            list = iter_pre_list;
            n    = N_OF(iter_pre_list);
            break;
        case S_OPT:
            list = opt_list;
            n    = N_OF(opt_list);
            break;
        default:
            return 0;
        }
        if (g->entry >= n) {
            /* This part is finished: move on. */
            g->entry = 0;
            g->sub   = 0;
            if (g->section == S_PRE) {
                g->section = S_LAYER;
                /* Full recomputation: each layer's forward again, then its backward. */
                if (g->bwd && g->w->recompute == CX_RECOMPUTE_FULL) g->phase = CX_PHASE_RECOMPUTE;
            } else if (g->section == S_LAYER) {
                if (g->phase == CX_PHASE_RECOMPUTE) {
                    g->phase = CX_PHASE_BWD;
                } else {
                    g->layer_step++;
                    if (g->bwd && g->w->recompute == CX_RECOMPUTE_FULL) g->phase = CX_PHASE_RECOMPUTE;
                }
            } else if (g->section == S_POST) {
                if (g->bwd && g->w->par.zero_bubble) {
                    g->section    = S_WGRAD;
                    g->layer_step = 0;
                    g->phase      = CX_PHASE_BWD;
                } else {
                    end_chunk(g);
                }
            } else if (g->section == S_WGRAD) {
                g->layer_step++;
            } else if (g->section == S_ITER_PRE) {
                g->action  = 0;
                g->section = S_ACT_START;
            } else {
                g->section = S_END;
            }
            continue;
        }
        e  = list[g->entry];
        ns = g->section == S_WGRAD ? wgrad_nsub(g, e) : entry_nsub(g, e);
        if (g->sub >= ns) {
            g->entry++;
            g->sub = 0;
            continue;
        }
        if (e == E_PARAM_AG && g->sub == 0 && g->section == S_ITER_PRE) g->ag_base = g->count[CX_STREAM_DP];
        if (want >= 0) {
            uint32_t st = entry_stream(g, e, g->sub);
            if (st != (uint32_t)want) {
                g->count[st]++;
                g->mark[st] = g->count[st];
                g->n_ops++;
                g->sub++;
                if (g->pair && !g->other.done && switch_after(g, e, g->sub - 1u)) lane_swap(g);
                continue;
            }
        }
        entry_fill(g, e, g->sub, op);
        /* The skipping above relies on entry_stream: check it on every op built. */
        if (op->stream != entry_stream(g, e, g->sub)) {
            cx_fatal("generator: entry %d op %u on stream %u, entry_stream says %u", e, (unsigned)g->sub,
                     (unsigned)op->stream, (unsigned)entry_stream(g, e, g->sub));
        }
        g->sub++;
        emit(g, op);
        if (g->pair && !g->other.done && switch_after(g, e, g->sub - 1u)) lane_swap(g);
        return 1;
    }
}

int cx_gen_next(cx_gen_t *g, cx_op_t *op) { return gen_next(g, op, -1); }

int cx_gen_next_stream(cx_gen_t *g, uint32_t stream, cx_op_t *op) { return gen_next(g, op, (int)stream); }

/*
 * Workload YAML: parse, validate (one file:line:field message per error),
 * and derive the per-GPU FLOPs, HBM bytes, message sizes and parameter
 * counts the generator uses.  FLOPs follow the standard counting: a GEMM of
 * an (M x K) by (K x N) matrix is 2*M*K*N; backward is twice forward; the
 * causal attention core does half the work of the full one.
 */
#include "cx_workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_yaml.h"

/* ---- small helpers ------------------------------------------------------- */

static const cx_yaml_node_t *node_or(const cx_yaml_node_t *map, const char *key)
{
    const cx_yaml_node_t *n = map != NULL ? cx_yaml_get(map, key) : NULL;
    return n != NULL ? n : map;
}

static cx_status_t get_u32(const cx_yaml_node_t *map, const char *key, int required,
                           int64_t min, int64_t max, uint32_t *out, cx_err_t *err)
{
    int64_t     v  = (int64_t)*out;
    cx_status_t st = cx_yaml_get_int(map, key, required, min, max, &v, err);
    if (st == CX_OK) *out = (uint32_t)v;
    return st;
}

static cx_status_t get_u64(const cx_yaml_node_t *map, const char *key, int required,
                           int64_t min, int64_t max, uint64_t *out, cx_err_t *err)
{
    int64_t     v  = (int64_t)*out;
    cx_status_t st = cx_yaml_get_int(map, key, required, min, max, &v, err);
    if (st == CX_OK) *out = (uint64_t)v;
    return st;
}

/* ---- architecture-level counts (whole model, not per GPU) ---------------- */

static double nmat(const cx_model_t *m) { return m->mlp == CX_MLP_SWIGLU ? 3.0 : 2.0; }

static double qk_dim(const cx_model_t *m)
{
    return m->mla ? (double)(m->qk_nope_head_dim + m->qk_rope_head_dim) : (double)m->head_dim;
}

static double v_dim(const cx_model_t *m) { return m->mla ? (double)m->v_head_dim : (double)m->head_dim; }

/* Matmul parameters of attention before the attention core (Q, K, V). */
static double attn_in_params(const cx_model_t *m)
{
    double h = m->hidden, H = m->heads;
    if (m->mla) {
        double q = m->q_lora_rank > 0
                       ? h * m->q_lora_rank + (double)m->q_lora_rank * H * qk_dim(m)
                       : h * H * qk_dim(m);
        double kv = h * (double)(m->kv_lora_rank + m->qk_rope_head_dim) +
                    (double)m->kv_lora_rank * H * (double)(m->qk_nope_head_dim + m->v_head_dim);
        return q + kv;
    }
    return h * H * m->head_dim + 2.0 * h * (double)m->kv_heads * m->head_dim;
}

static double attn_out_params(const cx_model_t *m) { return (double)m->heads * v_dim(m) * m->hidden; }

/* Forward FLOPs of the causal attention core per token (all heads). */
static double core_flops_per_token(const cx_model_t *m, double seq)
{
    return 2.0 * seq * m->heads * (qk_dim(m) + v_dim(m)) * 0.5;
}

int cx_workload_layer_is_moe(const cx_workload_t *w, uint32_t layer)
{
    const cx_model_t *m = &w->model;
    if (m->experts == 0 || layer < m->dense_layers) return 0;
    return (layer - m->dense_layers) % m->moe_layer_freq == 0;
}

static uint32_t n_moe_layers(const cx_workload_t *w)
{
    uint32_t l, n = 0;
    for (l = 0; l < w->model.layers; l++) n += (uint32_t)cx_workload_layer_is_moe(w, l);
    return n;
}

/* Active matmul parameters per token (see the header). */
static double active_matmul_params(const cx_workload_t *w)
{
    const cx_model_t *m   = &w->model;
    double            h   = m->hidden;
    double            nm  = (double)n_moe_layers(w);
    double            nd  = (double)m->layers - nm;
    double            att = attn_in_params(m) + attn_out_params(m);
    double            moe = h * m->experts + (double)(m->top_k + m->shared_experts) * nmat(m) * h * m->moe_ffn_hidden;
    return nd * (att + nmat(m) * h * m->ffn_hidden) + nm * (att + moe) + (double)m->vocab * h;
}

void cx_workload_params(const cx_workload_t *w, double *total_p, double *active_p)
{
    const cx_model_t *m    = &w->model;
    double            h    = m->hidden;
    double            nm   = (double)n_moe_layers(w);
    double            nd   = (double)m->layers - nm;
    double            att  = attn_in_params(m) + attn_out_params(m);
    double            norm = 2.0 * h * m->layers + h;
    double            all_exp = (double)(m->experts + m->shared_experts) * nmat(m) * h * m->moe_ffn_hidden;
    double            total = (double)m->vocab * h * 2.0 + norm + nd * (att + nmat(m) * h * m->ffn_hidden) +
                   nm * (att + h * m->experts + all_exp);
    if (total_p != NULL) *total_p = total;
    if (active_p != NULL) *active_p = active_matmul_params(w) + (double)m->vocab * h + norm;
}

double cx_workload_tokens_per_iteration(const cx_workload_t *w)
{
    return (double)w->global_batch_seqs * (double)w->seq_len;
}

double cx_workload_model_flops_per_iteration(const cx_workload_t *w)
{
    const cx_model_t *m     = &w->model;
    double            h_att = (double)m->heads * (qk_dim(m) + v_dim(m)) * 0.5;
    double            per_token = 6.0 * active_matmul_params(w) +
                       12.0 * (double)m->layers * h_att * (double)w->seq_len;
    return cx_workload_tokens_per_iteration(w) * per_token;
}

double cx_workload_model_flops_causal_per_iteration(const cx_workload_t *w)
{
    const cx_model_t *m     = &w->model;
    double            h_att = (double)m->heads * (qk_dim(m) + v_dim(m)) * 0.5;
    double            per_token = 6.0 * active_matmul_params(w) +
                       6.0 * (double)m->layers * h_att * (double)w->seq_len;
    return cx_workload_tokens_per_iteration(w) * per_token;
}

double cx_workload_exec_flops_per_iteration(const cx_workload_t *w)
{
    const cx_model_t *m    = &w->model;
    double            core = core_flops_per_token(m, (double)w->seq_len) * m->layers;
    double            n    = active_matmul_params(w);
    double            per_token = 6.0 * n + 3.0 * core;
    if (w->recompute == CX_RECOMPUTE_FULL)
        per_token += 2.0 * (n - (double)m->vocab * m->hidden) + core;
    else if (w->recompute == CX_RECOMPUTE_SELECTIVE)
        per_token += core;
    return cx_workload_tokens_per_iteration(w) * per_token;
}

uint32_t cx_workload_vstage_layers(const cx_workload_t *w, uint32_t vs)
{
    if (w->d.vstages == 1) return w->model.layers;
    if (vs == 0) return w->par.first_stage_layers;
    if (vs == w->d.vstages - 1) return w->par.last_stage_layers;
    return w->d.mid_stage_layers;
}

uint32_t cx_workload_vstage_first_layer(const cx_workload_t *w, uint32_t vs)
{
    if (vs == 0) return 0;
    return w->par.first_stage_layers + (vs - 1) * w->d.mid_stage_layers;
}

/* ---- per-GPU derivation --------------------------------------------------- */

/* HBM bytes of a GEMM (M x K) . (K x N): operands in e bytes, output bf16. */
static double gemm_bytes(double M, double K, double N, double e, double weight_copies)
{
    return e * (M * K + K * N * weight_copies) + 2.0 * M * N;
}

/* Node-limited routing: a token's top_k experts lie on at most M =
 * max_nodes of the EP group's n nodes (x experts each).  With balanced
 * routing (DeepSeek's auxiliary-loss-free balancing aims at it) the top_k
 * are a uniform draw from the M nodes' M*x experts, so a node of the M gets
 * none with probability C((M-1)x, k) / C(Mx, k), and the token reaches
 * E = M (1 - C((M-1)x, k) / C(Mx, k)) nodes, each once (DeepSeek's dispatch
 * sends a token once per node and forwards it over NVLink there).  The
 * cross-node all-to-all then moves T*E hidden vectors per GPU (its rail
 * peers, one per node, uniform: the own node's share stays home), the
 * NVLink one inside the node the T*top_k copies (ep_bytes). */
static void derive_nodes(cx_workload_t *w, double T)
{
    const cx_model_t *m = &w->model;
    cx_wl_derived_t  *d = &w->d;
    double            M, x, k, none = 1.0, i;
    d->ep_node_bytes      = 0;
    d->ep_per_node        = 0;
    d->ep_nodes_per_token = 0.0;
    if (m->experts == 0 || m->max_nodes == 0 || w->par.ep < 2) return;
    d->ep_per_node = m->node_gpus / w->par.tp;
    M = m->max_nodes;
    x = (double)m->experts / (double)(w->par.ep / d->ep_per_node);
    k = m->top_k;
    for (i = 0; i < k; i++) none *= ((M - 1.0) * x - i > 0.0 ? ((M - 1.0) * x - i) / (M * x - i) : 0.0);
    d->ep_nodes_per_token = M * (1.0 - none);
    d->ep_node_bytes      = (uint64_t)llround(T * d->ep_nodes_per_token * m->hidden * 2.0);
}

static void derive(cx_workload_t *w)
{
    const cx_model_t *m  = &w->model;
    cx_wl_derived_t  *d  = &w->d;
    double            tp = w->par.tp, cp = w->par.cp, h = m->hidden, mb = w->micro_batch_size;
    double            seq = (double)w->seq_len;
    double            T   = mb * seq / cp;
    double            e   = w->precision == CX_PREC_FP8 ? 1.0 : 2.0;
    double            nm  = nmat(m);
    double            qin = attn_in_params(m);
    double            kvdim, att, exp_local;

    d->vstages   = w->par.pp * w->par.virtual_stages;
    d->n_micro   = (uint32_t)(w->global_batch_seqs / ((uint64_t)w->par.dp * w->micro_batch_size));
    d->tokens_gpu = T;
    d->tokens_sp  = w->par.sequence_parallel ? T / tp : T;

    d->f_qkv  = 2.0 * T * qin / tp;
    d->f_attn = mb * seq * core_flops_per_token(m, seq) / (tp * cp);
    d->f_proj = 2.0 * T * attn_out_params(m) / tp;
    d->f_mlp_up   = 2.0 * T * (nm - 1.0) * h * m->ffn_hidden / tp;
    d->f_mlp_down = 2.0 * T * h * m->ffn_hidden / tp;
    d->f_router   = 2.0 * T * h * m->experts / tp;
    d->f_exp_up   = 2.0 * T * m->top_k * (nm - 1.0) * h * m->moe_ffn_hidden / tp;
    d->f_exp_down = 2.0 * T * m->top_k * h * m->moe_ffn_hidden / tp;
    d->f_sh_up    = 2.0 * T * m->shared_experts * (nm - 1.0) * h * m->moe_ffn_hidden / tp;
    d->f_sh_down  = 2.0 * T * m->shared_experts * h * m->moe_ffn_hidden / tp;
    d->f_lm_head  = 2.0 * T * h * m->vocab / tp;

    kvdim = m->mla ? (double)(m->kv_lora_rank + m->qk_rope_head_dim)
                   : 2.0 * m->kv_heads * m->head_dim / tp;
    exp_local = (double)m->experts / w->par.ep;
    d->b_qkv  = gemm_bytes(T, h, qin / h / tp, e, 1.0);
    d->b_attn = 2.0 * (T * m->heads * qk_dim(m) / tp + mb * seq * kvdim + T * m->heads * v_dim(m) / tp);
    d->b_proj = gemm_bytes(T, m->heads * v_dim(m) / tp, h, e, 1.0);
    d->b_mlp_up   = gemm_bytes(T, h, (nm - 1.0) * m->ffn_hidden / tp, e, 1.0);
    d->b_mlp_down = gemm_bytes(T, m->ffn_hidden / tp, h, e, 1.0);
    d->b_router   = gemm_bytes(T / tp, h, m->experts, e, 1.0);
    d->b_exp_up   = gemm_bytes(T * m->top_k, h, (nm - 1.0) * m->moe_ffn_hidden / tp, e, exp_local);
    d->b_exp_down = gemm_bytes(T * m->top_k, m->moe_ffn_hidden / tp, h, e, exp_local);
    d->b_sh_up    = gemm_bytes(T, h, m->shared_experts * (nm - 1.0) * m->moe_ffn_hidden / tp, e, 1.0);
    d->b_sh_down  = gemm_bytes(T, m->shared_experts * m->moe_ffn_hidden / tp, h, e, 1.0);
    d->b_lm_head  = gemm_bytes(T, h, (double)m->vocab / tp, e, 1.0);
    d->b_norm     = 3.0 * 2.0 * d->tokens_sp * h;        /* residual in, add, normalised out */
    d->b_act      = (nm == 3.0 ? 6.0 : 4.0) * T * m->ffn_hidden / tp;
    d->b_exp_act  = (nm == 3.0 ? 6.0 : 4.0) * T * m->top_k * m->moe_ffn_hidden / tp;
    d->b_sh_act   = (nm == 3.0 ? 6.0 : 4.0) * T * m->shared_experts * m->moe_ffn_hidden / tp;
    d->b_embed    = 2.0 * 2.0 * d->tokens_sp * h;
    d->b_loss     = 2.0 * 2.0 * T * m->vocab / tp;

    d->tp_bytes = (uint64_t)llround(T * h * 2.0);
    d->cp_bytes = (uint64_t)llround(mb * seq * kvdim * 2.0);
    d->ep_bytes = (uint64_t)llround(T * m->top_k * h * 2.0);
    d->pp_bytes = (uint64_t)llround(d->tokens_sp * h * 2.0);
    derive_nodes(w, T);

    att = qin + attn_out_params(m) + 2.0 * h;
    d->p_dense_layer      = (att + nm * h * m->ffn_hidden) / tp;
    d->p_moe_layer_dense  = (att + h * m->experts + m->shared_experts * nm * h * m->moe_ffn_hidden) / tp;
    d->p_moe_layer_expert = exp_local * nm * h * m->moe_ffn_hidden / tp;
    d->p_embed = (double)m->vocab * h / tp;
    d->p_head  = (double)m->vocab * h / tp + h;
    d->grad_bytes = w->par.grad_reduce_fp32 ? 4u : 2u;
}

/* ---- parsing --------------------------------------------------------------- */

static const char *const top_keys[] = {"kind", "name", "gpus", "iterations", "model", "parallelism", "training",
                                       "checkpoint", NULL};
static const char *const kind_names[] = {"training", "inference", "rl", NULL};
static const char *const ckpt_keys[] = {"every", "mode", "bytes_per_param", "storage_bandwidth",
                                        "host_copy_bandwidth", NULL};
static const char *const ckpt_modes[] = {"sync", "async", NULL};
static const char *const model_keys[] = {"name", "layers", "hidden", "ffn_hidden", "heads", "kv_heads",
                                         "head_dim", "vocab", "mlp", "moe", "mla", NULL};
static const char *const moe_keys[] = {"experts", "top_k", "shared_experts", "ffn_hidden", "dense_layers",
                                       "layer_freq", "max_nodes", "node_gpus", NULL};
static const char *const mla_keys[] = {"q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
                                       "qk_rope_head_dim", "v_head_dim", NULL};
static const char *const par_keys[] = {"tp", "cp", "pp", "dp", "ep", "virtual_stages", "first_stage_layers",
                                       "last_stage_layers", "sequence_parallel", "zero_stage",
                                       "dp_bucket_bytes", "grad_reduce_dtype", "tp_comm_overlap",
                                       "overlap_param_gather", "zero_bubble", "dualpipe", "dualpipe_overlap",
                                       "comm_sm_share", NULL};
static const char *const train_keys[] = {"seq_len", "global_batch_tokens", "global_batch_sequences",
                                         "micro_batch_size", "precision", "recompute", NULL};
static const char *const mlp_names[]   = {"swiglu", "gelu", NULL};
static const char *const prec_names[]  = {"bf16", "fp8", NULL};
static const char *const recomp_names[] = {"none", "selective", "full", NULL};
static const char *const gdtype_names[] = {"bf16", "fp32", NULL};

static cx_status_t require_map(const cx_yaml_node_t *parent, const char *key, int required,
                               const cx_yaml_node_t **out, cx_err_t *err)
{
    const cx_yaml_node_t *n = cx_yaml_get(parent, key);
    *out = n;
    if (n == NULL) {
        if (!required) return CX_OK;
        return cx_yaml_error(parent, CX_ERR_INVALID, err, "missing required section '%s'", key);
    }
    return cx_yaml_expect(n, CX_YAML_MAP, err);
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static cx_status_t parse_model(cx_workload_t *w, const cx_yaml_node_t *mm, cx_err_t *err)
{
    cx_model_t           *m = &w->model;
    const cx_yaml_node_t *moe, *mla;
    const char           *s = NULL;
    int                   e = 0;
    const int64_t         BIG = (int64_t)1 << 30;

    CX_TRY(cx_yaml_check_keys(mm, model_keys, err));
    CX_TRY(cx_yaml_get_string(mm, "name", 0, &s, err));
    copy_name(m->name, sizeof(m->name), s);
    CX_TRY(get_u32(mm, "layers", 1, 1, 4094, &m->layers, err));
    CX_TRY(get_u32(mm, "hidden", 1, 1, BIG, &m->hidden, err));
    CX_TRY(get_u32(mm, "ffn_hidden", 1, 1, BIG, &m->ffn_hidden, err));
    CX_TRY(get_u32(mm, "heads", 1, 1, BIG, &m->heads, err));
    m->kv_heads = m->heads;
    CX_TRY(get_u32(mm, "kv_heads", 0, 1, BIG, &m->kv_heads, err));
    if (m->kv_heads > m->heads || m->heads % m->kv_heads != 0)
        return cx_yaml_error(node_or(mm, "kv_heads"), CX_ERR_INVALID, err,
                             "heads (%u) must be a multiple of kv_heads (%u)", m->heads, m->kv_heads);
    m->head_dim = 0;
    CX_TRY(get_u32(mm, "head_dim", 0, 1, BIG, &m->head_dim, err));
    if (m->head_dim == 0) {
        if (m->hidden % m->heads != 0)
            return cx_yaml_error(node_or(mm, "heads"), CX_ERR_INVALID, err,
                                 "hidden (%u) is not divisible by heads (%u); give head_dim",
                                 m->hidden, m->heads);
        m->head_dim = m->hidden / m->heads;
    }
    CX_TRY(get_u32(mm, "vocab", 1, 1, BIG, &m->vocab, err));
    CX_TRY(cx_yaml_get_enum(mm, "mlp", 0, mlp_names, &e, err));
    m->mlp = (cx_mlp_kind_t)e;

    CX_TRY(require_map(mm, "moe", 0, &moe, err));
    if (moe != NULL) {
        CX_TRY(cx_yaml_check_keys(moe, moe_keys, err));
        CX_TRY(get_u32(moe, "experts", 1, 1, 65536, &m->experts, err));
        m->top_k = 1;
        CX_TRY(get_u32(moe, "top_k", 1, 1, 65536, &m->top_k, err));
        if (m->top_k > m->experts)
            return cx_yaml_error(node_or(moe, "top_k"), CX_ERR_INVALID, err,
                                 "top_k (%u) exceeds experts (%u)", m->top_k, m->experts);
        CX_TRY(get_u32(moe, "shared_experts", 0, 0, 65536, &m->shared_experts, err));
        CX_TRY(get_u32(moe, "ffn_hidden", 1, 1, BIG, &m->moe_ffn_hidden, err));
        CX_TRY(get_u32(moe, "dense_layers", 0, 0, m->layers, &m->dense_layers, err));
        m->moe_layer_freq = 1;
        CX_TRY(get_u32(moe, "layer_freq", 0, 1, m->layers, &m->moe_layer_freq, err));
        m->max_nodes = 0;
        CX_TRY(get_u32(moe, "max_nodes", 0, 0, 65536, &m->max_nodes, err));
        m->node_gpus = 8;
        CX_TRY(get_u32(moe, "node_gpus", 0, 1, 1024, &m->node_gpus, err));
    }
    CX_TRY(require_map(mm, "mla", 0, &mla, err));
    if (mla != NULL) {
        m->mla = 1;
        CX_TRY(cx_yaml_check_keys(mla, mla_keys, err));
        CX_TRY(get_u32(mla, "q_lora_rank", 0, 0, BIG, &m->q_lora_rank, err));
        CX_TRY(get_u32(mla, "kv_lora_rank", 1, 1, BIG, &m->kv_lora_rank, err));
        CX_TRY(get_u32(mla, "qk_nope_head_dim", 1, 1, BIG, &m->qk_nope_head_dim, err));
        CX_TRY(get_u32(mla, "qk_rope_head_dim", 1, 0, BIG, &m->qk_rope_head_dim, err));
        CX_TRY(get_u32(mla, "v_head_dim", 1, 1, BIG, &m->v_head_dim, err));
    }
    return CX_OK;
}

static cx_status_t parse_parallel(cx_workload_t *w, const cx_yaml_node_t *pm, cx_err_t *err)
{
    cx_parallel_t *p = &w->par;
    int            e = 0;
    const int64_t  BIG = (int64_t)1 << 30;

    CX_TRY(cx_yaml_check_keys(pm, par_keys, err));
    p->tp = p->cp = p->pp = p->dp = p->ep = p->virtual_stages = 1;
    CX_TRY(get_u32(pm, "tp", 0, 1, 1024, &p->tp, err));
    CX_TRY(get_u32(pm, "cp", 0, 1, 1024, &p->cp, err));
    CX_TRY(get_u32(pm, "pp", 0, 1, 1024, &p->pp, err));
    CX_TRY(get_u32(pm, "dp", 1, 1, BIG, &p->dp, err));
    CX_TRY(get_u32(pm, "ep", 0, 1, 65536, &p->ep, err));
    CX_TRY(get_u32(pm, "virtual_stages", 0, 1, 1024, &p->virtual_stages, err));
    CX_TRY(get_u32(pm, "first_stage_layers", 0, 1, 4094, &p->first_stage_layers, err));
    CX_TRY(get_u32(pm, "last_stage_layers", 0, 1, 4094, &p->last_stage_layers, err));
    p->sequence_parallel = 1;
    CX_TRY(cx_yaml_get_bool(pm, "sequence_parallel", 0, &p->sequence_parallel, err));
    p->tp_comm_overlap = 0;
    CX_TRY(get_u32(pm, "tp_comm_overlap", 0, 0, CX_TP_OVERLAP_MAX, &p->tp_comm_overlap, err));
    if (p->tp_comm_overlap == 1) p->tp_comm_overlap = 0;  /* one piece overlaps nothing */
    p->zero_bubble = 0;
    CX_TRY(cx_yaml_get_bool(pm, "zero_bubble", 0, &p->zero_bubble, err));
    p->overlap_param_gather = 0;
    CX_TRY(cx_yaml_get_bool(pm, "overlap_param_gather", 0, &p->overlap_param_gather, err));
    p->dualpipe = 0;
    CX_TRY(cx_yaml_get_bool(pm, "dualpipe", 0, &p->dualpipe, err));
    if (p->dualpipe && (p->pp < 2 || p->pp % 2 != 0))
        return cx_yaml_error(node_or(pm, "dualpipe"), CX_ERR_INVALID, err,
                             "DualPipe needs an even pp of at least 2 (pp is %u)", p->pp);
    if (p->dualpipe && (p->virtual_stages > 1 || p->zero_bubble || p->overlap_param_gather))
        return cx_yaml_error(node_or(pm, "dualpipe"), CX_ERR_INVALID, err,
                             "DualPipe is its own schedule: it does not combine with %s",
                             p->virtual_stages > 1 ? "virtual_stages" : p->zero_bubble ? "zero_bubble"
                                                                       : "overlap_param_gather");
    /* The overlap inside a DualPipe pair is on with DualPipe unless turned off. */
    p->dualpipe_overlap = p->dualpipe;
    CX_TRY(cx_yaml_get_bool(pm, "dualpipe_overlap", 0, &p->dualpipe_overlap, err));
    if (p->dualpipe_overlap && !p->dualpipe)
        return cx_yaml_error(node_or(pm, "dualpipe_overlap"), CX_ERR_INVALID, err,
                             "dualpipe_overlap overlaps the chunks of a DualPipe pair: it needs dualpipe: true");
    /* DeepSeek-V3 (section 3.2.2): 20 of the H800's 132 SMs run the
     * all-to-all kernels. */
    p->comm_sm_share = 20.0 / 132.0;
    CX_TRY(cx_yaml_get_double(pm, "comm_sm_share", 0, 0.0, 0.9, &p->comm_sm_share, err));
    if (cx_yaml_get(pm, "comm_sm_share") != NULL && !p->dualpipe_overlap)
        return cx_yaml_error(node_or(pm, "comm_sm_share"), CX_ERR_INVALID, err,
                             "comm_sm_share is the SM share of the all-to-all overlapped inside a DualPipe "
                             "pair: it needs dualpipe_overlap");
    p->zero_stage = 1;
    {
        int64_t z = 1;
        CX_TRY(cx_yaml_get_int(pm, "zero_stage", 0, 0, 1, &z, err));
        p->zero_stage = (int)z;
    }
    p->dp_bucket_bytes = 64ull << 20;
    CX_TRY(cx_yaml_get_bytes(pm, "dp_bucket_bytes", 0, &p->dp_bucket_bytes, err));
    if (p->dp_bucket_bytes == 0)
        return cx_yaml_error(node_or(pm, "dp_bucket_bytes"), CX_ERR_RANGE, err, "must be > 0");
    CX_TRY(cx_yaml_get_enum(pm, "grad_reduce_dtype", 0, gdtype_names, &e, err));
    p->grad_reduce_fp32 = e;
    return CX_OK;
}

static cx_status_t parse_training(cx_workload_t *w, const cx_yaml_node_t *tm, uint64_t *batch_tokens,
                                  cx_err_t *err)
{
    int e = 0;
    CX_TRY(cx_yaml_check_keys(tm, train_keys, err));
    CX_TRY(get_u64(tm, "seq_len", 1, 1, (int64_t)1 << 40, &w->seq_len, err));
    CX_TRY(get_u64(tm, "global_batch_tokens", 0, 1, (int64_t)1 << 50, batch_tokens, err));
    CX_TRY(get_u64(tm, "global_batch_sequences", 0, 1, (int64_t)1 << 40, &w->global_batch_seqs, err));
    w->micro_batch_size = 1;
    CX_TRY(get_u32(tm, "micro_batch_size", 0, 1, 1 << 20, &w->micro_batch_size, err));
    CX_TRY(cx_yaml_get_enum(tm, "precision", 0, prec_names, &e, err));
    w->precision = (cx_precision_t)e;
    e = 0;
    CX_TRY(cx_yaml_get_enum(tm, "recompute", 0, recomp_names, &e, err));
    w->recompute = (cx_recompute_t)e;
    return CX_OK;
}

/* Combinations of values: checked after every field parsed. */
/* Node-limited routing (moe.max_nodes): the EP group must span whole
 * nodes of node_gpus GPUs (EP ranks are tp apart, cp is 1 with EP), at
 * least two, and the max_nodes nodes must hold top_k experts. */
static cx_status_t validate_nodes(const cx_workload_t *w, const cx_yaml_node_t *mm, cx_err_t *err)
{
    const cx_model_t     *m   = &w->model;
    const cx_parallel_t  *p   = &w->par;
    const cx_yaml_node_t *moe = mm != NULL ? cx_yaml_get(mm, "moe") : NULL;
    uint32_t              epn, nodes;
    if (m->experts == 0 || m->max_nodes == 0) return CX_OK;
    if (p->ep < 2)
        return cx_yaml_error(node_or(moe, "max_nodes"), CX_ERR_INVALID, err,
                             "node-limited routing needs expert parallelism (ep is %u)", p->ep);
    if (m->node_gpus % p->tp != 0 || m->node_gpus / p->tp > p->ep || p->ep % (m->node_gpus / p->tp) != 0)
        return cx_yaml_error(node_or(moe, "node_gpus"), CX_ERR_INVALID, err,
                             "nodes of %u GPUs do not split the EP group (ep %u, tp %u) into whole nodes",
                             m->node_gpus, p->ep, p->tp);
    epn   = m->node_gpus / p->tp;
    nodes = p->ep / epn;
    if (nodes < 2)
        return cx_yaml_error(node_or(moe, "node_gpus"), CX_ERR_INVALID, err,
                             "the EP group (%u ranks) fits in one node of %u GPUs: no token crosses nodes",
                             p->ep, m->node_gpus);
    if (m->max_nodes > nodes)
        return cx_yaml_error(node_or(moe, "max_nodes"), CX_ERR_RANGE, err,
                             "max_nodes %u is more than the %u nodes the EP group spans", m->max_nodes, nodes);
    if ((uint64_t)m->max_nodes * (m->experts / nodes) < m->top_k)
        return cx_yaml_error(node_or(moe, "max_nodes"), CX_ERR_INVALID, err,
                             "%u nodes hold %u experts, fewer than top_k (%u)", m->max_nodes,
                             m->max_nodes * (m->experts / nodes), m->top_k);
    return CX_OK;
}

static cx_status_t validate(cx_workload_t *w, const cx_yaml_node_t *root, const cx_yaml_node_t *pm,
                            const cx_yaml_node_t *tm, uint64_t batch_tokens, cx_err_t *err)
{
    cx_model_t    *m = &w->model;
    cx_parallel_t *p = &w->par;
    uint64_t       prod = (uint64_t)p->tp * p->cp * p->pp * p->dp;
    uint32_t       vst  = p->pp * p->virtual_stages;
    uint64_t       n_micro;

    if (m->heads % p->tp != 0)
        return cx_yaml_error(node_or(pm, "tp"), CX_ERR_INVALID, err,
                             "model.heads (%u) is not divisible by tp (%u)", m->heads, p->tp);
    if (!m->mla && m->kv_heads % p->tp != 0)
        return cx_yaml_error(node_or(pm, "tp"), CX_ERR_INVALID, err,
                             "model.kv_heads (%u) is not divisible by tp (%u)", m->kv_heads, p->tp);
    if (m->ffn_hidden % p->tp != 0 || (m->experts > 0 && m->moe_ffn_hidden % p->tp != 0))
        return cx_yaml_error(node_or(pm, "tp"), CX_ERR_INVALID, err,
                             "the FFN hidden sizes are not divisible by tp (%u)", p->tp);
    if (prod != w->gpus)
        return cx_yaml_error(node_or(root, "gpus"), CX_ERR_INVALID, err,
                             "gpus is %llu but tp*cp*pp*dp = %u*%u*%u*%u = %llu",
                             (unsigned long long)w->gpus, p->tp, p->cp, p->pp, p->dp,
                             (unsigned long long)prod);
    if (p->ep > 1) {
        if (m->experts == 0)
            return cx_yaml_error(node_or(pm, "ep"), CX_ERR_INVALID, err,
                                 "ep = %u but the model has no experts", p->ep);
        if (m->experts % p->ep != 0)
            return cx_yaml_error(node_or(pm, "ep"), CX_ERR_INVALID, err,
                                 "moe.experts (%u) is not divisible by ep (%u)", m->experts, p->ep);
        if (p->dp % p->ep != 0)
            return cx_yaml_error(node_or(pm, "ep"), CX_ERR_INVALID, err,
                                 "dp (%u) is not divisible by ep (%u): EP groups are carved out of DP",
                                 p->dp, p->ep);
        if (p->cp > 1)
            return cx_yaml_error(node_or(pm, "ep"), CX_ERR_UNSUPPORTED, err,
                                 "ep > 1 together with cp > 1 is not supported");
    }
    /* Layers per virtual stage. */
    if (vst == 1) {
        if ((p->first_stage_layers != 0 && p->first_stage_layers != m->layers) ||
            (p->last_stage_layers != 0 && p->last_stage_layers != m->layers))
            return cx_yaml_error(node_or(pm, "first_stage_layers"), CX_ERR_INVALID, err,
                                 "with one pipeline stage it holds all %u layers", m->layers);
        p->first_stage_layers = p->last_stage_layers = m->layers;
        w->d.mid_stage_layers = m->layers;
    } else if (p->first_stage_layers == 0 && p->last_stage_layers == 0) {
        if (m->layers % vst != 0)
            return cx_yaml_error(node_or(pm, p->virtual_stages > 1 ? "virtual_stages" : "pp"),
                                 CX_ERR_INVALID, err,
                                 "model.layers (%u) is not divisible by pp*virtual_stages (%u); "
                                 "or set first_stage_layers / last_stage_layers",
                                 m->layers, vst);
        p->first_stage_layers = p->last_stage_layers = w->d.mid_stage_layers = m->layers / vst;
    } else {
        uint32_t rest;
        if (p->first_stage_layers == 0 || p->last_stage_layers == 0)
            return cx_yaml_error(node_or(pm, p->first_stage_layers == 0 ? "last_stage_layers"
                                                                         : "first_stage_layers"),
                                 CX_ERR_INVALID, err,
                                 "give both first_stage_layers and last_stage_layers");
        if (p->first_stage_layers + p->last_stage_layers >= m->layers)
            return cx_yaml_error(node_or(pm, "first_stage_layers"), CX_ERR_INVALID, err,
                                 "first + last stage layers leave none for the other stages");
        rest = m->layers - p->first_stage_layers - p->last_stage_layers;
        if (vst == 2 ? rest != 0 : rest % (vst - 2) != 0)
            return cx_yaml_error(node_or(pm, "first_stage_layers"), CX_ERR_INVALID, err,
                                 "the %u layers between the first and last virtual stage do not split "
                                 "evenly over the other %u virtual stages", rest, vst - 2);
        w->d.mid_stage_layers = vst > 2 ? rest / (vst - 2) : 0;
    }
    /* Batch. */
    if (batch_tokens != 0 && w->global_batch_seqs != 0)
        return cx_yaml_error(node_or(tm, "global_batch_sequences"), CX_ERR_INVALID, err,
                             "give global_batch_tokens or global_batch_sequences, not both");
    if (batch_tokens == 0 && w->global_batch_seqs == 0)
        return cx_yaml_error(tm, CX_ERR_INVALID, err,
                             "missing global_batch_tokens or global_batch_sequences");
    if (batch_tokens != 0) {
        if (batch_tokens % w->seq_len != 0)
            return cx_yaml_error(node_or(tm, "global_batch_tokens"), CX_ERR_INVALID, err,
                                 "%llu tokens is not a whole number of %llu-token sequences",
                                 (unsigned long long)batch_tokens, (unsigned long long)w->seq_len);
        w->global_batch_seqs = batch_tokens / w->seq_len;
    }
    {
        const cx_yaml_node_t *bn = node_or(tm, batch_tokens != 0 ? "global_batch_tokens"
                                                                 : "global_batch_sequences");
        uint64_t per = (uint64_t)p->dp * w->micro_batch_size;
        if (w->global_batch_seqs % per != 0)
            return cx_yaml_error(bn, CX_ERR_INVALID, err,
                                 "%llu sequences do not split into dp (%u) x micro_batch_size (%u)",
                                 (unsigned long long)w->global_batch_seqs, p->dp, w->micro_batch_size);
        n_micro = w->global_batch_seqs / per;
        if (n_micro > 65534)
            return cx_yaml_error(bn, CX_ERR_RANGE, err, "%llu microbatches per iteration (max 65534)",
                                 (unsigned long long)n_micro);
        if (p->virtual_stages > 1 && n_micro % p->pp != 0)
            return cx_yaml_error(bn, CX_ERR_INVALID, err,
                                 "the interleaved schedule needs microbatches (%llu) divisible by pp (%u)",
                                 (unsigned long long)n_micro, p->pp);
        if (p->dualpipe && (n_micro % 2 != 0 || n_micro < 2ull * p->pp))
            return cx_yaml_error(bn, CX_ERR_INVALID, err,
                                 "DualPipe needs an even number of microbatches, at least 2*pp (%u); "
                                 "this batch makes %llu", 2 * p->pp, (unsigned long long)n_micro);
    }
    /* CP splits each sequence into 2*cp chunks (load-balanced causal attention). */
    if (p->cp > 1 && w->seq_len % (2ull * p->cp) != 0)
        return cx_yaml_error(node_or(pm, "cp"), CX_ERR_INVALID, err,
                             "seq_len (%llu) is not divisible by 2*cp (%u)",
                             (unsigned long long)w->seq_len, 2 * p->cp);
    if (p->tp == 1) p->sequence_parallel = 0;
    if (p->sequence_parallel &&
        ((uint64_t)w->micro_batch_size * w->seq_len / p->cp) % p->tp != 0)
        return cx_yaml_error(node_or(pm, "sequence_parallel"), CX_ERR_INVALID, err,
                             "micro_batch_size*seq_len/cp is not divisible by tp (%u)", p->tp);
    return CX_OK;
}

/* The optional checkpoint: section (cx_wl_checkpoint_t). */
static cx_status_t parse_checkpoint(cx_workload_t *w, const cx_yaml_node_t *cm, cx_err_t *err)
{
    cx_wl_checkpoint_t *c = &w->ckpt;
    int64_t             every = 1;
    double              params = 0.0;
    memset(c, 0, sizeof(*c));
    c->bytes_per_param = 14.0;
    c->storage_bw      = 2e12;
    c->host_copy_bw    = 25e9;
    if (cm == NULL) return CX_OK;
    CX_TRY(cx_yaml_expect(cm, CX_YAML_MAP, err));
    CX_TRY(cx_yaml_check_keys(cm, ckpt_keys, err));
    CX_TRY(cx_yaml_get_int(cm, "every", 0, 1, 1 << 20, &every, err));
    CX_TRY(cx_yaml_get_enum(cm, "mode", 0, ckpt_modes, &c->mode, err));
    CX_TRY(cx_yaml_get_double(cm, "bytes_per_param", 0, 0.1, 1000.0, &c->bytes_per_param, err));
    CX_TRY(cx_yaml_get_bandwidth(cm, "storage_bandwidth", 0, &c->storage_bw, err));
    CX_TRY(cx_yaml_get_bandwidth(cm, "host_copy_bandwidth", 0, &c->host_copy_bw, err));
    if (!(c->storage_bw > 0))
        return cx_yaml_error(cx_yaml_get(cm, "storage_bandwidth"), CX_ERR_RANGE, err, "must be > 0");
    if (!(c->host_copy_bw > 0))
        return cx_yaml_error(cx_yaml_get(cm, "host_copy_bandwidth"), CX_ERR_RANGE, err, "must be > 0");
    c->every = (uint32_t)every;
    cx_workload_params(w, &params, NULL);
    c->bytes_per_gpu = params * c->bytes_per_param / (double)w->gpus;
    /* A synchronous write also leaves through host memory: no faster than
     * the host copy, and no faster than the GPU's share of the storage. */
    c->bw_per_gpu = c->host_copy_bw;
    if (c->mode == CX_WL_CKPT_SYNC && c->storage_bw / (double)w->gpus < c->bw_per_gpu)
        c->bw_per_gpu = c->storage_bw / (double)w->gpus;
    return CX_OK;
}

static cx_status_t load_doc(cx_workload_t *w, const cx_yaml_doc_t *doc, cx_err_t *err)
{
    const cx_yaml_node_t *root = cx_yaml_root(doc);
    const cx_yaml_node_t *mm, *pm, *tm;
    const char           *s = NULL;
    uint64_t              batch_tokens = 0;

    copy_name(w->file, sizeof(w->file), cx_yaml_file(doc));
    CX_TRY(cx_yaml_expect(root, CX_YAML_MAP, err));
    CX_TRY(cx_yaml_get_enum(root, "kind", 0, kind_names, &w->kind, err));
    if (w->kind != CX_WL_TRAINING) return cx_workload_load_kind(w, root, err); /* cx_infer_load.c */
    CX_TRY(cx_yaml_check_keys(root, top_keys, err));
    CX_TRY(cx_yaml_get_string(root, "name", 0, &s, err));
    copy_name(w->name, sizeof(w->name), s);
    CX_TRY(get_u64(root, "gpus", 1, 1, (int64_t)1 << 40, &w->gpus, err));
    w->iterations = 1;
    CX_TRY(get_u32(root, "iterations", 0, 1, 1 << 20, &w->iterations, err));
    CX_TRY(require_map(root, "model", 1, &mm, err));
    CX_TRY(require_map(root, "parallelism", 1, &pm, err));
    CX_TRY(require_map(root, "training", 1, &tm, err));
    CX_TRY(parse_model(w, mm, err));
    CX_TRY(parse_parallel(w, pm, err));
    CX_TRY(parse_training(w, tm, &batch_tokens, err));
    CX_TRY(validate(w, root, pm, tm, batch_tokens, err));
    CX_TRY(validate_nodes(w, mm, err));
    CX_TRY(parse_checkpoint(w, cx_yaml_get(root, "checkpoint"), err));
    w->line_gpus = node_or(root, "gpus")->line;
    w->line_tp   = node_or(pm, "tp")->line;
    if (w->name[0] == '\0') copy_name(w->name, sizeof(w->name), w->model.name);
    derive(w);
    return CX_OK;
}

/* For the inference / RL loaders (cx_infer_load.c): the model section, and
 * a training job described by sec (gpus, parallelism, training) with the
 * model section mm. */
cx_status_t cx_workload_parse_model(cx_workload_t *w, const cx_yaml_node_t *mm, cx_err_t *err)
{
    return parse_model(w, mm, err);
}

cx_status_t cx_workload_load_training_node(cx_workload_t *w, const cx_yaml_node_t *sec, const cx_yaml_node_t *mm,
                                           cx_err_t *err)
{
    static const char *const keys[] = {"gpus", "parallelism", "training", NULL};
    const cx_yaml_node_t    *pm, *tm;
    uint64_t                 batch_tokens = 0;
    CX_TRY(cx_yaml_expect(sec, CX_YAML_MAP, err));
    CX_TRY(cx_yaml_check_keys(sec, keys, err));
    CX_TRY(get_u64(sec, "gpus", 1, 1, (int64_t)1 << 40, &w->gpus, err));
    w->iterations = 1;
    CX_TRY(require_map(sec, "parallelism", 1, &pm, err));
    CX_TRY(require_map(sec, "training", 1, &tm, err));
    CX_TRY(parse_model(w, mm, err));
    CX_TRY(parse_parallel(w, pm, err));
    CX_TRY(parse_training(w, tm, &batch_tokens, err));
    CX_TRY(validate(w, sec, pm, tm, batch_tokens, err));
    CX_TRY(validate_nodes(w, mm, err));
    CX_TRY(parse_checkpoint(w, NULL, err));
    w->line_gpus = node_or(sec, "gpus")->line;
    w->line_tp   = node_or(pm, "tp")->line;
    derive(w);
    return CX_OK;
}

static cx_status_t finish_load(cx_workload_t **w_p, cx_yaml_doc_t *doc, cx_err_t *err)
{
    cx_workload_t *w = calloc(1, sizeof(*w));
    cx_status_t    st;
    if (w == NULL) {
        cx_yaml_free(doc);
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory loading a workload");
    }
    st = load_doc(w, doc, err);
    cx_yaml_free(doc);
    if (st != CX_OK) {
        cx_workload_destroy(w);
        return st;
    }
    *w_p = w;
    return CX_OK;
}

cx_status_t cx_workload_load(cx_workload_t **w_p, const char *path, cx_err_t *err)
{
    cx_yaml_doc_t *doc = NULL;
    CX_TRY(cx_yaml_load_file(&doc, path, err));
    return finish_load(w_p, doc, err);
}

cx_status_t cx_workload_load_string(cx_workload_t **w_p, const char *name, const char *text,
                                    size_t len, cx_err_t *err)
{
    cx_yaml_doc_t *doc = NULL;
    CX_TRY(cx_yaml_load_string(&doc, name, text, len, err));
    return finish_load(w_p, doc, err);
}

void cx_workload_destroy(cx_workload_t *w)
{
    if (w != NULL && w->kind != CX_WL_TRAINING) cx_workload_free_kind(w); /* cx_infer_load.c */
    free(w);
}

cx_status_t cx_workload_check_fit(const cx_workload_t *w, uint64_t n_gpus, uint32_t gpus_per_domain,
                                  cx_err_t *err)
{
    if (w->gpus > n_gpus)
        return cx_err_set(err, CX_ERR_INVALID, w->file, w->line_gpus, "gpus",
                          "workload '%s' needs %llu GPUs but the topology has %llu", w->name,
                          (unsigned long long)w->gpus, (unsigned long long)n_gpus);
    if (gpus_per_domain == 0 || w->par.tp > gpus_per_domain || gpus_per_domain % w->par.tp != 0)
        return cx_err_set(err, CX_ERR_INVALID, w->file, w->line_tp, "parallelism.tp",
                          "TP group of %u GPUs does not fit evenly in NVLink domains of %u GPUs",
                          w->par.tp, gpus_per_domain);
    return CX_OK;
}

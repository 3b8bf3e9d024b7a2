/*
 * Workload files of kind inference and rl (cx_infer.h; keys in
 * workloads/README.md): parsed and validated with one file:line:field
 * message per error, then reduced to the per-GPU byte counts the inference
 * generator (cx_gen_infer.c) uses.  The training fields of cx_workload_t
 * are filled with a harmless one-iteration description (tp, ep, dp as
 * given) so code that only reads the model and the GPU count works.
 */
#include "cx_infer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_yaml.h"


static const char *const infer_keys[] = {"kind", "name", "gpus", "model", "parallelism", "requests", "batching",
                                         "precision", NULL};
static const char *const rl_keys[]    = {"kind", "name", "gpus", "iterations", "model", "trainer", "rollout",
                                         "reward", "weights_sync", "mode", "staleness", NULL};
static const char *const roll_keys[]  = {"gpus", "parallelism", "requests", "batching", "precision", NULL};
static const char *const par_keys[]   = {"tp", "ep", "dp", NULL};
static const char *const req_keys[]   = {"count", "prompt_tokens", "output_tokens", "seed", NULL};
static const char *const dist_keys[]  = {"dist", "mean", "sigma", "min", "max", NULL};
static const char *const dist_names[] = {"fixed", "uniform", "lognormal", NULL};
static const char *const batch_keys[] = {"mode", "max_batch", NULL};
static const char *const batch_modes[] = {"static", "continuous", NULL};
static const char *const prec_names[] = {"bf16", "fp8", NULL};
static const char *const reward_keys[] = {"seconds_per_sample", "flops_per_sample", NULL};
static const char *const sync_names[] = {"broadcast", NULL};
static const char *const mode_names[] = {"sync", "async", NULL};

static const cx_yaml_node_t *node_or(const cx_yaml_node_t *map, const char *key)
{
    const cx_yaml_node_t *n = map != NULL ? cx_yaml_get(map, key) : NULL;
    return n != NULL ? n : map;
}

static cx_status_t get_map(const cx_yaml_node_t *parent, const char *key, const cx_yaml_node_t **out, cx_err_t *err)
{
    *out = cx_yaml_get(parent, key);
    if (*out == NULL) return cx_yaml_error(parent, CX_ERR_INVALID, err, "missing required section '%s'", key);
    return cx_yaml_expect(*out, CX_YAML_MAP, err);
}

static cx_status_t get_u32(const cx_yaml_node_t *map, const char *key, int req, int64_t lo, int64_t hi, uint32_t *out,
                           cx_err_t *err)
{
    int64_t v = *out;
    CX_TRY(cx_yaml_get_int(map, key, req, lo, hi, &v, err));
    *out = (uint32_t)v;
    return CX_OK;
}

static cx_status_t parse_dist(const cx_yaml_node_t *req, const char *key, cx_wl_dist_t *d, cx_err_t *err)
{
    const cx_yaml_node_t *n;
    int64_t               lo = 1, hi = (int64_t)CX_INFER_MAX_TOKENS;
    CX_TRY(get_map(req, key, &n, err));
    CX_TRY(cx_yaml_check_keys(n, dist_keys, err));
    d->kind = CX_DIST_FIXED;
    CX_TRY(cx_yaml_get_enum(n, "dist", 0, dist_names, &d->kind, err));
    d->mean = 0;
    d->sigma = 0;
    CX_TRY(cx_yaml_get_double(n, "mean", d->kind != CX_DIST_UNIFORM, 1.0, (double)CX_INFER_MAX_TOKENS, &d->mean, err));
    CX_TRY(cx_yaml_get_double(n, "sigma", d->kind == CX_DIST_LOGNORMAL, 0.0, 4.0, &d->sigma, err));
    CX_TRY(cx_yaml_get_int(n, "min", d->kind == CX_DIST_UNIFORM, 1, (int64_t)CX_INFER_MAX_TOKENS, &lo, err));
    CX_TRY(cx_yaml_get_int(n, "max", d->kind == CX_DIST_UNIFORM, 1, (int64_t)CX_INFER_MAX_TOKENS, &hi, err));
    if (lo > hi) return cx_yaml_error(node_or(n, "min"), CX_ERR_INVALID, err, "min (%lld) > max (%lld)",
                                      (long long)lo, (long long)hi);
    if (d->kind == CX_DIST_FIXED && (cx_yaml_get(n, "sigma") != NULL))
        return cx_yaml_error(cx_yaml_get(n, "sigma"), CX_ERR_INVALID, err, "only with dist: lognormal");
    if (d->kind == CX_DIST_UNIFORM && (cx_yaml_get(n, "mean") != NULL || cx_yaml_get(n, "sigma") != NULL))
        return cx_yaml_error(node_or(n, "mean"), CX_ERR_INVALID, err, "dist: uniform takes min and max only");
    d->min = (uint64_t)lo;
    d->max = (uint64_t)hi;
    return CX_OK;
}

static double dist_mean(const cx_wl_dist_t *d)
{
    return d->kind == CX_DIST_UNIFORM ? 0.5 * (double)(d->min + d->max) : d->mean;
}

/* Per-GPU bytes of the model's weights and KV cache (cx_wl_infer_t). */
static void infer_derive(const cx_workload_t *w, cx_wl_infer_t *x)
{
    const cx_model_t *m = &w->model;
    double h = m->hidden, tp = x->tp, nm = m->mlp == CX_MLP_SWIGLU ? 3.0 : 2.0;
    double qk = m->mla ? (double)(m->qk_nope_head_dim + m->qk_rope_head_dim) : m->head_dim;
    double vd = m->mla ? (double)m->v_head_dim : m->head_dim;
    double qkv;
    uint32_t l, n_moe = 0;
    if (m->mla) {
        double q = m->q_lora_rank > 0 ? h * m->q_lora_rank + (double)m->q_lora_rank * m->heads * qk : h * m->heads * qk;
        qkv = q + h * (double)(m->kv_lora_rank + m->qk_rope_head_dim) +
              (double)m->kv_lora_rank * m->heads * (double)(m->qk_nope_head_dim + m->v_head_dim);
        /* The latent (and rope key) is what MLA caches, on every TP rank. */
        x->kv_token_layer = (double)(m->kv_lora_rank + m->qk_rope_head_dim) * x->bpe;
    } else {
        qkv = h * m->heads * m->head_dim + 2.0 * h * (double)m->kv_heads * m->head_dim;
        x->kv_token_layer = 2.0 * (double)m->kv_heads * m->head_dim * x->bpe / tp;
    }
    x->w_qkv    = qkv * x->bpe / tp;
    x->w_proj   = (double)m->heads * vd * h * x->bpe / tp;
    x->w_mlp    = nm * h * m->ffn_hidden * x->bpe / tp;
    x->w_router = h * m->experts * x->bpe;
    x->w_expert = nm * h * m->moe_ffn_hidden * x->bpe / tp;   /* one expert */
    x->w_shared = (double)m->shared_experts * x->w_expert;
    x->w_head   = (double)m->vocab * h * x->bpe / tp;
    for (l = 0; l < m->layers; l++) n_moe += (uint32_t)cx_workload_layer_is_moe(w, l);
    x->w_layer_attn = x->w_qkv + x->w_proj;
    x->weights_gpu  = (double)m->layers * x->w_layer_attn + (double)(m->layers - n_moe) * x->w_mlp +
                     (double)n_moe * (x->w_router + x->w_shared + (double)(m->experts / x->ep) * x->w_expert) +
                     x->w_head;
}

static cx_status_t parse_requests(const cx_yaml_node_t *sec, cx_wl_infer_t *x, cx_err_t *err)
{
    const cx_yaml_node_t *rq, *bt;
    int64_t               v = 0;
    int                   e = 0;
    CX_TRY(get_map(sec, "requests", &rq, err));
    CX_TRY(cx_yaml_check_keys(rq, req_keys, err));
    CX_TRY(cx_yaml_get_int(rq, "count", 1, 1, (int64_t)CX_INFER_MAX_REQUESTS, &v, err));
    x->requests = (uint64_t)v;
    CX_TRY(parse_dist(rq, "prompt_tokens", &x->prompt, err));
    CX_TRY(parse_dist(rq, "output_tokens", &x->output, err));
    v = 1;
    CX_TRY(cx_yaml_get_int(rq, "seed", 0, 0, INT64_MAX, &v, err));
    x->seed = (uint64_t)v;
    x->continuous = 1;
    x->max_batch  = 64;
    bt = cx_yaml_get(sec, "batching");
    if (bt != NULL) {
        CX_TRY(cx_yaml_expect(bt, CX_YAML_MAP, err));
        CX_TRY(cx_yaml_check_keys(bt, batch_keys, err));
        e = 1;
        CX_TRY(cx_yaml_get_enum(bt, "mode", 0, batch_modes, &e, err));
        x->continuous = e;
        CX_TRY(get_u32(bt, "max_batch", 0, 1, CX_INFER_MAX_BATCH, &x->max_batch, err));
    }
    e = 0;
    CX_TRY(cx_yaml_get_enum(sec, "precision", 0, prec_names, &e, err));
    x->fp8 = e;
    x->bpe = e ? 1.0 : 2.0;
    return CX_OK;
}

/* An inference section (the document of kind inference, or an RL rollout):
 * gpus, parallelism {tp, ep, dp}, requests, batching, precision. */
static cx_status_t parse_infer(const cx_workload_t *w, const cx_yaml_node_t *sec, cx_wl_infer_t *x, cx_err_t *err)
{
    const cx_model_t     *m = &w->model;
    const cx_yaml_node_t *pm;
    int64_t               g = 0;
    CX_TRY(cx_yaml_get_int(sec, "gpus", 1, 1, (int64_t)1 << 30, &g, err));
    x->gpus = (uint64_t)g;
    CX_TRY(get_map(sec, "parallelism", &pm, err));
    CX_TRY(cx_yaml_check_keys(pm, par_keys, err));
    x->tp = x->ep = 1;
    CX_TRY(get_u32(pm, "tp", 0, 1, 1024, &x->tp, err));
    CX_TRY(get_u32(pm, "ep", 0, 1, 65536, &x->ep, err));
    CX_TRY(get_u32(pm, "dp", 1, 1, 1 << 24, &x->dp, err));
    if ((uint64_t)x->tp * x->dp != x->gpus)
        return cx_yaml_error(node_or(sec, "gpus"), CX_ERR_INVALID, err, "gpus is %llu but tp*dp = %u*%u",
                             (unsigned long long)x->gpus, x->tp, x->dp);
    if (m->heads % x->tp != 0 || (!m->mla && m->kv_heads % x->tp != 0))
        return cx_yaml_error(node_or(pm, "tp"), CX_ERR_INVALID, err,
                             "model.heads (%u) and kv_heads (%u) must be divisible by tp (%u)", m->heads,
                             m->kv_heads, x->tp);
    if (x->ep > 1 && (m->experts == 0 || m->experts % x->ep != 0))
        return cx_yaml_error(node_or(pm, "ep"), CX_ERR_INVALID, err,
                             "ep (%u) needs a MoE model whose experts (%u) it divides", x->ep, m->experts);
    if (x->dp % x->ep != 0)
        return cx_yaml_error(node_or(pm, "ep"), CX_ERR_INVALID, err,
                             "dp (%u) is not divisible by ep (%u): an instance is ep attention-DP ranks", x->dp,
                             x->ep);
    x->instances = x->dp / x->ep;
    x->line      = node_or(sec, "requests")->line;
    x->line_tp   = node_or(pm, "tp")->line;
    CX_TRY(parse_requests(sec, x, err));
    infer_derive(w, x);
    return CX_OK;
}

/* Fill the training fields with a one-iteration description of the job. */
static void fill_training(cx_workload_t *w, uint32_t tp, uint32_t ep, uint32_t dp)
{
    memset(&w->par, 0, sizeof(w->par));
    w->par.tp = tp;
    w->par.cp = w->par.pp = w->par.virtual_stages = 1;
    w->par.dp = dp;
    w->par.ep = ep;
    w->par.first_stage_layers = w->par.last_stage_layers = w->model.layers;
    w->par.dp_bucket_bytes = 64ull << 20;
    w->seq_len           = 1;
    w->global_batch_seqs = dp;
    w->micro_batch_size  = 1;
}

static cx_status_t load_inference(cx_workload_t *w, const cx_yaml_node_t *root, cx_err_t *err)
{
    const cx_yaml_node_t *mm;
    int64_t               g = 0;
    CX_TRY(cx_yaml_check_keys(root, infer_keys, err));
    CX_TRY(get_map(root, "model", &mm, err));
    CX_TRY(cx_workload_parse_model(w, mm, err));
    w->infer = calloc(1, sizeof(*w->infer));
    if (w->infer == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    CX_TRY(parse_infer(w, root, w->infer, err));
    CX_TRY(cx_yaml_get_int(root, "gpus", 1, 1, (int64_t)1 << 30, &g, err));
    w->gpus       = (uint64_t)g;
    w->iterations = 1;
    w->precision  = w->infer->fp8 ? CX_PREC_FP8 : CX_PREC_BF16;
    fill_training(w, w->infer->tp, w->infer->ep, w->infer->dp);
    w->line_gpus = node_or(root, "gpus")->line;
    w->line_tp   = node_or(node_or(root, "parallelism"), "tp")->line;
    return CX_OK;
}

static cx_status_t parse_reward(cx_wl_rl_t *r, const cx_yaml_node_t *root, cx_err_t *err)
{
    const cx_yaml_node_t *rw;
    CX_TRY(get_map(root, "reward", &rw, err));
    CX_TRY(cx_yaml_check_keys(rw, reward_keys, err));
    CX_TRY(cx_yaml_get_double(rw, "seconds_per_sample", 0, 0.0, 3600.0, &r->reward_seconds, err));
    CX_TRY(cx_yaml_get_double(rw, "flops_per_sample", 0, 0.0, 1e16, &r->reward_flops, err));
    if ((cx_yaml_get(rw, "seconds_per_sample") != NULL) == (cx_yaml_get(rw, "flops_per_sample") != NULL))
        return cx_yaml_error(rw, CX_ERR_INVALID, err, "give seconds_per_sample or flops_per_sample (one of them)");
    return CX_OK;
}

/* How trainer and rollout GPUs pair up: one side's count divides the other's. */
static cx_status_t rl_check_pairing(const cx_wl_rl_t *r, const cx_yaml_node_t *root, cx_err_t *err)
{
    uint64_t a = r->n_train, b = r->n_roll, hi = a > b ? a : b, lo = a > b ? b : a;
    if (hi % lo != 0 || hi / lo > 8)
        return cx_yaml_error(node_or(root, "rollout"), CX_ERR_INVALID, err,
                             "trainer GPUs (%llu) and rollout GPUs (%llu): one must divide the other, at most "
                             "8 times (weights and samples pair them up)", (unsigned long long)a,
                             (unsigned long long)b);
    if (a % r->rollout.tp != 0)
        return cx_yaml_error(node_or(root, "trainer"), CX_ERR_INVALID, err,
                             "trainer GPUs (%llu) must be a multiple of the rollout tp (%u): rollout GPUs follow them",
                             (unsigned long long)a, r->rollout.tp);
    return CX_OK;
}

static cx_status_t load_rl(cx_workload_t *w, const cx_yaml_node_t *root, cx_err_t *err)
{
    const cx_yaml_node_t *mm, *tn, *rn;
    cx_wl_rl_t           *r;
    int64_t               g = 0, k = 0;
    int                   e = 0;
    CX_TRY(cx_yaml_check_keys(root, rl_keys, err));
    CX_TRY(get_map(root, "model", &mm, err));
    CX_TRY(cx_workload_parse_model(w, mm, err));
    w->rl = r = calloc(1, sizeof(*w->rl));
    if (r == NULL || (r->trainer = calloc(1, sizeof(*r->trainer))) == NULL)
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    snprintf(r->trainer->file, sizeof(r->trainer->file), "%s", w->file);
    CX_TRY(get_map(root, "trainer", &tn, err));
    CX_TRY(cx_workload_load_training_node(r->trainer, tn, mm, err));
    snprintf(r->trainer->name, sizeof(r->trainer->name), "%.48s-trainer", w->model.name);
    CX_TRY(get_map(root, "rollout", &rn, err));
    CX_TRY(cx_yaml_check_keys(rn, roll_keys, err));
    CX_TRY(parse_infer(w, rn, &r->rollout, err));
    r->n_train = r->trainer->gpus;
    r->n_roll  = r->rollout.gpus;
    CX_TRY(cx_yaml_get_int(root, "gpus", 1, 1, (int64_t)1 << 30, &g, err));
    if ((uint64_t)g != r->n_train + r->n_roll)
        return cx_yaml_error(node_or(root, "gpus"), CX_ERR_INVALID, err,
                             "gpus is %lld but trainer.gpus + rollout.gpus = %llu", (long long)g,
                             (unsigned long long)(r->n_train + r->n_roll));
    CX_TRY(rl_check_pairing(r, root, err));
    CX_TRY(parse_reward(r, root, err));
    /* One reward op per rollout GPU and step: within a measured kernel's bound. */
    if (r->reward_seconds * (double)r->rollout.requests / (double)r->n_roll * 1e12 > (double)CX_OP_MAX_DURATION_PS)
        return cx_yaml_error(cx_yaml_get(cx_yaml_get(root, "reward"), "seconds_per_sample"), CX_ERR_RANGE, err,
                             "%g s x %llu samples over %llu rollout GPUs is more than 10^4 s per GPU and step",
                             r->reward_seconds, (unsigned long long)r->rollout.requests,
                             (unsigned long long)r->n_roll);
    CX_TRY(cx_yaml_get_enum(root, "weights_sync", 0, sync_names, &e, err));
    CX_TRY(cx_yaml_get_enum(root, "mode", 0, mode_names, &r->async, err));
    CX_TRY(cx_yaml_get_int(root, "staleness", 0, 1, 64, &k, err));
    if (!r->async && cx_yaml_get(root, "staleness") != NULL)
        return cx_yaml_error(cx_yaml_get(root, "staleness"), CX_ERR_INVALID, err, "only with mode: async");
    r->staleness = r->async ? (k > 0 ? (uint32_t)k : 1u) : 0u;
    w->gpus       = (uint64_t)g;
    w->iterations = 1;
    CX_TRY(get_u32(root, "iterations", 0, 1, 100000, &w->iterations, err));
    w->par = r->trainer->par;
    w->seq_len = r->trainer->seq_len;
    w->global_batch_seqs = r->trainer->global_batch_seqs;
    w->micro_batch_size = r->trainer->micro_batch_size;
    w->precision = r->trainer->precision;
    w->d = r->trainer->d;
    /* A broadcast carries one rollout GPU's weights (or its share of them when
     * several trainer GPUs feed one rollout GPU); a sample message the token
     * ids (4 bytes) of the requests, split over the pairs. */
    {
        uint64_t pairs = r->n_train > r->n_roll ? r->n_train : r->n_roll;
        double   f     = r->n_train > r->n_roll ? (double)(r->n_train / r->n_roll) : 1.0;
        double   tok   = (double)r->rollout.requests * (dist_mean(&r->rollout.prompt) + dist_mean(&r->rollout.output)) * 4.0;
        r->weights_bytes = (uint64_t)ceil(r->rollout.weights_gpu / f);
        r->sample_bytes  = (uint64_t)ceil(tok / (double)pairs);
        if (r->sample_bytes == 0) r->sample_bytes = 1;
    }
    w->line_gpus = node_or(root, "gpus")->line;
    w->line_tp   = r->trainer->line_tp;
    return CX_OK;
}

cx_status_t cx_workload_load_kind(cx_workload_t *w, const cx_yaml_node_t *root, cx_err_t *err)
{
    const char *s = NULL;
    CX_TRY(cx_yaml_get_string(root, "name", 0, &s, err));
    if (w->kind == CX_WL_INFERENCE) CX_TRY(load_inference(w, root, err));
    else CX_TRY(load_rl(w, root, err));
    snprintf(w->name, sizeof(w->name), "%s", s != NULL ? s : w->model.name);
    return CX_OK;
}

void cx_workload_free_kind(cx_workload_t *w)
{
    free(w->infer);
    if (w->rl != NULL) cx_workload_destroy(w->rl->trainer);
    free(w->rl);
    w->infer = NULL;
    w->rl    = NULL;
}

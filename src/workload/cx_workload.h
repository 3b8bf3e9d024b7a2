/*
 * A training workload: a transformer's architecture, how it is split over
 * GPUs (TP x CP x PP x DP, with EP carved out of DP) and the batch it trains
 * on.  Loaded from YAML (workloads/README.md documents every key), validated
 * with one file:line:field message per error, then summarised into the
 * per-GPU numbers the op generator (cx_gen.h) needs, so generating an op is a
 * few multiplications.
 *
 * Lifecycle: cx_workload_load / cx_workload_load_string -> read fields ->
 * cx_workload_destroy.  The struct is public so generators, the CLI and the
 * GPU model can read it; treat it as read-only after loading.
 */
#ifndef CX_WORKLOAD_H
#define CX_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "cx_status.h"

typedef enum { CX_PREC_BF16 = 0, CX_PREC_FP8 } cx_precision_t;
typedef enum { CX_RECOMPUTE_NONE = 0, CX_RECOMPUTE_SELECTIVE, CX_RECOMPUTE_FULL } cx_recompute_t;
typedef enum { CX_MLP_SWIGLU = 0, CX_MLP_GELU } cx_mlp_kind_t;

#define CX_WL_NAME_MAX 64
#define CX_WL_FILE_MAX 256
/* Most pieces of a TP collective under tp_comm_overlap (the tag's spare bits). */
#define CX_TP_OVERLAP_MAX 16

typedef struct cx_model {
    char     name[CX_WL_NAME_MAX];
    uint32_t layers, hidden, ffn_hidden, heads, kv_heads, head_dim, vocab;
    cx_mlp_kind_t mlp;            /* swiglu: 3 matrices; gelu: 2 */
    /* Mixture of experts (experts == 0: dense model). */
    uint32_t experts, top_k, shared_experts;
    uint32_t moe_ffn_hidden;      /* per expert (and per shared expert) */
    uint32_t dense_layers;        /* the first dense_layers layers are dense */
    uint32_t moe_layer_freq;      /* after those, every n-th layer is MoE (1 = all) */
    /* Node-limited routing (DeepSeek-V3, arXiv 2412.19437 section 2.1.2):
     * each token goes to experts on at most max_nodes nodes of node_gpus
     * GPUs, sent across nodes once per node and forwarded over NVLink
     * (cx_gen.c).  0 = off: tokens to top_k experts anywhere, one send
     * each. */
    uint32_t max_nodes, node_gpus;
    /* Multi-head latent attention (DeepSeek); q_lora_rank 0 = no q compression. */
    int      mla;
    uint32_t q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
} cx_model_t;

typedef struct cx_parallel {
    uint32_t tp, cp, pp, dp, ep;
    uint32_t virtual_stages;      /* model chunks per PP stage (1 = plain 1F1B) */
    uint32_t first_stage_layers;  /* layers of the first / last virtual stage */
    uint32_t last_stage_layers;
    int      sequence_parallel;
    int      zero_stage;          /* 0: all-reduce grads; 1: RS grads + AG params */
    uint64_t dp_bucket_bytes;     /* gradient bucket size for the DP reduce */
    int      grad_reduce_fp32;    /* 0: bf16 gradients in the DP reduce (Llama 3) */
    uint32_t tp_comm_overlap;     /* pieces each TP collective and its GEMM are cut into and
                                   * pipelined (Megatron's tp-comm-overlap); 0 = off */
    int      zero_bubble;         /* backward split into input-gradient (B) and weight-gradient
                                   * (W) passes, W after the stage's PP send (ZB-H1-like) */
    int      overlap_param_gather; /* ZeRO-1: the parameter all-gather in buckets, each waited
                                    * for by the next forward's first use (Megatron's
                                    * overlap-param-gather) */
    int      dualpipe;            /* DeepSeek-V3's bidirectional schedule: PP rank r holds
                                   * stages r and pp-1-r, half the microbatches enter at each
                                   * end (cx_gen.c, DualPipe) */
    int      dualpipe_overlap;    /* DualPipe: the forward and backward chunk of a pair run at
                                   * once, each one's all-to-all behind the other's kernels */
    double   comm_sm_share;       /* dualpipe_overlap: share of the SMs the all-to-all kernels
                                   * hold while they run (kernels beside them slow down) */
} cx_parallel_t;

/* Per-GPU numbers derived at load time (see cx_workload.c). */
typedef struct cx_wl_derived {
    uint32_t n_micro;             /* microbatches per iteration per pipeline */
    uint32_t vstages;             /* pp * virtual_stages */
    uint32_t mid_stage_layers;    /* layers of every other virtual stage */
    double   tokens_gpu;          /* tokens per microbatch on one GPU (mb*seq/cp) */
    double   tokens_sp;           /* tokens_gpu / tp with SP, else tokens_gpu */
    /* forward FLOPs of one microbatch on one GPU, per block */
    double   f_qkv, f_attn, f_proj, f_mlp_up, f_mlp_down, f_router, f_exp_up,
             f_exp_down, f_sh_up, f_sh_down, f_lm_head;
    /* HBM bytes of one microbatch on one GPU, per block (forward) */
    double   b_qkv, b_attn, b_proj, b_mlp_up, b_mlp_down, b_router, b_exp_up,
             b_exp_down, b_sh_up, b_sh_down, b_lm_head, b_norm, b_act, b_exp_act,
             b_sh_act, b_embed, b_loss;
    /* communication payloads (bytes, NCCL size convention, cx_op.h) */
    uint64_t tp_bytes, cp_bytes, ep_bytes, pp_bytes;
    /* node-limited routing (max_nodes > 0): the EP all-to-all as a cross-node
     * one among the GPUs of one rail (ep_node_bytes: one copy per token and
     * node it reaches) and an NVLink one inside the node (ep_bytes);
     * ep_per_node EP ranks per node */
    uint64_t ep_node_bytes;
    uint32_t ep_per_node;
    double   ep_nodes_per_token;  /* expected nodes a token reaches */
    /* parameters held by one GPU */
    double   p_dense_layer, p_moe_layer_dense, p_moe_layer_expert, p_embed, p_head;
    uint32_t grad_bytes;          /* 2 or 4 */
} cx_wl_derived_t;

/* Checkpoints (optional `checkpoint:` section): after the optimizer step of
 * every `every`-th iteration each GPU writes its share of the model state
 * (parameters x bytes_per_param / GPUs).  sync: training waits while it
 * goes to storage at its share of the aggregate bandwidth; async: it waits
 * only for the copy to host memory (the drain to storage then overlaps the
 * next iterations; colossim campaign models when it becomes durable). */
typedef enum { CX_WL_CKPT_SYNC = 0, CX_WL_CKPT_ASYNC } cx_wl_ckpt_mode_t;
typedef struct cx_wl_checkpoint {
    uint32_t every;               /* 0 = no checkpoints */
    int      mode;                /* cx_wl_ckpt_mode_t */
    double   bytes_per_param;     /* default 14: bf16 weights + fp32 master + Adam m, v */
    double   storage_bw;          /* bytes/s, the job's aggregate (default 2 TB/s) */
    double   host_copy_bw;        /* bytes/s per GPU (default 25 GB/s) */
    double   bytes_per_gpu;       /* derived */
    double   bw_per_gpu;          /* derived: what one GPU's write proceeds at */
} cx_wl_checkpoint_t;

/* What a workload file describes (top-level `kind:`; training when absent).
 * inference and rl are loaded by cx_infer_load.c into w->infer / w->rl
 * (cx_infer.h); w->model holds the model, and w->gpus all GPUs. */
typedef enum { CX_WL_TRAINING = 0, CX_WL_INFERENCE, CX_WL_RL } cx_wl_kind_t;
struct cx_wl_infer;
struct cx_wl_rl;

typedef struct cx_workload {
    int            kind;          /* cx_wl_kind_t */
    struct cx_wl_infer *infer;    /* kind inference: owned */
    struct cx_wl_rl    *rl;       /* kind rl: owned */
    char           file[CX_WL_FILE_MAX];
    char           name[CX_WL_NAME_MAX];
    cx_model_t     model;
    cx_parallel_t  par;
    uint64_t       gpus;
    uint64_t       seq_len;
    uint64_t       global_batch_seqs;
    uint32_t       micro_batch_size;
    cx_precision_t precision;
    cx_recompute_t recompute;
    uint32_t       iterations;
    cx_wl_checkpoint_t ckpt;
    int            line_gpus, line_tp;  /* for cx_workload_check_fit messages */
    cx_wl_derived_t d;
} cx_workload_t;

/* Load and validate.  *w_p is written only on success; free with
 * cx_workload_destroy.  Errors name file:line:field. */
cx_status_t cx_workload_load(cx_workload_t **w_p, const char *path, cx_err_t *err);
cx_status_t cx_workload_load_string(cx_workload_t **w_p, const char *name, const char *text,
                                    size_t len, cx_err_t *err);
void        cx_workload_destroy(cx_workload_t *w);

/* The embedded default workload (a copy of workloads/small.yaml made at build
 * time; NUL-terminated, static storage). */
void cx_workload_default_yaml(const char **text_p, size_t *len_p);

/* Inference and RL files (cx_infer_load.c, cx_infer.h): load the rest of a
 * document whose kind is not training into w (root: the document's map);
 * free what that made. */
struct cx_yaml_node;
cx_status_t cx_workload_load_kind(cx_workload_t *w, const struct cx_yaml_node *root, cx_err_t *err);
void        cx_workload_free_kind(cx_workload_t *w);
/* Helpers for those loaders: the model section; a training job from a map
 * with gpus, parallelism and training (the model from mm). */
cx_status_t cx_workload_parse_model(cx_workload_t *w, const struct cx_yaml_node *mm, cx_err_t *err);
cx_status_t cx_workload_load_training_node(cx_workload_t *w, const struct cx_yaml_node *sec,
                                           const struct cx_yaml_node *mm, cx_err_t *err);

/* Can this job run on a fabric slice of n_gpus GPUs with NVLink domains of
 * gpus_per_domain GPUs?  The job uses global GPUs 0..w->gpus-1; each TP group
 * must sit inside one NVLink domain. */
cx_status_t cx_workload_check_fit(const cx_workload_t *w, uint64_t n_gpus,
                                  uint32_t gpus_per_domain, cx_err_t *err);

/* Is layer l (0-based) a MoE layer? */
int cx_workload_layer_is_moe(const cx_workload_t *w, uint32_t layer);

/* Parameters of the whole model: total (embedding + LM head + layers) and
 * active per token (routed experts counted top_k times). */
void cx_workload_params(const cx_workload_t *w, double *total_p, double *active_p);

/* Tokens trained per iteration: global_batch_seqs * seq_len. */
double cx_workload_tokens_per_iteration(const cx_workload_t *w);

/* Model FLOPs per iteration, the convention MFU figures use (PaLM, Chowdhery
 * et al. 2022, App. B; Megatron-LM, Narayanan et al. 2021, eq. 3):
 *   tokens * (6 * N + 12 * L * h_att * s)
 * N = active matmul parameters (attention, MLP / active experts, router,
 * LM head; not the input embedding, a lookup), L layers, s = seq_len,
 * h_att = heads * (qk_head_dim + v_head_dim) / 2 (= hidden for standard
 * attention).  The attention term is not halved for the causal mask and
 * there is no recompute: this is what the model needs, not what runs. */
double cx_workload_model_flops_per_iteration(const cx_workload_t *w);

/* FLOPs the generator actually emits per iteration (all GPUs): like the
 * model FLOPs but with the causal attention core halved and recomputation
 * added (full: one more forward of every layer; selective: one more forward
 * of the attention core).  Excludes the few FLOPs of elementwise ops and the
 * optimizer. */
double cx_workload_exec_flops_per_iteration(const cx_workload_t *w);

/* The same model FLOPs with the attention term halved for the causal mask
 * (tokens * (6N + 6 * L * h_att * s)): the other convention in use; papers
 * often do not say which they report.  For short sequences the two differ
 * by a few percent, at 131k tokens by ~40%. */
double cx_workload_model_flops_causal_per_iteration(const cx_workload_t *w);

/* Layers of virtual stage vs (0..vstages-1) and its first layer. */
uint32_t cx_workload_vstage_layers(const cx_workload_t *w, uint32_t vs);
uint32_t cx_workload_vstage_first_layer(const cx_workload_t *w, uint32_t vs);

#endif

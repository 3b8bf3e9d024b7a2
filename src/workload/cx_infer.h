/*
 * Inference (rollout generation) and RL post-training workloads: the two
 * workload kinds besides training (workloads/README.md, "Inference and RL").
 *
 * INFERENCE.  A batch of requests, each with a prompt and an output length
 * drawn from a distribution keyed by (seed, request), served by instances of
 * tp x ep GPUs (GPUs = tp x dp; instance = ep consecutive attention-DP ranks
 * of tp GPUs, experts split over its ep ranks).  Request i goes to instance
 * i mod instances.  An instance's scheduler (static batches, or continuous
 * batching with a max batch) turns its requests into steps; each step is one
 * forward pass over the prompts admitted in it (prefill: compute-bound
 * GEMMs, attention over the prompt) and one token of every running sequence
 * (decode: GEMMs that read the weights once per step, attention that reads
 * each sequence's KV cache: memory-bound), split evenly over the ep ranks.
 * Per layer: QKV, attention, output projection, TP all-reduce, MLP or (MoE)
 * router, EP all-to-all dispatch, experts, combine, TP all-reduce; an LM head
 * at the end of the step.  A request's first token comes at the end of the
 * step that prefilled it (TTFT, from the job's start: all requests arrive at
 * once), the rest one per step (TPOT).
 *
 * RL.  A trainer (a training job, GPUs 0..trainer-1, the training generator)
 * and rollout workers (an inference job, the other GPUs).  RL step i:
 * rollout generates requests.count samples with the weights of step
 * i - 1 - staleness, a reward costs a stated time or FLOPs per sample, the
 * samples go to the trainer (send/recv), the trainer runs one training
 * iteration, then broadcasts the new weights to the rollout GPUs over the
 * fabric (one broadcast group per trainer GPU or per rollout GPU).  sync:
 * staleness 0; async: rollouts run `staleness` steps ahead.
 */
#ifndef CX_INFER_H
#define CX_INFER_H

#include <stdint.h>

#include "cx_gen.h"
#include "cx_op.h"
#include "cx_workload.h"

typedef enum { CX_DIST_FIXED = 0, CX_DIST_UNIFORM, CX_DIST_LOGNORMAL } cx_dist_kind_t;

/* Token counts: fixed (mean), uniform in [min, max], or lognormal with
 * that mean and sigma (of the log), clamped to [min, max]. */
typedef struct cx_wl_dist {
    int      kind;
    double   mean, sigma;
    uint64_t min, max;
} cx_wl_dist_t;

#define CX_INFER_MAX_TOKENS   (UINT64_C(1) << 20)  /* one prompt or output */
#define CX_INFER_MAX_REQUESTS (UINT64_C(1) << 24)
#define CX_INFER_MAX_BATCH    65536u
#define CX_INFER_MAX_STEPS    (UINT64_C(1) << 22)  /* per instance: its step table (40 bytes a step) stays <= 160 MB */

typedef struct cx_wl_infer {
    uint64_t     gpus;
    uint32_t     tp, ep, dp, instances;
    uint64_t     requests;
    cx_wl_dist_t prompt, output;
    uint64_t     seed;
    int          continuous;     /* 0: static batches of max_batch */
    uint32_t     max_batch;
    int          fp8;
    /* derived, per GPU */
    double       bpe;            /* bytes per weight and KV element */
    double       kv_token_layer; /* KV cache bytes per token and layer on one GPU */
    double       w_layer_attn;   /* weight bytes per layer on one GPU: QKV + output projection */
    double       w_qkv, w_proj, w_mlp, w_router, w_expert, w_shared, w_head;
    double       weights_gpu;    /* all weight bytes on one GPU */
    int          line;           /* the requests section's line (messages) */
    int          line_tp;        /* parallelism.tp's line */
} cx_wl_infer_t;

typedef struct cx_wl_rl {
    cx_wl_infer_t  rollout;
    cx_workload_t *trainer;      /* kind training, gpus = the trainer's */
    uint64_t       n_train, n_roll;
    double         reward_seconds;  /* per sample (0: use reward_flops) */
    double         reward_flops;    /* per sample */
    int            async;
    uint32_t       staleness;       /* 0 in sync mode */
    uint64_t       weights_bytes;   /* what one broadcast carries */
    uint64_t       sample_bytes;    /* one sample message (token ids of its requests) */
} cx_wl_rl_t;

/* Token counts of request i (prompt, output >= 1) under seed. */
void cx_infer_request(const cx_wl_infer_t *x, uint64_t seed, uint64_t i, uint64_t *prompt_p, uint64_t *output_p);

/* One step of an instance's schedule, for the whole instance. */
typedef struct cx_infer_step {
    double   prefill_tokens;  /* prompt tokens admitted */
    double   prefill_sq;      /* sum of prompt^2 (causal attention) */
    double   decode_seqs;     /* sequences producing a token from their KV cache */
    double   kv_tokens;       /* context tokens those sequences read */
    double   emitted;         /* tokens produced (prefilled + decoding) */
} cx_infer_step_t;

/* The schedule of instance inst for requests seeded by seed: *steps_p
 * (malloc'd, *n_p entries).  With first_p / last_p non-NULL (arrays of the
 * instance's request count) each request's first-token and last-token step.
 * CX_ERR_RANGE if over CX_INFER_MAX_STEPS. */
cx_status_t cx_infer_schedule(const cx_wl_infer_t *x, uint64_t seed, uint32_t inst, cx_infer_step_t **steps_p,
                              uint64_t *n_p, uint64_t *first_p, uint64_t *last_p, cx_err_t *err);
/* Requests of instance inst. */
uint64_t cx_infer_inst_requests(const cx_wl_infer_t *x, uint32_t inst);

/* ---- per-GPU program ------------------------------------------------------ */

/* Ops of one inference unit built at once (a layer, a section). */
#define CX_INFER_UNIT_MAX 32

/* A cursor over one GPU's inference pass (one schedule): call
 * cx_infer_pass_unit until it returns 0; each call appends the next unit's
 * ops in program order.  gpu_off: job GPU of the inference GPU 0 (RL
 * rollout: the trainer's GPUs come first).  counts: ops issued so far per
 * stream (WAIT counts), updated. */
typedef struct cx_infer_pass {
    const cx_workload_t   *w;
    const cx_wl_infer_t   *x;
    const cx_infer_step_t *steps;
    uint64_t               n_steps, step;
    uint64_t               gpu_off;
    uint32_t               tp_i, dp_i, inst, ep_i, layer, iteration;
} cx_infer_pass_t;

void cx_infer_pass_init(cx_infer_pass_t *p, const cx_workload_t *w, const cx_wl_infer_t *x, uint64_t gpu,
                        uint64_t gpu_off, const cx_infer_step_t *steps, uint64_t n_steps, uint32_t iteration);
/* Append the next unit to ops[*n] (counts updated); 0 at the end. */
int  cx_infer_pass_unit(cx_infer_pass_t *p, cx_op_t *ops, uint32_t *n, uint64_t counts[CX_NUM_STREAMS]);

/* Append a blocking collective on stream s: WAIT(s for compute), op, WAIT(compute for s). */
void cx_infer_emit(cx_op_t *ops, uint32_t *n, uint64_t counts[CX_NUM_STREAMS], const cx_op_t *op);

/* ---- RL: one GPU's program ------------------------------------------------ */

/* The step table of rollout instance inst at RL step `step` (the run glue
 * holds them; ctx is its). */
typedef const cx_infer_step_t *(*cx_infer_steps_fn)(const void *ctx, uint32_t step, uint32_t inst, uint64_t *n_p);

/* Seed of the requests of RL step `step`. */
uint64_t cx_rl_step_seed(const cx_wl_rl_t *r, uint32_t step);

/* Labels of the RL ops the summary tells apart: reward (block LOSS, phase
 * NONE on a rollout GPU), samples (SEND / RECV, block SYNC), weights
 * (BROADCAST, block DP_PARAM, layer CX_RL_LAYER + q). */
#define CX_RL_LAYER 0xF00u

typedef struct cx_rl_cursor {
    const cx_workload_t *w;
    cx_infer_steps_fn    steps;
    const void          *steps_ctx;
    uint64_t             gpu;
    uint32_t             step, phase, q;
    int                  trainer;
    uint64_t             base[CX_NUM_STREAMS]; /* trainer: ops before this step's training program */
    cx_infer_pass_t      pass;                 /* rollout */
    cx_gen_t             gen;                  /* trainer */
} cx_rl_cursor_t;

void cx_rl_cursor_init(cx_rl_cursor_t *c, const cx_workload_t *w, uint64_t gpu, cx_infer_steps_fn steps,
                       const void *steps_ctx);
/* Append the next unit of the program (program order, every stream) to
 * ops[*n]; 0 at the end.  counts: ops so far per stream, updated. */
int  cx_rl_cursor_unit(cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t counts[CX_NUM_STREAMS]);

#endif

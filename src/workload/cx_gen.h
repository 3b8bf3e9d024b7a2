/*
 * The training-step generator: one GPU's program of ops (cx_op.h), produced
 * one op at a time from the workload description, with O(1) state (a cursor
 * over iteration, pipeline-schedule slot, layer, template entry).  Nothing is
 * materialised, so every GPU of a 550k-GPU job can hold its own cursor.
 *
 * GPU COORDINATES (Megatron order "tp-cp-ep-dp-pp", TP innermost):
 *   g = tp_i + tp * (cp_i + cp * (dp_i + dp * pp_i)),  ep_i = dp_i % ep
 * so a TP group is tp consecutive GPUs (inside one NVLink domain when the
 * domain size is a multiple of tp), and every group is an arithmetic
 * progression: TP (base, 1, tp), CP (stride tp), EP (stride tp*cp, ep
 * consecutive DP ranks), DP x CP (stride tp, size cp*dp: gradients and ZeRO-1
 * shards span CP too), expert DP (stride tp*ep, size dp/ep), PP neighbours at
 * distance tp*cp*dp.
 *
 * ITERATION PROGRAM (per GPU):
 *   ITER_BEGIN
 *   for each slot of the pipeline schedule of this stage (1F1B; interleaved
 *   1F1B over virtual_stages model chunks, Megatron's order; DualPipe's
 *   bidirectional order over stages pp_i and pp-1-pp_i):
 *     forward(mb, chunk):  [recv activations] [embedding] layers...
 *                          [final norm, LM head, loss | send activations]
 *     backward(mb, chunk): [recv grads | loss, LM head, final norm]
 *                          layers in reverse (full recompute: the layer's
 *                          forward again first) [embedding] [send grads]
 *       on the last microbatch of a chunk, a DP reduce-scatter (ZeRO-1) or
 *       all-reduce (ZeRO-0) of each gradient bucket as soon as it is ready,
 *       on the DP stream, overlapping the rest of the backward
 *     DualPipe with dualpipe_overlap: the forward and backward of a pair
 *     interleaved, switching chunk after each one's all-to-all / PP recv
 *   wait for the gradient reduces; optimizer step; parameter all-gather
 *   (ZeRO-1); wait for every stream; ITER_END
 * A layer forward: norm, [TP all-gather (SP)], QKV GEMM, [CP all-gather of
 * K,V], attention core, output GEMM, [TP reduce-scatter (SP) / all-reduce],
 * norm, [TP all-gather], MLP GEMMs or MoE (router, [EP all-to-all dispatch],
 * expert GEMMs, [EP all-to-all combine], shared experts), [TP reduce-scatter
 * / all-reduce].  Backward mirrors it with 2x FLOPs, all-gather <->
 * reduce-scatter, and (without SP) the all-reduce before each block.
 * Blocking collectives are issued on their stream between two WAITs.
 */
#ifndef CX_GEN_H
#define CX_GEN_H

#include <stdint.h>

#include "cx_op.h"
#include "cx_status.h"
#include "cx_workload.h"

/* The cursor of one chunk (a forward or backward of one microbatch) when
 * DualPipe's overlap runs two at once (cx_gen_t.pair): the one not being
 * emitted waits here.  mark: this chunk's ops so far on each stream (its
 * WAITs wait for its own ops, not the other chunk's). */
typedef struct cx_gen_lane {
    uint64_t mark[CX_NUM_STREAMS];
    uint16_t mb, layer_step, entry, sub;  /* the stage and last_mb follow from chunk and mb */
    uint8_t  chunk, section, bwd, phase, done;
} cx_gen_lane_t;

typedef struct cx_gen {
    const cx_workload_t *w;
    uint64_t gpu;
    uint64_t count[CX_NUM_STREAMS]; /* ops emitted per stream (for WAIT counts) */
    uint64_t n_ops;                 /* ops emitted */
    double   p_dense, p_expert;     /* parameters this GPU holds */
    uint32_t tp_i, cp_i, dp_i, pp_i, ep_i;
    uint32_t iterations, iter;
    uint32_t action, n_actions, warmup;
    uint32_t mb, chunk, vs, layer_first, layer_n, layer_step, bucket_layers;
    uint64_t ag_base;               /* overlap_param_gather: DP ops before this iteration's
                                     * parameter all-gathers */
    uint16_t entry, sub;
    uint8_t  section, bwd, phase, last_mb;
    /* dualpipe_overlap: a forward/backward pair in progress (pair = 1): the
     * fields above are the chunk being emitted, `other` the other one; the
     * generator switches between them after each chunk's all-to-all (and
     * PP receive), so each chunk's kernels are issued while the other's
     * communication is in flight (other.done: it has finished). */
    uint64_t      mark[CX_NUM_STREAMS];
    cx_gen_lane_t other;
    uint8_t       pair;
} cx_gen_t;

/* Start the program of global GPU `gpu` (0..w->gpus-1) for `iterations`
 * iterations (0 = w->iterations).  The workload must outlive the generator.
 * CX_ERR_RANGE if gpu is out of range. */
/* cx_gen_next restricted to one stream's ops (the others are counted, not
 * built): what a GPU's per-stream op source needs. */
int cx_gen_next_stream(cx_gen_t *g, uint32_t stream, cx_op_t *op);

cx_status_t cx_gen_init(cx_gen_t *g, const cx_workload_t *w, uint64_t gpu, uint32_t iterations,
                        cx_err_t *err);

/* Next op of the program in program order: 1 and *op filled, or 0 at the end. */
int cx_gen_next(cx_gen_t *g, cx_op_t *op);

/* Coordinates of a global GPU (any pointer may be NULL). */
void cx_gen_coords(const cx_workload_t *w, uint64_t gpu, uint32_t *tp_i, uint32_t *cp_i,
                   uint32_t *dp_i, uint32_t *pp_i, uint32_t *ep_i);

#endif

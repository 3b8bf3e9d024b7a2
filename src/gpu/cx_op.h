/*
 * One GPU operation: what a GPU's program is made of, whether it comes from
 * the generator (cx_gen.h) or a replay trace (cx_replay.h).  64 bytes,
 * pointer-free, so ops can be copied, written to files and sent between ranks
 * as bytes.
 *
 * STREAMS.  A GPU runs ops on CX_NUM_STREAMS in-order queues, like CUDA
 * streams:
 *   0 CX_STREAM_COMPUTE  kernels (and the iteration markers)
 *   1 CX_STREAM_TP       tensor / context / expert parallel collectives
 *   2 CX_STREAM_DP       data-parallel gradient reduce and parameter gather
 *   3 CX_STREAM_PP       pipeline send / recv
 * An op starts when the previous op of its stream has completed.  Streams
 * are independent except for WAIT ops: WAIT on stream a with cls = b and
 * wait_count = n completes once stream b has completed at least n ops
 * (counting every op of stream b since the start of the program, WAITs and
 * markers included).  So "stream 1 waits for the GEMM just issued on stream
 * 0" is WAIT{stream 1, cls 0, wait_count = ops issued on stream 0 so far}.
 *
 * PROGRAM ORDER.  A producer emits one GPU's ops as one sequence, in the
 * order a host thread would issue them; each op carries its stream.  A wait
 * only refers to ops earlier in program order, so an executor can either
 * read ahead into per-stream FIFOs or run one producer per stream that skips
 * the other streams' ops (the generator is cheap and deterministic).
 *
 * SEND / RECV are eager: a SEND needs no posted RECV (the receiver buffers);
 * it completes when its bytes have been delivered.  A RECV completes when
 * the message (peer, tag) has fully arrived, which may be before the RECV
 * starts.  A COLLECTIVE completes when the collective engine says so; every
 * member issues it with the same kind, group, bytes and tag.
 *
 * GROUPS are arithmetic: members are group_base + i * group_stride for
 * i = 0..group_size-1 (global GPU numbers); this GPU is member group_index.
 * Every group the generator forms (TP, CP, EP, DP x CP, expert DP) is one.
 *
 * BYTES follow the NCCL / nccl-tests size convention: all-reduce and
 * broadcast: the buffer; all-gather: the gathered output (all members'
 * parts); reduce-scatter: the input (all members' parts); all-to-all: all
 * bytes one member sends (its own part included).  SEND / RECV: the message.
 * COMPUTE: bytes = HBM traffic, flops = floating point operations.
 * COLLECTIVE: flops = the share of the GPU's SMs it holds while it runs
 * (0: none; at most CX_GPU_MAX_SM_SHARE, see cx_gpu.h SM SHARING).
 */
#ifndef CX_OP_H
#define CX_OP_H

#include <stdint.h>
#include "cx_coll_algos.h"

#define CX_NUM_STREAMS 4
enum { CX_STREAM_COMPUTE = 0, CX_STREAM_TP = 1, CX_STREAM_DP = 2, CX_STREAM_PP = 3 };

typedef enum {
    CX_OP_COMPUTE = 0,
    CX_OP_SEND,
    CX_OP_RECV,
    CX_OP_COLLECTIVE,
    CX_OP_WAIT,
    CX_OP_ITER_BEGIN,   /* markers: zero time; iteration time = END - BEGIN */
    CX_OP_ITER_END,
    CX_OP_KIND_COUNT
} cx_op_kind_t;

/* cls of a COMPUTE op: selects the efficiency of the roofline (cx_compute.h). */
typedef enum {
    CX_CLS_GEMM = 0,
    CX_CLS_ATTENTION,
    CX_CLS_ELEMENTWISE,
    CX_CLS_OPTIMIZER,
    CX_CLS_CHECKPOINT,  /* write this GPU's share of a checkpoint: bytes at u.peer bytes/s */
    CX_CLS_COUNT
} cx_op_class_t;

/* cls of a COLLECTIVE op. */
typedef enum {
    CX_COLL_ALLREDUCE = 0,
    CX_COLL_REDUCESCATTER,
    CX_COLL_ALLGATHER,
    CX_COLL_ALLTOALL,
    CX_COLL_BROADCAST,
    CX_COLL_REDUCE,       /* to member 0 */
    CX_COLL_COUNT
} cx_coll_kind_t;

/* algo: a hint; the collective engine may ignore it.  One row per
 * algorithm in cx_coll_algos.h (CX_ALGO_AUTO = 0 first). */
#define CX_COLL_ALGO_ENUM(_id, _n, _cli, _h) CX_ALGO_##_id,
typedef enum { CX_COLL_ALGO_LIST(CX_COLL_ALGO_ENUM) CX_ALGO_COUNT } cx_coll_algo_t;

typedef enum {
    CX_PHASE_NONE = 0, CX_PHASE_FWD, CX_PHASE_BWD, CX_PHASE_RECOMPUTE, CX_PHASE_OPT, CX_PHASE_COUNT
} cx_phase_t;

/* What part of the model an op belongs to (trace label). */
typedef enum {
    CX_BLK_NONE = 0, CX_BLK_EMBED, CX_BLK_NORM1, CX_BLK_QKV, CX_BLK_ATTN, CX_BLK_PROJ,
    CX_BLK_NORM2, CX_BLK_MLP_UP, CX_BLK_MLP_ACT, CX_BLK_MLP_DOWN, CX_BLK_ROUTER,
    CX_BLK_EXP_UP, CX_BLK_EXP_ACT, CX_BLK_EXP_DOWN, CX_BLK_SH_UP, CX_BLK_SH_ACT,
    CX_BLK_SH_DOWN, CX_BLK_FINAL_NORM, CX_BLK_LM_HEAD, CX_BLK_LOSS, CX_BLK_OPTIMIZER,
    CX_BLK_TP_ATTN_IN, CX_BLK_TP_ATTN_OUT, CX_BLK_TP_MLP_IN, CX_BLK_TP_MLP_OUT,
    CX_BLK_CP_KV, CX_BLK_EP_DISPATCH, CX_BLK_EP_COMBINE, CX_BLK_PP, CX_BLK_DP_GRAD,
    CX_BLK_DP_GRAD_EXPERT, CX_BLK_DP_PARAM, CX_BLK_DP_PARAM_EXPERT, CX_BLK_SYNC,
    CX_BLK_CHECKPOINT,
    CX_BLK_COUNT
} cx_op_block_t;

/* flags */
#define CX_OP_F_FP8      0x1u /* COMPUTE GEMM in FP8 (peak = fp8_flops) */
#define CX_OP_F_MEASURED 0x2u /* COMPUTE: u.duration_ps is the kernel's measured time (a replay
                                 file, Chakra's duration_micros); the roofline is skipped */
#define CX_OP_MAX_DURATION_PS INT64_C(10000000000000000) /* 10^4 s: a replay refuses a longer measured kernel */

#define CX_OP_NO_LAYER 0xFFFFu
#define CX_OP_NO_MB    0xFFFFFFFFu

typedef struct cx_op {
    uint8_t  kind;         /* cx_op_kind_t */
    uint8_t  stream;       /* 0..CX_NUM_STREAMS-1 */
    uint8_t  phase;        /* cx_phase_t (label) */
    uint8_t  cls;          /* COMPUTE: cx_op_class_t; COLLECTIVE: cx_coll_kind_t;
                              WAIT: the stream waited for */
    uint8_t  algo;         /* COLLECTIVE: cx_coll_algo_t */
    uint8_t  block;        /* cx_op_block_t (label) */
    uint16_t layer;        /* label: layer, PP boundary or bucket; CX_OP_NO_LAYER */
    uint32_t microbatch;   /* label; CX_OP_NO_MB */
    uint32_t iteration;    /* label */
    uint64_t bytes;        /* payload or HBM bytes */
    double   flops;        /* COMPUTE; COLLECTIVE: SM share (see above) */
    union {
        uint64_t peer;       /* SEND / RECV: global GPU of the other side */
        uint64_t group_base; /* COLLECTIVE */
        uint64_t wait_count; /* WAIT */
        uint64_t duration_ps; /* COMPUTE with CX_OP_F_MEASURED */
    } u;
    uint32_t group_stride, group_size, group_index; /* COLLECTIVE */
    uint16_t chunk;        /* label: virtual pipeline chunk */
    uint16_t flags;        /* CX_OP_F_* */
    uint64_t tag;          /* SEND/RECV/COLLECTIVE: matches the two sides; cx_op_tag() */
} cx_op_t;

_Static_assert(sizeof(cx_op_t) == 64, "cx_op_t is 64 bytes");

/* Tag layout (high to low bits): iteration 20 | microbatch 16 (0xFFFF =
 * none) | layer 12 (0xFFF = none) | phase 3 | block 6 | spare 7.  The layer
 * field holds the layer, the PP boundary (first layer of the receiving
 * virtual stage) or the DP bucket. */
static inline uint64_t cx_op_tag(uint32_t iteration, uint32_t mb, uint32_t layer,
                                 uint32_t phase, uint32_t block)
{
    return ((uint64_t)(iteration & 0xFFFFFu) << 44) | ((uint64_t)(mb & 0xFFFFu) << 28) |
           ((uint64_t)(layer & 0xFFFu) << 16) | ((uint64_t)(phase & 0x7u) << 13) |
           ((uint64_t)(block & 0x3Fu) << 7);
}

const char *cx_op_kind_name(int kind);
const char *cx_op_class_name(int cls);
const char *cx_coll_kind_name(int kind);
const char *cx_coll_algo_name(int algo);
/* The protocol's --proto name (cx_coll_proto_t: auto ll ll128 simple). */
const char *cx_coll_proto_name(int proto);
const char *cx_phase_name(int phase);
const char *cx_block_name(int block);

#endif

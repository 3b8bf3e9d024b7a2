/* Names of op fields and the one-line text form of an op (traces, tests). */
#include "cx_op.h"

#include <stdio.h>

static const char *const kind_names[] = {"compute", "send", "recv", "collective", "wait",
                                         "iter_begin", "iter_end"};
static const char *const class_names[] = {"gemm", "attention", "elementwise", "optimizer", "checkpoint"};
static const char *const coll_names[]  = {"allreduce", "reducescatter", "allgather", "alltoall",
                                          "broadcast", "reduce"};
static const char *const algo_names[]  = {"auto", "ring", "tree", "nvls", "pairwise", "hier"};
static const char *const phase_names[] = {"-", "fwd", "bwd", "recompute", "opt"};
static const char *const block_names[] = {
    "-", "embed", "norm1", "qkv", "attn", "proj", "norm2", "mlp_up", "mlp_act", "mlp_down",
    "router", "exp_up", "exp_act", "exp_down", "sh_up", "sh_act", "sh_down", "final_norm",
    "lm_head", "loss", "optimizer", "tp_attn_in", "tp_attn_out", "tp_mlp_in", "tp_mlp_out",
    "cp_kv", "ep_dispatch", "ep_combine", "pp", "dp_grad", "dp_grad_expert", "dp_param",
    "dp_param_expert", "sync", "checkpoint"};

_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == CX_OP_KIND_COUNT, "kind names");
_Static_assert(sizeof(class_names) / sizeof(class_names[0]) == CX_CLS_COUNT, "class names");
_Static_assert(sizeof(coll_names) / sizeof(coll_names[0]) == CX_COLL_COUNT, "coll names");
_Static_assert(sizeof(algo_names) / sizeof(algo_names[0]) == CX_ALGO_COUNT, "algo names");
_Static_assert(sizeof(phase_names) / sizeof(phase_names[0]) == CX_PHASE_COUNT, "phase names");
_Static_assert(sizeof(block_names) / sizeof(block_names[0]) == CX_BLK_COUNT, "block names");

#define NAME(tab, n, i) ((i) >= 0 && (i) < (n) ? (tab)[i] : "?")

const char *cx_op_kind_name(int kind) { return NAME(kind_names, CX_OP_KIND_COUNT, kind); }
const char *cx_op_class_name(int cls) { return NAME(class_names, CX_CLS_COUNT, cls); }
const char *cx_coll_kind_name(int kind) { return NAME(coll_names, CX_COLL_COUNT, kind); }
const char *cx_coll_algo_name(int algo) { return NAME(algo_names, CX_ALGO_COUNT, algo); }
const char *cx_phase_name(int phase) { return NAME(phase_names, CX_PHASE_COUNT, phase); }
const char *cx_block_name(int block) { return NAME(block_names, CX_BLK_COUNT, block); }

void cx_op_format(const cx_op_t *op, char *buf, unsigned long len)
{
    char lab[96];
    snprintf(lab, sizeof(lab), "it=%u mb=%d layer=%d chunk=%u %s %s", op->iteration,
             op->microbatch == CX_OP_NO_MB ? -1 : (int)op->microbatch,
             op->layer == CX_OP_NO_LAYER ? -1 : (int)op->layer, op->chunk,
             cx_phase_name(op->phase), cx_block_name(op->block));
    switch (op->kind) {
    case CX_OP_COMPUTE:
        snprintf(buf, len, "s%u compute %s flops=%.6g bytes=%llu %s", op->stream,
                 cx_op_class_name(op->cls), op->flops, (unsigned long long)op->bytes, lab);
        break;
    case CX_OP_SEND:
    case CX_OP_RECV:
        snprintf(buf, len, "s%u %s peer=%llu bytes=%llu tag=%llx %s", op->stream,
                 cx_op_kind_name(op->kind), (unsigned long long)op->u.peer,
                 (unsigned long long)op->bytes, (unsigned long long)op->tag, lab);
        break;
    case CX_OP_COLLECTIVE:
        snprintf(buf, len, "s%u %s group=%llu+%ux%u idx=%u bytes=%llu algo=%s tag=%llx %s",
                 op->stream, cx_coll_kind_name(op->cls), (unsigned long long)op->u.group_base,
                 op->group_stride, op->group_size, op->group_index, (unsigned long long)op->bytes,
                 cx_coll_algo_name(op->algo), (unsigned long long)op->tag, lab);
        break;
    case CX_OP_WAIT:
        snprintf(buf, len, "s%u wait s%u>=%llu %s", op->stream, op->cls,
                 (unsigned long long)op->u.wait_count, lab);
        break;
    default:
        snprintf(buf, len, "s%u %s it=%u", op->stream, cx_op_kind_name(op->kind), op->iteration);
        break;
    }
}

/* Names of op fields and the one-line text form of an op (traces, tests). */
#include "cx_op.h"

#include <stdio.h>

static const char *const kind_names[] = {"compute", "send", "recv", "collective", "wait",
                                         "iter_begin", "iter_end"};
static const char *const class_names[] = {"gemm", "attention", "elementwise", "optimizer", "checkpoint"};
static const char *const coll_names[]  = {"allreduce", "reducescatter", "allgather", "alltoall",
                                          "broadcast", "reduce"};
#define CX_OP_ALGO_NAME(_id, _n, _cli, _h) #_n,
static const char *const algo_names[]  = {CX_COLL_ALGO_LIST(CX_OP_ALGO_NAME)};
static const char *const proto_names[] = {CX_COLL_PROTO_LIST(CX_OP_ALGO_NAME)};
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
_Static_assert(sizeof(proto_names) / sizeof(proto_names[0]) == CX_PROTO_COUNT, "proto names");
_Static_assert(sizeof(phase_names) / sizeof(phase_names[0]) == CX_PHASE_COUNT, "phase names");
_Static_assert(sizeof(block_names) / sizeof(block_names[0]) == CX_BLK_COUNT, "block names");

#define NAME(tab, n, i) ((i) >= 0 && (i) < (n) ? (tab)[i] : "?")

const char *cx_op_kind_name(int kind) { return NAME(kind_names, CX_OP_KIND_COUNT, kind); }
const char *cx_op_class_name(int cls) { return NAME(class_names, CX_CLS_COUNT, cls); }
const char *cx_coll_kind_name(int kind) { return NAME(coll_names, CX_COLL_COUNT, kind); }
const char *cx_coll_algo_name(int algo) { return NAME(algo_names, CX_ALGO_COUNT, algo); }
const char *cx_coll_proto_name(int proto) { return NAME(proto_names, CX_PROTO_COUNT, proto); }
const char *cx_phase_name(int phase) { return NAME(phase_names, CX_PHASE_COUNT, phase); }
const char *cx_block_name(int block) { return NAME(block_names, CX_BLK_COUNT, block); }


/*
 * Roofline compute model.  The efficiencies live in the hardware catalog
 * (topologies/hardware.yaml); these built-in defaults are the same figures,
 * for callers without a topology (tests).  Chosen once from public
 * measurements on H100 SXM; they are every GPU type's unless its catalog
 * entry overrides them (the A100s do: see hardware.yaml):
 *  - GEMM BF16 0.61 (calibrated on Llama 3 405B, see hardware.yaml); isolated
 *    cuBLAS BF16 GEMMs reach ~650-750 TFLOP/s of the
 *    989 dense peak (NVIDIA / community GEMM benchmarks), i.e. 0.65-0.75.
 *  - GEMM FP8 0.60: FP8 GEMMs reach ~1.1-1.3 PFLOP/s of 1979 (0.55-0.65).
 *  - attention 0.55: FlashAttention-2/3 forward+backward on H100 reach
 *    ~50-60% of BF16 peak at long sequence lengths (FA3 paper: up to ~75%
 *    forward, lower backward); causal masking is already in the FLOPs.
 *  - elementwise / norm 0.80 of HBM bandwidth, optimizer 0.75: fused
 *    memory-bound kernels reach ~2.6-2.9 TB/s of 3.35 TB/s.
 *  - GEMM / attention memory efficiency 0.85 (only matters for skinny ops).
 *  - 2 us per kernel: launch and tail effects of a training step's kernels
 *    (kernels are large; this mostly matters for small test models).
 */
#include "cx_compute.h"

#include <math.h>

cx_compute_eff_t cx_compute_eff_defaults(void)
{
    cx_compute_eff_t e;
    e.flops[CX_CLS_GEMM]            = 0.61;  /* as topologies/hardware.yaml (calibrated) */
    e.flops[CX_CLS_ATTENTION]       = 0.55;
    e.flops[CX_CLS_ELEMENTWISE]     = 0.50;
    e.flops[CX_CLS_OPTIMIZER]       = 0.50;
    e.flops[CX_CLS_CHECKPOINT]      = 0.50;  /* unused: checkpoint ops carry their rate */
    e.flops_fp8[CX_CLS_CHECKPOINT]  = 0.50;
    e.mem[CX_CLS_CHECKPOINT]        = 0.80;
    e.flops_fp8[CX_CLS_GEMM]        = 0.60;
    e.flops_fp8[CX_CLS_ATTENTION]   = 0.55;
    e.flops_fp8[CX_CLS_ELEMENTWISE] = 0.50;
    e.flops_fp8[CX_CLS_OPTIMIZER]   = 0.50;
    e.mem[CX_CLS_GEMM]              = 0.85;
    e.mem[CX_CLS_ATTENTION]         = 0.85;
    e.mem[CX_CLS_ELEMENTWISE]       = 0.80;
    e.mem[CX_CLS_OPTIMIZER]         = 0.75;
    e.overhead_ps                   = 2000000;
    return e;
}

cx_compute_eff_t cx_compute_eff_from_catalog(const cx_compute_catalog_t *c)
{
    cx_compute_eff_t e = cx_compute_eff_defaults();
    int              k;
    e.flops[CX_CLS_GEMM]        = c->gemm_bf16;
    e.flops[CX_CLS_ATTENTION]   = c->attention;
    e.flops[CX_CLS_ELEMENTWISE] = c->elementwise;
    e.flops[CX_CLS_OPTIMIZER]   = c->optimizer;
    for (k = 0; k < CX_CLS_COUNT; k++) e.flops_fp8[k] = e.flops[k];
    e.flops_fp8[CX_CLS_GEMM]    = c->gemm_fp8;
    e.mem[CX_CLS_GEMM]          = c->gemm_memory;
    e.mem[CX_CLS_ATTENTION]     = c->attention_memory;
    e.mem[CX_CLS_ELEMENTWISE]   = c->elementwise_memory;
    e.mem[CX_CLS_OPTIMIZER]     = c->optimizer_memory;
    e.overhead_ps               = c->kernel_overhead_ps;
    return e;
}

cx_compute_eff_t cx_compute_eff_of(const cx_gpu_type_t *gpu)
{
    /* A catalog entry always has a GEMM share (bounded to [0.01, 1]). */
    return gpu->eff.gemm_bf16 > 0.0 ? cx_compute_eff_from_catalog(&gpu->eff) : cx_compute_eff_defaults();
}

int64_t cx_compute_time_ps(const cx_gpu_type_t *gpu, const cx_op_t *op, const cx_compute_eff_t *eff)
{
    cx_compute_eff_t own;
    unsigned         cls;
    int              fp8;
    double           peak, tf = 0.0, tm = 0.0, t;
    if (op->kind != CX_OP_COMPUTE) return 0;
    /* Measured (a replay file, a Chakra trace): that time, as measured. */
    if (op->flags & CX_OP_F_MEASURED)
        return op->u.duration_ps < (uint64_t)CX_OP_MAX_DURATION_PS ? (int64_t)op->u.duration_ps : CX_OP_MAX_DURATION_PS;
    if (eff == NULL) {
        own = cx_compute_eff_of(gpu);
        eff = &own;
    }
    /* A checkpoint write: its bytes at the rate the op carries (u.peer,
     * bytes/s: a share of the storage bandwidth, or the host copy). */
    if (op->cls == CX_CLS_CHECKPOINT) {
        double bw = (double)op->u.peer;
        return eff->overhead_ps + (bw > 0 ? (int64_t)llround((double)op->bytes / bw * 1e12) : 0);
    }
    cls  = op->cls < CX_CLS_COUNT ? op->cls : CX_CLS_ELEMENTWISE;
    fp8  = (op->flags & CX_OP_F_FP8) != 0;
    peak = fp8 ? gpu->fp8_flops * eff->flops_fp8[cls] : gpu->bf16_flops * eff->flops[cls];
    if (op->flops > 0.0 && peak > 0.0) tf = op->flops / peak;
    if (op->bytes > 0 && gpu->hbm_bw > 0.0) tm = (double)op->bytes / (gpu->hbm_bw * eff->mem[cls]);
    t = (tf > tm ? tf : tm) * 1e12;
    return eff->overhead_ps + (int64_t)llround(t);
}

/*
 * Compute-time model of a GPU op: a roofline with per-class efficiency.
 *   t = overhead + max(flops / (peak * eff_flops[class]),
 *                      bytes / (hbm_bw * eff_mem[class]))
 * peak = fp8_flops for FP8 GEMMs (CX_OP_F_FP8), bf16_flops otherwise.
 * The constants are the GPU type's, kept in the hardware catalog
 * (topologies/hardware.yaml: `compute_efficiency:` for every type, a GPU
 * entry's own `compute_efficiency:` overriding it), the same for every
 * workload and never tuned per run.
 */
#ifndef CX_COMPUTE_H
#define CX_COMPUTE_H

#include <stdint.h>

#include "cx_op.h"
#include "cx_topo.h"

typedef struct cx_compute_eff {
    double  flops[CX_CLS_COUNT];      /* fraction of peak FLOP/s per op class (BF16) */
    double  flops_fp8[CX_CLS_COUNT];  /* same for FP8 GEMMs */
    double  mem[CX_CLS_COUNT];        /* fraction of HBM bandwidth per op class */
    int64_t overhead_ps;              /* fixed cost per kernel (launch, tail) */
} cx_compute_eff_t;

/* The default efficiencies (see cx_compute.c for where they come from). */
cx_compute_eff_t cx_compute_eff_defaults(void);

/* The efficiencies of a topology's hardware catalog. */
cx_compute_eff_t cx_compute_eff_from_catalog(const cx_compute_catalog_t *c);

/* The efficiencies a GPU type runs at: its catalog figures (gpu->eff), or
 * the built-in defaults for a type built by hand without them. */
cx_compute_eff_t cx_compute_eff_of(const cx_gpu_type_t *gpu);

/* Duration of a COMPUTE op in picoseconds (0 for any other kind).
 * eff NULL: the GPU type's own efficiencies (cx_compute_eff_of); otherwise
 * eff for any GPU type (tests, what-if studies). */
int64_t cx_compute_time_ps(const cx_gpu_type_t *gpu, const cx_op_t *op, const cx_compute_eff_t *eff);

#endif

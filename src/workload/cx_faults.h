/*
 * Faults injected into a detailed run (colossim run --faults FILE): the
 * `faults:` YAML kind (workloads/README.md, "Faults"), resolved against the
 * topology and the job into one list every rank holds in full (a run has a
 * handful), plus what each fault does to the job:
 *
 *   gpu_slow       kernels of that GPU take `factor` times as long from `at`
 *   gpu_fail       the job stops at `at`
 *   link_degraded  both directions of a link at `factor` of their bandwidth
 *   link_down      both directions carry nothing: routing avoids it where the
 *                  fabric has another path; a GPU's only NIC link or its
 *                  NVLink stops the job
 *   nic_down       a GPU's NIC link(s) down (the job stops if it had one)
 *   switch_down    every link of a switch down (a leaf with job GPUs on it
 *                  stops the job)
 *
 * Random faults: per-component rates per hour over a window, drawn from the
 * counter-based stream (seed, kind): the same file and seed give the same
 * faults at any rank count.
 */
#ifndef CX_FAULTS_H
#define CX_FAULTS_H

#include <stdint.h>
#include <stdio.h>

#include "cx_core.h"
#include "cx_topo.h"

typedef enum {
    CX_FAULT_GPU_SLOW = 0, CX_FAULT_GPU_FAIL, CX_FAULT_LINK_DEGRADED, CX_FAULT_LINK_DOWN,
    CX_FAULT_NIC_DOWN, CX_FAULT_SWITCH_DOWN, CX_FAULT_NKINDS
} cx_fault_kind_t;

/* What the job did about a fault. */
typedef enum {
    CX_FACT_SLOWED = 0,     /* the GPU runs slower from then on */
    CX_FACT_DEGRADED,       /* the link carries less from then on */
    CX_FACT_REROUTED,       /* routing avoids what went down */
    CX_FACT_STOPPED,        /* the job stopped here (detection, restart, reload follow: colossim campaign) */
    CX_FACT_NONE,           /* not on the job's GPUs or paths */
    CX_FACT_AFTER_STOP      /* after the job had stopped */
} cx_fault_action_t;

const char *cx_fault_kind_name(int kind);
const char *cx_fault_action_name(int action);

typedef struct cx_fault {
    uint64_t  gpu;            /* GPU faults and GPU NIC links: global GPU index; else UINT64_MAX */
    uint64_t  dev;            /* device hit (GPU, switch, or the link's first end) */
    uint64_t  peer_dev;       /* links: the other end; else UINT64_MAX */
    uint32_t  port, peer_port; /* links: the ports at each end; else UINT32_MAX */
    cx_time_t at;
    double    factor;         /* gpu_slow: time factor (>= 1 slower); link_degraded: bandwidth share */
    uint8_t   kind, action, random, tier;
    int       line;           /* line in the faults file (0 = drawn at random) */
} cx_fault_t;

typedef struct cx_faults {
    cx_fault_t *f;            /* sorted by (at, kind, dev, port) */
    size_t      n;
    cx_time_t   stop_at;      /* the first fault that stops the job; CX_TIME_MAX = none */
    size_t      stop_index;
    char        path[256];
} cx_faults_t;

/* Parse and resolve a faults file for a job on GPUs 0..job_gpus-1 of topo.
 * end_ps: the run's expected length; a fault `at` past it is an error (it
 * could not happen).  seed: default for random faults.  Errors carry
 * FILE:LINE and the field.  Collective-free: every rank parses the same. */
cx_status_t cx_faults_load(cx_faults_t **fs_p, const char *path, const cx_topo_t *topo, uint64_t job_gpus,
                           cx_time_t end_ps, uint64_t seed, cx_err_t *err);
void        cx_faults_destroy(cx_faults_t *fs);

/* One line per fault (rank 0). */
void cx_faults_print(const cx_faults_t *fs, FILE *out);

#endif

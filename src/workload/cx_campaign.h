/*
 * Campaigns of days: what failures cost a long training job, and what the
 * checkpoint interval wins back.  A Monte-Carlo over seeds of a job's wall
 * clock: training at a per-iteration time taken from a detailed run,
 * checkpoints (synchronous, or asynchronous: a snapshot to host memory,
 * then a drain to storage), unexpected interruptions from a failure model
 * (per-component rates x the job's component counts in a topology),
 * planned interruptions, and for each interruption detection, restart and
 * reload from the last durable checkpoint.
 *
 * Default rates (cx_campaign_rates_default) come from the Llama 3 paper's
 * Table 5 (arXiv 2407.21783): 419 unexpected interruptions in 54 days of a
 * 16,384-GPU job, each cause assigned to a component class and divided by
 * the number of such components in that job (the job's counts on
 * topologies/llama3-24k.yaml) and by 1,296 hours.  cx_campaign.c lists the
 * derivation.  A job on another fabric or at another size then gets its
 * interruption rate from its own component counts.
 *
 * Everything here is pure computation (no MPI): seed i of a campaign draws
 * from the counter-based stream (seed, i), so a seed's result does not
 * depend on how many seeds run or in what order.
 */
#ifndef CX_CAMPAIGN_H
#define CX_CAMPAIGN_H

#include <stdint.h>
#include <stdio.h>

#include "cx_topo.h"
#include "cx_util.h"

/* Component classes of the failure model. */
typedef enum {
    CX_FC_GPU = 0,   /* GPU die, SRAM, GPU system processor, SDC, thermal interface */
    CX_FC_HBM,       /* one HBM stack */
    CX_FC_SOFTWARE,  /* one GPU's training process: software bugs, NCCL timeouts, dependencies */
    CX_FC_NIC,       /* one scale-out NIC port */
    CX_FC_HOST,      /* one server: unplanned maintenance, SSD, PSU, chassis, CPU, DRAM, IO board */
    CX_FC_SWITCH,    /* one Ethernet switch the job's traffic can cross */
    CX_FC_LINK,      /* one scale-out cable (GPU NIC - leaf, switch - switch) */
    CX_FC_N
} cx_fclass_t;

const char *cx_fclass_name(int c);
/* Causes of Table 5 folded into the class (for help and the README). */
const char *cx_fclass_causes(int c);

/* Component counts of a job (GPUs 0..gpus-1 of a topology). */
typedef struct cx_campaign_counts {
    double n[CX_FC_N];
    uint64_t gpus;
    double   hbm_stacks_per_gpu;
} cx_campaign_counts_t;

/* HBM stacks of a GPU type: H100 5, H200 6, B200 / GB200 / GB300 8; else
 * one per 16 GB, at least 1. */
double cx_campaign_hbm_stacks(const cx_gpu_type_t *gt);

/* Count the components a job on GPUs 0..gpus-1 depends on: its GPUs, HBM
 * stacks (hbm_stacks_per_gpu; 0 = from the GPU type), processes, NIC ports,
 * servers, the Ethernet switches on some path between two of its GPUs and
 * the scale-out links between those (and its GPUs' NIC links).
 * CX_ERR_RANGE if the topology has fewer GPUs. */
cx_status_t cx_campaign_count(const cx_topo_t *t, uint64_t gpus, double hbm_stacks_per_gpu,
                              cx_campaign_counts_t *c_p, cx_err_t *err);

/* The reference job the default rates were derived from: Llama 3 405B,
 * 16,384 H100 for 54 days, Table 5 (events per class), and its counts. */
#define CX_CAMPAIGN_REF_DAYS 54.0
#define CX_CAMPAIGN_REF_UNEXPECTED 419.0
#define CX_CAMPAIGN_REF_PLANNED 47.0
void cx_campaign_ref(double events[CX_FC_N], double counts[CX_FC_N]);
/* Per-component per-hour rates: events / (count * 1,296 h). */
void cx_campaign_rates_default(double rate_per_hour[CX_FC_N]);

typedef enum { CX_CKPT_SYNC = 0, CX_CKPT_ASYNC } cx_ckpt_mode_t;
#define CX_CKPT_MODE_CHOICES "sync|async"

typedef struct cx_campaign_params {
    double   rate_per_hour[CX_FC_N];   /* per component */
    double   planned_per_day;          /* planned interruptions (checkpoint, stop, restart) */
    double   days;
    double   iteration_s;              /* per iteration while training */
    double   healthy_iteration_s;      /* for goodput; 0 = iteration_s */
    double   tokens_per_iteration;     /* 0 = unknown */
    int      mode;                     /* cx_ckpt_mode_t */
    double   ckpt_stall_s;             /* sync: the whole write; async: the snapshot */
    double   ckpt_drain_s;             /* async: until the snapshot is durable */
    double   detect_s, restart_s, reload_s;
    double   interval_s;               /* training time between checkpoints */
    uint64_t seeds, seed;
    /* Optional: every event of a seed's campaign (cx_campaign_one), e.g. to
     * draw its timeline: wall time t (s), what happened, the failure's class
     * (CX_CAMPAIGN_EV_FAIL), training kept (durable) and done so far (s). */
    void   (*on_event)(void *ctx, double t, int ev, int cls, double kept_s, double done_s);
    void    *event_ctx;
} cx_campaign_params_t;

enum { CX_CAMPAIGN_EV_CKPT = 0,   /* a checkpoint became durable */
       CX_CAMPAIGN_EV_FAIL,       /* an unexpected interruption: what was not durable is lost */
       CX_CAMPAIGN_EV_UP,         /* training again after detection, restart and reload */
       CX_CAMPAIGN_EV_PLANNED,    /* a planned stop (after a durable checkpoint) */
       CX_CAMPAIGN_EV_END };

/* Mean, spread and tails over seeds. */
typedef struct cx_stat {
    double mean, sd, p5, p50, p95;
} cx_stat_t;

typedef struct cx_campaign_result {
    cx_stat_t ettr;               /* training time kept / wall time */
    cx_stat_t goodput;            /* tokens kept / (wall x healthy throughput) */
    cx_stat_t interruptions_per_day;   /* unexpected */
    cx_stat_t planned_per_day;
    cx_stat_t lost_gpu_hours;     /* (wall - kept) x GPUs */
    cx_stat_t lost_work_gpu_hours;     /* rolled back to the last checkpoint */
    cx_stat_t downtime_gpu_hours;      /* detection, restart, reload */
    cx_stat_t ckpt_gpu_hours;          /* checkpoint stalls */
    double    by_class_per_day[CX_FC_N];  /* mean unexpected interruptions per day by cause */
    double    rate_per_hour;      /* expected unexpected interruptions per hour */
    double    mtbf_s;
} cx_campaign_result_t;

/* Expected interruptions per hour of the job: sum of rate x count. */
double cx_campaign_total_rate(const cx_campaign_params_t *p, const cx_campaign_counts_t *c);

/* Checkpoint intervals of Young (1974), sqrt(2 C M), and Daly (2006),
 * sqrt(2 C M) (1 + sqrt(C / 2M) / 3 + C / 18M) - C for C < 2M (else M);
 * C = the stall a checkpoint costs, M = mean time between interruptions. */
double cx_campaign_young(double ckpt_s, double mtbf_s);
double cx_campaign_daly(double ckpt_s, double mtbf_s);

/* One seed: the figures of one simulated campaign. */
typedef struct cx_campaign_seed {
    double ettr, goodput, interruptions, planned, lost_work_s, downtime_s, ckpt_s, kept_s;
    uint32_t by_class[CX_FC_N];
} cx_campaign_seed_t;
void cx_campaign_one(const cx_campaign_params_t *p, const cx_campaign_counts_t *c, uint64_t index,
                     cx_campaign_seed_t *out);

/* All seeds.  CX_ERR_INVALID / CX_ERR_RANGE for parameters that make no
 * sense (named in err); CX_ERR_NOMEM. */
cx_status_t cx_campaign_run(const cx_campaign_params_t *p, const cx_campaign_counts_t *c,
                            cx_campaign_result_t *r, cx_err_t *err);

#endif

/*
 * power: from emulated GPU and network activity to rack, hall and site
 * power, cooling, and the supply side (grid, gas turbines, battery storage).
 *
 * Fed by the run's op observations (cx_op_record_t: which GPU did what when),
 * binned in time.  All state that feeds the trace is reduced deterministically
 * (sums of per-GPU contributions in fixed bins), so outputs are identical on
 * any number of ranks.
 *
 * Lifecycle: cx_power_create (per rank, local GPUs) -> cx_power_observe for
 * every completed op (local, no MPI, no allocation in steady state) ->
 * cx_power_finish (collective: reduce, site model, /power tables in the
 * trace, summary) -> cx_power_destroy.
 *
 * GPU STATE.  At any instant a GPU is in the highest-power state among its
 * active streams: a COMPUTE op of class GEMM or attention = compute-bound,
 * elementwise or optimizer = memory-bound (both on the compute stream), a
 * SEND / RECV / COLLECTIVE on any stream = communicating, nothing = idle
 * (WAITs and markers are not activity).  Per GPU the model keeps the union
 * of its recent compute intervals and of its recent communication intervals
 * (CX_POWER_RING merged intervals each, ~1 KB per GPU); each arriving record
 * adds or removes exactly the time that changes state, so the busy time per
 * state is exact as long as no op overlaps more than CX_POWER_RING disjoint
 * older intervals of the other kind (counted as `overlap_truncated`).  Busy
 * time is accumulated as integer picoseconds per (time bin, rack, state) and
 * reduced with an integer MPI_Allreduce: exact, hence rank-count invariant;
 * every figure after that is computed identically on every rank.
 *
 * POWER.  GPU power in a state = share x TDP (catalog), raised to the GPU
 * power floor (GB300-style power smoothing; 0 = off).  Rack IT power = its
 * GPUs + per GPU (NIC ports, NVSwitch share) + per server (CPUs, other:
 * DRAM / NVMe / fans / BMC / PSU losses) + per rack (CDU pumps, fans, power
 * shelves).  Ethernet switches are added at the job's share of the fabric.
 * Facility = IT x (1 + distribution loss) + cooling, cooling = heat / COP
 * (chiller plant) or facility = IT x PUE.
 *
 * SITE.  The job covers job_gpus of a site sized for site_gpus (the
 * topology's GPUs unless site.gpus says otherwise).  Site figures are the
 * job's scaled by site_gpus / job_gpus: every GPU of the site runs this job
 * in lockstep (the worst case for swings).  Every output that scales says
 * so ("extrapolated").
 *
 * DISPATCH (per bin, in order; site level):
 *   S      = facility load smoothed with time constant `smoothing` (EMA);
 *   grid   = min(grid MW, S + recharge), moved toward it within the grid ramp
 *            limit (no grid section: an ideal grid takes the whole load);
 *   turbines (committed units = enough for the peak of the smoothed residual)
 *          = clamp(S + recharge - grid, min load, rating), moved toward it
 *            within their ramp limit;
 *   battery = load - grid - turbines (discharge > 0), within its MW and
 *            state-of-charge window (charge x sqrt(RTE), discharge / sqrt(RTE));
 *   recharge = (SoC target - SoC) x MWh / `recharge` time (MW), steering the
 *            battery back to its initial state of charge;
 *   what the battery cannot take is unserved (short) or excess (surplus):
 *            both are violations of ramp or capacity limits.
 *
 * Every parameter, its default and its source: cx_power_params_print (and
 * `colossim-power params TOPOLOGY`).
 */
#ifndef CX_POWER_H
#define CX_POWER_H

#include <mpi.h>
#include <stdio.h>

#include "cx_gpu.h"
#include "cx_topo.h"
#include "cx_trace.h"

#define CX_POWER_RING 32

typedef struct cx_power cx_power_t;

/* GPU power states (index into shares and busy-time columns). */
enum { CX_PW_COMPUTE = 0, CX_PW_MEMORY, CX_PW_COMM, CX_PW_IDLE, CX_PW_NSTATES };

typedef struct cx_power_config {
    cx_time_t bin_ps;      /* width of the power time bins (e.g. 10 ms) */
    uint64_t  job_gpus;    /* GPUs 0..job_gpus-1 run the job */
} cx_power_config_t;

/* Effective parameters (site: section with defaults applied), for one fabric
 * (per-server defaults depend on the server / NVLink domain kind). */
typedef struct cx_power_params {
    char     site_name[64];
    int      site_given;                 /* the topology has a site: section */
    uint64_t site_gpus;
    double   gpu_share[CX_PW_NSTATES];   /* of TDP */
    double   gpu_floor;                  /* of TDP */
    double   tdp_w;                      /* of the fabric's first GPU type */
    char     gpu_type[32];
    uint32_t server_gpus, domain_gpus, servers_per_rack, nics_per_server;
    double   nic_w, switch_w, nvswitch_w_per_gpu, cpu_w_per_server, other_w_per_server, rack_w;
    int      use_pue;
    double   cooling_cop, pue, chillers_mw, distribution_loss;   /* chillers_mw 0 = not limited */
    int      grid_ideal;                 /* no grid section: the grid takes any load */
    double   grid_mw, grid_ramp_mw_per_s;                        /* ramp 0 = unlimited */
    uint32_t turbine_units;
    double   turbine_mw_each, turbine_ramp_mw_per_s_each, turbine_min_load;
    double   battery_mw, battery_mwh, battery_rte, battery_soc_min, battery_soc_max, battery_soc_initial;
    double   smoothing_s, recharge_s;
    const char *src[64];                 /* per parameter: where the value comes from */
} cx_power_params_t;

/* Parameters for the fabric that holds GPU 0 of the job (fabric index). */
void cx_power_params_init(cx_power_params_t *p, const cx_topo_t *topo, int fabric);
void cx_power_params_print(const cx_power_params_t *p, FILE *out);
/* Static (activity-independent) IT power of a rack with n_gpus GPUs, W. */
double cx_power_rack_static_w(const cx_power_params_t *p, uint64_t n_gpus);
/* Facility power (MW) and cooling (MW) of an IT load (MW). */
double cx_power_facility_mw(const cx_power_params_t *p, double it_mw, double *cooling_mw_p);

/* Full load of a whole topology: every GPU compute-bound, every switch on. */
typedef struct cx_power_full_load {
    uint64_t gpus, racks, servers, switches;
    double   gpu_mw, nic_mw, nvswitch_mw, cpu_mw, other_mw, rack_mw, switch_mw;
    double   it_mw, heat_mw, cooling_mw, facility_mw;
    double   rack_kw;                    /* per full rack of the first fabric */
} cx_power_full_load_t;
void cx_power_full_load(const cx_topo_t *topo, double load_share, cx_power_full_load_t *f);

/* Supply dispatch over a facility load series (MW, one value per bin of
 * dt seconds).  Outputs (arrays of n, may be NULL) and totals. */
typedef struct cx_power_dispatch {
    double  *grid, *turbines, *battery, *soc, *unserved, *excess;   /* MW; soc 0..1 */
    uint32_t turbines_committed;
    double   ramp_limit_mw_per_s;       /* grid (if limited) + committed turbines */
    double   battery_discharged_mwh, battery_cycles, soc_lo, soc_hi;
    uint64_t unserved_bins, excess_bins, chiller_bins;
    double   max_unserved_mw, max_excess_mw;
} cx_power_dispatch_t;
void cx_power_dispatch_run(const cx_power_params_t *p, const double *load_mw, const double *heat_mw,
                           size_t n, double dt, cx_power_dispatch_t *d);

typedef struct cx_power_summary {
    uint64_t job_gpus, site_gpus;
    int      extrapolated;                     /* 1: site figures scaled from the job */
    double   site_scale;                       /* site GPUs / job GPUs */
    double   bin_seconds;
    double   mean_it_mw, peak_it_mw;           /* job's IT power (steady state) */
    double   mean_facility_mw, peak_facility_mw; /* job's IT + cooling + losses */
    double   site_mean_facility_mw, site_peak_facility_mw;
    double   swing_mw;                         /* job IT, peak-to-trough within an iteration (max) */
    double   site_swing_mw;
    double   max_ramp_mw_per_s;                /* job IT, largest bin-to-bin change */
    double   site_max_ramp_mw_per_s;
    double   energy_j_per_iteration;           /* job facility energy */
    double   energy_j_per_token;               /* job facility energy / token */
    double   it_energy_j_per_token;
    double   battery_cycles;
    uint64_t violations;                       /* bins with unserved, excess or chiller overload */
    uint64_t overlap_truncated;
} cx_power_summary_t;

/* local_gpu_lo/n: this rank's GPUs are [lo, lo + n). */
cx_status_t cx_power_create(cx_power_t **p_p, const cx_topo_t *topo, const cx_power_config_t *cfg,
                            uint64_t local_gpu_lo, uint64_t local_gpu_n, cx_err_t *err);
void        cx_power_observe(cx_power_t *p, const cx_op_record_t *rec);
/* Collective.  tr may be NULL (no trace).  tokens_per_iteration comes
 * from the run summary; iteration times from the power bins' own
 * iteration marks. */
cx_status_t cx_power_finish(cx_power_t *p, MPI_Comm comm, cx_trace_t *tr, double tokens_per_iteration,
                            uint32_t iterations, cx_power_summary_t *sum, cx_err_t *err);
void        cx_power_destroy(cx_power_t *p);

/* Summary lines (rank 0 prints them after the run summary). */
void cx_power_summary_print(const cx_power_summary_t *s, FILE *out);

#endif

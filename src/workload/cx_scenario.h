/*
 * Scenarios (colossim run --scenario FILE): several jobs on one fabric at
 * once, so their traffic shares links and switches and interferes.  The
 * `scenario:` YAML kind (scenarios/README.md) lists jobs; each has a
 * workload file (relative to the scenario file), a placement on whole
 * NVLink domains of the first fabric, a start time and optionally its own
 * number of iterations.
 *
 * A placement is resolved into a list of blocks: block k of a job holds its
 * GPUs [k D, (k + 1) D) (D = GPUs per NVLink domain) on global GPUs
 * place[k] .. place[k] + D - 1.  Whole domains keep the collective engine's
 * domain arithmetic (rings snaking over domains, PXN, NVLS) true on the
 * job's own GPU indices, and keep two jobs from sharing an NVSwitch.
 *
 * Every rank loads the same file and holds the whole scenario (a few jobs,
 * one word per domain each).
 */
#ifndef CX_SCENARIO_H
#define CX_SCENARIO_H

#include <stdint.h>

#include "cx_core.h"
#include "cx_topo.h"
#include "cx_workload.h"

#define CX_SCEN_MAX_JOBS 64

typedef struct cx_scen_job {
    char           name[64];
    char           workload_path[4096];  /* as resolved (relative to the scenario's directory) */
    cx_workload_t *w;                    /* owned */
    uint64_t      *place;                /* owned: global GPU of each block's first GPU */
    uint64_t       n_blocks;
    uint64_t       block;                /* GPUs per block (the NVLink domain size) */
    cx_time_t      start;
    uint32_t       iterations;           /* as given, else the workload's (>= 1) */
    int            line;                 /* the job's line in the scenario file */
} cx_scen_job_t;

typedef struct cx_scenario {
    char           path[4096];
    char           name[64];
    cx_scen_job_t *jobs;
    uint32_t       n;
    uint64_t       gpus;      /* GPUs of all jobs */
    uint64_t       span_gpus; /* 1 + the highest global GPU any job uses */
    uint64_t       rack_gpus; /* GPUs per rack of the first fabric (placement by racks) */
} cx_scenario_t;

/* Parse a scenario file and resolve it against topo: load each job's
 * workload, check it fits NVLink domains of the topology's first fabric,
 * place it, and refuse placements that overlap, leave the fabric or do not
 * hold the job.  Errors name FILE:LINE and the field.  *s_p is written only
 * on success. */
cx_status_t cx_scenario_load(cx_scenario_t **s_p, const char *path, const cx_topo_t *topo, cx_err_t *err);
void        cx_scenario_destroy(cx_scenario_t *s);

/* Global GPU of job GPU j. */
static inline uint64_t cx_scen_global(const cx_scen_job_t *j, uint64_t gpu)
{
    return j->place[gpu / j->block] + gpu % j->block;
}

#endif

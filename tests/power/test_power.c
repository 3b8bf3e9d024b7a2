/*
 * Power model unit test (1 MPI rank, no trace):
 *  - GPU state accounting is exact: overlapping compute / comm records give
 *    the energy computed by hand, for every arrival order of the records;
 *  - the rack static power and facility formulas;
 *  - dispatch: an ideal grid has no violations, a ramp-limited turbine
 *    fleet without a battery reports unserved load on a step, a battery
 *    large enough removes it;
 *  - colossus2 full load lands in a sane range.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_power.h"

static int failures;

#define CHECK(_c, ...)                                                   \
    do {                                                                 \
        if (!(_c)) {                                                     \
            failures++;                                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                \
            fprintf(stderr, "\n");                                       \
        }                                                                \
    } while (0)

#define MS INT64_C(1000000000) /* ps */

static cx_op_record_t rec(uint64_t gpu, int kind, int stream, int cls, cx_time_t s, cx_time_t e)
{
    cx_op_record_t r;
    memset(&r, 0, sizeof(r));
    r.gpu       = gpu;
    r.op.kind   = (uint8_t)kind;
    r.op.stream = (uint8_t)stream;
    r.op.cls    = (uint8_t)cls;
    r.start     = s;
    r.end       = e;
    return r;
}

/* Job of 8 GPUs (one HGX server) on the embedded colossus1-mini, 10 ms.
 * GPU 0: GEMM [0,4), comm [2,6) on TP, comm [5,8) on DP, elementwise [9,10).
 * => compute 4, memory 1, comm-only [4,8) = 4, idle 1 (ms). Others idle. */
static double run_case(const cx_topo_t *topo, const int *order, double *expect_w)
{
    cx_power_t        *p = NULL;
    cx_power_config_t  cfg;
    cx_power_summary_t sum;
    cx_err_t           err;
    cx_op_record_t     r[5];
    cx_power_params_t  par;
    cx_topo_summary_t  ts;
    uint64_t           g;
    int                i;

    cfg.bin_ps   = MS;
    cfg.job_gpus = 8;
    if (cx_power_create(&p, topo, &cfg, 0, 8, &err) != CX_OK) {
        cx_err_print(&err);
        exit(2);
    }
    r[0] = rec(0, CX_OP_COMPUTE, 0, CX_CLS_GEMM, 0, 4 * MS);
    r[1] = rec(0, CX_OP_COLLECTIVE, 1, 0, 2 * MS, 6 * MS);
    r[2] = rec(0, CX_OP_COLLECTIVE, 2, 0, 5 * MS, 8 * MS);
    r[3] = rec(0, CX_OP_COMPUTE, 0, CX_CLS_ELEMENTWISE, 9 * MS, 10 * MS);
    r[4] = rec(0, CX_OP_RECV, 3, 0, 3 * MS, 3 * MS + 1); /* inside compute: no change */
    for (g = 0; g < 8; g++) {
        cx_op_record_t b = rec(g, CX_OP_ITER_BEGIN, 0, 0, 0, 0), e = rec(g, CX_OP_ITER_END, 0, 0, 10 * MS, 10 * MS);
        cx_power_observe(p, &b);
        cx_power_observe(p, &e);
    }
    for (i = 0; i < 5; i++) cx_power_observe(p, &r[order[i]]);
    if (cx_power_finish(p, MPI_COMM_WORLD, NULL, 1000.0, 1, &sum, &err) != CX_OK) {
        cx_err_print(&err);
        exit(2);
    }
    cx_power_destroy(p);
    cx_power_params_init(&par, topo, 0);
    cx_topo_summary(topo, &ts);
    {
        double tdp = par.tdp_w, gpu_j;
        gpu_j = 1e-3 * tdp * (4 * par.gpu_share[CX_PW_COMPUTE] + 1 * par.gpu_share[CX_PW_MEMORY] +
                              4 * par.gpu_share[CX_PW_COMM] + 1 * par.gpu_share[CX_PW_IDLE]) +
                7 * 10e-3 * tdp * par.gpu_share[CX_PW_IDLE];
        *expect_w = gpu_j / 10e-3 + cx_power_rack_static_w(&par, 8) +
                    (double)ts.switches * par.switch_w * 8.0 / (double)cx_topo_num_gpus(topo);
    }
    CHECK(sum.overlap_truncated == 0, "no truncation expected");
    CHECK(sum.extrapolated == 1 && fabs(sum.site_scale - 128.0) < 1e-12, "site scale %g", sum.site_scale);
    return sum.mean_it_mw * 1e6;
}

int main(int argc, char **argv)
{
    cx_topo_t  *topo = NULL;
    cx_err_t    err;
    const char *text;
    size_t      len;
    static const int orders[][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {1, 0, 2, 4, 3}, {2, 1, 0, 3, 4}, {1, 2, 0, 4, 3}};
    double      first = 0;
    size_t      o;

    MPI_Init(&argc, &argv);
    cx_topo_default_yaml(&text, &len);
    if (cx_topo_load_string(&topo, "<embedded>", text, len, &err) != CX_OK) {
        cx_err_print(&err);
        return 2;
    }
    for (o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
        double expect, got = run_case(topo, orders[o], &expect);
        CHECK(fabs(got - expect) < 1e-6 * expect, "order %zu: mean IT %.6f W, expected %.6f W", o, got, expect);
        if (o == 0) first = got;
        CHECK(got == first, "order %zu: %.17g differs from %.17g (must be bit-identical)", o, got, first);
    }
    /* Static and facility formulas. */
    {
        cx_power_params_t par;
        double            cool, fac;
        cx_power_params_init(&par, topo, 0);
        CHECK(fabs(cx_power_rack_static_w(&par, 64) -
                   (8 * 9 * par.nic_w + 64 * par.nvswitch_w_per_gpu + 8 * (par.cpu_w_per_server + par.other_w_per_server) +
                    par.rack_w)) < 1e-9, "rack static");
        fac = cx_power_facility_mw(&par, 100.0, &cool);
        CHECK(fabs(cool - 103.0 / par.cooling_cop) < 1e-9 && fabs(fac - 103.0 - cool) < 1e-9, "facility %g cooling %g",
              fac, cool);
    }
    /* Dispatch. */
    {
        cx_power_params_t   par;
        cx_power_dispatch_t d;
        double              load[600];
        int                 k;
        cx_power_params_init(&par, topo, 0);
        for (k = 0; k < 600; k++) load[k] = (k / 50) % 2 ? 100.0 : 60.0; /* 40 MW square wave, 0.5 s */
        memset(&d, 0, sizeof(d));
        cx_power_dispatch_run(&par, load, NULL, 600, 0.01, &d);
        CHECK(d.unserved_bins == 0 && d.excess_bins == 0, "ideal grid: no violations");
        par.grid_ideal                 = 0;
        par.grid_mw                    = 0;
        par.turbine_units              = 10;
        par.turbine_mw_each            = 16;
        par.turbine_ramp_mw_per_s_each = 0.05;
        par.turbine_min_load           = 0.3;
        cx_power_dispatch_run(&par, load, NULL, 600, 0.01, &d);
        CHECK(d.turbines_committed >= 4 && d.unserved_bins > 0, "turbines alone: committed %u, unserved bins %llu",
              d.turbines_committed, (unsigned long long)d.unserved_bins);
        par.battery_mw  = 50;
        par.battery_mwh = 10;
        cx_power_dispatch_run(&par, load, NULL, 600, 0.01, &d);
        CHECK(d.unserved_bins == 0 && d.excess_bins == 0, "with battery: unserved %llu excess %llu",
              (unsigned long long)d.unserved_bins, (unsigned long long)d.excess_bins);
        CHECK(d.battery_cycles > 0, "battery used");
    }
    cx_topo_destroy(topo);
    /* Colossus 2 at full load: GPU power = 110,592 x 1.2 kW. */
    if (argc > 1) {
        cx_power_full_load_t f;
        if (cx_topo_load(&topo, argv[1], &err) != CX_OK) {
            cx_err_print(&err);
            return 2;
        }
        cx_power_full_load(topo, 1.0, &f);
        CHECK(f.gpus == 110592 && fabs(f.gpu_mw - 110592 * 1200e-6) < 1e-6, "gpu MW %g", f.gpu_mw);
        CHECK(f.rack_kw > 100 && f.rack_kw < 140, "NVL72 rack %g kW (~120 kW public)", f.rack_kw);
        CHECK(f.it_mw > f.gpu_mw && f.facility_mw > f.it_mw, "IT %g facility %g", f.it_mw, f.facility_mw);
        cx_topo_destroy(topo);
    }
    MPI_Finalize();
    if (failures == 0) printf("power unit tests passed\n");
    return failures == 0 ? 0 : 1;
}
